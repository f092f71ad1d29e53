/*
 * test_file.c - index files: save and open give the same searches, ids, tags and gates in every
 * storage; a mapped index can be changed without touching the file, and saved again like a fresh
 * build; users across several blocks; the id section; version 1 files; every flipped bit is
 * refused by verify and by open or first use, or changes no answer; running out of
 * memory while saving or opening leaves the published file intact; a mapped index keeps
 * answering while a new index is published under its name.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "craft.h"
#include "index/file_format.h"
#include "index/index_impl.h"
#include "index/store.h"
#include "kernels/runtime.h"
#include "reference.h"

static char dir[] = "/tmp/mvke_test_file_XXXXXX";
static char path[256];

static void remove_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void make_dir(void) {
    /* A flag, not a look at the template: mkdtemp's last random character may well be an 'X'. */
    static int made;
    if (!made) {
        cr_assert_not_null(mkdtemp(dir));
        atexit(remove_dir);
        made = 1;
    }
    snprintf(path, sizeof path, "%s/index.mvke", dir);
}

static const char *TASKS[2] = {"interest", "intention"};

/* nu users (ids 7*i+1), 2 tasks of nt tags each (gates from VK for the first, given for the second). */
static void build_with(int K, int d, int64_t nu, int nt, const mvke_index_options *o, mvke_index **users,
                       mvke_tags **tags) {
    cr_assert_eq(mvke_index_new(users, K, d, o), MVKE_OK);
    cr_assert_eq(mvke_tags_new(tags, K, d, NULL), MVKE_OK);
    float *x = malloc((size_t)nu * K * d * sizeof *x);
    int64_t *ids = malloc((size_t)nu * sizeof *ids);
    ref_fill_normal(x, nu * K * d);
    for (int64_t i = 0; i < nu; i++) ids[i] = 7 * i + 1;
    if (o->storage == MVKE_STORAGE_SQ8 || o->storage == MVKE_STORAGE_PQ)
        cr_assert_eq(mvke_index_train(*users, nu, x), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_index_add(*users, nu, ids, x), MVKE_OK);
    float *vk = malloc((size_t)K * d * sizeof *vk), *q = malloc((size_t)nt * d * sizeof *q);
    float *w = calloc((size_t)nt * K, sizeof *w);
    ref_fill_normal(vk, K * d);
    cr_assert_eq(mvke_tags_set_vk(*tags, vk, 0.5f), MVKE_OK);
    int e0[64], e1[64];
    for (int k = 0; k < K; k++) e0[k] = k, e1[k] = K - 1 - k;
    cr_assert_eq(mvke_tags_add_task(*tags, TASKS[0], e0, K > 1 ? K - 1 : 1), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(*tags, TASKS[1], e1, K), MVKE_OK);
    int64_t tid[1000], par[1000];
    char nbuf[1000][16];
    const char *names[1000];
    for (int i = 0; i < nt; i++) {
        tid[i] = 100 + i;
        par[i] = i ? 100 : 0;
        snprintf(nbuf[i], sizeof nbuf[i], "tag \xc3\xa9%d", i);
        names[i] = i % 3 ? nbuf[i] : "";
    }
    ref_fill_normal(q, nt * d);
    cr_assert_eq(mvke_tags_add(*tags, TASKS[0], nt, tid, names, par, q, NULL), MVKE_OK);
    for (int i = 0; i < nt * K; i++) w[i] = (float)ref_uniform();
    ref_fill_normal(q, nt * d);
    cr_assert_eq(mvke_tags_add(*tags, TASKS[1], nt, tid, names, par, q, w), MVKE_OK);
    free(x); free(ids); free(vk); free(q); free(w);
}

static void build(int K, int d, int64_t nu, int nt, mvke_storage storage, mvke_index **users, mvke_tags **tags) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = storage;
    build_with(K, d, nu, nt, &o, users, tags);
}

static void same_searches(mvke_index *a, mvke_tags *ta, mvke_index *b, mvke_tags *tb, int nt) {
    int64_t tid[8];
    for (int i = 0; i < 8 && i < nt; i++) tid[i] = 100 + i;
    const int ntq = nt < 8 ? nt : 8;
    for (int t = 0; t < 2; t++) {
        mvke_result *ra, *rb;
        cr_assert_eq(mvke_audience_top(a, ta, TASKS[t], ntq, tid, 10, NULL, &ra), MVKE_OK);
        cr_assert_eq(mvke_audience_top(b, tb, TASKS[t], ntq, tid, 10, NULL, &rb), MVKE_OK, "%s", mvke_last_error());
        for (int i = 0; i < ntq; i++) {
            const int64_t *ia, *ib;
            const float *sa, *sb;
            int64_t na, nb;
            mvke_result_get(ra, i, &ia, &sa, &na);
            mvke_result_get(rb, i, &ib, &sb, &nb);
            cr_assert_eq(na, nb);
            cr_assert_eq(memcmp(ia, ib, (size_t)na * 8), 0, "task %d tag %d: other users", t, i);
            cr_assert_eq(memcmp(sa, sb, (size_t)na * 4), 0, "task %d tag %d: other scores", t, i);
        }
        mvke_result_free(ra);
        mvke_result_free(rb);
    }
    int64_t ca, cb;
    mvke_index_count(a, &ca);
    mvke_index_count(b, &cb);
    cr_assert_eq(ca, cb);
    int64_t *ia = malloc((size_t)ca * 8), *ib = malloc((size_t)ca * 8);
    mvke_index_ids(a, ia);
    cr_assert_eq(mvke_index_read_rows(b, 0, cb, ib, NULL), MVKE_OK);
    cr_assert_eq(memcmp(ia, ib, (size_t)ca * 8), 0);
    free(ia); free(ib);
    int K, d;
    mvke_index_shape(a, &K, &d, NULL);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < nt; i++) {
            const char *na, *nb;
            int64_t pa, pb;
            float qa[64], qb[64], wa[64], wb[64];
            cr_assert_eq(mvke_tags_get(ta, TASKS[t], 100 + i, &na, &pa, qa, wa), MVKE_OK);
            cr_assert_eq(mvke_tags_get(tb, TASKS[t], 100 + i, &nb, &pb, qb, wb), MVKE_OK);
            cr_assert(!strcmp(na, nb) && pa == pb);
            cr_assert_eq(memcmp(qa, qb, (size_t)d * 4), 0);
            cr_assert_eq(memcmp(wa, wb, (size_t)K * 4), 0);
        }
}

Test(file, round_trip_f32_f16_and_bf16) {
    make_dir();
    ref_seed(11);
    for (int s = 0; s < 3; s++) {
        mvke_index *u, *u2;
        mvke_tags *t, *t2;
        build(5, 30, 2000, 40, (mvke_storage)s, &u, &t);
        cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_file_open(path, 0, &u2, &t2), MVKE_OK, "%s", mvke_last_error());
        mvke_storage st;
        mvke_index_shape(u2, NULL, NULL, &st);
        cr_assert_eq((int)st, s);
        same_searches(u, t, u2, t2, 40);
        mvke_file_info info;
        cr_assert_eq(mvke_file_inspect(path, &info), MVKE_OK);
        cr_assert(info.version == 2 && info.K == 5 && info.d == 30 && info.nusers == 2000 && (int)info.storage == s);
        struct stat sb;
        stat(path, &sb);
        cr_assert_eq((int64_t)info.size, (int64_t)sb.st_size);
        /* the mapped index can be changed; the file stays as it was */
        float row[150];
        ref_fill_normal(row, 150);
        int64_t id = 1;
        cr_assert_eq(mvke_index_upsert(u2, 1, &id, row), MVKE_OK);
        cr_assert_eq(mvke_index_remove(u2, 1, (int64_t[]){8}), MVKE_OK);
        cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
        /* gates from virtual kernels survive: a new tag gets the same gates as in the original */
        float q[30], z1[150], z2[150];
        ref_fill_normal(q, 30);
        cr_assert_eq(mvke_tags_add(t, TASKS[0], 1, (int64_t[]){9999}, NULL, NULL, q, NULL), MVKE_OK);
        cr_assert_eq(mvke_tags_add(t2, TASKS[0], 1, (int64_t[]){9999}, NULL, NULL, q, NULL), MVKE_OK);
        mvke_tags_get_row(t, TASKS[0], 9999, z1);
        mvke_tags_get_row(t2, TASKS[0], 9999, z2);
        cr_assert_eq(memcmp(z1, z2, sizeof z1), 0);
        mvke_index_free(u); mvke_index_free(u2);
        mvke_tags_free(t); mvke_tags_free(t2);
    }
    unlink(path);
}

/* Codec indexes (sq8, pq:6; with and without their float32 rows) save, verify and open with
 * their training, bounds and rows: the opened index answers as the saved one, bit for bit; one
 * keeping its rows answers as the float32 index of the same rows (certified), before and after
 * a change of the opened index saved again; its refine rows stay in the file (not resident). */
Test(file, codec_indexes_round_trip) {
    make_dir();
    const char *names[2] = {"sq8", "pq:6"};
    for (int c = 0; c < 2; c++)
        for (int refine = 0; refine < 2; refine++) {
            mvke_index_options o;
            mvke_index_options_init(&o);
            cr_assert_eq(mvke_index_options_set_storage(&o, names[c]), MVKE_OK);
            o.refine = refine;
            mvke_index *u, *u2, *f;
            mvke_tags *t, *t2, *tf;
            ref_seed(21);
            build_with(5, 30, 3000, 40, &o, &u, &t);
            ref_seed(21);
            build(5, 30, 3000, 40, MVKE_STORAGE_F32, &f, &tf);
            cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
            cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
            cr_assert_eq(mvke_file_open(path, 0, &u2, &t2), MVKE_OK, "%s", mvke_last_error());
            mvke_index_footprint a, b;
            mvke_index_describe(u, &a);
            mvke_index_describe(u2, &b);
            cr_assert(a.training != 0 && a.training == b.training && a.train_rows == 3000 && b.train_rows == 3000);
            cr_assert(a.pq_m == b.pq_m && a.refine == refine && b.refine == refine && a.row_bytes == b.row_bytes);
            cr_assert_eq(b.refine_bytes, refine ? 600 : 0);
            mvke_search_mode m;
            mvke_index_search_mode(u2, &m);
            cr_assert_eq(m, refine ? MVKE_SEARCH_EXACT : MVKE_SEARCH_APPROX);
            same_searches(u, t, u2, t2, 40);
            if (refine) {
                same_searches(f, tf, u2, t2, 40);
                mvke_search_stats st;
                mvke_last_search_stats(&st);
                cr_assert(st.certified && st.users_scanned == 3000, "%s: not certified", names[c]);
                /* a changed user, then saved again and reopened: still the float32 answer */
                float row[150];
                ref_fill_normal(row, 150);
                for (int j = 0; j < 150; j++) row[j] *= 3.0f; /* beyond the training's range */
                int64_t id = 8;
                cr_assert_eq(mvke_index_upsert(u2, 1, &id, row), MVKE_OK);
                cr_assert_eq(mvke_index_upsert(f, 1, &id, row), MVKE_OK);
                char p2[300];
                snprintf(p2, sizeof p2, "%s/again.mvke", dir);
                cr_assert_eq(mvke_file_save(p2, u2, t2), MVKE_OK, "%s", mvke_last_error());
                cr_assert_eq(mvke_file_verify(p2), MVKE_OK, "%s", mvke_last_error());
                mvke_index *u3;
                mvke_tags *t3;
                cr_assert_eq(mvke_file_open(p2, 0, &u3, &t3), MVKE_OK, "%s", mvke_last_error());
                same_searches(f, tf, u3, t3, 40);
                mvke_index_describe(u3, &b);
                cr_assert_eq(a.training, b.training, "saving again kept the training");
                mvke_index_free(u3);
                mvke_tags_free(t3);
                unlink(p2);
            }
            mvke_index_free(u); mvke_index_free(u2); mvke_index_free(f);
            mvke_tags_free(t); mvke_tags_free(t2); mvke_tags_free(tf);
        }
    unlink(path);
}

Test(file, several_blocks_and_no_tags) {
    make_dir();
    ref_seed(12);
    mvke_index *u, *u2;
    mvke_tags *t, *t2;
    const int64_t n = MVKE_BLOCK_ROWS + 1234;
    build(2, 3, n, 5, MVKE_STORAGE_F32, &u, &t);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_open(path, MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS, &u2, &t2), MVKE_OK, "%s", mvke_last_error());
    same_searches(u, t, u2, t2, 5);
    /* rows by position across the block boundary */
    float a[6 * 10], b[6 * 10];
    int64_t ia[10], ib[10];
    cr_assert_eq(mvke_index_read_rows(u, MVKE_BLOCK_ROWS - 5, 10, ia, a), MVKE_OK);
    cr_assert_eq(mvke_index_read_rows(u2, MVKE_BLOCK_ROWS - 5, 10, ib, b), MVKE_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_eq(memcmp(ia, ib, sizeof ia), 0);
    cr_assert_eq(mvke_index_read_rows(u2, n - 5, 10, ib, b), MVKE_ERR_INVALID);
    mvke_index_free(u2);
    mvke_tags_free(t2);
    /* an index saved without a tag table opens with an empty one */
    cr_assert_eq(mvke_file_save(path, u, NULL), MVKE_OK);
    cr_assert_eq(mvke_file_open(path, 0, &u2, &t2), MVKE_OK, "%s", mvke_last_error());
    int nt;
    mvke_tags_ntasks(t2, &nt);
    cr_assert_eq(nt, 0);
    mvke_index_free(u); mvke_index_free(u2);
    mvke_tags_free(t); mvke_tags_free(t2);
    unlink(path);
}

Test(file, save_failures_leave_nothing) {
    make_dir();
    mvke_index *u;
    mvke_tags *t;
    build(2, 2, 10, 3, MVKE_STORAGE_F32, &u, &t);
    char p[300];
    snprintf(p, sizeof p, "%s/missing/x.mvke", dir);
    cr_assert_eq(mvke_file_save(p, u, t), MVKE_ERR_IO);
    cr_assert(strstr(mvke_last_error(), "missing"), "%s", mvke_last_error());
    mvke_tags *other;
    cr_assert_eq(mvke_tags_new(&other, 3, 2, NULL), MVKE_OK);
    cr_assert_eq(mvke_file_save(path, u, other), MVKE_ERR_INVALID);
    cr_assert_neq(access(path, F_OK), 0);
    mvke_tags_free(other);
    mvke_index_free(u);
    mvke_tags_free(t);
}

static unsigned char *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    cr_assert_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, size_t n) {
    FILE *f = fopen(p, "wb");
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Everything an opened index answers, as one comparable record: two tasks' audiences of every
 * tag, every user's top tags, every row by id, and the absence of an unknown id. Returns the
 * first failing status (the answers are then incomplete) or MVKE_OK. */
typedef struct answers {
    int64_t ids[2][3][5];
    float scores[2][3][5];
    int64_t tag_ids[10][2][2];
    float tag_scores[10][2][2];
    float rows[10][2 * 3];
} answers;

static mvke_status answer_all(const mvke_index *u, const mvke_tags *t, answers *a) {
    memset(a, 0, sizeof *a);
    int64_t tid[3] = {100, 101, 102};
    for (int k = 0; k < 2; k++) {
        mvke_result *r;
        mvke_status st = mvke_audience_top(u, t, TASKS[k], 3, tid, 5, NULL, &r);
        if (st != MVKE_OK) return st;
        for (int i = 0; i < 3; i++) {
            const int64_t *ip;
            const float *sp;
            int64_t n;
            mvke_result_get(r, i, &ip, &sp, &n);
            memcpy(a->ids[k][i], ip, (size_t)n * 8);
            memcpy(a->scores[k][i], sp, (size_t)n * 4);
        }
        mvke_result_free(r);
    }
    for (int i = 0; i < 10; i++) {
        int64_t id = 7 * i + 1;
        mvke_status st = mvke_index_get(u, id, a->rows[i]);
        if (st != MVKE_OK) return st;
        mvke_result *r;
        if ((st = mvke_user_tags_top(u, t, NULL, 1, &id, 2, &r)) != MVKE_OK) return st;
        for (int k = 0; k < 2; k++) {
            const int64_t *ip;
            const float *sp;
            int64_t n;
            mvke_result_get(r, k, &ip, &sp, &n);
            memcpy(a->tag_ids[i][k], ip, (size_t)n * 8);
            memcpy(a->tag_scores[i][k], sp, (size_t)n * 4);
        }
        mvke_result_free(r);
    }
    int yes = 1;
    mvke_status st = mvke_index_contains(u, 5, &yes); /* 5 is not an id (ids are 7i+1) */
    if (st != MVKE_OK) return st;
    return yes ? MVKE_ERR_INVALID : MVKE_OK; /* a wrong "present" is a wrong answer */
}

Test(file, every_flipped_bit_is_refused_or_changes_no_answer) {
    make_dir();
    ref_seed(13);
    for (int s = 0; s < 2; s++) {
        mvke_index *u;
        mvke_tags *t;
        build(2, 3, 10, 3, s ? MVKE_STORAGE_F16 : MVKE_STORAGE_F32, &u, &t);
        cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK);
        answers good, got;
        cr_assert_eq(answer_all(u, t, &good), MVKE_OK, "%s", mvke_last_error());
        mvke_index_free(u);
        mvke_tags_free(t);
        size_t n;
        unsigned char *orig = slurp(path, &n);
        char bad[300];
        snprintf(bad, sizeof bad, "%s/bad.mvke", dir);
        unsigned char *b = malloc(n + 1);
        int64_t tried = 0, at_open = 0, on_use = 0, same = 0;
        for (size_t i = 0; i < n; i++) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(b, orig, n);
                b[i] ^= (unsigned char)(1u << bit);
                spit(bad, b, n);
                tried++;
                cr_assert_neq(mvke_file_verify(bad), MVKE_OK, "byte %zu bit %d: verify accepted a corrupted file", i, bit);
                mvke_index *x = NULL;
                mvke_tags *y = NULL;
                mvke_status st = mvke_file_open(bad, 0, &x, &y);
                if (st != MVKE_OK) {
                    cr_assert(x == NULL && y == NULL);
                    cr_assert(strstr(mvke_last_error(), "bad.mvke"), "%s", mvke_last_error());
                    at_open++;
                    continue;
                }
                st = answer_all(x, y, &got);
                if (st != MVKE_OK) {
                    cr_assert(st == MVKE_ERR_CHECKSUM || st == MVKE_ERR_FORMAT, "byte %zu bit %d: %s: %s", i, bit,
                              mvke_status_name(st), mvke_last_error());
                    cr_assert(strstr(mvke_last_error(), "bad.mvke"), "%s", mvke_last_error());
                    on_use++;
                } else {
                    cr_assert_eq(memcmp(&good, &got, sizeof good), 0, "byte %zu bit %d: a silent wrong answer", i, bit);
                    same++;
                }
                mvke_index_free(x);
                mvke_tags_free(y);
            }
        }
        for (size_t k = 0; k < n; k++) {
            spit(bad, orig, k);
            mvke_index *x = NULL;
            mvke_status st = mvke_file_open(bad, 0, &x, NULL);
            cr_assert_eq(st, MVKE_ERR_TRUNCATED, "prefix %zu: status %d %s", k, st, mvke_last_error());
            cr_assert_eq(mvke_file_verify(bad), MVKE_ERR_TRUNCATED);
        }
        /* a trailing byte is refused too */
        memcpy(b, orig, n);
        b[n] = 0;
        spit(bad, b, n + 1);
        cr_assert_eq(mvke_file_verify(bad), MVKE_ERR_FORMAT);
        spit(bad, orig, n);
        cr_assert_eq(mvke_file_verify(bad), MVKE_OK);
        cr_log_info("%s: %lld flips: %lld refused at open, %lld on use, %lld answered identically", s ? "f16" : "f32",
                    (long long)tried, (long long)at_open, (long long)on_use, (long long)same);
        fprintf(stderr, "file: %s: %lld single-bit flips: %lld refused at open, %lld on first use, %lld identical, 0 silent\n",
                s ? "float16" : "float32", (long long)tried, (long long)at_open, (long long)on_use, (long long)same);
        free(b);
        free(orig);
        unlink(bad);
    }
    unlink(path);
}

Test(file, no_verify_skips_the_checks_on_use) {
    make_dir();
    ref_seed(14);
    mvke_index *u;
    mvke_tags *t;
    build(2, 3, 10, 3, MVKE_STORAGE_F32, &u, &t);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK);
    mvke_index_free(u);
    mvke_tags_free(t);
    size_t n;
    unsigned char *b = slurp(path, &n);
    uint64_t off, size;
    cr_assert_eq(craft_section(b, MVKE_SEC_USER_BLOCKS, &off, &size), 0);
    b[off + 5] ^= 0x10; /* a value of expert 0: the Gram plane is untouched */
    spit(path, b, n);
    answers a;
    cr_assert_eq(mvke_file_open(path, 0, &u, &t), MVKE_OK);
    cr_assert_eq(answer_all(u, t, &a), MVKE_ERR_CHECKSUM);
    cr_assert(strstr(mvke_last_error(), "bytes ") && strstr(mvke_last_error(), "user blocks"), "%s", mvke_last_error());
    mvke_index_free(u);
    mvke_tags_free(t);
    cr_assert_eq(mvke_file_open(path, MVKE_FILE_OPEN_SKIP_ROW_CHECKSUMS, &u, &t), MVKE_OK);
    cr_assert_eq(answer_all(u, t, &a), MVKE_OK, "%s", mvke_last_error());
    mvke_index_free(u);
    mvke_tags_free(t);
    cr_assert_eq(mvke_file_open(path, MVKE_FILE_OPEN_NO_VERIFY, &u, &t), MVKE_OK);
    cr_assert_eq(answer_all(u, t, &a), MVKE_OK, "%s", mvke_last_error());
    mvke_index_free(u);
    mvke_tags_free(t);
    cr_assert_eq(mvke_file_open(path, 4, &u, &t), MVKE_ERR_INVALID);
    free(b);
    unlink(path);
}

/* The rows of the version 1 fixtures in tests/data/v1 (written by the version 1 writer). */
static void v1_rows(int n, float *x) {
    for (int i = 0; i < n * 12; i++) x[i] = sinf(0.37f * i + 0.1f) * (float)(1 + (i % 5));
}

Test(file, version_1_files_still_open) {
    for (int s = 0; s < 2; s++) {
        char p[1024];
        const char *env = getenv("MVKE_TEST_DATA"), *src = __FILE__, *slash = strrchr(src, '/');
        if (env) snprintf(p, sizeof p, "%s/v1/v1-%s.mvke", env, s ? "f16" : "f32");
        else snprintf(p, sizeof p, "%.*s/data/v1/v1-%s.mvke", slash ? (int)(slash - src) : 1, slash ? src : ".", s ? "f16" : "f32");
        mvke_file_info fi;
        cr_assert_eq(mvke_file_inspect(p, &fi), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(fi.version, 1u);
        cr_assert_eq(mvke_file_verify(p), MVKE_OK, "%s", mvke_last_error());
        mvke_index *u, *ref;
        mvke_tags *t;
        cr_assert_eq(mvke_file_open(p, 0, &u, &t), MVKE_OK, "%s", mvke_last_error());
        mvke_index_options o;
        mvke_index_options_init(&o);
        o.storage = s ? MVKE_STORAGE_F16 : MVKE_STORAGE_F32;
        float x[40 * 12], got[12], want[12];
        int64_t ids[40];
        v1_rows(40, x);
        for (int i = 0; i < 40; i++) ids[i] = 5 * i + 2;
        cr_assert_eq(mvke_index_new(&ref, 3, 4, &o), MVKE_OK);
        cr_assert_eq(mvke_index_add(ref, 40, ids, x), MVKE_OK);
        for (int i = 0; i < 40; i++) {
            cr_assert_eq(mvke_index_get(u, ids[i], got), MVKE_OK);
            cr_assert_eq(mvke_index_get(ref, ids[i], want), MVKE_OK);
            cr_assert_eq(memcmp(got, want, sizeof got), 0, "user %lld", (long long)ids[i]);
        }
        mvke_result *r1, *r2;
        int64_t tid[3] = {10, 11, 12};
        cr_assert_eq(mvke_audience_top(u, t, "interest", 3, tid, 7, NULL, &r1), MVKE_OK);
        cr_assert_eq(mvke_audience_top(ref, t, "interest", 3, tid, 7, NULL, &r2), MVKE_OK);
        for (int i = 0; i < 3; i++) {
            const int64_t *a, *b;
            const float *sa, *sb;
            int64_t na, nb;
            mvke_result_get(r1, i, &a, &sa, &na);
            mvke_result_get(r2, i, &b, &sb, &nb);
            cr_assert(na == nb && !memcmp(a, b, (size_t)na * 8) && !memcmp(sa, sb, (size_t)na * 4));
        }
        mvke_result_free(r1);
        mvke_result_free(r2);
        /* saved again, it becomes a version 2 file with the same contents */
        make_dir();
        cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_file_inspect(path, &fi), MVKE_OK);
        cr_assert_eq(fi.version, 2u);
        cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
        mvke_index_free(u);
        mvke_index_free(ref);
        mvke_tags_free(t);
    }
}

/* Version 1 files are content-checked as they are copied in: a NaN row, a row whose squares
 * overflow, or a Gram triangle that is not the row's (every checksum recomputed) is refused by
 * open and verify naming the position, never scored. */
Test(file, version_1_contents_are_checked) {
    char p[1024];
    const char *env = getenv("MVKE_TEST_DATA"), *src = __FILE__, *slash = strrchr(src, '/');
    if (env) snprintf(p, sizeof p, "%s/v1/v1-f32.mvke", env);
    else snprintf(p, sizeof p, "%.*s/data/v1/v1-f32.mvke", slash ? (int)(slash - src) : 1, slash ? src : ".");
    make_dir();
    const char *what[3] = {"NaN", "3e38", "Gram"};
    for (int c = 0; c < 3; c++) {
        size_t n;
        unsigned char *b = craft_read(p, &n);
        cr_assert_not_null(b);
        uint64_t off, size;
        cr_assert_eq(craft_section(b, c == 2 ? MVKE_SEC_USER_GRAM : MVKE_SEC_USER_ROWS, &off, &size), 0);
        float *v = (float *)(b + off) + (c == 2 ? 3 * 6 + 1 : 3 * 12 + 5); /* user position 3 */
        *v = c == 0 ? NAN : c == 1 ? 3e38f : *v * 1.5f + 1.0f;
        craft_reseal_v1(b);
        cr_assert_eq(craft_write(path, b, n), 0);
        free(b);
        mvke_index *u = NULL;
        mvke_tags *t = NULL;
        cr_assert_eq(mvke_file_open(path, 0, &u, &t), MVKE_ERR_FORMAT, "%s: %s", what[c], mvke_last_error());
        cr_assert(strstr(mvke_last_error(), "position 3"), "%s: %s", what[c], mvke_last_error());
        cr_assert_null(u);
        cr_assert_eq(mvke_file_verify(path), MVKE_ERR_FORMAT, "%s", what[c]);
    }
    unlink(path);
}

/* An index file overwritten in place while mapped (`cp other.mvke live.mvke`, the same size) is
 * refused on first use with the checksums the file had when it was opened, never answered with
 * the other file's rows (which carry their own, valid, checksums). */
Test(file, a_file_replaced_in_place_is_refused_not_mixed) {
    make_dir();
    mvke_index *a, *b, *u;
    mvke_tags *ta, *tb, *tu;
    ref_seed(31);
    build(3, 4, 300, 3, MVKE_STORAGE_F32, &a, &ta);
    ref_seed(32);
    build(3, 4, 300, 3, MVKE_STORAGE_F32, &b, &tb);
    char other[300];
    snprintf(other, sizeof other, "%s.other", path);
    cr_assert_eq(mvke_file_save(path, a, ta), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_save(other, b, tb), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_open(path, 0, &u, &tu), MVKE_OK, "%s", mvke_last_error());
    size_t na, nb;
    unsigned char *ba = craft_read(path, &na), *bb = craft_read(other, &nb);
    cr_assert(ba && bb && na == nb, "the two files differ in size (%zu, %zu)", na, nb);
    cr_assert_neq(memcmp(ba, bb, na), 0);
    int fd = open(path, O_WRONLY); /* in place: no truncation, no rename */
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, bb, nb, 0), (ssize_t)nb);
    close(fd);
    int64_t tid = 100;
    mvke_result *r = NULL;
    cr_assert_eq(mvke_audience_top(u, tu, TASKS[0], 1, &tid, 5, NULL, &r), MVKE_ERR_CHECKSUM, "answered from the other file");
    cr_assert(strstr(mvke_last_error(), "replaced in place"), "%s", mvke_last_error());
    free(ba);
    free(bb);
    mvke_index_free(u);
    mvke_tags_free(tu);
    mvke_index_free(a);
    mvke_index_free(b);
    mvke_tags_free(ta);
    mvke_tags_free(tb);
    unlink(path);
    unlink(other);
}

Test(file, the_id_section_round_trips_and_absent_ids_are_named) {
    make_dir();
    ref_seed(15);
    mvke_index *u, *u2;
    mvke_tags *t, *t2;
    const int64_t n = MVKE_BLOCK_ROWS * 2 + 77; /* three blocks, two lookup chunks and a bit */
    build(2, 3, n, 2, MVKE_STORAGE_F16, &u, &t);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_open(path, 0, &u2, &t2), MVKE_OK, "%s", mvke_last_error());
    int64_t *ia = malloc((size_t)n * 8), *ib = malloc((size_t)n * 8);
    cr_assert_eq(mvke_index_ids(u, ia), MVKE_OK);
    cr_assert_eq(mvke_index_ids(u2, ib), MVKE_OK);
    cr_assert_eq(memcmp(ia, ib, (size_t)n * 8), 0);
    /* the opened index holds no in-memory id table: every lookup goes through the section */
    cr_assert_eq(u2->store.map.n, 0);
    cr_assert_eq(u2->store.lookup.n, n);
    for (int64_t i = 0; i < n; i += 997) {
        float a[6], b[6];
        cr_assert_eq(mvke_index_get(u, 7 * i + 1, a), MVKE_OK);
        cr_assert_eq(mvke_index_get(u2, 7 * i + 1, b), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(memcmp(a, b, sizeof a), 0);
        int yes;
        cr_assert_eq(mvke_index_contains(u2, 7 * i + 2, &yes), MVKE_OK);
        cr_assert_eq(yes, 0);
    }
    float row[6];
    cr_assert_eq(mvke_index_get(u2, 7 * n + 1, row), MVKE_ERR_UNKNOWN_ID);
    char want[64];
    snprintf(want, sizeof want, "id %lld", (long long)(7 * n + 1));
    cr_assert(strstr(mvke_last_error(), want), "%s", mvke_last_error());
    cr_assert_eq(mvke_index_get(u2, 3, row), MVKE_ERR_UNKNOWN_ID);
    cr_assert_eq(mvke_index_get(u2, -4, row), MVKE_ERR_UNKNOWN_ID);
    free(ia);
    free(ib);
    mvke_index_free(u); mvke_index_free(u2);
    mvke_tags_free(t); mvke_tags_free(t2);
    unlink(path);
}

/* Top-10 of one tag against the float64 oracle over the rows an index holds. */
static void check_against_oracle(const mvke_index *u, const mvke_tags *t) {
    int64_t n;
    mvke_index_count(u, &n);
    int K, d;
    mvke_index_shape(u, &K, &d, NULL);
    float *x = malloc((size_t)n * K * d * sizeof *x);
    int64_t *ids = malloc((size_t)n * 8);
    cr_assert_eq(mvke_index_read_rows(u, 0, n, ids, x), MVKE_OK);
    ref_hit *hits = malloc((size_t)n * sizeof *hits);
    for (int task = 0; task < 2; task++) {
        float q[64], w[64];
        cr_assert_eq(mvke_tags_get(t, TASKS[task], 101, NULL, NULL, q, w), MVKE_OK);
        int64_t nh = ref_rank(K, d, n, x, ids, NULL, q, w, hits);
        mvke_result *r;
        cr_assert_eq(mvke_audience_top(u, t, TASKS[task], 1, (int64_t[]){101}, 10, NULL, &r), MVKE_OK, "%s", mvke_last_error());
        const int64_t *ri;
        const float *rs;
        int64_t m;
        mvke_result_get(r, 0, &ri, &rs, &m);
        ref_check_topk(ri, rs, m, 10, hits, nh, 1e-5);
        mvke_result_free(r);
    }
    free(x); free(ids); free(hits);
}

Test(file, changes_after_open_save_and_reopen_like_a_fresh_build) {
    make_dir();
    ref_seed(16);
    const int K = 3, d = 4, D = 12;
    const int64_t n = MVKE_BLOCK_ROWS + 500;
    mvke_index *u, *u2, *u3, *fresh;
    mvke_tags *t, *t2, *t3;
    build(K, d, n, 3, MVKE_STORAGE_F32, &u, &t);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_open(path, 0, &u2, &t2), MVKE_OK, "%s", mvke_last_error());
    /* The same changes to the in-memory index and the opened one. */
    float *x = malloc((size_t)300 * D * sizeof *x);
    ref_fill_normal(x, 300 * D);
    int64_t add_ids[100], rm_ids[150], up_ids[50];
    for (int i = 0; i < 100; i++) add_ids[i] = 7 * (n + i) + 1;          /* new */
    for (int i = 0; i < 150; i++) rm_ids[i] = 7 * (int64_t)(i * 431 % n) + 1; /* across both blocks */
    for (int i = 0; i < 50; i++) up_ids[i] = 7 * (int64_t)(i * 977 % n + 3) + 1;
    for (int i = 0; i < 50; i++)
        for (int j = 0; j < 150; j++)
            if (up_ids[i] == rm_ids[j]) up_ids[i] += 7 * n * 3; /* an upsert of a new id then */
    mvke_index *both[2] = {u, u2};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(mvke_index_add(both[k], 100, add_ids, x), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_index_remove(both[k], 150, rm_ids), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_index_upsert(both[k], 50, up_ids, x + 100 * D), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_index_remove(both[k], 1, add_ids + 7), MVKE_OK);
        cr_assert_eq(mvke_index_add(both[k], 1, add_ids + 7, x + 200 * D), MVKE_OK); /* back, elsewhere */
    }
    /* only the blocks the changes touched were copied (both blocks here), and the id table of the
     * opened index holds only what moved or arrived */
    cr_assert_lt(u2->store.map.n, 400);
    same_searches(u, t, u2, t2, 3);
    for (int i = 0; i < 150; i++) {
        int yes;
        cr_assert_eq(mvke_index_contains(u2, rm_ids[i], &yes), MVKE_OK);
        cr_assert_eq(yes, 0, "removed id %lld still found", (long long)rm_ids[i]);
    }
    char p2[300];
    snprintf(p2, sizeof p2, "%s/changed.mvke", dir);
    cr_assert_eq(mvke_file_save(p2, u2, t2), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_verify(p2), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_open(p2, 0, &u3, &t3), MVKE_OK, "%s", mvke_last_error());
    same_searches(u, t, u3, t3, 3);
    /* a fresh build of the final users, in the same order */
    int64_t cnt;
    mvke_index_count(u3, &cnt);
    float *rows = malloc((size_t)cnt * D * sizeof *rows);
    int64_t *ids = malloc((size_t)cnt * 8);
    cr_assert_eq(mvke_index_read_rows(u3, 0, cnt, ids, rows), MVKE_OK);
    cr_assert_eq(mvke_index_new(&fresh, K, d, NULL), MVKE_OK);
    cr_assert_eq(mvke_index_add(fresh, cnt, ids, rows), MVKE_OK);
    same_searches(fresh, t, u3, t3, 3);
    check_against_oracle(u3, t3);
    /* removing from the reopened file works the same */
    cr_assert_eq(mvke_index_remove(u3, 1, add_ids), MVKE_OK);
    cr_assert_eq(mvke_index_remove(fresh, 1, add_ids), MVKE_OK);
    same_searches(fresh, t, u3, t3, 3);
    free(x); free(rows); free(ids);
    mvke_index_free(u); mvke_index_free(u2); mvke_index_free(u3); mvke_index_free(fresh);
    mvke_tags_free(t); mvke_tags_free(t2); mvke_tags_free(t3);
    unlink(path);
    unlink(p2);
}

/* The number of entries in the test folder (temporary files left behind would show here). */
static int entries(void) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* The top-5 of one fixed query, as a fingerprint of an index's contents. */
static void fingerprint(const mvke_index *u, int D, float *S, int64_t *I) {
    float *z = malloc((size_t)D * sizeof *z);
    for (int i = 0; i < D; i++) z[i] = (float)((i % 7) - 3);
    cr_assert_eq(mvke_index_search(u, 1, z, 5, NULL, S, I), MVKE_OK, "%s", mvke_last_error());
    free(z);
}

Test(file, out_of_memory_in_save_and_open_keeps_the_published_file) {
    make_dir();
    unlink(path);
    mvke_index *u, *u2;
    mvke_tags *t, *t2;
    build(3, 4, 300, 5, MVKE_STORAGE_F32, &u, &t);
    build(3, 4, 200, 4, MVKE_STORAGE_F16, &u2, &t2);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
    const int base = entries();

    int saved = 0;
    int64_t failures = 0;
    for (int64_t n = 0; n < 10000 && !saved; n++) {
        mvke_alloc_fail_after(n);
        mvke_status st = mvke_file_save(path, u2, t2);
        mvke_alloc_fail_after(-1);
        if (st == MVKE_OK) {
            saved = 1;
            break;
        }
        failures++;
        cr_assert_eq(st, MVKE_ERR_NOMEM, "allocation %lld: %s: %s", (long long)n, mvke_status_name(st),
                     mvke_last_error());
        cr_assert_eq(entries(), base, "allocation %lld: a temporary file was left behind", (long long)n);
        cr_assert_eq(mvke_file_verify(path), MVKE_OK, "allocation %lld: the published file broke", (long long)n);
    }
    cr_assert(saved && failures > 0, "save never failed or never succeeded (%lld failures)", (long long)failures);
    cr_assert_eq(entries(), base);

    int opened = 0;
    int64_t open_failures = 0;
    for (int64_t n = 0; n < 10000 && !opened; n++) {
        mvke_index *ou = (mvke_index *)1;
        mvke_tags *ot = (mvke_tags *)1;
        mvke_alloc_fail_after(n);
        mvke_status st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &ou, &ot);
        mvke_alloc_fail_after(-1);
        if (st == MVKE_OK) {
            opened = 1;
            same_searches(u2, t2, ou, ot, 4);
            mvke_index_free(ou);
            mvke_tags_free(ot);
            break;
        }
        open_failures++;
        cr_assert_eq(st, MVKE_ERR_NOMEM, "allocation %lld: %s: %s", (long long)n, mvke_status_name(st),
                     mvke_last_error());
        cr_assert(ou == NULL && ot == NULL, "allocation %lld: a failed open handed out an object", (long long)n);
    }
    cr_assert(opened && open_failures > 0);
    fprintf(stderr, "file: save survived %lld injected allocation failures, open %lld\n",
            (long long)failures, (long long)open_failures);
    mvke_index_free(u); mvke_index_free(u2);
    mvke_tags_free(t); mvke_tags_free(t2);
    unlink(path);
}

Test(file, mapped_index_survives_a_new_file_under_its_name) {
    make_dir();
    unlink(path);
    mvke_index *u, *u2, *mapped, *fresh;
    mvke_tags *t, *t2, *mt, *ft;
    build(3, 4, 300, 5, MVKE_STORAGE_F32, &u, &t);
    build(3, 4, 250, 5, MVKE_STORAGE_F32, &u2, &t2);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &mapped, &mt), MVKE_OK, "%s", mvke_last_error());
    float S0[5], S1[5];
    int64_t I0[5], I1[5];
    fingerprint(mapped, 12, S0, I0);
    /* Publish a different index under the same name while the old one is mapped. */
    cr_assert_eq(mvke_file_save(path, u2, t2), MVKE_OK, "%s", mvke_last_error());
    fingerprint(mapped, 12, S1, I1);
    cr_assert(!memcmp(S0, S1, sizeof S0) && !memcmp(I0, I1, sizeof I0), "the mapped index changed");
    same_searches(u, t, mapped, mt, 5);
    cr_assert_eq(mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &fresh, &ft), MVKE_OK, "%s", mvke_last_error());
    same_searches(u2, t2, fresh, ft, 5);
    mvke_index_free(mapped); mvke_index_free(fresh); mvke_index_free(u); mvke_index_free(u2);
    mvke_tags_free(mt); mvke_tags_free(ft); mvke_tags_free(t); mvke_tags_free(t2);
    unlink(path);
}

/* Threads that search a freshly opened index at the same moment check the same units at once. */
typedef struct first_use_arg {
    const mvke_index *u;
    const mvke_tags *t;
    pthread_barrier_t *go;
    answers a;
    mvke_status st;
} first_use_arg;

static void *first_use(void *p) {
    first_use_arg *a = p;
    pthread_barrier_wait(a->go);
    a->st = answer_all(a->u, a->t, &a->a);
    return NULL;
}

Test(file, concurrent_first_searches_check_units_once_and_agree) {
    make_dir();
    ref_seed(17);
    mvke_index *u, *m;
    mvke_tags *t, *mt;
    build(2, 3, 3 * MVKE_BLOCK_ROWS + 10, 3, MVKE_STORAGE_F32, &u, &t); /* several blocks and units */
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK);
    answers want;
    cr_assert_eq(answer_all(u, t, &want), MVKE_OK);
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(mvke_file_open(path, 0, &m, &mt), MVKE_OK, "%s", mvke_last_error());
        enum { T = 4 };
        pthread_t th[T];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, T);
        first_use_arg args[T];
        for (int i = 0; i < T; i++) {
            memset(&args[i], 0, sizeof args[i]);
            args[i].u = m;
            args[i].t = mt;
            args[i].go = &go;
            args[i].st = MVKE_OK;
            pthread_create(&th[i], NULL, first_use, &args[i]);
        }
        for (int i = 0; i < T; i++) {
            pthread_join(th[i], NULL);
            cr_assert_eq(args[i].st, MVKE_OK);
            cr_assert_eq(memcmp(&args[i].a, &want, sizeof want), 0, "thread %d answered differently", i);
        }
        pthread_barrier_destroy(&go);
        mvke_index_free(m);
        mvke_tags_free(mt);
    }
    mvke_index_free(u);
    mvke_tags_free(t);
    unlink(path);
}
