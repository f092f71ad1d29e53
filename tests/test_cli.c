/*
 * test_cli.c - the `mvke` tool end to end (the executable is given by MVKE_EXE): build -> info
 * -> audience / tags equal the library's searches on the same data; float16 input and storage;
 * gates from virtual kernels equal given gates computed the same way; every malformed input
 * refused with its exit code and message and no output file; corrupted index files refused;
 * tag-all killed with SIGKILL and resumed gives byte-identical output.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "craft.h"
#include "index/file_format.h"
#include "kernels/half.h"
#include "reference.h"

enum { K = 5, d = 8, N = 3000, NT = 30 }; /* NT tags per task, 2 tasks */
static char dir[] = "/tmp/mvke_test_cli_XXXXXX";
static const char *TASKS[2] = {"interest", "intention"};
static const int EXP[2][5] = {{0, 1, 2}, {1, 2, 3, 4}}, NEXP[2] = {3, 4};
static float *X, *Q, *W, *VK;
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
static long child_maxrss_kb; /* peak resident memory of the last tool run */

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
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    child_maxrss_kb = ru.ru_maxrss;
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

static void write_tsv(const char *path, int extra_row) {
    FILE *f = fopen(path, "w");
    fprintf(f, "tag_id\ttask\tname\tparent_id\n");
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NT; i++) fprintf(f, "%d\t%s\ttag %d \xc3\xa9\t%d\n", 100 + i, TASKS[t], i, i ? 100 : 0);
    if (extra_row) fprintf(f, "999\tinterest\textra\t0\n");
    fclose(f);
}

static void setup_data(void) {
    if (X) return;
    cr_assert_not_null(mkdtemp(dir));
    atexit(remove_dir);
    ref_seed(2024);
    X = malloc(sizeof(float) * N * K * d);
    Q = malloc(sizeof(float) * 2 * NT * d);
    W = calloc(2 * NT * K, sizeof(float));
    VK = malloc(sizeof(float) * K * d);
    IDS = malloc(sizeof(int64_t) * N);
    ref_fill_normal(X, N * K * d);
    ref_fill_normal(Q, 2 * NT * d);
    ref_fill_normal(VK, K * d);
    for (int i = 0; i < N; i++) IDS[i] = 1000003LL * i % 99991 + 5 * (int64_t)i; /* distinct, unordered */
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NT; i++)
            cr_assert_eq(mvke_gates_from_vk(K, d, Q + (t * NT + i) * d, VK, EXP[t], NEXP[t], 0.7f, W + (t * NT + i) * K), MVKE_OK);
    const int64_t sx[3] = {N, K, d}, sid[1] = {N}, sq[2] = {2 * NT, d}, sw[2] = {2 * NT, K}, svk[2] = {K, d};
    cr_assert_eq(mvke_npy_save(P("x.npy"), MVKE_DTYPE_F32, 3, sx, X), MVKE_OK);
    cr_assert_eq(mvke_npy_save(P("ids.npy"), MVKE_DTYPE_I64, 1, sid, IDS), MVKE_OK);
    cr_assert_eq(mvke_npy_save(P("q.npy"), MVKE_DTYPE_F32, 2, sq, Q), MVKE_OK);
    cr_assert_eq(mvke_npy_save(P("w.npy"), MVKE_DTYPE_F32, 2, sw, W), MVKE_OK);
    cr_assert_eq(mvke_npy_save(P("vk.npy"), MVKE_DTYPE_F32, 2, svk, VK), MVKE_OK);
    uint16_t *h = malloc(sizeof(uint16_t) * N * K * d);
    mvke_half_from_float(X, h, (size_t)N * K * d);
    cr_assert_eq(mvke_npy_save(P("x16.npy"), MVKE_DTYPE_F16, 3, sx, h), MVKE_OK);
    free(h);
    write_tsv(P("tags.tsv"), 0);
}

/* The same index and tags built in process. */
static void library_index(int fp16, mvke_index **u, mvke_tags **t) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = fp16 ? MVKE_STORAGE_F16 : MVKE_STORAGE_F32;
    cr_assert_eq(mvke_index_new(u, K, d, &o), MVKE_OK);
    float *x = X;
    float *xw = NULL;
    if (fp16) {
        xw = malloc(sizeof(float) * N * K * d);
        for (int i = 0; i < N * K * d; i++) xw[i] = mvke_half_to_float1(mvke_half_from_float1(X[i]));
        x = xw;
    }
    cr_assert_eq(mvke_index_add(*u, N, IDS, x), MVKE_OK);
    free(xw);
    cr_assert_eq(mvke_tags_new(t, K, d, NULL), MVKE_OK);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(mvke_tags_add_task(*t, TASKS[k], EXP[k], NEXP[k]), MVKE_OK);
        int64_t tid[NT];
        for (int i = 0; i < NT; i++) tid[i] = 100 + i;
        cr_assert_eq(mvke_tags_add(*t, TASKS[k], NT, tid, NULL, NULL, Q + k * NT * d, W + k * NT * K), MVKE_OK);
    }
}

/* The library's audience of tags 100..102 of task, as the tool prints it. */
static void expected_audience(mvke_index *u, mvke_tags *t, const char *task, char *buf, size_t cap) {
    int64_t tid[3] = {100, 101, 102};
    mvke_result *r;
    cr_assert_eq(mvke_audience_top(u, t, task, 3, tid, 10, NULL, &r), MVKE_OK);
    size_t len = (size_t)snprintf(buf, cap, "tag_id\ttask\trank\tuser_id\tscore\n");
    for (int i = 0; i < 3; i++) {
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(r, i, &ids, &sc, &n);
        cr_assert_eq(n, 10);
        for (int k = 0; k < n; k++)
            len += (size_t)snprintf(buf + len, cap - len, "%lld\t%s\t%d\t%lld\t%.6f\n", (long long)tid[i], task, k + 1,
                                    (long long)ids[k], (double)sc[k]);
    }
    mvke_result_free(r);
}

Test(cli, build_info_audience_tags_round_trip) {
    setup_data();
    const char *ix = P("a.mvke");
    int rc = tool("build", "-o", ix, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1,2,3,4", NULL);
    cr_assert_eq(rc, 0, "build: %s", err_text);
    cr_assert_str_empty(out_text, "build printed on stdout");
    cr_assert_eq(tool("info", ix, NULL), 0, "%s", err_text);
    cr_assert(strstr(out_text, "users\t3000\n") && strstr(out_text, "K\t5\n") && strstr(out_text, "d\t8\n"), "%s", out_text);
    cr_assert(strstr(out_text, "task\tinterest\texperts=0,1,2\ttags=30\n"), "%s", out_text);
    cr_assert(strstr(out_text, "task\tintention\texperts=1,2,3,4\ttags=30\n"), "%s", out_text);
    cr_assert_eq(tool("verify", ix, NULL), 0, "%s", err_text);

    mvke_index *u;
    mvke_tags *t;
    library_index(0, &u, &t);
    static char want[1 << 16];
    for (int k = 0; k < 2; k++) {
        expected_audience(u, t, TASKS[k], want, sizeof want);
        cr_assert_eq(tool("audience", ix, "--task", TASKS[k], "--tag", "100,101,102", "--top", "10", NULL), 0, "%s", err_text);
        cr_assert_str_eq(out_text, want);
    }
    /* the audience also matches the double oracle */
    {
        ref_hit *hits = malloc(sizeof *hits * N);
        int64_t n = ref_rank(K, d, N, X, IDS, NULL, Q, W, hits);
        long long tag, rank, uid;
        char task[32];
        double score;
        char *line = strchr(out_text, '\n') + 1;
        cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--top", "5", NULL), 0);
        line = strchr(out_text, '\n') + 1;
        for (int r = 0; r < 5; r++) {
            cr_assert_eq(sscanf(line, "%lld\t%31s\t%lld\t%lld\t%lf", &tag, task, &rank, &uid, &score), 5);
            cr_assert_eq(rank, r + 1);
            cr_assert(fabs(score - hits[r].score) < 2e-5, "rank %d: %f vs %f", r, score, hits[r].score);
            line = strchr(line, '\n') + 1;
        }
        (void)n;
        free(hits);
    }
    /* threshold + allow-list (text file) */
    FILE *f = fopen(P("allow.txt"), "w");
    for (int i = 0; i < N; i += 2) fprintf(f, "%lld\n", (long long)IDS[i]);
    fclose(f);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--min-score", "0.3", "--allow", P("allow.txt"), NULL), 0,
                 "%s", err_text);
    {
        mvke_allow *al;
        int64_t *s = malloc(sizeof(int64_t) * N);
        int64_t m = 0;
        for (int i = 0; i < N; i += 2) s[m++] = IDS[i];
        for (int64_t i = 1; i < m; i++)
            for (int64_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
                int64_t tmp = s[j];
                s[j] = s[j - 1];
                s[j - 1] = tmp;
            }
        cr_assert_eq(mvke_allow_new_sorted(&al, s, m), MVKE_OK);
        mvke_result *r;
        int64_t tid = 100;
        cr_assert_eq(mvke_audience_range(u, t, "interest", 1, &tid, 0.3f, al, &r), MVKE_OK);
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(r, 0, &ids, &sc, &n);
        cr_assert_gt(n, 0);
        size_t len = (size_t)snprintf(want, sizeof want, "tag_id\ttask\trank\tuser_id\tscore\n");
        for (int64_t k = 0; k < n; k++)
            len += (size_t)snprintf(want + len, sizeof want - len, "100\tinterest\t%lld\t%lld\t%.6f\n", (long long)k + 1,
                                    (long long)ids[k], (double)sc[k]);
        cr_assert_str_eq(out_text, want);
        mvke_result_free(r);
        mvke_allow_free(al);
        free(s);
    }
    /* per-user top tags */
    char users[64];
    snprintf(users, sizeof users, "%lld,%lld", (long long)IDS[7], (long long)IDS[2999]);
    cr_assert_eq(tool("tags", ix, "--user", users, "--top", "4", NULL), 0, "%s", err_text);
    {
        int64_t uid[2] = {IDS[7], IDS[2999]};
        mvke_result *r;
        cr_assert_eq(mvke_user_tags_top(u, t, NULL, 2, uid, 4, &r), MVKE_OK);
        size_t len = (size_t)snprintf(want, sizeof want, "user_id\ttask\trank\ttag_id\tscore\n");
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 2; k++) {
                const int64_t *ids;
                const float *sc;
                int64_t n;
                mvke_result_get(r, i * 2 + k, &ids, &sc, &n);
                for (int64_t j = 0; j < n; j++)
                    len += (size_t)snprintf(want + len, sizeof want - len, "%lld\t%s\t%lld\t%lld\t%.6f\n", (long long)uid[i],
                                            TASKS[k], (long long)j + 1, (long long)ids[j], (double)sc[j]);
            }
        cr_assert_str_eq(out_text, want);
        mvke_result_free(r);
    }
    cr_assert_eq(tool("tags", ix, "--user", "123456789", "--top", "4", NULL), 3);
    cr_assert(strstr(err_text, "MVKE_ERR_UNKNOWN_ID"), "%s", err_text);
    cr_assert_eq(tool("audience", ix, "--task", "nope", "--tag", "100", "--top", "4", NULL), 3);
    cr_assert(strstr(err_text, "MVKE_ERR_UNKNOWN_TASK"), "%s", err_text);
    mvke_index_free(u);
    mvke_tags_free(t);
}

Test(cli, storage_names) {
    setup_data();
    const char *a = P("bf.mvke");
    int rc = tool("build", "-o", a, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--storage", "bf16",
                  NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    cr_assert_eq(tool("info", a, NULL), 0);
    cr_assert(strstr(out_text, "storage\tbfloat16\n"), "%s", out_text);
    cr_assert_eq(tool("audience", a, "--task", "intention", "--tag", "100", "--top", "3", NULL), 0, "%s", err_text);
    /* an unknown name, a pq with more sub-spaces than dimensions, and both spellings at once */
    rc = tool("build", "-o", P("no.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4",
              "--storage", "f64", NULL);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(err_text, "f64"), "%s", err_text);
    rc = tool("build", "-o", P("no.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4",
              "--storage", "pq:31", NULL);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(err_text, "pq"), "%s", err_text);
    rc = tool("build", "-o", P("no.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4",
              "--storage", "f16", "--fp16", NULL);
    cr_assert_eq(rc, 2, "%s", err_text);
    cr_assert_neq(access(P("no.mvke"), F_OK), 0, "a refused build writes nothing");
}

/* Codec indexes from the command line: `build --storage sq8|pq:M --refine` answers every
 * audience (top-N and threshold), user's tags and tag-all exactly as the float32 index, and
 * --stats says certified; `info` shows the codec; --mode approx[:R] is the fixed refine; a codec
 * without its rows is approximate only (--mode exact refused with the reason). */
Test(cli, codec_indexes_answer_as_float32) {
    setup_data();
    const char *f = P("f32.mvke");
    static char out_f[sizeof out_text];
    int rc = tool("build", "-o", f, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    const char *codecs[2] = {"sq8", "pq:4"};
    for (int c = 0; c < 2; c++) {
        const char *x = P(c ? "pq.mvke" : "sq8.mvke"), *xa = P(c ? "pqa.mvke" : "sq8a.mvke");
        rc = tool("build", "-o", x, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--storage",
                  codecs[c], "--refine", "--train-sample", "2000", NULL);
        cr_assert_eq(rc, 0, "%s", err_text);
        cr_assert_eq(tool("verify", x, NULL), 0, "%s", err_text);
        cr_assert_eq(tool("info", x, NULL), 0);
        cr_assert(strstr(out_text, c ? "storage\tpq:4\n" : "storage\tsq8\n"), "%s", out_text);
        cr_assert(strstr(out_text, "train_sample\t2000\n") && strstr(out_text, "refine rows 160"), "%s", out_text);
        const char *shapes[3][4] = {{"--top", "25", NULL, NULL}, {"--min-score", "0.3", NULL, NULL},
                                    {"--top", "2000", NULL, NULL}};
        for (int t = 0; t < 2; t++)
            for (int sh = 0; sh < 3; sh++) {
                cr_assert_eq(tool("audience", f, "--task", TASKS[t], "--tag", "all", shapes[sh][0], shapes[sh][1], NULL), 0);
                snprintf(out_f, sizeof out_f, "%s", out_text);
                cr_assert_eq(tool("audience", x, "--task", TASKS[t], "--tag", "all", shapes[sh][0], shapes[sh][1], "--stats",
                                  NULL), 0, "%s", err_text);
                cr_assert_str_eq(out_text, out_f, "%s, %s %s: not the float32 answer", codecs[c], shapes[sh][0], shapes[sh][1]);
                cr_assert(strstr(err_text, "certified exact"), "%s", err_text);
            }
        cr_assert_eq(tool("tags", f, "--user", "0,98,196", "--top", "4", NULL), 0, "%s", err_text);
        snprintf(out_f, sizeof out_f, "%s", out_text);
        cr_assert_eq(tool("tags", x, "--user", "0,98,196", "--top", "4", NULL), 0, "%s", err_text);
        cr_assert_str_eq(out_text, out_f);
        cr_assert_eq(tool("tag-all", f, "--top", "3", "-o", P("tf.tsv"), NULL), 0, "%s", err_text);
        cr_assert_eq(tool("tag-all", x, "--top", "3", "-o", P("tx.tsv"), NULL), 0, "%s", err_text);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", P("tf.tsv"), P("tx.tsv"));
        cr_assert_eq(system(cmd), 0, "%s: tag-all differs from float32's", codecs[c]);
        /* approx: the R*k best of the codes re-scored; says it is not certified */
        cr_assert_eq(tool("audience", x, "--task", "interest", "--tag", "100", "--top", "5", "--mode", "approx:2", "--stats",
                          NULL), 0, "%s", err_text);
        cr_assert(strstr(err_text, "not certified"), "%s", err_text);
        cr_assert_neq(tool("audience", x, "--task", "interest", "--tag", "100", "--top", "5", "--mode", "approx:0", NULL), 0);
        /* without its rows: approximate only */
        rc = tool("build", "-o", xa, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--storage",
                  codecs[c], NULL);
        cr_assert_eq(rc, 0, "%s", err_text);
        cr_assert_eq(tool("audience", xa, "--task", "interest", "--tag", "100", "--top", "5", "--stats", NULL), 0, "%s", err_text);
        cr_assert(strstr(err_text, "not certified"), "%s", err_text);
        rc = tool("audience", xa, "--task", "interest", "--tag", "100", "--top", "5", "--mode", "exact", NULL);
        cr_assert_neq(rc, 0, "%s", err_text);
        cr_assert(strstr(err_text, "--refine"), "%s", err_text);
    }
}

Test(cli, float16_and_virtual_kernels) {
    setup_data();
    const char *a = P("h.mvke"), *b = P("vk.mvke");
    int rc = tool("build", "-o", a, "--experts", P("x16.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--fp16", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    cr_assert_eq(tool("info", a, NULL), 0);
    cr_assert(strstr(out_text, "storage\tfloat16\n"), "%s", out_text);
    mvke_index *u;
    mvke_tags *t;
    library_index(1, &u, &t);
    static char want[1 << 16], got[1 << 16];
    expected_audience(u, t, "intention", want, sizeof want);
    cr_assert_eq(tool("audience", a, "--task", "intention", "--tag", "100,101,102", "--top", "10", NULL), 0);
    cr_assert_str_eq(out_text, want);
    mvke_index_free(u);
    mvke_tags_free(t);
    /* gates from the virtual kernels give the same results as the gates computed from them */
    rc = tool("build", "-o", b, "--experts", P("x16.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
              P("q.npy"), "--vk", P("vk.npy"), "--temperature", "0.7", "--task", "interest=0-2", "--task", "intention=1-4",
              "--fp16", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(tool("audience", a, "--task", TASKS[k], "--tag", "100,110,129", "--top", "20", NULL), 0);
        strcpy(got, out_text);
        cr_assert_eq(tool("audience", b, "--task", TASKS[k], "--tag", "100,110,129", "--top", "20", NULL), 0);
        cr_assert_str_eq(out_text, got);
    }
}

/* A build that must fail with rc and a message containing msg, leaving no index. */
static void build_fails(int rc_want, const char *msg, const char *experts, const char *ids, const char *tsv, const char *q,
                        const char *w, const char *task2) {
    const char *ix = P("bad.mvke");
    unlink(ix);
    int rc = tool("build", "-o", ix, "--experts", experts, "--ids", ids, "--tags", tsv, "--tag-emb", q, "--gates", w,
                  "--task", "interest=0-2", "--task", task2, NULL);
    cr_assert_eq(rc, rc_want, "rc %d, want %d (%s): %s", rc, rc_want, msg, err_text);
    cr_assert(strstr(err_text, msg), "want '%s' in: %s", msg, err_text);
    cr_assert_str_empty(out_text);
    cr_assert_neq(access(ix, F_OK), 0, "an index was left behind (%s)", msg);
    /* no temporary file either */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q 'bad.mvke'", dir);
    cr_assert_neq(system(cmd), 0, "a temporary file was left behind (%s)", msg);
}

static void write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    cr_assert_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

Test(cli, malformed_inputs_are_refused) {
    setup_data();
    const char *x = P("x.npy"), *ids = P("ids.npy"), *tsv = P("tags.tsv"), *q = P("q.npy"), *w = P("w.npy");
    size_t n;
    unsigned char *good = read_bytes(x, &n), *b = malloc(n + 8);
    /* bad magic */
    memcpy(b, good, n);
    b[1] = 'X';
    write_bytes(P("m.npy"), b, n);
    build_fails(3, "bad magic", P("m.npy"), ids, tsv, q, w, "intention=1-4");
    /* wrong dtype: int64 ids given as experts, float given as ids */
    build_fails(3, "expected a 3-d float (float32, float64 or float16)", ids, ids, tsv, q, w, "intention=1-4");
    build_fails(3, "expected a 1-d integer (int64, int32, uint64 or uint32)", x, q, tsv, q, w, "intention=1-4");
    /* fortran order */
    memcpy(b, good, n);
    unsigned char *fo = NULL;
    for (size_t i = 0; i + 5 < 200 && !fo; i++)
        if (!memcmp(b + i, "False", 5)) fo = b + i;
    cr_assert_not_null(fo);
    memcpy(fo, "True ", 5);
    write_bytes(P("m.npy"), b, n);
    build_fails(3, "fortran_order", P("m.npy"), ids, tsv, q, w, "intention=1-4");
    /* shape larger than the file, truncated data */
    write_bytes(P("m.npy"), good, n - 4);
    build_fails(3, "MVKE_ERR_TRUNCATED", P("m.npy"), ids, tsv, q, w, "intention=1-4");
    /* NaN in experts, tag embeddings, gates */
    memcpy(b, good, n);
    float nan = NAN;
    memcpy(b + n - 4 * (K * d * 10 + 3), &nan, 4);
    write_bytes(P("m.npy"), b, n);
    build_fails(3, "MVKE_ERR_NONFINITE", P("m.npy"), ids, tsv, q, w, "intention=1-4");
    cr_assert(strstr(err_text, "row 2989"), "%s", err_text);
    size_t nq;
    unsigned char *gq = read_bytes(q, &nq);
    memcpy(gq + nq - 4, &nan, 4);
    write_bytes(P("mq.npy"), gq, nq);
    build_fails(3, "MVKE_ERR_NONFINITE", x, ids, tsv, P("mq.npy"), w, "intention=1-4");
    cr_assert(strstr(err_text, "line 61"), "%s", err_text);
    free(gq);
    unsigned char *gw = read_bytes(w, &nq);
    memcpy(gw + nq - 4 * K * 3 - 4 * 1, &nan, 4);
    write_bytes(P("mw.npy"), gw, nq);
    build_fails(3, "MVKE_ERR_NONFINITE", x, ids, tsv, q, P("mw.npy"), "intention=1-4");
    free(gw);
    /* TSV with a missing column, and with a row count different from the arrays */
    FILE *f = fopen(P("m.tsv"), "w");
    fprintf(f, "tag_id\ttask\tname\tparent_id\n1\tinterest\tx\n");
    fclose(f);
    build_fails(3, "line 2: 3 columns", x, ids, P("m.tsv"), q, w, "intention=1-4");
    write_tsv(P("m.tsv"), 1);
    build_fails(3, "has 61 rows", x, ids, P("m.tsv"), q, w, "intention=1-4");
    /* unknown task, gates nonzero outside the subset */
    build_fails(3, "MVKE_ERR_UNKNOWN_TASK", x, ids, tsv, q, w, "other=1-4");
    build_fails(3, "MVKE_ERR_GATE", x, ids, tsv, q, w, "intention=2-4");
    cr_assert(strstr(err_text, "line 32"), "%s", err_text);
    /* duplicate user ids */
    size_t ni;
    unsigned char *gi = read_bytes(ids, &ni);
    memcpy(gi + ni - 8, gi + ni - 8 * 101, 8);
    write_bytes(P("mi.npy"), gi, ni);
    build_fails(3, "MVKE_ERR_DUPLICATE", x, P("mi.npy"), tsv, q, w, "intention=1-4");
    cr_assert(strstr(err_text, "rows 2899 and 2999"), "%s", err_text);
    free(gi);
    /* I/O: a missing input is exit 4 */
    build_fails(4, "cannot open", P("nope.npy"), ids, tsv, q, w, "intention=1-4");
    /* usage errors: 2, a usage line, nothing on stdout */
    cr_assert_eq(tool("build", "-o", P("bad.mvke"), NULL), 2);
    cr_assert(strstr(err_text, "usage: mvke build"), "%s", err_text);
    cr_assert_str_empty(out_text);
    cr_assert_eq(tool("build", "-o", P("bad.mvke"), "--experts", x, "--tags", tsv, "--tag-emb", q, "--gates", w, "--task",
                      "interest=2-0", NULL), 2);
    cr_assert_eq(tool("audience", P("a.mvke"), "--task", "interest", "--tag", "1", NULL), 2);
    cr_assert_eq(tool("tag-all", P("a.mvke"), "--top", "0", "-o", P("o.tsv"), NULL), 2);
    const char *cmds[] = {"build", "info", "verify", "audience", "tags", "tag-all"};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(tool(cmds[i], "--help", NULL), 0);
        cr_assert(strstr(out_text, "usage: mvke "), "%s --help: %s", cmds[i], out_text);
    }
    free(good);
    free(b);
}

Test(cli, corrupted_index_files_are_refused) {
    setup_data();
    const char *ix = P("c.mvke"), *bad = P("c_bad.mvke");
    cr_assert_eq(tool("build", "-o", ix, "--experts", P("x.npy"), "--tags", P("tags.tsv"), "--tag-emb", P("q.npy"), "--vk",
                      P("vk.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL), 0, "%s", err_text);
    size_t n;
    unsigned char *g = read_bytes(ix, &n);
    mvke_file_info fi;
    cr_assert_eq(mvke_file_inspect(ix, &fi), MVKE_OK);
    /* one flipped byte in the header, the table and the middle of every section */
    for (int s = 0; s < fi.nsections + 2; s++) {
        size_t at;
        if (s == 0) at = 20;
        else if (s == 1) at = 64 + 9;
        else {
            const unsigned char *e = g + 64 + 32 * (s - 2);
            uint64_t off = 0, size = 0;
            for (int k = 0; k < 8; k++) off |= (uint64_t)e[8 + k] << (8 * k), size |= (uint64_t)e[16 + k] << (8 * k);
            at = (size_t)(off + size / 2);
        }
        g[at] ^= 0x10;
        write_bytes(bad, g, n);
        g[at] ^= 0x10;
        cr_assert_eq(tool("verify", bad, NULL), 3, "section %d byte %zu: %s", s, at, err_text);
        cr_assert(strstr(err_text, "c_bad.mvke"), "%s", err_text);
        cr_assert_str_empty(out_text);
        int rc = tool("audience", bad, "--task", "interest", "--tag", "100", "--top", "3", NULL);
        cr_assert(rc == 3 || (rc == 0 && s > 2), "section %d: rc %d", s, rc); /* rows are trusted at open without --verify */
    }
    for (size_t k = 0; k < n; k += n / 37 + 1) {
        write_bytes(bad, g, k);
        cr_assert_eq(tool("verify", bad, NULL), 3, "prefix %zu: %s", k, err_text);
        cr_assert_eq(tool("info", bad, NULL), 3);
    }
    cr_assert_eq(tool("verify", P("missing.mvke"), NULL), 4);
    free(g);
}

/* A .npy file of the given dtype and shape, written by hand (the library writes only its own). */
static void write_npy_raw(const char *path, const char *descr, int ndim, const int64_t *shape, const void *data,
                          size_t bytes) {
    char dict[256];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < ndim; i++) k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld,%s", (long long)shape[i],
                                                 i + 1 < ndim ? " " : "");
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    size_t total = (10 + (size_t)k + 1 + 63) / 64 * 64, hl = total - 10;
    unsigned char *buf = malloc(total + bytes);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, (size_t)k);
    memset(buf + 10 + k, ' ', total - 10 - (size_t)k - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, bytes);
    write_bytes(path, buf, total + bytes);
    free(buf);
}

static int64_t ckpt_next(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[1024];
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[k] = 0;
    char *p = strstr(buf, "next_user ");
    return p ? atoll(p + 10) : -1;
}

/* Starts tag-all in the background; returns its pid. */
static pid_t tag_all_bg(const char *ix, const char *out, const char *fmt, int resume) {
    pid_t pid = fork();
    if (pid == 0) {
        int e = open("/dev/null", O_WRONLY);
        dup2(e, 1);
        dup2(e, 2);
        execl(getenv("MVKE_EXE"), "mvke", "tag-all", ix, "--top", "3", "-o", out, "--format", fmt, "--block-users", "500",
              "--checkpoint-every", "0", resume ? "--resume" : NULL, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* numpy's default dtypes build the same index as float32 and int64 inputs; a writer does not
 * replace a file of another kind (the taxonomy a build read, an export) without --force. */
Test(cli, numpy_defaults_and_outputs_of_another_kind) {
    setup_data();
    double *x64 = malloc(sizeof(double) * N * K * d);
    int32_t *id32 = malloc(sizeof(int32_t) * N);
    for (int64_t i = 0; i < (int64_t)N * K * d; i++) x64[i] = X[i]; /* float32 values: exact in float64 */
    for (int i = 0; i < N; i++) id32[i] = (int32_t)IDS[i];
    write_npy_raw(P("x64.npy"), "<f8", 3, (int64_t[]){N, K, d}, x64, sizeof(double) * N * K * d);
    write_npy_raw(P("ids32.npy"), "<i4", 1, (int64_t[]){N}, id32, sizeof(int32_t) * N);
    free(x64);
    free(id32);
    char a[1 << 14], b[1 << 14];
    const char *const build32[] = {"build", "-o", P("a.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy")};
    const char *const build64[] = {"build", "-o", P("b.mvke"), "--experts", P("x64.npy"), "--ids", P("ids32.npy")};
    for (int v = 0; v < 2; v++) {
        const char *const *bv = v ? build64 : build32;
        cr_assert_eq(tool(bv[0], bv[1], bv[2], bv[3], bv[4], bv[5], bv[6], "--tags", P("tags.tsv"), "--tag-emb", P("q.npy"),
                          "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL),
                     0, "%s", err_text);
        cr_assert_eq(tool("audience", bv[2], "--task", "intention", "--tag", "all", "--top", "7", NULL), 0, "%s", err_text);
        cr_assert_lt(strlen(out_text), sizeof a);
        memcpy(v ? b : a, out_text, strlen(out_text) + 1);
    }
    cr_assert_str_eq(b, a, "float64 experts and int32 ids answer otherwise than float32 and int64");

    /* tag-all -o onto the taxonomy, build and merge -o onto it, concat onto an export: refused,
     * the file untouched; with --force replaced. */
    size_t n0, n1;
    unsigned char *before = read_bytes(P("tags.tsv"), &n0);
    cr_assert_eq(tool("tag-all", P("a.mvke"), "--top", "2", "-o", P("tags.tsv"), NULL), 2);
    cr_assert(strstr(err_text, "tags.tsv exists and is not a tag-all output; nothing was written: choose another output, "
                               "or add --force"), "%s", err_text);
    cr_assert_eq(tool("build", "-o", P("q.npy"), "--experts", P("x.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                      P("x.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", NULL), 2);
    cr_assert_eq(tool("build", "-o", P("tags.tsv"), "--experts", P("x.npy"), "--tags", P("w.npy"), "--tag-emb",
                      P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", NULL), 2);
    cr_assert(strstr(err_text, "tags.tsv exists and is not an index file"), "%s", err_text);
    cr_assert_eq(tool("merge", "-o", P("tags.tsv"), P("a.mvke"), P("b.mvke"), NULL), 2);
    cr_assert(strstr(err_text, "tags.tsv exists and is not an index file"), "%s", err_text);
    cr_assert_eq(tool("merge", "-o", P("a.mvke"), P("a.mvke"), P("b.mvke"), NULL), 2);
    cr_assert(strstr(err_text, "is an input of this command"), "%s", err_text);
    unsigned char *after = read_bytes(P("tags.tsv"), &n1);
    cr_assert(n0 == n1 && !memcmp(before, after, n0), "a refused writer changed tags.tsv");
    free(after);
    /* Its own kind is replaced as before, and --force replaces any regular file. */
    cr_assert_eq(tool("tag-all", P("a.mvke"), "--top", "2", "-o", P("t.tsv"), NULL), 0, "%s", err_text);
    cr_assert_eq(tool("tag-all", P("a.mvke"), "--top", "3", "-o", P("t.tsv"), NULL), 0, "%s", err_text);
    write_bytes(P("copy.tsv"), before, n0);
    cr_assert_eq(tool("tag-all", P("a.mvke"), "--top", "2", "-o", P("copy.tsv"), "--force", NULL), 0, "%s", err_text);
    after = read_bytes(P("copy.tsv"), &n1);
    cr_assert(n1 > 30 && !memcmp(after, "user_id\ttask\trank\ttag_id\tscore\n", 30));
    free(after);
    free(before);
}

Test(cli, tag_all_killed_and_resumed_is_identical, .timeout = 300) {
    setup_data();
    /* a larger index so that a run takes long enough to be killed half way */
    const int n = 60000;
    float *x = malloc(sizeof(float) * n * K * d);
    ref_fill_normal(x, (int64_t)n * K * d);
    const int64_t sx[3] = {n, K, d};
    cr_assert_eq(mvke_npy_save(P("big.npy"), MVKE_DTYPE_F32, 3, sx, x), MVKE_OK);
    free(x);
    const char *ix = P("big.mvke");
    cr_assert_eq(tool("build", "-o", ix, "--experts", P("big.npy"), "--tags", P("tags.tsv"), "--tag-emb", P("q.npy"), "--gates",
                      P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL), 0, "%s", err_text);
    for (int fmt = 0; fmt < 2; fmt++) {
        const char *f = fmt ? "npy" : "tsv";
        const char *full = fmt ? P("full_npy") : P("full.tsv"), *part = fmt ? P("part_npy") : P("part.tsv");
        cr_assert_eq(tool("tag-all", ix, "--top", "3", "-o", full, "--format", f, "--block-users", "500", NULL), 0, "%s", err_text);
        cr_assert_str_empty(out_text);
        char ck[600];
        snprintf(ck, sizeof ck, fmt ? "%s/checkpoint" : "%s.checkpoint", part);
        cr_assert_neq(access(fmt ? P("full_npy/checkpoint") : P("full.tsv.checkpoint"), F_OK), 0, "checkpoint left after success");
        int kills = 0;
        pid_t pid = tag_all_bg(ix, part, f, 0);
        for (int round = 0; round < 3; round++) {
            /* wait until some blocks are committed, then kill it */
            int64_t next = -1, want = (int64_t)(round + 1) * n / 4;
            struct timespec ts = {0, 2000000};
            int status, done = 0;
            for (int i = 0; i < 20000; i++) {
                next = ckpt_next(ck);
                if (next >= want) break;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                    done = 1;
                    break;
                }
                nanosleep(&ts, NULL);
            }
            if (done) break;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert(WIFSIGNALED(status));
            if (kills == 0) {
                /* Another --top with --resume names the option and both ways on, and the way to start
                 * over (--force) is not refused in turn; a run without either is refused. */
                cr_assert_eq(tool("tag-all", ix, "--top", "4", "-o", part, "--format", f, "--block-users", "500", "--resume",
                                  NULL), 3);
                cr_assert(strstr(err_text, "with another --top (that run: 3; this run: 4)"), "%s", err_text);
                cr_assert(strstr(err_text, "give --force instead of --resume"), "%s", err_text);
                cr_assert_eq(tool("tag-all", ix, "--top", "4", "-o", part, "--format", f, "--block-users", "500", NULL), 2);
                cr_assert(strstr(err_text, "add --resume to continue it or --force to start over"), "%s", err_text);
                cr_assert_eq(ckpt_next(ck) >= 0, 1, "a refused run removed the checkpoint");
                /* A checkpoint edited by hand (output_bytes 0, next_user 1) fails its checksum line. */
                size_t cn;
                unsigned char *cb = read_bytes(ck, &cn);
                char *text = calloc(1, cn + 64), *ob = NULL;
                memcpy(text, cb, cn);
                cr_assert_not_null(ob = strstr(text, "output_bytes "));
                char edited[4096];
                const char *nu = strstr(text, "next_user ");
                snprintf(edited, sizeof edited, "%.*snext_user 1\noutput_bytes 0\n%s", (int)(nu - text), text,
                         strstr(ob, "\ncrc ") + 1);
                write_bytes(ck, edited, strlen(edited));
                cr_assert_eq(tool("tag-all", ix, "--top", "3", "-o", part, "--format", f, "--block-users", "500", "--resume",
                                  NULL), 3);
                cr_assert(strstr(err_text, "changed or damaged"), "%s", err_text);
                write_bytes(ck, cb, cn); /* the true one back: the run resumes below */
                free(cb);
                free(text);
            }
            kills++;
            pid = tag_all_bg(ix, part, f, 1);
        }
        int status;
        waitpid(pid, &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "resumed run failed");
        cr_assert_gt(kills, 0, "the run finished before it could be killed");
        const char *files[] = {"", "/user_ids.npy", "/interest.tag_ids.npy", "/interest.scores.npy",
                               "/intention.tag_ids.npy", "/intention.scores.npy"};
        for (int i = fmt ? 1 : 0; i < (fmt ? 6 : 1); i++) {
            char a[600], b[600];
            snprintf(a, sizeof a, "%s%s", full, files[i]);
            snprintf(b, sizeof b, "%s%s", part, files[i]);
            size_t na, nb;
            unsigned char *ba = read_bytes(a, &na), *bb = read_bytes(b, &nb);
            cr_assert_eq(na, nb, "%s: sizes differ", b);
            cr_assert_eq(memcmp(ba, bb, na), 0, "%s differs from an uninterrupted run", b);
            free(ba);
            free(bb);
        }
        cr_assert_neq(access(ck, F_OK), 0);
        cr_log_info("tag-all %s: %d kills, output identical", f, kills);
    }
    /* tag-all agrees with `tags` for a user, and --resume of a finished run is refused */
    cr_assert_eq(tool("tag-all", ix, "--top", "3", "-o", P("full.tsv"), "--resume", NULL), 2);
    cr_assert_eq(tool("tags", ix, "--user", "12345", "--top", "3", NULL), 0);
    /* Scores may differ in the last printed digit: BLAS rounds a block of 500 rows and a single
     * row differently. Tags and ranks must agree. */
    char *body = strchr(out_text, '\n') + 1;
    size_t nf;
    char *all = (char *)read_bytes(P("full.tsv"), &nf);
    all[nf] = 0;
    char *at = strstr(all, "\n12345\t");
    cr_assert_not_null(at);
    at++;
    for (int line = 0; line < 6; line++) {
        long long u1, r1, t1, u2, r2, t2;
        char k1[32], k2[32];
        double s1, s2;
        cr_assert_eq(sscanf(at, "%lld\t%31s\t%lld\t%lld\t%lf", &u1, k1, &r1, &t1, &s1), 5);
        cr_assert_eq(sscanf(body, "%lld\t%31s\t%lld\t%lld\t%lf", &u2, k2, &r2, &t2, &s2), 5);
        cr_assert(u1 == 12345 && u1 == u2 && !strcmp(k1, k2) && r1 == r2 && t1 == t2, "line %d differs", line);
        cr_assert(fabs(s1 - s2) <= 2e-6, "line %d: %f vs %f", line, s1, s2);
        at = strchr(at, '\n') + 1;
        body = strchr(body, '\n') + 1;
    }
    free(all);
}

/* A tiny index (12 users, K = 2, d = 3, two tasks of two tags) saved at path. */
static void tiny_index(const char *path) {
    mvke_index *u;
    mvke_tags *t;
    cr_assert_eq(mvke_index_new(&u, 2, 3, NULL), MVKE_OK);
    float x[12 * 6];
    int64_t ids[12];
    for (int i = 0; i < 12; i++) {
        ids[i] = 7 * i + 1;
        for (int j = 0; j < 6; j++) x[i * 6 + j] = cosf(1.3f * (float)i + 0.7f * (float)j);
    }
    cr_assert_eq(mvke_index_add(u, 12, ids, x), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&t, 2, 3, NULL), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(t, "interest", (int[]){0}, 1), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(t, "intention", (int[]){0, 1}, 2), MVKE_OK);
    float q[6] = {1, -0.5f, 0.25f, 0.5f, 1, -1}, w1[4] = {1, 0, 0.5f, 0}, w2[4] = {0.3f, 0.7f, 0.6f, -0.4f};
    cr_assert_eq(mvke_tags_add(t, "interest", 2, (int64_t[]){100, 101}, NULL, NULL, q, w1), MVKE_OK);
    cr_assert_eq(mvke_tags_add(t, "intention", 2, (int64_t[]){100, 101}, NULL, NULL, q, w2), MVKE_OK);
    cr_assert_eq(mvke_file_save(path, u, t), MVKE_OK, "%s", mvke_last_error());
    mvke_index_free(u);
    mvke_tags_free(t);
}

/* Bytes flipped: every byte of the user sections in the plain pass; every 7th under a sanitizer,
 * where each of the 2,592 processes costs ten times more (7 is odd, so every bit position of
 * the one-bit-per-byte walk is still flipped somewhere). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FLIP_STRIDE 7
#else
#define FLIP_STRIDE 1
#endif

Test(cli, bit_flips_in_the_user_sections_never_answer_silently) {
    setup_data();
    char good[512], bad[512], all[512]; /* P's buffers rotate: keep copies */
    snprintf(good, sizeof good, "%s", P("tiny.mvke"));
    snprintf(bad, sizeof bad, "%s", P("tiny-bad.mvke"));
    snprintf(all, sizeof all, "%s", P("all.tsv"));
    tiny_index(good);
    static char want[3][1 << 14];
    const char *cmds[3] = {"audience", "tags", "tag-all"};
    for (int c = 0; c < 3; c++) {
        int rc = c == 0   ? tool("audience", good, "--task", "intention", "--tag", "100,101", "--top", "5", NULL)
                 : c == 1 ? tool("tags", good, "--user", "1,36,78", "--top", "2", NULL)
                          : tool("tag-all", good, "--top", "2", "-o", all, NULL);
        cr_assert_eq(rc, 0, "%s: %s", cmds[c], err_text);
        if (c == 2) {
            size_t n;
            unsigned char *b = craft_read(all, &n);
            cr_assert(b && n < sizeof want[2]);
            memcpy(want[2], b, n);
            want[2][n] = 0;
            free(b);
        } else {
            cr_assert_lt(strlen(out_text), sizeof want[c]);
            memcpy(want[c], out_text, strlen(out_text) + 1);
        }
    }
    size_t n;
    unsigned char *orig = craft_read(good, &n), *b = malloc(n);
    static const uint32_t kinds[3] = {MVKE_SEC_USER_IDS, MVKE_SEC_USER_BLOCKS, MVKE_SEC_ID_LOOKUP};
    int64_t runs = 0, refused = 0, same = 0;
    for (int s = 0; s < 3; s++) {
        uint64_t off, size;
        cr_assert_eq(craft_section(orig, kinds[s], &off, &size), 0);
        for (uint64_t i = off; i < off + size; i += FLIP_STRIDE) {
            memcpy(b, orig, n);
            b[i] ^= (unsigned char)(1u << (i % 8)); /* one bit per byte, every bit position in turn */
            cr_assert_eq(craft_write(bad, b, n), 0);
            for (int c = 0; c < 3; c++) {
                unlink(all);
                int rc = c == 0   ? tool("audience", bad, "--task", "intention", "--tag", "100,101", "--top", "5", NULL)
                         : c == 1 ? tool("tags", bad, "--user", "1,36,78", "--top", "2", NULL)
                                  : tool("tag-all", bad, "--top", "2", "-o", all, "--force", NULL);
                runs++;
                if (rc != 0) {
                    cr_assert_eq(rc, 3, "%s, byte %llu: exit %d: %s", cmds[c], (unsigned long long)i, rc, err_text);
                    refused++;
                    continue;
                }
                const char *got = out_text;
                unsigned char *f = NULL;
                if (c == 2) {
                    size_t m;
                    f = craft_read(all, &m);
                    cr_assert_not_null(f);
                    f = realloc(f, m + 1);
                    f[m] = 0;
                    got = (const char *)f;
                }
                cr_assert_str_eq(got, want[c], "%s, byte %llu: a silent wrong answer", cmds[c], (unsigned long long)i);
                free(f);
                same++;
            }
        }
    }
    fprintf(stderr, "cli: %lld runs of audience/tags/tag-all on flipped user sections: %lld refused, %lld identical, 0 silent\n",
            (long long)runs, (long long)refused, (long long)same);
    free(orig);
    free(b);
}

Test(cli, a_sparse_file_of_2e8_users_opens_in_info_with_little_memory) {
    setup_data();
    const char *empty = P("empty.mvke"), *sparse = P("sparse.mvke");
    mvke_index *u;
    mvke_tags *t;
    cr_assert_eq(mvke_index_new(&u, 5, 30, NULL), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&t, 5, 30, NULL), MVKE_OK);
    cr_assert_eq(mvke_tags_add_task(t, "interest", (int[]){0, 1, 2}, 3), MVKE_OK);
    cr_assert_eq(mvke_file_save(empty, u, t), MVKE_OK);
    mvke_index_free(u);
    mvke_tags_free(t);
    cr_assert_eq(craft_sparse(empty, sparse, 200000000), 0);
    cr_assert_eq(tool("info", sparse, NULL), 0, "%s", err_text);
    cr_assert(strstr(out_text, "users\t200000000\n"), "%s", out_text);
    fprintf(stderr, "cli: info on a sparse file of 2e8 users: peak RSS %ld KiB\n", child_maxrss_kb);
    cr_assert_lt(child_maxrss_kb, 50 * 1024, "info took %ld KiB", child_maxrss_kb);
    /* the holes are zeros: the first search refuses them by their checksums */
    cr_assert_eq(tool("tags", sparse, "--user", "5", "--top", "1", NULL), 3);
    cr_assert(strstr(err_text, "checksum"), "%s", err_text);
    unlink(sparse);
}

/* The dot score from the command line: `build --score dot` answers audiences as the library's
 * dot index does, `info` says so, --prob prints sigmoid(score) (header "prob") in audience,
 * tags and tag-all (tsv and npy), --min-prob selects exactly the users of --min-score at the
 * library's threshold of P, and merge refuses indexes of two scores. */
Test(cli, dot_score_and_probabilities) {
    setup_data();
    const char *ix = P("dot.mvke");
    int rc = tool("build", "-o", ix, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--score", "dot",
                  NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    cr_assert(strstr(err_text, "dot score"), "%s", err_text);
    cr_assert_eq(tool("info", ix, NULL), 0);
    cr_assert(strstr(out_text, "score\tdot"), "%s", out_text);
    /* The library's dot index of the same rows. */
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.score = MVKE_SCORE_DOT;
    mvke_index *u;
    mvke_tags *t;
    cr_assert_eq(mvke_index_new(&u, K, d, &o), MVKE_OK);
    cr_assert_eq(mvke_index_add(u, N, IDS, X), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&t, K, d, &o), MVKE_OK);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(mvke_tags_add_task(t, TASKS[k], EXP[k], NEXP[k]), MVKE_OK);
        int64_t tid[NT];
        for (int i = 0; i < NT; i++) tid[i] = 100 + i;
        cr_assert_eq(mvke_tags_add(t, TASKS[k], NT, tid, NULL, NULL, Q + k * NT * d, W + k * NT * K), MVKE_OK);
    }
    static char want[1 << 16], wantp[1 << 16];
    expected_audience(u, t, "interest", want, sizeof want);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100,101,102", "--top", "10", NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, want);
    /* --prob: the same users, sigmoid of each score. */
    int64_t tid[3] = {100, 101, 102};
    mvke_result *r;
    cr_assert_eq(mvke_audience_top(u, t, "interest", 3, tid, 10, NULL, &r), MVKE_OK);
    size_t len = (size_t)snprintf(wantp, sizeof wantp, "tag_id\ttask\trank\tuser_id\tprob\n");
    float thr_score = INFINITY;
    for (int i = 0; i < 3; i++) {
        const int64_t *ids;
        const float *sc;
        int64_t n;
        mvke_result_get(r, i, &ids, &sc, &n);
        for (int k = 0; k < n; k++) {
            float p;
            mvke_score_to_prob(1, &sc[k], &p);
            len += (size_t)snprintf(wantp + len, sizeof wantp - len, "%lld\tinterest\t%d\t%lld\t%.6f\n", (long long)tid[i],
                                    k + 1, (long long)ids[k], (double)p);
            if (i == 0 && k == 4) thr_score = sc[k];
        }
    }
    mvke_result_free(r);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100,101,102", "--top", "10", "--prob", NULL), 0);
    cr_assert_str_eq(out_text, wantp);
    /* --min-prob P: exactly the users of --min-score at the threshold of P (P from tag 100's
     * fifth score, so that a few users pass). */
    float p5;
    mvke_score_to_prob(1, &thr_score, &p5);
    char ps[32], ss[32];
    snprintf(ps, sizeof ps, "%.9g", (double)p5);
    float s_at;
    cr_assert_eq(mvke_score_from_prob(atof(ps), &s_at), MVKE_OK);
    snprintf(ss, sizeof ss, "%.9g", (double)s_at);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--min-score", ss, NULL), 0, "%s", err_text);
    static char by_score[sizeof out_text];
    memcpy(by_score, out_text, sizeof out_text);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--min-prob", ps, NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, by_score);
    int lines = 0;
    for (const char *c = out_text; *c; c++) lines += *c == '\n';
    cr_assert(lines >= 6 && lines < N, "--min-prob %s selected %d lines", ps, lines - 1);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--min-prob", "1", NULL), 2);
    cr_assert(strstr(err_text, "strictly between 0 and 1"), "%s", err_text);
    /* tags and tag-all. */
    char u0[32];
    snprintf(u0, sizeof u0, "%lld", (long long)IDS[0]);
    cr_assert_eq(tool("tags", ix, "--user", u0, "--top", "2", "--prob", NULL), 0, "%s", err_text);
    cr_assert(!strncmp(out_text, "user_id\ttask\trank\ttag_id\tprob\n", 30), "%s", out_text);
    cr_assert_eq(tool("tag-all", ix, "--top", "3", "-o", P("dot.tsv"), "--prob", NULL), 0, "%s", err_text);
    size_t nb;
    unsigned char *b = read_bytes(P("dot.tsv"), &nb);
    cr_assert(nb > 40 && !memcmp(b, "user_id\ttask\trank\ttag_id\tprob\n", 30));
    free(b);
    /* A run with --prob is resumed only with --prob; the output is replaced as a tag-all output. */
    cr_assert_eq(tool("tag-all", ix, "--top", "3", "-o", P("dot.tsv"), NULL), 0, "%s", err_text);
    cr_assert_eq(tool("tag-all", ix, "--top", "3", "-o", P("dotnpy"), "--format", "npy", "--prob", NULL), 0, "%s", err_text);
    cr_assert_eq(access(P("dotnpy/interest.probs.npy"), F_OK), 0);
    cr_assert_neq(access(P("dotnpy/interest.scores.npy"), F_OK), 0);
    /* A checkpoint of the format before --prob is refused with what to do. */
    write_bytes(P("old.tsv"), "user_id\ttask\trank\ttag_id\tscore\n", 31);
    const char *ck = "mvke tag-all checkpoint 1\npartial yes\nnext_user 0\noutput_bytes 31\n";
    write_bytes(P("old.tsv.checkpoint"), ck, strlen(ck));
    cr_assert_eq(tool("tag-all", ix, "--top", "3", "-o", P("old.tsv"), "--resume", NULL), 3, "%s", err_text);
    cr_assert(strstr(err_text, "another version of this program (mvke tag-all checkpoint 1); give --force"), "%s", err_text);
    /* merge refuses two scores; build refuses an unknown score. */
    rc = tool("build", "-o", P("cos.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    cr_assert_eq(tool("merge", "-o", P("mixed.mvke"), ix, P("cos.mvke"), NULL), 3);
    cr_assert(strstr(err_text, "keeps one score"), "%s", err_text);
    cr_assert_neq(access(P("mixed.mvke"), F_OK), 0);
    rc = tool("build", "-o", P("no.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--score", "ip", NULL);
    cr_assert_eq(rc, 2);
    cr_assert(strstr(err_text, "cosine, dot"), "%s", err_text);
    mvke_index_free(u);
    mvke_tags_free(t);
}

/* Runs a bash command line with $M the tool and $D the test folder; returns its exit status
 * (for pipes and closed descriptors, which `tool` does not make). */
static int bash_line(const char *line) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "M='%s' D='%s' bash -c '%s'", getenv("MVKE_EXE"), dir, line);
    const int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Inputs that are not regular files and outputs that fail: a directory or a FIFO given for a
 * file is refused at once (no hang, no empty list taken for a file), an empty allow-list is
 * refused, a closed pipe is exit 4 with a message (not a silent SIGPIPE), a writer whose report
 * cannot be printed says the file was written, and a --top above its cap says the cap. */
Test(cli, special_inputs_and_broken_outputs) {
    setup_data();
    const char *ix = P("sp.mvke");
    int rc = tool("build", "-o", ix, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    size_t n0;
    unsigned char *before = read_bytes(ix, &n0);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--top", "3", "--allow", "/tmp", NULL), 4);
    cr_assert(strstr(err_text, "is a directory"), "%s", err_text);
    cr_assert_eq(tool("remove", ix, "--ids-file", "/tmp", NULL), 4);
    cr_assert(strstr(err_text, "is a directory"), "%s", err_text);
    write_bytes(P("empty.txt"), "# nobody\n", 9);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--top", "3", "--allow", P("empty.txt"), NULL), 3);
    cr_assert(strstr(err_text, "holds no ids"), "%s", err_text);
    cr_assert_eq(mkfifo(P("fifo.txt"), 0600), 0);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--top", "3", "--allow", P("fifo.txt"), NULL), 3,
                 "a FIFO without a writer reads as empty, at once: %s", err_text);
    cr_assert_eq(mkfifo(P("fifo.npy"), 0600), 0);
    rc = tool("build", "-o", P("no.mvke"), "--experts", P("fifo.npy"), "--tags", P("tags.tsv"), "--tag-emb", P("q.npy"),
              "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL);
    cr_assert_eq(rc, 4, "%s", err_text);
    cr_assert(strstr(err_text, "not a regular file"), "%s", err_text);
    size_t n1;
    unsigned char *after = read_bytes(ix, &n1);
    cr_assert(n0 == n1 && !memcmp(before, after, n0), "a refused command changed the index");
    free(after);
    /* A closed pipe: exit 4 and a message, not death by SIGPIPE (141). */
    rc = bash_line("$M tag-all $D/sp.mvke --top 3 -o - 2> $D/pipe.err | head -c 10 > /dev/null; exit ${PIPESTATUS[0]}");
    cr_assert_eq(rc, 4, "tag-all into a closed pipe exited %d", rc);
    cr_assert_eq(bash_line("grep -q \"Broken pipe\" $D/pipe.err"), 0, "no message about the pipe");
    rc = bash_line("$M info $D/sp.mvke 2> $D/info.err | head -c 1 > /dev/null; exit ${PIPESTATUS[0]}");
    cr_assert(rc == 0 || rc == 4, "info into a closed pipe exited %d", rc);
    /* The report of add cannot be printed: the file was written all the same, and it says so. */
    const int64_t sid[1] = {1}, newid[1] = {987654321};
    const int64_t sx[3] = {1, K, d};
    cr_assert_eq(mvke_npy_save(P("one.npy"), MVKE_DTYPE_F32, 3, sx, X), MVKE_OK);
    cr_assert_eq(mvke_npy_save(P("one_id.npy"), MVKE_DTYPE_I64, 1, sid, newid), MVKE_OK);
    rc = bash_line("$M add $D/sp.mvke --experts $D/one.npy --ids $D/one_id.npy > /dev/full 2> $D/add.err");
    cr_assert_eq(rc, 4);
    cr_assert_eq(bash_line("grep -q \"was written all the same\" $D/add.err"), 0, "the report does not say the file was written");
    cr_assert_eq(tool("info", ix, NULL), 0);
    cr_assert(strstr(out_text, "users\t3001\n"), "the add was committed: %s", out_text);
    cr_assert_eq(tool("audience", ix, "--task", "interest", "--tag", "100", "--top", "2000000000000000000", NULL), 2);
    cr_assert(strstr(err_text, "1e+18"), "the cap is said: %s", err_text);
    free(before);
    /* Tasks whose npy file names collide (a.b and a_b): refused before any output is made. */
    const char *tsv = "tag_id\ttask\tname\tparent_id\n1\ta.b\tx\t0\n2\ta_b\ty\t0\n";
    write_bytes(P("ab.tsv"), tsv, strlen(tsv));
    const float wq[2 * d] = {1.0f}, ww[2 * K] = {0.5f, 0.5f, 0, 0, 0, 0, 0.5f, 0.5f, 0, 0};
    const int64_t s2q[2] = {2, d}, s2w[2] = {2, K};
    cr_assert_eq(mvke_npy_save(P("abq.npy"), MVKE_DTYPE_F32, 2, s2q, wq), MVKE_OK);
    cr_assert_eq(mvke_npy_save(P("abw.npy"), MVKE_DTYPE_F32, 2, s2w, ww), MVKE_OK);
    rc = tool("build", "-o", P("ab.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("ab.tsv"), "--tag-emb",
              P("abq.npy"), "--gates", P("abw.npy"), "--task", "a.b=0-2", "--task", "a_b=1-4", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    cr_assert_eq(tool("tag-all", P("ab.mvke"), "--top", "1", "--format", "npy", "-o", P("about"), NULL), 3, "%s", err_text);
    cr_assert(strstr(err_text, "map to the same file names"), "%s", err_text);
    cr_assert_neq(access(P("about"), F_OK), 0, "a refused tag-all left its output folder");
}

/* On a terminal (script(1) gives them one) build and tag-all draw a progress bar with the rate and
 * an ETA; off a terminal a run of a few seconds prints no progress line. */
Test(cli, progress_on_a_terminal) {
    setup_data();
    const char *inputs = "--experts x.npy --ids ids.npy --tags tags.tsv --tag-emb q.npy --gates w.npy "
                         "--task interest=0-2 --task intention=1,2,3,4";
    char line[1024];
    snprintf(line, sizeof line, "cd $D && script -qec \"$M build -o pg.mvke %s\" /dev/null > pg.build 2>&1", inputs);
    cr_assert_eq(bash_line(line), 0, "build under script failed");
    cr_assert_eq(bash_line("grep -q \"users/s  ETA\" $D/pg.build"), 0, "build drew no progress bar on a terminal");
    cr_assert_eq(bash_line("cd $D && script -qec \"$M tag-all pg.mvke --top 3 -o pg.tsv\" /dev/null > pg.tag 2>&1"), 0);
    cr_assert_eq(bash_line("grep -q \"users/s  ETA\" $D/pg.tag"), 0, "tag-all drew no progress bar on a terminal");
    snprintf(line, sizeof line, "cd $D && $M build -o pg2.mvke %s 2> pg2.err && ! grep -q progress pg2.err", inputs);
    cr_assert_eq(bash_line(line), 0, "a short build off a terminal printed progress");
}

/* Lists from the command line: `build --lists N` (and without N), `info` shows them, `audience`
 * without --probe answers as the flat index (top-N and threshold, --stats certified), --probe P
 * reads P lists per tag and says whether it is certified, `tags --user` answers as the flat
 * index and tag-all gives the same lines (in storage order, so compared sorted); --probe on an
 * index without lists and --lists beyond the users are usage errors. */
Test(cli, lists_build_probe_and_tagging) {
    setup_data();
    const char *f = P("flat.mvke"), *l = P("listed.mvke");
    static char out_f[sizeof out_text];
    int rc = tool("build", "-o", f, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
                  P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    rc = tool("build", "-o", l, "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"), "--tag-emb",
              P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--lists", "8", NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    cr_assert(strstr(err_text, "8 lists in"), "%s", err_text);
    cr_assert_eq(tool("info", l, NULL), 0);
    cr_assert(strstr(out_text, "lists\t8 (users per list:"), "%s", out_text);
    cr_assert_eq(tool("info", f, NULL), 0);
    cr_assert(strstr(out_text, "lists\tnone"), "%s", out_text);
    cr_assert_eq(tool("verify", l, NULL), 0, "%s", err_text);
    const char *shapes[2][2] = {{"--top", "25"}, {"--min-score", "0.3"}};
    for (int t = 0; t < 2; t++)
        for (int sh = 0; sh < 2; sh++) {
            cr_assert_eq(tool("audience", f, "--task", TASKS[t], "--tag", "all", shapes[sh][0], shapes[sh][1], NULL), 0);
            snprintf(out_f, sizeof out_f, "%s", out_text);
            cr_assert_eq(tool("audience", l, "--task", TASKS[t], "--tag", "all", shapes[sh][0], shapes[sh][1], "--stats", NULL),
                         0, "%s", err_text);
            cr_assert_str_eq(out_text, out_f, "%s %s: not the flat answer", shapes[sh][0], shapes[sh][1]);
            cr_assert(strstr(err_text, "lists read each") && strstr(err_text, "certified exact"), "%s", err_text);
        }
    cr_assert_eq(tool("audience", l, "--task", "interest", "--tag", "100,101", "--top", "5", "--probe", "2", "--stats", NULL),
                 0, "%s", err_text);
    cr_assert(strstr(err_text, "2.0 lists read each"), "%s", err_text);
    cr_assert_eq(tool("audience", l, "--task", "interest", "--tag", "100", "--top", "5", "--probe", "8", "--stats", NULL), 0);
    cr_assert(strstr(err_text, "certified exact"), "a probe of every list is exact: %s", err_text);
    cr_assert_eq(tool("audience", f, "--task", "interest", "--tag", "100", "--top", "5", "--probe", "2", NULL), 2);
    cr_assert(strstr(err_text, "has no lists"), "%s", err_text);
    cr_assert_eq(tool("tags", f, "--user", "0,98,196", "--top", "4", NULL), 0, "%s", err_text);
    snprintf(out_f, sizeof out_f, "%s", out_text);
    cr_assert_eq(tool("tags", l, "--user", "0,98,196", "--top", "4", NULL), 0, "%s", err_text);
    cr_assert_str_eq(out_text, out_f);
    cr_assert_eq(tool("tag-all", f, "--top", "3", "-o", P("lf.tsv"), NULL), 0, "%s", err_text);
    cr_assert_eq(tool("tag-all", l, "--top", "3", "-o", P("ll.tsv"), NULL), 0, "%s", err_text);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", P("lf.tsv"), P("ll.tsv"));
    cr_assert_neq(system(cmd), 0, "the listed index stores users in another order");
    snprintf(cmd, sizeof cmd, "cmp -s <(sort '%s') <(sort '%s')", P("lf.tsv"), P("ll.tsv"));
    char bash[2100];
    snprintf(bash, sizeof bash, "bash -c \"%s\"", cmd);
    cr_assert_eq(system(bash), 0, "tag-all of the listed index has other lines than the flat one's");
    /* --lists without N: the default; --lists beyond the users: a usage error, nothing written. */
    rc = tool("build", "-o", P("ld.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--lists",
              NULL);
    cr_assert_eq(rc, 0, "%s", err_text);
    rc = tool("build", "-o", P("lx.mvke"), "--experts", P("x.npy"), "--ids", P("ids.npy"), "--tags", P("tags.tsv"),
              "--tag-emb", P("q.npy"), "--gates", P("w.npy"), "--task", "interest=0-2", "--task", "intention=1-4", "--lists",
              "100000", NULL);
    cr_assert_eq(rc, 2, "%s", err_text);
    cr_assert(strstr(err_text, "more lists than"), "%s", err_text);
    cr_assert_neq(access(P("lx.mvke"), F_OK), 0, "a refused build writes nothing");
}
