/*
 * test_file.c - index files: save and open give the same searches, ids, tags and gates; float16
 * storage; a mapped index can be changed without touching the file; users across several
 * blocks; every flipped byte and every truncation is refused by open and verify; running out of
 * memory while saving or opening leaves the published file intact; a mapped index keeps
 * answering while a new index is published under its name.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

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
    if (dir[sizeof dir - 2] == 'X') {
        cr_assert_not_null(mkdtemp(dir));
        atexit(remove_dir);
    }
    snprintf(path, sizeof path, "%s/index.mvke", dir);
}

static const char *TASKS[2] = {"interest", "intention"};

/* nu users (ids 7*i+1), 2 tasks of nt tags each (gates from VK for the first, given for the second). */
static void build(int K, int d, int64_t nu, int nt, mvke_storage storage, mvke_index **users, mvke_tags **tags) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = storage;
    cr_assert_eq(mvke_index_new(users, K, d, &o), MVKE_OK);
    cr_assert_eq(mvke_tags_new(tags, K, d, NULL), MVKE_OK);
    float *x = malloc((size_t)nu * K * d * sizeof *x);
    int64_t *ids = malloc((size_t)nu * sizeof *ids);
    ref_fill_normal(x, nu * K * d);
    for (int64_t i = 0; i < nu; i++) ids[i] = 7 * i + 1;
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

Test(file, round_trip_f32_and_f16) {
    make_dir();
    ref_seed(11);
    for (int s = 0; s < 2; s++) {
        mvke_index *u, *u2;
        mvke_tags *t, *t2;
        build(5, 30, 2000, 40, s ? MVKE_STORAGE_F16 : MVKE_STORAGE_F32, &u, &t);
        cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_file_verify(path), MVKE_OK, "%s", mvke_last_error());
        cr_assert_eq(mvke_file_open(path, 0, &u2, &t2), MVKE_OK, "%s", mvke_last_error());
        mvke_storage st;
        mvke_index_shape(u2, NULL, NULL, &st);
        cr_assert_eq((int)st, s);
        same_searches(u, t, u2, t2, 40);
        mvke_file_info info;
        cr_assert_eq(mvke_file_inspect(path, &info), MVKE_OK);
        cr_assert(info.version == 1 && info.K == 5 && info.d == 30 && info.nusers == 2000 && (int)info.storage == s);
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

Test(file, every_flipped_byte_and_truncation_is_refused) {
    make_dir();
    ref_seed(13);
    mvke_index *u;
    mvke_tags *t;
    build(3, 4, 20, 3, MVKE_STORAGE_F16, &u, &t);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK);
    mvke_index_free(u);
    mvke_tags_free(t);
    size_t n;
    unsigned char *good = slurp(path, &n);
    char bad[300];
    snprintf(bad, sizeof bad, "%s/bad.mvke", dir);
    unsigned char *b = malloc(n);
    int64_t tried = 0;
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(b, good, n);
            b[i] ^= (unsigned char)(1u << bit);
            spit(bad, b, n);
            mvke_index *x = NULL;
            mvke_tags *y = NULL;
            mvke_status st = mvke_file_open(bad, 0, &x, &y);
            cr_assert_neq(st, MVKE_OK, "byte %zu bit %d: a corrupted file opened", i, bit);
            cr_assert(st == MVKE_ERR_CHECKSUM || st == MVKE_ERR_FORMAT, "byte %zu: status %d", i, st);
            cr_assert(x == NULL && y == NULL);
            cr_assert(strstr(mvke_last_error(), "bad.mvke"), "%s", mvke_last_error());
            cr_assert_neq(mvke_file_verify(bad), MVKE_OK);
            tried++;
        }
    }
    for (size_t k = 0; k < n; k++) {
        spit(bad, good, k);
        mvke_index *x = NULL;
        mvke_status st = mvke_file_open(bad, 0, &x, NULL);
        cr_assert_eq(st, MVKE_ERR_TRUNCATED, "prefix %zu: status %d %s", k, st, mvke_last_error());
        cr_assert_eq(mvke_file_verify(bad), MVKE_ERR_TRUNCATED);
    }
    /* a trailing byte is refused too */
    memcpy(b, good, n);
    b = realloc(b, n + 1);
    b[n] = 0;
    spit(bad, b, n + 1);
    cr_assert_eq(mvke_file_verify(bad), MVKE_ERR_FORMAT);
    /* the row checksums can be skipped at open, not by verify */
    memcpy(b, good, n);
    spit(bad, b, n);
    cr_assert_eq(mvke_file_verify(bad), MVKE_OK);
    cr_log_info("%lld corrupted files refused, %zu truncations refused", (long long)tried, n);
    free(b);
    free(good);
    unlink(bad);
    unlink(path);
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
