/*
 * cmd_build.c - `mvke build`: reads user experts, ids, the tag taxonomy, tag embeddings and gates
 * (or virtual kernels) and writes one index file. Users are read and added in blocks, so the
 * input is never held twice. The file appears under its name only when everything succeeded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "progress.h"
#include "index/npy.h"
#include "support/clock.h"
#include "support/options.h"
#include "outputs.h"

/* Users read and added per block, and the most --task options. */
#define BLOCK_USERS 65536
#define MAX_TASKS 64

/* The --task options, as given (parsed once all options are read). */
typedef struct task_specs {
    const char *spec[MAX_TASKS];
    int n;
} task_specs;

static int add_task_spec(const char *v, void *dst, char *msg, size_t cap) {
    task_specs *ts = dst;
    if (ts->n == MAX_TASKS) {
        snprintf(msg, cap, "more than %d tasks", MAX_TASKS);
        return -1;
    }
    ts->spec[ts->n++] = v;
    return 0;
}

/* Opens an npy and checks its dtype kind and rank; prints and returns an exit code on error. */
static int open_array(const char *opt, const char *path, int want_ndim, int want_int, mvke_npy **f, int64_t *shape) {
    mvke_status st = mvke_npy_open(f, path);
    if (st != MVKE_OK) return cli_fail("build", st, opt);
    mvke_dtype dt;
    int nd;
    mvke_npy_shape(*f, &dt, &nd, shape);
    if (nd != want_ndim || want_int != mvke_dtype_is_int(dt)) {
        fprintf(stderr, "mvke build: %s: %s: expected a %d-d %s array, found %d-d %s\n", opt, path, want_ndim,
                want_int ? "integer (int64, int32, uint64 or uint32)" : "float (float32, float64 or float16)", nd,
                mvke_dtype_is_int(dt) ? "integer" : "float");
        mvke_npy_close(*f);
        *f = NULL;
        return CLI_EXIT_DATA;
    }
    return CLI_EXIT_OK;
}

/* Opens a 2-d float array that must have shape (rows, cols); rows_from and cols_from say where
 * each comes from ("TAGS.tsv has 61 rows", "the experts X.npy (--experts) have d = 8"), so that
 * the message blames the file that disagrees. Prints and returns an exit code on error (*f is
 * then left for the caller to close). */
static int open_matrix(const char *opt, const char *path, int64_t rows, int64_t cols, const char *rows_from,
                       const char *cols_from, mvke_npy **f) {
    int64_t sh[MVKE_NPY_MAX_DIMS];
    int rc = open_array(opt, path, 2, 0, f, sh);
    if (rc) return rc;
    if (sh[0] != rows || sh[1] != cols) {
        fprintf(stderr, "mvke build: %s: %s has shape (%lld, %lld) but %s\n", opt, path, (long long)sh[0],
                (long long)sh[1], sh[0] != rows ? rows_from : cols_from);
        return CLI_EXIT_DATA;
    }
    return CLI_EXIT_OK;
}

static int shape_error(const char *what) {
    fprintf(stderr, "mvke build: %s\n", what);
    return CLI_EXIT_DATA;
}

int cli_cmd_build(int argc, char **argv) {
    const char *out = NULL, *experts = NULL, *ids_path = NULL, *tags_path = NULL, *q_path = NULL, *w_path = NULL,
               *vk_path = NULL;
    task_specs ts = {.n = 0};
    float temperature = 1.0f;
    int fp16 = 0, refine = 0, force = 0;
    long long train_n = 65536, nlists = -1;
    const char *storage_s = NULL, *score_s = NULL;
    const cli_option options[] = {
        {.name = "-o", .metavar = "INDEX", .help = "the index file to write (replaced atomically)",
         .kind = CLI_STRING, .dst = &out, .required = 1},
        {.name = "--experts", .metavar = "X.npy",
         .help = "user expert vectors, shape (n, K, d), float32, float64 or float16", .kind = CLI_STRING, .dst = &experts,
         .required = 1},
        {.name = "--ids", .metavar = "IDS.npy", .help = "user ids, shape (n,), integers (default 0..n-1)",
         .kind = CLI_STRING, .dst = &ids_path},
        {.name = "--tags", .metavar = "TAGS.tsv",
         .help = "header line, then tag_id<TAB>task<TAB>name<TAB>parent_id per row", .kind = CLI_STRING,
         .dst = &tags_path, .required = 1},
        {.name = "--tag-emb", .metavar = "Q.npy",
         .help = "tag embeddings, shape (T, d): row i goes with row i of TAGS.tsv", .kind = CLI_STRING,
         .dst = &q_path, .required = 1},
        {.name = "--gates", .metavar = "W.npy",
         .help = "gate weights, shape (T, K), zero outside the row's task experts", .kind = CLI_STRING,
         .dst = &w_path, .group = 1, .required = 1},
        {.name = "--vk", .metavar = "VK.npy",
         .help = "virtual kernels, shape (K, d): gates = softmax over the task's\n"
         "experts of <q, vk[k]> / T", .kind = CLI_STRING, .dst = &vk_path, .group = 1, .required = 1},
        {.name = "--temperature", .metavar = "T", .help = "softmax temperature for --vk (default 1)",
         .kind = CLI_FLOAT, .dst = &temperature, .min = 0, .max = INFINITY, .above = 1, .needs = "--vk"},
        {.name = "--task", .metavar = "NAME=SPEC",
         .help = "a task and its experts: FIRST-LAST or i,j,k (repeatable)", .kind = CLI_CUSTOM, .dst = &ts,
         .required = 1, .repeat = 1, .parse = add_task_spec},
        {.name = "--storage", .metavar = "f32|f16|bf16|sq8|pq[:M]",
         .help = "how user rows are stored (default f32; f16 and bf16 take half the bytes; the codecs\n"
         "sq8 (a byte per value) and pq (M sub-spaces per expert, default ceil(d/3)) are trained\n"
         "on a sample of the users, docs/codecs.md)", .kind = CLI_STRING, .dst = &storage_s, .group = 9},
        {.name = "--score", .metavar = "cosine|dot",
         .help = "what searches compute (default cosine, the paper's cos(E, q); dot is <E, q>, the\n"
         "score the released training code ranks by: docs/scores.md)", .kind = CLI_STRING, .dst = &score_s},
        {.name = "--refine", .help = "codecs: keep the float32 rows too, so that searches are exact\n"
         "(certified, docs/codecs.md); without it a codec index answers from its codes",
         .kind = CLI_FLAG, .dst = &refine, .needs = "--storage"},
        {.name = "--train-sample", .metavar = "N",
         .help = "codecs: users (evenly spaced) the codec is trained on (default 65536, or all)",
         .kind = CLI_INT, .dst = &train_n, .min = 1, .max = 1e9, .needs = "--storage"},
        {.name = "--fp16", .metavar = NULL, .help = "the same as --storage f16", .kind = CLI_FLAG,
         .dst = &fp16, .group = 9},
        {.name = "--lists", .metavar = "N", .help = "group the users into N k-means lists, so that `audience --probe`\n"
         "reads only some (no N: about 4 sqrt(users); docs/lists.md)", .kind = CLI_INT, .dst = &nlists, .min = 1,
         .max = 16777216, .optional = 1, .implied = 0},
        {.name = "--force", .help = "replace OUT even when it exists and is not an index file",
         .kind = CLI_FLAG, .dst = &force},
    };
    const cli_spec spec = {"mvke build", "Builds an index file from a trained model's outputs.",
                           "Exit status: 0 ok, 2 usage, 3 bad data, 4 I/O error.\n", options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    const char *const inputs[] = {experts, ids_path, tags_path, q_path, w_path, vk_path};
    mvke_index_options o;
    mvke_index_options_init(&o);
    if (score_s && mvke_score_from_name(score_s, &o.score) != MVKE_OK)
        return cli_usage_error(&spec, "--score %s: %s", score_s, mvke_last_error());
    if ((rc = cli_output_replace_check("build", out, inputs, 6, CLI_KIND_INDEX, force)) != 0) return rc;
    const int ntask_specs = ts.n;
    const char *const *task_specs = ts.spec;
    char *task_names[MAX_TASKS] = {0};
    int task_exp[MAX_TASKS][MVKE_MAX_K], task_nexp[MAX_TASKS];
    for (int t = 0; t < ntask_specs; t++)
        if (cli_arg_task_spec(task_specs[t], &task_names[t], task_exp[t], &task_nexp[t]) != 0) {
            for (int k = 0; k < t; k++) free(task_names[k]);
            return cli_usage_error(&spec, "--task '%s': expected NAME=FIRST-LAST or NAME=i,j,k", task_specs[t]);
        }

    rc = CLI_EXIT_OK;
    mvke_status st;
    mvke_npy *fx = NULL, *fid = NULL, *fq = NULL, *fw = NULL, *fvk = NULL;
    mvke_taxonomy *tax = NULL;
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    float *x = NULL, *q = NULL, *w = NULL, *vk = NULL;
    int64_t *uid = NULL;
    int64_t sx[MVKE_NPY_MAX_DIMS], sid[MVKE_NPY_MAX_DIMS];
    char msg[1024];

    if ((rc = open_array("--experts", experts, 3, 0, &fx, sx))) goto out;
    const int64_t n = sx[0];
    if (sx[1] < 1 || sx[1] > MVKE_MAX_K || sx[2] < 1 || sx[2] > MVKE_MAX_D) {
        snprintf(msg, sizeof msg, "--experts: %s: shape (%lld, %lld, %lld): K must be 1-%d and d 1-%d", experts,
                 (long long)sx[0], (long long)sx[1], (long long)sx[2], MVKE_MAX_K, MVKE_MAX_D);
        rc = shape_error(msg);
        goto out;
    }
    const int K = (int)sx[1], d = (int)sx[2];
    if (ids_path) {
        if ((rc = open_array("--ids", ids_path, 1, 1, &fid, sid))) goto out;
        if (sid[0] != n) {
            snprintf(msg, sizeof msg, "--ids: %s has %lld ids but %s has %lld users", ids_path, (long long)sid[0], experts, (long long)n);
            rc = shape_error(msg);
            goto out;
        }
    }
    if ((st = mvke_taxonomy_read(&tax, tags_path)) != MVKE_OK) {
        rc = cli_fail("build", st, "--tags");
        goto out;
    }
    int64_t T;
    mvke_taxonomy_count(tax, &T);
    char from[1024];
    snprintf(msg, sizeof msg, "%s (--tags) has %lld rows", tags_path, (long long)T);
    snprintf(from, sizeof from, "the experts %s (--experts) have d = %d", experts, d);
    if ((rc = open_matrix("--tag-emb", q_path, T, d, msg, from, &fq))) goto out;
    if (w_path) {
        snprintf(from, sizeof from, "the experts %s (--experts) have K = %d", experts, K);
        if ((rc = open_matrix("--gates", w_path, T, K, msg, from, &fw))) goto out;
    } else {
        snprintf(msg, sizeof msg, "the experts %s (--experts) have K = %d", experts, K);
        snprintf(from, sizeof from, "the experts %s (--experts) have d = %d", experts, d);
        if ((rc = open_matrix("--vk", vk_path, K, d, msg, from, &fvk))) goto out;
    }

    /* Tags first: they are small, and their errors are the likeliest. */
    q = malloc((size_t)(T ? T : 1) * (size_t)d * sizeof *q);
    w = malloc((size_t)(T ? T : 1) * (size_t)K * sizeof *w);
    vk = malloc((size_t)K * (size_t)d * sizeof *vk);
    if (!q || !w || !vk) {
        rc = cli_fail("build", MVKE_ERR_NOMEM, "reading the tags");
        goto out;
    }
    if ((st = mvke_npy_read_f32(fq, 0, T, q)) != MVKE_OK ||
        (fw && (st = mvke_npy_read_f32(fw, 0, T, w)) != MVKE_OK) ||
        (fvk && (st = mvke_npy_read_f32(fvk, 0, K, vk)) != MVKE_OK)) {
        rc = cli_fail("build", st, "reading the tag arrays");
        goto out;
    }
    mvke_index_options tag_opts;
    mvke_index_options_init(&tag_opts);
    tag_opts.score = o.score;
    if ((st = mvke_tags_new(&tags, K, d, &tag_opts)) != MVKE_OK) {
        rc = cli_fail("build", st, "creating the tag table");
        goto out;
    }
    for (int t = 0; t < ntask_specs; t++)
        if ((st = mvke_tags_add_task(tags, task_names[t], task_exp[t], task_nexp[t])) != MVKE_OK) {
            snprintf(msg, sizeof msg, "--task %s", task_specs[t]);
            rc = cli_fail("build", st, msg);
            goto out;
        }
    if (fvk && (st = mvke_tags_set_vk(tags, vk, temperature)) != MVKE_OK) {
        snprintf(msg, sizeof msg, "--vk %s", vk_path);
        rc = cli_fail("build", st, msg);
        goto out;
    }
    if ((st = mvke_taxonomy_apply(tax, tags, q, fw ? w : NULL)) != MVKE_OK) {
        rc = cli_fail("build", st, "adding the tags");
        goto out;
    }

    o.storage = fp16 ? MVKE_STORAGE_F16 : MVKE_STORAGE_F32;
    if (storage_s && (st = mvke_index_options_set_storage(&o, storage_s)) != MVKE_OK) {
        rc = cli_fail("build", st, "--storage");
        goto out;
    }
    const int codec = o.storage == MVKE_STORAGE_SQ8 || o.storage == MVKE_STORAGE_PQ;
    if ((refine || train_n != 65536) && !codec) {
        fprintf(stderr, "mvke build: --%s is for the codecs (sq8, pq), not --storage %s\n", refine ? "refine" : "train-sample",
                mvke_storage_name(o.storage));
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    o.refine = refine;
    if ((st = mvke_index_new(&users, K, d, &o)) != MVKE_OK) {
        rc = cli_fail("build", st, "creating the index");
        goto out;
    }
    const int64_t B = BLOCK_USERS;
    x = malloc((size_t)B * (size_t)K * (size_t)d * sizeof *x);
    uid = malloc((size_t)B * sizeof *uid);
    if (!x || !uid) {
        rc = cli_fail("build", MVKE_ERR_NOMEM, "reading the users");
        goto out;
    }
    if (codec && n > 0) {
        /* The training sample: evenly spaced users, read one row at a time. */
        const int64_t ns = n < (int64_t)train_n ? n : (int64_t)train_n;
        float *sample = malloc((size_t)ns * (size_t)K * (size_t)d * sizeof *sample);
        if (!sample) {
            rc = cli_fail("build", MVKE_ERR_NOMEM, "reading the training sample");
            goto out;
        }
        for (int64_t i = 0; i < ns && st == MVKE_OK; i++)
            st = mvke_npy_read_f32(fx, (int64_t)((double)i * (double)n / (double)ns), 1, sample + i * (int64_t)K * d);
        if (st == MVKE_OK) st = mvke_index_train(users, ns, sample);
        free(sample);
        if (st != MVKE_OK) {
            rc = cli_fail("build", st, "training the codec");
            goto out;
        }
        fprintf(stderr, "mvke build: trained %s on %lld users\n", storage_s, (long long)ns);
    } else if (codec) {
        fprintf(stderr, "mvke build: --storage %s: %s has no users to train the codec on\n", storage_s, experts);
        rc = CLI_EXIT_DATA;
        goto out;
    }
    /* Progress of reading and adding the rows (a bar on a terminal, else a line every 5 s: a
     * build of a few seconds prints none); the file's write and fsync follow it. */
    cli_progress prog;
    cli_progress_start(&prog, "users", 0, n);
    for (int64_t first = 0; first < n; first += B) {
        const int64_t m = n - first < B ? n - first : B;
        cli_progress_update(&prog, first, 0);
        if ((st = mvke_npy_read_f32(fx, first, m, x)) != MVKE_OK) {
            rc = cli_fail("build", st, "--experts");
            goto out;
        }
        if (fid) {
            if ((st = mvke_npy_read_i64(fid, first, m, uid)) != MVKE_OK) {
                rc = cli_fail("build", st, "--ids");
                goto out;
            }
        } else {
            for (int64_t i = 0; i < m; i++) uid[i] = first + i;
        }
        if ((st = mvke_index_add(users, m, uid, x)) != MVKE_OK) {
            /* The library counts rows within the block; name the rows of the files. */
            int64_t r[2];
            int nr = 0;
            mvke_last_error_rows(r, &nr);
            if (nr == 2)
                snprintf(msg, sizeof msg, "%s rows %lld and %lld", fid ? ids_path : experts, (long long)(first + r[0]),
                         (long long)(first + r[1]));
            else if (nr == 1)
                snprintf(msg, sizeof msg, "%s row %lld (row %lld of the block read at row %lld)",
                         st != MVKE_ERR_NONFINITE && fid ? ids_path : experts, /* a duplicate or negative id */ (long long)(first + r[0]), (long long)r[0],
                         (long long)first);
            else
                snprintf(msg, sizeof msg, "%s rows %lld-%lld", experts, (long long)first, (long long)(first + m - 1));
            rc = cli_fail("build", st, msg);
            goto out;
        }
    }
    if (prog.tty) cli_progress_end(&prog, n);
    if (nlists >= 0) {
        if (nlists > n) {
            fprintf(stderr, "mvke build: --lists %lld: more lists than the %lld users\n", nlists, (long long)n);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        const double t0 = bench_now();
        if ((st = mvke_index_build_lists(users, (int)nlists)) != MVKE_OK) {
            rc = cli_fail("build", st, "making the lists");
            goto out;
        }
        mvke_lists_info li;
        mvke_index_lists(users, &li);
        fprintf(stderr, "mvke build: %d lists in %.1f s (users per list: %lld smallest, %lld median, %lld largest)\n",
                li.nlists, bench_now() - t0, (long long)li.min_size, (long long)li.median_size, (long long)li.max_size);
    }
    if ((st = mvke_file_save(out, users, tags)) != MVKE_OK) {
        rc = cli_fail("build", st, "writing the index");
        goto out;
    }
    fprintf(stderr, "mvke build: wrote %s: %lld users, %lld tags, K = %d, d = %d, %s rows%s, %s score\n", out,
            (long long)n, (long long)T, K, d, mvke_storage_name(o.storage),
            refine ? " with their float32 rows (exact searches)" : "", mvke_score_name(o.score));
out:
    for (int t = 0; t < ntask_specs; t++) free(task_names[t]);
    mvke_npy_close(fx);
    mvke_npy_close(fid);
    mvke_npy_close(fq);
    mvke_npy_close(fw);
    mvke_npy_close(fvk);
    mvke_taxonomy_free(tax);
    mvke_index_free(users);
    mvke_tags_free(tags);
    free(x);
    free(q);
    free(w);
    free(vk);
    free(uid);
    return rc;
}
