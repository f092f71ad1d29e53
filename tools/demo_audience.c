/*
 * demo_audience.c - section 1 of `mvke demo`: the audience of a few named tags per task (top
 * users and the users above the threshold), and every user's score for the report's pictures.
 */
#include <math.h>
#include <stdlib.h>

#include "cli.h"
#include "demo.h"

int cli_demo_audiences(cli_demo *dm) {
    const synth_world *w = dm->w;
    char b1[32], b2[32];
    cli_demo_say(dm, "\n== Audience of named tags (reverse targeting) ==\n"
            "For each tag: the top %d users, and the users with score >= %.2f.  "
            "* = the user's planted preferences for this task include the tag's topic.\n",
        AUDIENCE_SHOW, dm->threshold);
    for (int t = 0; t < w->opt.ntasks; t++) {
        int64_t ids[NAMED_PER_TASK];
        for (int s = 0; s < NAMED_PER_TASK; s++) ids[s] = w->tag_id[dm->named[t][s]];
        mvke_result *top = NULL, *above = NULL, *all = NULL;
        mvke_status st = mvke_audience_top(dm->users, dm->tags, cli_demo_task(dm, t), NAMED_PER_TASK, ids, AUDIENCE_SHOW,
                                           NULL, &top);
        if (st == MVKE_OK)
            st = mvke_audience_range(dm->users, dm->tags, cli_demo_task(dm, t), NAMED_PER_TASK, ids, dm->threshold, NULL,
                                     &above);
        /* every user's score, for the report's pictures */
        if (st == MVKE_OK)
            st = mvke_audience_range(dm->users, dm->tags, cli_demo_task(dm, t), NAMED_PER_TASK, ids, -INFINITY, NULL, &all);
        if (st != MVKE_OK) {
            mvke_result_free(top);
            mvke_result_free(above);
            return cli_fail("demo", st, "searching the audience of the named tags");
        }
        for (int s = 0; s < NAMED_PER_TASK; s++) {
            int64_t ti = dm->named[t][s], n;
            int topic = w->tag_topic[ti];
            const int64_t *uid;
            const float *sc;
            float g[MVKE_MAX_K];
            mvke_tags_get(dm->tags, cli_demo_task(dm, t), ids[s], NULL, NULL, NULL, g);
            cli_demo_say(dm, "\n%-9s tag %lld \"%s\"  (level %d; gates", cli_demo_task(dm, t), (long long)ids[s], w->tag_name[ti],
                w->tag_level[ti]);
            for (int k = 0; k < w->opt.K; k++) cli_demo_say(dm, " %.2f", g[k]);
            cli_demo_say(dm, ")\n  top %d:", AUDIENCE_SHOW);
            mvke_result_get(top, s, &uid, &sc, &n);
            for (int64_t i = 0; i < n; i++)
                cli_demo_say(dm, "  user %lld %.4f%s", (long long)uid[i], sc[i],
                    synth_world_prefers(w, t, uid[i], topic) ? "*" : " ");
            mvke_result_get(above, s, &uid, NULL, &n);
            int64_t hits = 0, pref_all = 0;
            for (int64_t i = 0; i < n; i++) hits += synth_world_prefers(w, t, uid[i], topic);
            for (int64_t u = 0; u < w->opt.nusers; u++) pref_all += synth_world_prefers(w, t, u, topic);
            dm->above[t][s] = n;
            cli_demo_say(dm, "\n  score >= %.2f: %s users, %.1f%% of them prefer %s (of all users: %s, %.1f%%)\n",
                dm->threshold, cli_demo_grouped(n, b1), n ? 100.0 * hits / n : 0.0, cli_demo_topic(dm, topic),
                cli_demo_grouped(pref_all, b2), 100.0 * pref_all / w->opt.nusers);
            float *all_sc = malloc(sizeof(float) * w->opt.nusers);
            if (!all_sc) {
                mvke_result_free(top);
                mvke_result_free(above);
                mvke_result_free(all);
                fprintf(stderr, "mvke demo: out of memory\n");
                return CLI_EXIT_FAIL;
            }
            mvke_result_get(all, s, &uid, &sc, &n);
            for (int64_t i = 0; i < n; i++) all_sc[uid[i]] = sc[i]; /* user ids are user indices */
            dm->scores[t][s] = all_sc;
        }
        mvke_result_free(top);
        mvke_result_free(above);
        mvke_result_free(all);
    }
    return CLI_EXIT_OK;
}
