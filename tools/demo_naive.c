/*
 * demo_naive.c - section 4 of `mvke demo`: the library against the naive method
 * (support/naive.h), on the named tags and on a batch of tags.
 */
#include <math.h>
#include <stdlib.h>

#include "support/clock.h"
#include "support/naive.h"
#include "cli.h"
#include "demo.h"

/* The naive method (support/naive.h, the baseline of the benchmark too) against the library. */
int cli_demo_naive(cli_demo *dm) {
    const synth_world *w = dm->w;
    const int T = w->opt.ntasks, K = w->opt.K, d = w->opt.d;
    const int64_t n = w->opt.nusers, k = n < NAIVE_K ? n : NAIVE_K;
    bench_naive nv;
    mvke_status nst = bench_naive_init(&nv, K, d, n, w->x, w->user_id, (int)dm->threads);
    nv.kind = dm->score;
    float *lib_s = malloc(sizeof(float) * T * NAMED_PER_TASK * k), *nv_s = malloc(sizeof(float) * k);
    int64_t *lib_id = malloc(sizeof(int64_t) * T * NAMED_PER_TASK * k), *nv_id = malloc(sizeof(int64_t) * k);
    int rc = CLI_EXIT_FAIL;
    if (nst != MVKE_OK || !lib_s || !nv_s || !lib_id || !nv_id) {
        fprintf(stderr, "mvke demo: out of memory\n");
        goto out;
    }
    fprintf(stderr, "demo: timing the naive method\n");
    /* the library: one call per task with that task's named tags */
    double t0 = bench_now();
    for (int t = 0; t < T; t++) {
        int64_t ids[NAMED_PER_TASK];
        for (int s = 0; s < NAMED_PER_TASK; s++) ids[s] = w->tag_id[dm->named[t][s]];
        mvke_result *res = NULL;
        mvke_status st = mvke_audience_top(dm->users, dm->tags, cli_demo_task(dm, t), NAMED_PER_TASK, ids, k, NULL, &res);
        if (st != MVKE_OK) {
            rc = cli_fail("demo", st, "searching audiences");
            goto out;
        }
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            const int64_t *uid;
            const float *sc;
            int64_t m;
            mvke_result_get(res, s, &uid, &sc, &m);
            for (int64_t i = 0; i < k; i++) {
                lib_id[(t * NAMED_PER_TASK + s) * k + i] = i < m ? uid[i] : -1;
                lib_s[(t * NAMED_PER_TASK + s) * k + i] = i < m ? sc[i] : -INFINITY;
            }
        }
        mvke_result_free(res);
    }
    double t_lib = bench_now() - t0;

    t0 = bench_now();
    int64_t same = 0, total = 0;
    double maxdiff = 0;
    for (int t = 0; t < T; t++)
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            size_t row = (size_t)t * w->ntags + dm->named[t][s];
            if ((nst = bench_naive_search(&nv, 1, w->q + row * d, w->w + row * K, k, nv_s, nv_id)) != MVKE_OK) {
                rc = cli_fail("demo", nst, "the naive method");
                goto out;
            }
            const int64_t *li = lib_id + (t * NAMED_PER_TASK + s) * k;
            const float *ls = lib_s + (t * NAMED_PER_TASK + s) * k;
            for (int64_t i = 0; i < k; i++) {
                for (int64_t j = 0; j < k; j++)
                    if (nv_id[i] == li[j]) {
                        same++;
                        break;
                    }
                double diff = fabs((double)nv_s[i] - ls[i]);
                if (diff > maxdiff) maxdiff = diff;
                total++;
            }
        }
    double t_naive = bench_now() - t0;
    cli_demo_say(dm, "\n== Against the naive method ==\n"
            "Naive (the baseline, support/naive.c): for each tag, materialise sum_k w[k] e[u][k] for every "
            "user, then a %s scan and a top-%lld heap.\n",
        dm->score == MVKE_SCORE_DOT ? "dot-product" : "cosine", (long long)k);
    cli_demo_say(dm, "Audience top-%lld of %d tags over %lld users:  naive %.3f s,  mvke %.3f s:  mvke is %.1fx faster\n",
        (long long)k, T * NAMED_PER_TASK, (long long)n, t_naive, t_lib, t_lib > 0 ? t_naive / t_lib : 0.0);
    cli_demo_say(dm, "Same answers: %lld of %lld top users agree, largest score difference at equal rank %.1e\n",
        (long long)same, (long long)total, maxdiff);

    /* Many tags at once: the library answers them in one pass over the users (matrix products),
     * the naive method costs the same per tag whatever the batch. */
    int64_t nbatch = w->ntags < BATCH_TAGS ? w->ntags : BATCH_TAGS;
    mvke_result *res = NULL;
    t0 = bench_now();
    mvke_status st = mvke_audience_top(dm->users, dm->tags, cli_demo_task(dm, 0), nbatch, w->tag_id, k, NULL, &res);
    double t_batch = bench_now() - t0;
    mvke_result_free(res);
    if (st != MVKE_OK) {
        rc = cli_fail("demo", st, "searching a batch of audiences");
        goto out;
    }
    double naive_per_tag = t_naive / (T * NAMED_PER_TASK), lib_per_tag = t_batch / nbatch;
    cli_demo_say(dm, "Audience top-%lld of %lld tags in one call:  mvke %.3f s = %.2f ms per tag, against %.2f ms per tag "
            "for the naive method:  %.1fx faster\n",
        (long long)k, (long long)nbatch, t_batch, 1e3 * lib_per_tag, 1e3 * naive_per_tag,
        lib_per_tag > 0 ? naive_per_tag / lib_per_tag : 0.0);
    rc = CLI_EXIT_OK;
out:
    bench_naive_release(&nv);
    free(lib_s);
    free(nv_s);
    free(lib_id);
    free(nv_id);
    return rc;
}
