/*
 * test_cli_update.c - the life of an index file in the `mvke` tool (MVKE_EXE): add, upsert,
 * remove, update and merge give the searches of a fresh build of the same users; bulk id files, --tag
 * all, --top capped, --threads, info --tags and --names; error messages that name the right file.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mvke/mvke.h"
#include "craft.h"
#include "reference.h"

enum { K = 4, d = 6, N = 900, NT = 12 };
static char dir[] = "/tmp/mvke_test_cli_update_XXXXXX";
static float *X, *Q, *W;
static int64_t *IDS;

static void remove_dir(void) {
    if (dir[sizeof dir - 2] != 'X') {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
}

static const char *P(const char *name) {
    static char buf[64][512];
    static int k;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static char out_text[1 << 22], err_text[1 << 16];

/* Runs the tool with args (NULL-terminated), stdout/stderr captured; returns the exit status. */
static int tool(const char *first, ...) {
    const char *exe = getenv("MVKE_EXE");
    cr_assert_not_null(exe, "MVKE_EXE must point at the mvke executable");
    const char *argv[64] = {exe, first};
    int n = 2;
    va_list ap;
    va_start(ap, first);
    const char *a;
    while ((a = va_arg(ap, const char *))) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char fo[600], fe[600];
    snprintf(fo, sizeof fo, "%s/stdout.txt", dir);
    snprintf(fe, sizeof fe, "%s/stderr.txt", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(fo, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(fe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        execv(exe, (char **)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    FILE *f = fopen(fo, "r");
    size_t k = fread(out_text, 1, sizeof out_text - 1, f);
    out_text[k] = 0;
    fclose(f);
    f = fopen(fe, "r");
    k = fread(err_text, 1, sizeof err_text - 1, f);
    err_text[k] = 0;
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void save_users(const char *name, const float *x, const int64_t *ids, int64_t n) {
    const int64_t sx[3] = {n, K, d}, sid[1] = {n};
    cr_assert_eq(mvke_npy_save(P(name), MVKE_DTYPE_F32, 3, sx, x), MVKE_OK);
    char idn[256];
    snprintf(idn, sizeof idn, "ids_%s", name);
    cr_assert_eq(mvke_npy_save(P(idn), MVKE_DTYPE_I64, 1, sid, ids), MVKE_OK);
}

static void setup_data(void) {
    if (X) return;
    cr_assert_not_null(mkdtemp(dir));
    atexit(remove_dir);
    ref_seed(77);
    X = malloc(sizeof(float) * N * K * d);
    Q = malloc(sizeof(float) * 2 * NT * d);
    W = calloc(2 * NT * K, sizeof(float));
    IDS = malloc(sizeof(int64_t) * N);
    ref_fill_normal(X, N * K * d);
    ref_fill_normal(Q, 2 * NT * d);
    for (int i = 0; i < N; i++) IDS[i] = 7919LL * i % 100003 + 3;
    for (int t = 0; t < 2 * NT; t++)
        for (int k = t < NT ? 0 : 1; k < (t < NT ? 3 : 4); k++) W[t * K + k] = 0.2f + 0.1f * (float)((t + k) % 4);
    const int64_t sq[2] = {2 * NT, d}, sw[2] = {2 * NT, K};
    cr_assert_eq(mvke_npy_save(P("q.npy"), MVKE_DTYPE_F32, 2, sq, Q), MVKE_OK);
    cr_assert_eq(mvke_npy_save(P("w.npy"), MVKE_DTYPE_F32, 2, sw, W), MVKE_OK);
    FILE *f = fopen(P("tags.tsv"), "w");
    fprintf(f, "tag_id\ttask\tname\tparent_id\n");
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NT; i++) fprintf(f, "%d\t%s\tname %d-%d \xc3\xa9\t%d\n", 10 + i, t ? "intention" : "interest", t, i, i ? 10 : 0);
    fclose(f);
    save_users("all.npy", X, IDS, N);
}

/* mvke build of users file `users` (ids in ids_<users>) into index `ix`. */
static void build(const char *ix, const char *users) {
    char idn[256];
    snprintf(idn, sizeof idn, "ids_%s", users);
    int rc = tool("build", "-o", P(ix), "--experts", P(users), "--ids", P(idn), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-3", NULL);
    cr_assert_eq(rc, 0, "build %s: %s", ix, err_text);
}

/* The audience of every tag of both tasks (top 25), as printed. */
static char *audiences(const char *ix) {
    size_t cap = 1 << 20, len = 0;
    char *s = malloc(cap);
    const char *tasks[2] = {"interest", "intention"};
    for (int t = 0; t < 2; t++) {
        cr_assert_eq(tool("audience", P(ix), "--task", tasks[t], "--tag", "all", "--top", "25", NULL), 0, "%s", err_text);
        size_t l = strlen(out_text);
        cr_assert_lt(len + l, cap);
        memcpy(s + len, out_text, l + 1);
        len += l;
    }
    return s;
}

static unsigned char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)l + 1);
    cr_assert_eq(fread(b, 1, (size_t)l, f), (size_t)l);
    fclose(f);
    *n = (size_t)l;
    return b;
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    unsigned char *b = read_file(from, &n);
    FILE *f = fopen(to, "wb");
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

Test(cli_update, add_upsert_remove_merge_equal_a_fresh_build, .timeout = 300) {
    setup_data();
    /* A: users 0..599, B: users 600..899, R: new rows for users 500..699 (replacements) */
    save_users("a.npy", X, IDS, 600);
    save_users("b.npy", X + 600 * K * d, IDS + 600, 300);
    build("all.mvke", "all.npy");
    build("a.mvke", "a.npy");
    build("b.mvke", "b.npy");
    char *want = audiences("all.mvke");

    copy_file(P("a.mvke"), P("u.mvke"));
    cr_assert_eq(tool("add", P("u.mvke"), "--experts", P("b.npy"), "--ids", P("ids_b.npy"), NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, "added\t300\nusers\t900\n");
    cr_assert_eq(tool("verify", P("u.mvke"), NULL), 0, "%s", err_text);
    char *got = audiences("u.mvke");
    cr_assert_str_eq(got, want, "add differs from a fresh build");
    free(got);

    cr_assert_eq(tool("merge", "-o", P("m.mvke"), P("a.mvke"), P("b.mvke"), NULL), 0, "%s", err_text);
    cr_assert(strstr(out_text, "users\t900\n"), "%s", out_text);
    got = audiences("m.mvke");
    cr_assert_str_eq(got, want, "merge differs from a fresh build");
    free(got);

    /* upsert of other rows for 500..699, then of the true rows again: back to the fresh build */
    float *other = malloc(sizeof(float) * 200 * K * d);
    ref_fill_normal(other, 200 * K * d);
    save_users("o.npy", other, IDS + 500, 200);
    save_users("r.npy", X + 500 * K * d, IDS + 500, 200);
    free(other);
    cr_assert_eq(tool("upsert", P("u.mvke"), "--experts", P("o.npy"), "--ids", P("ids_o.npy"), NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, "added\t0\nreplaced\t200\nusers\t900\n");
    got = audiences("u.mvke");
    cr_assert_str_neq(got, want, "the upsert changed nothing");
    free(got);
    cr_assert_eq(tool("upsert", P("u.mvke"), "--experts", P("r.npy"), "--ids", P("ids_r.npy"), NULL), 0, "%s", err_text);
    got = audiences("u.mvke");
    cr_assert_str_eq(got, want, "upsert differs from a fresh build");
    free(got);
    /* upsert of new users counts them as added */
    copy_file(P("a.mvke"), P("u2.mvke"));
    cr_assert_eq(tool("upsert", P("u2.mvke"), "--experts", P("r.npy"), "--ids", P("ids_r.npy"), NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, "added\t100\nreplaced\t100\nusers\t700\n");

    /* remove B's users (a text file for the ids): the searches of A */
    FILE *f = fopen(P("gone.txt"), "w");
    fprintf(f, "# users of B\n");
    for (int i = 600; i < N; i++) fprintf(f, "%lld\n", (long long)IDS[i]);
    fclose(f);
    cr_assert_eq(tool("remove", P("u.mvke"), "--ids-file", P("gone.txt"), NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, "removed\t300\nusers\t600\n");
    /* an id that is gone now: named by its row among the file's ids, counted from 0 (the comment
     * line is not a row), with one way of counting in the message */
    cr_assert_eq(tool("remove", P("u.mvke"), "--ids-file", P("gone.txt"), NULL), 3);
    cr_assert(strstr(err_text, "gone.txt (rows count its ids from 0, not its lines): MVKE_ERR_UNKNOWN_ID: row 0: id"),
              "%s", err_text);
    /* the three in one rewrite: from every user, remove B's, upsert 500..699 (100 back), add 700..899 */
    save_users("c.npy", X + 700 * K * d, IDS + 700, 200);
    copy_file(P("all.mvke"), P("u3.mvke"));
    cr_assert_eq(tool("update", P("u3.mvke"), "--remove-file", P("gone.txt"), "--upsert", P("r.npy"), "--upsert-ids",
                      P("ids_r.npy"), "--add", P("c.npy"), "--add-ids", P("ids_c.npy"), NULL),
                 0, "%s", err_text);
    cr_assert_str_eq(out_text, "removed\t300\nadded\t300\nreplaced\t100\nusers\t900\n");
    got = audiences("u3.mvke");
    cr_assert_str_eq(got, want, "update differs from a fresh build");
    free(got);
    /* an update that fails at its last step leaves the file as it was */
    size_t n0, n1;
    unsigned char *b0 = read_file(P("u3.mvke"), &n0);
    cr_assert_eq(tool("update", P("u3.mvke"), "--remove-file", P("gone.txt"), "--add", P("a.npy"), "--add-ids",
                      P("ids_a.npy"), NULL), 3);
    unsigned char *b1 = read_file(P("u3.mvke"), &n1);
    cr_assert(n0 == n1 && !memcmp(b0, b1, n0), "a failed update changed the index");
    free(b0);
    free(b1);
    cr_assert_eq(tool("update", P("u3.mvke"), NULL), 2);

    char *want_a = audiences("a.mvke");
    got = audiences("u.mvke");
    cr_assert_str_eq(got, want_a, "remove differs from a fresh build");
    free(got);
    free(want_a);
    free(want);
}

/* mvke build of `users` with a codec that keeps its rows (trained on those users). */
static void build_codec(const char *ix, const char *users, const char *storage) {
    char idn[256];
    snprintf(idn, sizeof idn, "ids_%s", users);
    int rc = tool("build", "-o", P(ix), "--experts", P(users), "--ids", P(idn), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-3", "--storage",
                  storage, "--refine", NULL);
    cr_assert_eq(rc, 0, "build %s: %s", ix, err_text);
}

/* The life of a codec index keeping its rows: add (users the training never saw), upsert,
 * remove, update, shard then merge keep the codec, verify, and answer as float32 fresh builds of
 * the same users, byte for byte; merging indexes trained apart is refused naming both. */
Test(cli_update, codec_index_life_answers_as_float32, .timeout = 300) {
    setup_data();
    save_users("a.npy", X, IDS, 600);
    save_users("b.npy", X + 600 * K * d, IDS + 600, 300);
    save_users("r.npy", X + 500 * K * d, IDS + 500, 200);
    float *other = malloc(sizeof(float) * 200 * K * d);
    ref_fill_normal(other, 200 * K * d);
    for (int i = 0; i < 200 * K * d; i++) other[i] *= 4.0f; /* far outside the training's range */
    save_users("o.npy", other, IDS + 500, 200);
    free(other);
    build("all.mvke", "all.npy");
    build("a.mvke", "a.npy");
    char *want = audiences("all.mvke"), *want_a = audiences("a.mvke");
    const char *storages[2] = {"sq8", "pq:3"};
    for (int c = 0; c < 2; c++) {
        build_codec("ca.mvke", "a.npy", storages[c]);
        cr_assert_eq(tool("add", P("ca.mvke"), "--experts", P("b.npy"), "--ids", P("ids_b.npy"), NULL), 0, "%s", err_text);
        cr_assert_eq(tool("verify", P("ca.mvke"), NULL), 0, "%s", err_text);
        cr_assert_eq(tool("info", P("ca.mvke"), NULL), 0);
        cr_assert(strstr(out_text, c ? "storage\tpq:3\n" : "storage\tsq8\n") && strstr(out_text, "train_sample\t600\n"),
                  "%s", out_text);
        char *got = audiences("ca.mvke");
        cr_assert_str_eq(got, want, "%s: add differs from float32", storages[c]);
        free(got);
        cr_assert_eq(tool("upsert", P("ca.mvke"), "--experts", P("o.npy"), "--ids", P("ids_o.npy"), NULL), 0, "%s", err_text);
        cr_assert_eq(tool("verify", P("ca.mvke"), NULL), 0, "%s", err_text);
        cr_assert_eq(tool("upsert", P("ca.mvke"), "--experts", P("r.npy"), "--ids", P("ids_r.npy"), NULL), 0, "%s", err_text);
        got = audiences("ca.mvke");
        cr_assert_str_eq(got, want, "%s: upsert differs from float32", storages[c]);
        free(got);
        /* shard into three, merge back: one training, so the merge is accepted */
        cr_assert_eq(tool("shard", P("ca.mvke"), "--parts", "3", "--grain", "256", "-o", P("cs"), NULL), 0, "%s", err_text);
        cr_assert_eq(tool("merge", "-o", P("cm.mvke"), P("cs.00000.mvke"), P("cs.00001.mvke"), P("cs.00002.mvke"), NULL), 0,
                     "%s", err_text);
        cr_assert_eq(tool("verify", P("cm.mvke"), NULL), 0, "%s", err_text);
        got = audiences("cm.mvke");
        cr_assert_str_eq(got, want, "%s: shard + merge differs from float32", storages[c]);
        free(got);
        /* an index trained apart cannot join */
        build_codec("cb.mvke", "b.npy", storages[c]);
        cr_assert_eq(tool("merge", "-o", P("bad.mvke"), P("ca.mvke"), P("cb.mvke"), NULL), 3);
        cr_assert(strstr(err_text, "different trainings") && strstr(err_text, "cb.mvke"), "%s", err_text);
        cr_assert_neq(access(P("bad.mvke"), F_OK), 0, "a refused merge wrote its output");
        /* remove B's users, and the same in one update of a copy: A's float32 answers */
        FILE *f = fopen(P("gone.txt"), "w");
        for (int i = 600; i < N; i++) fprintf(f, "%lld\n", (long long)IDS[i]);
        fclose(f);
        copy_file(P("ca.mvke"), P("cu.mvke"));
        cr_assert_eq(tool("remove", P("ca.mvke"), "--ids-file", P("gone.txt"), NULL), 0, "%s", err_text);
        got = audiences("ca.mvke");
        cr_assert_str_eq(got, want_a, "%s: remove differs from float32", storages[c]);
        free(got);
        cr_assert_eq(tool("update", P("cu.mvke"), "--remove-file", P("gone.txt"), "--upsert", P("o.npy"), "--upsert-ids",
                          P("ids_o.npy"), NULL), 0, "%s", err_text);
        cr_assert_eq(tool("update", P("cu.mvke"), "--upsert", P("r.npy"), "--upsert-ids", P("ids_r.npy"), NULL), 0,
                     "%s", err_text);
        cr_assert_eq(tool("verify", P("cu.mvke"), NULL), 0, "%s", err_text);
        got = audiences("cu.mvke");
        char *want_u = NULL;
        /* A's users plus 600..699 back from r.npy: a float32 build of those */
        save_users("u.npy", X, IDS, 700);
        build("u.mvke", "u.npy");
        want_u = audiences("u.mvke");
        cr_assert_str_eq(got, want_u, "%s: update differs from float32", storages[c]);
        free(got);
        free(want_u);
    }
    free(want);
    free(want_a);
}

Test(cli_update, bad_updates_leave_the_index_as_it_was) {
    setup_data();
    save_users("a.npy", X, IDS, 600);
    save_users("b.npy", X + 600 * K * d, IDS + 600, 300);
    build("a2.mvke", "a.npy");
    build("b2.mvke", "b.npy");
    size_t n0, n1;
    unsigned char *before = read_file(P("a2.mvke"), &n0);
    /* removing an id that is not there */
    FILE *f = fopen(P("unknown.txt"), "w");
    fprintf(f, "%lld\n424242424\n", (long long)IDS[0]);
    fclose(f);
    cr_assert_eq(tool("remove", P("a2.mvke"), "--ids-file", P("unknown.txt"), NULL), 3);
    cr_assert(strstr(err_text, "MVKE_ERR_UNKNOWN_ID") && strstr(err_text, "unknown.txt"), "%s", err_text);
    /* adding ids that are present */
    cr_assert_eq(tool("add", P("a2.mvke"), "--experts", P("a.npy"), "--ids", P("ids_a.npy"), NULL), 3);
    cr_assert(strstr(err_text, "MVKE_ERR_DUPLICATE") && strstr(err_text, "ids_a.npy"), "%s", err_text);
    /* experts of another d */
    float *x5 = calloc((size_t)10 * K * 5, sizeof(float));
    for (int i = 0; i < 10 * K * 5; i++) x5[i] = 1.0f;
    const int64_t s5[3] = {10, K, 5};
    cr_assert_eq(mvke_npy_save(P("d5.npy"), MVKE_DTYPE_F32, 3, s5, x5), MVKE_OK);
    free(x5);
    cr_assert_eq(tool("add", P("a2.mvke"), "--experts", P("d5.npy"), NULL), 3);
    cr_assert(strstr(err_text, "d5.npy"), "%s", err_text);
    /* an id twice in an upsert */
    int64_t twice[300];
    memcpy(twice, IDS + 600, sizeof twice);
    twice[7] = twice[3];
    const int64_t s300[1] = {300};
    cr_assert_eq(mvke_npy_save(P("twice.npy"), MVKE_DTYPE_I64, 1, s300, twice), MVKE_OK);
    cr_assert_eq(tool("upsert", P("a2.mvke"), "--experts", P("b.npy"), "--ids", P("twice.npy"), NULL), 3);
    cr_assert(strstr(err_text, "twice.npy") && strstr(err_text, "MVKE_ERR_DUPLICATE"), "%s", err_text);
    unsigned char *after = read_file(P("a2.mvke"), &n1);
    cr_assert(n0 == n1 && !memcmp(before, after, n0), "a refused update changed the index");
    free(before);
    free(after);

    /* merge: a user in two inputs is named */
    cr_assert_eq(tool("merge", "-o", P("mm.mvke"), P("a2.mvke"), P("a2.mvke"), NULL), 3);
    char want[128];
    snprintf(want, sizeof want, "user id %lld is in", (long long)IDS[0]);
    cr_assert(strstr(err_text, want), "%s", err_text);
    cr_assert_neq(access(P("mm.mvke"), F_OK), 0, "a failed merge left its output");
    /* merge: different tag tables are refused */
    f = fopen(P("tags2.tsv"), "w");
    fprintf(f, "tag_id\ttask\tname\tparent_id\n");
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NT; i++) fprintf(f, "%d\t%s\tother %d\t%d\n", 10 + i, t ? "intention" : "interest", i, i ? 10 : 0);
    fclose(f);
    cr_assert_eq(tool("build", "-o", P("b3.mvke"), "--experts", P("b.npy"), "--ids", P("ids_b.npy"), "--tags", P("tags2.tsv"),
                      "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-3", NULL),
                 0, "%s", err_text);
    cr_assert_eq(tool("merge", "-o", P("mm.mvke"), P("a2.mvke"), P("b3.mvke"), NULL), 3);
    cr_assert(strstr(err_text, "different tag tables"), "%s", err_text);
    cr_assert_eq(tool("merge", "-o", P("mm.mvke"), P("a2.mvke"), NULL), 2);
}

Test(cli_update, bulk_ids_tag_all_top_cap_threads_names) {
    setup_data();
    build("c.mvke", "all.npy");
    const char *ix = P("c.mvke");
    /* --users-file (text and npy) equals --user */
    char list[256];
    snprintf(list, sizeof list, "%lld,%lld,%lld", (long long)IDS[5], (long long)IDS[1], (long long)IDS[700]);
    cr_assert_eq(tool("tags", ix, "--user", list, "--top", "3", NULL), 0, "%s", err_text);
    char *want = strdup(out_text);
    FILE *f = fopen(P("users.txt"), "w");
    fprintf(f, "%lld\n\n# a comment\n%lld\n%lld\n", (long long)IDS[5], (long long)IDS[1], (long long)IDS[700]);
    fclose(f);
    cr_assert_eq(tool("tags", ix, "--users-file", P("users.txt"), "--top", "3", NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, want);
    const int64_t three[3] = {IDS[5], IDS[1], IDS[700]}, s3[1] = {3};
    cr_assert_eq(mvke_npy_save(P("users.npy"), MVKE_DTYPE_I64, 1, s3, three), MVKE_OK);
    cr_assert_eq(tool("tags", ix, "--users-file", P("users.npy"), "--top", "3", "--threads", "1", NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, want, "--threads 1 changed the output");
    free(want);
    cr_assert_eq(tool("tags", ix, "--user", list, "--users-file", P("users.txt"), "--top", "3", NULL), 2);
    cr_assert_eq(tool("tags", ix, "--user", list, "--top", "3", "--threads", "-1", NULL), 2);

    /* --tag all equals every id; --tags-file equals --tag */
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "10,11,12,13,14,15,16,17,18,19,20,21", "--top", "4", NULL), 0);
    want = strdup(out_text);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "all", "--top", "4", "--threads", "1", NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, want);
    f = fopen(P("tags.txt"), "w");
    for (int i = 0; i < NT; i++) fprintf(f, "%d\n", 10 + i);
    fclose(f);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tags-file", P("tags.txt"), "--top", "4", NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, want);
    free(want);
    f = fopen(P("badtags.txt"), "w");
    fprintf(f, "10\neleven\n");
    fclose(f);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tags-file", P("badtags.txt"), "--top", "4", NULL), 3);
    cr_assert(strstr(err_text, "badtags.txt") && strstr(err_text, "line 2"), "%s", err_text);

    /* --top beyond the users or tags: every one, no out-of-memory */
    cr_assert_eq(tool("audience", ix, "--task", "intention", "--tag", "10", "--top", "100000000000", NULL), 0, "%s", err_text);
    cr_assert_eq(count_lines(out_text), 1 + N);
    cr_assert_eq(tool("tags", ix, "--user", list, "--top", "100000000000", NULL), 0, "%s", err_text);
    cr_assert_eq(count_lines(out_text), 1 + 3 * 2 * NT);

    /* info --tags and --names */
    cr_assert_eq(tool("info", ix, "--tags", NULL), 0, "%s", err_text);
    cr_assert_eq(count_lines(out_text), 1 + 2 * NT);
    cr_assert(strstr(out_text, "tag_id\ttask\tname\tparent_id\n10\tinterest\tname 0-0 \xc3\xa9\t0\n"), "%s", out_text);
    cr_assert(strstr(out_text, "\n21\tintention\tname 1-11 \xc3\xa9\t10\n"), "%s", out_text);
    cr_assert_eq(tool("audience", ix, "--task", "intention", "--tag", "13", "--top", "2", "--names", NULL), 0, "%s", err_text);
    cr_assert(!strncmp(out_text, "tag_id\ttask\trank\tuser_id\tscore\ttag_name\n13\tintention\t1\t", 40 + 15), "%s", out_text);
    cr_assert(strstr(out_text, "\tname 1-3 \xc3\xa9\n"), "%s", out_text);
    cr_assert_eq(tool("tags", ix, "--user", list, "--task", "interest", "--top", "1", "--names", NULL), 0, "%s", err_text);
    cr_assert(strstr(out_text, "score\ttag_name\n"), "%s", out_text);
    cr_assert(strstr(out_text, "\tname 0-"), "%s", out_text);
    cr_assert_eq(tool("tag-all", ix, "--top", "2", "-o", P("ta.tsv"), "--names", "--threads", "1", NULL), 0, "%s", err_text);
    size_t n;
    char *ta = (char *)read_file(P("ta.tsv"), &n);
    ta[n] = 0;
    cr_assert(!strncmp(ta, "user_id\ttask\trank\ttag_id\tscore\ttag_name\n", 40), "%.200s", ta);
    cr_assert_eq(count_lines(ta), 1 + N * 2 * 2);
    cr_assert(strstr(ta, "\tname 1-"), "%.200s", ta);
    free(ta);
    cr_assert_eq(tool("tag-all", ix, "--top", "2", "-o", P("ta_npy"), "--format", "npy", "--names", NULL), 2);
}

Test(cli_update, build_errors_name_the_right_file) {
    setup_data();
    /* experts of d = 5 against tag embeddings of d = 6: the experts are named */
    float *x5 = calloc((size_t)10 * K * 5, sizeof(float));
    for (int i = 0; i < 10 * K * 5; i++) x5[i] = 0.5f;
    const int64_t s5[3] = {10, K, 5}, sid[1] = {10};
    cr_assert_eq(mvke_npy_save(P("x5.npy"), MVKE_DTYPE_F32, 3, s5, x5), MVKE_OK);
    free(x5);
    cr_assert_eq(mvke_npy_save(P("ids10.npy"), MVKE_DTYPE_I64, 1, sid, IDS), MVKE_OK);
    int rc = tool("build", "-o", P("bad.mvke"), "--experts", P("x5.npy"), "--ids", P("ids10.npy"), "--tags", P("tags.tsv"),
                  "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-3", NULL);
    cr_assert_eq(rc, 3);
    cr_assert(strstr(err_text, "the experts") && strstr(err_text, "x5.npy") && strstr(err_text, "d = 5"), "%s", err_text);
    cr_assert(!strstr(err_text, "tags.tsv"), "blames the tags: %s", err_text);
    /* a negative id: the ids file is named */
    int64_t neg[10];
    memcpy(neg, IDS, sizeof neg);
    neg[4] = -3;
    cr_assert_eq(mvke_npy_save(P("neg.npy"), MVKE_DTYPE_I64, 1, sid, neg), MVKE_OK);
    const int64_t s6[3] = {10, K, d};
    cr_assert_eq(mvke_npy_save(P("x10.npy"), MVKE_DTYPE_F32, 3, s6, X), MVKE_OK);
    rc = tool("build", "-o", P("bad.mvke"), "--experts", P("x10.npy"), "--ids", P("neg.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-3", NULL);
    cr_assert_eq(rc, 3);
    cr_assert(strstr(err_text, "neg.npy row 4"), "%s", err_text);
    /* a NaN: row, expert and dimension, without a bare number that reads as the value */
    float xn[10 * K * d];
    memcpy(xn, X, sizeof xn);
    xn[3 * K * d + 2 * d + 5] = NAN;
    cr_assert_eq(mvke_npy_save(P("xnan.npy"), MVKE_DTYPE_F32, 3, s6, xn), MVKE_OK);
    rc = tool("build", "-o", P("bad.mvke"), "--experts", P("xnan.npy"), "--ids", P("ids10.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-3", NULL);
    cr_assert_eq(rc, 3);
    cr_assert(strstr(err_text, "row 3, expert 2, dimension 5: the value is NaN"), "%s", err_text);
    cr_assert(strstr(err_text, "xnan.npy row 3"), "%s", err_text);
    cr_assert_neq(access(P("bad.mvke"), F_OK), 0);
}

/* Starts `mvke ARGS...` in the background, its output thrown away; returns its pid. */
static pid_t tool_bg(const char *const *args) {
    pid_t pid = fork();
    if (pid == 0) {
        int e = open("/dev/null", O_WRONLY);
        dup2(e, 1);
        dup2(e, 2);
        execv(getenv("MVKE_EXE"), (char *const *)args);
        _exit(127);
    }
    return pid;
}

/* Writers of one index exclude each other: four adds and two removes at once all exit 0 and
 * every change is in the file (without the lock each published its own change over the others'). */
Test(cli_update, concurrent_writers_lose_no_update, .timeout = 300) {
    setup_data();
    save_users("base.npy", X, IDS, 400);
    build("conc.mvke", "base.npy");
    char names[4][32], idn[4][40], rm[2][32];
    for (int j = 0; j < 4; j++) { /* adds: users 400 + 50 j .. */
        snprintf(names[j], sizeof names[j], "add%d.npy", j);
        snprintf(idn[j], sizeof idn[j], "ids_add%d.npy", j);
        save_users(names[j], X + (int64_t)(400 + 50 * j) * K * d, IDS + 400 + 50 * j, 50);
    }
    for (int j = 0; j < 2; j++) { /* removes: users 100 j .. 100 j + 29 */
        snprintf(rm[j], sizeof rm[j], "rm%d.txt", j);
        FILE *f = fopen(P(rm[j]), "w");
        for (int i = 0; i < 30; i++) fprintf(f, "%lld\n", (long long)IDS[100 * j + i]);
        fclose(f);
    }
    char ix[600], paths[6][2][600];
    snprintf(ix, sizeof ix, "%s", P("conc.mvke"));
    pid_t pids[6];
    for (int j = 0; j < 6; j++) {
        if (j < 4) {
            snprintf(paths[j][0], sizeof paths[j][0], "%s", P(names[j]));
            snprintf(paths[j][1], sizeof paths[j][1], "%s", P(idn[j]));
            const char *a[] = {"mvke", "add", ix, "--experts", paths[j][0], "--ids", paths[j][1], NULL};
            pids[j] = tool_bg(a);
        } else {
            snprintf(paths[j][0], sizeof paths[j][0], "%s", P(rm[j - 4]));
            const char *a[] = {"mvke", "remove", ix, "--ids-file", paths[j][0], NULL};
            pids[j] = tool_bg(a);
        }
    }
    for (int j = 0; j < 6; j++) {
        int status;
        cr_assert_eq(waitpid(pids[j], &status, 0), pids[j]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed (status %d)", j, status);
    }
    cr_assert_eq(tool("info", ix, NULL), 0, "%s", err_text);
    cr_assert(strstr(out_text, "\nusers\t540\n"), "400 + 4 x 50 - 2 x 30 users expected:\n%s", out_text);
    /* every added user is there, every removed one is gone */
    cr_assert_eq(tool("tags", ix, "--user", "0", "--top", "1", NULL), 3); /* not an id here: sanity of the next */
    char user[32];
    snprintf(user, sizeof user, "%lld", (long long)IDS[400 + 50 * 3 + 49]);
    cr_assert_eq(tool("tags", ix, "--user", user, "--top", "1", NULL), 0, "%s", err_text);
    snprintf(user, sizeof user, "%lld", (long long)IDS[100 + 29]);
    cr_assert_eq(tool("tags", ix, "--user", user, "--top", "1", NULL), 3, "removed user %s still answers", user);
    cr_assert_eq(tool("verify", ix, NULL), 0, "%s", err_text);
}

/* A checksum-valid file whose contents are invalid (a NaN row, crafted with every checksum
 * recomputed) is never republished: add, remove and merge refuse it (exit 3), write nothing
 * and leave it byte for byte as it was. */
Test(cli_update, writers_do_not_republish_invalid_contents) {
    setup_data();
    save_users("few.npy", X, IDS, 10);
    build("few.mvke", "few.npy");
    size_t n;
    unsigned char *b = read_file(P("few.mvke"), &n);
    uint64_t off, size;
    cr_assert_eq(craft_section(b, 11 /* user blocks */, &off, &size), 0);
    float *v = (float *)(b + off) + 3 * 16 + 2; /* expert 0, dimension 3, row 2 */
    *v = NAN;
    craft_reseal(b, n);
    cr_assert_eq(craft_write(P("bad.mvke"), b, n), 0);
    free(b);
    b = read_file(P("bad.mvke"), &n);
    save_users("one.npy", X + 500 * K * d, IDS + 500, 1);
    const char *bad = P("bad.mvke");
    cr_assert_eq(tool("add", bad, "--experts", P("one.npy"), "--ids", P("ids_one.npy"), NULL), 3, "%s", err_text);
    cr_assert(strstr(err_text, "fails verification") && strstr(err_text, "nothing was written"), "%s", err_text);
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)IDS[0]);
    FILE *f = fopen(P("gone.txt"), "w");
    fprintf(f, "%s\n", id);
    fclose(f);
    cr_assert_eq(tool("remove", bad, "--ids-file", P("gone.txt"), NULL), 3, "%s", err_text);
    cr_assert_eq(tool("merge", "-o", P("merged.mvke"), P("few.mvke"), bad, NULL), 3, "%s", err_text);
    cr_assert_neq(access(P("merged.mvke"), F_OK), 0, "merge wrote an output");
    size_t n2;
    unsigned char *b2 = read_file(bad, &n2);
    cr_assert(n == n2 && !memcmp(b, b2, n), "a refused writer changed the file");
    free(b);
    free(b2);
}
