/*
 * demo_users.c - section 2 of `mvke demo`: the top tags of a few users, next to their planted
 * preferences.
 */
#include "cli.h"
#include "demo.h"

int cli_demo_users(cli_demo *dm) {
    const synth_world *w = dm->w;
    const int T = w->opt.ntasks;
    int64_t nu = w->opt.nusers < SHOW_USERS ? w->opt.nusers : SHOW_USERS, ids[SHOW_USERS] = {0};
    for (int64_t i = 0; i < nu; i++) ids[i] = w->user_id[i * (w->opt.nusers / nu)];
    mvke_result *res = NULL;
    mvke_status st = mvke_user_tags_top(dm->users, dm->tags, NULL, nu, ids, SHOW_TOP, &res);
    if (st != MVKE_OK) return cli_fail("demo", st, "searching the top tags of users");
    cli_demo_say(dm, "\n== Top %d tags of %lld users per task, next to their planted preferences ==\n"
            "* = the tag's topic is one of the user's planted preferences for that task.\n",
        SHOW_TOP, (long long)nu);
    for (int64_t i = 0; i < nu; i++) {
        cli_demo_say(dm, "\nuser %lld\n", (long long)ids[i]);
        for (int t = 0; t < T; t++) {
            char prefs[512];
            cli_demo_prefs(dm, t, ids[i], prefs, sizeof prefs);
            cli_demo_say(dm, "  %-9s planted: %s\n", cli_demo_task(dm, t), prefs);
            const int64_t *tid;
            const float *sc;
            int64_t n;
            mvke_result_get(res, i * T + t, &tid, &sc, &n);
            for (int64_t j = 0; j < n; j++) {
                int64_t ti = synth_world_tag_index(w, tid[j]);
                cli_demo_say(dm, "  %-9s %lld. %.4f%s %s\n", "", (long long)j + 1, sc[j],
                    synth_world_prefers(w, t, ids[i], w->tag_topic[ti]) ? "*" : " ", w->tag_name[ti]);
            }
        }
    }
    mvke_result_free(res);
    return CLI_EXIT_OK;
}
