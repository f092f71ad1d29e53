/*
 * demo_tagging.c - section 3 of `mvke demo`: the top-M tags of every user in blocks, its speed,
 * and how well the tags recover the planted preferences against tags drawn at random.
 */
#include <stdlib.h>

#include "support/clock.h"
#include "cli.h"
#include "demo.h"

int cli_demo_tagging(cli_demo *dm) {
    const synth_world *w = dm->w;
    const int T = w->opt.ntasks, D = w->opt.K * w->opt.d;
    const int64_t n = w->opt.nusers, M = dm->top_m;
    float *x = malloc(sizeof(float) * BLOCK * D);
    int64_t *ids = malloc(sizeof(int64_t) * BLOCK);
    double hits[SYNTH_WORLD_MAX_TASKS] = {0}, base[SYNTH_WORLD_MAX_TASKS] = {0};
    int64_t got[SYNTH_WORLD_MAX_TASKS] = {0};
    if (!x || !ids) {
        free(x);
        free(ids);
        fprintf(stderr, "mvke demo: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    fprintf(stderr, "demo: tagging every user (top %lld tags per task, blocks of %d users)\n", (long long)M, BLOCK);
    double t0 = bench_now(), t_search = 0;
    for (int64_t first = 0; first < n; first += BLOCK) {
        int64_t nb = n - first < BLOCK ? n - first : BLOCK;
        mvke_result *res = NULL;
        mvke_status st = mvke_index_read_rows(dm->users, first, nb, ids, x);
        double ts = bench_now();
        if (st == MVKE_OK) st = mvke_user_tags_top_rows(dm->tags, NULL, nb, x, M, &res);
        t_search += bench_now() - ts;
        if (st != MVKE_OK) {
            free(x);
            free(ids);
            return cli_fail("demo", st, "tagging a block of users");
        }
        for (int64_t i = 0; i < nb; i++)
            for (int t = 0; t < T; t++) {
                const int64_t *tid;
                int64_t m;
                mvke_result_get(res, i * T + t, &tid, NULL, &m);
                for (int64_t j = 0; j < m; j++)
                    hits[t] += synth_world_prefers(w, t, ids[i], w->tag_topic[synth_world_tag_index(w, tid[j])]);
                got[t] += m;
            }
        mvke_result_free(res);
    }
    double elapsed = bench_now() - t0;
    free(x);
    free(ids);
    for (int t = 0; t < T; t++)
        for (int64_t u = 0; u < n; u++) base[t] += synth_world_random_precision(w, t, u);

    char b1[32], b2[32], b3[32];
    cli_demo_say(dm, "\n== Batch tagging: the top %lld tags of every task for every user ==\n", (long long)M);
    cli_demo_say(dm, "%s users x %s tags (%d tasks) in %.2f s: %s users/s (%.2f s in the search calls)\n", cli_demo_grouped(n, b1),
        cli_demo_grouped(w->ntags * T, b2), T, elapsed, cli_demo_grouped((long long)(n / elapsed), b3), t_search);
    cli_demo_say(dm, "\n== Precision at %lld: do the top tags recover the planted preferences? ==\n", (long long)M);
    cli_demo_say(dm, "%-9s  %-12s  %-12s  %s\n", "task", "mvke tags", "random tags", "ratio");
    for (int t = 0; t < T; t++) {
        dm->precision[t] = got[t] ? hits[t] / got[t] : 0;
        dm->baseline[t] = base[t] / n;
        cli_demo_say(dm, "%-9s  %-12.3f  %-12.3f  %.1fx\n", cli_demo_task(dm, t), dm->precision[t], dm->baseline[t],
            dm->baseline[t] > 0 ? dm->precision[t] / dm->baseline[t] : 0.0);
    }
    cli_demo_say(dm, "(precision: the share of a user's top-%lld tags whose level-1 topic the user was generated to prefer "
            "in that task; random: the same share for tags drawn at random)\n",
        (long long)M);
    return CLI_EXIT_OK;
}
