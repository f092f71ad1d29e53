/*
 * demo_index_file.c - section 5 of `mvke demo`: the users and tags saved as an index file,
 * reopened, and the named tags' audiences compared with those of the index in memory.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "support/clock.h"
#include "cli.h"
#include "demo.h"
#include "sigbus.h"

int cli_demo_index_file(cli_demo *dm) {
    const synth_world *w = dm->w;
    char path[4096];
    snprintf(path, sizeof path, "%s/index.mvke", dm->out);
    fprintf(stderr, "demo: writing %s\n", path);
    double t0 = bench_now();
    mvke_status st = mvke_file_save(path, dm->users, dm->tags);
    if (st != MVKE_OK) return cli_fail("demo", st, "saving the index file");
    double t_save = bench_now() - t0;
    t0 = bench_now();
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    cli_sigbus_index(path);
    st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &users, &tags);
    if (st != MVKE_OK) return cli_fail("demo", st, "reopening the index file");
    double t_open = bench_now() - t0;
    /* the same audiences from the reopened file */
    int64_t same = 0, total = 0;
    for (int t = 0; t < w->opt.ntasks && st == MVKE_OK; t++) {
        int64_t ids[NAMED_PER_TASK];
        for (int s = 0; s < NAMED_PER_TASK; s++) ids[s] = w->tag_id[dm->named[t][s]];
        mvke_result *a = NULL, *b = NULL;
        st = mvke_audience_top(dm->users, dm->tags, cli_demo_task(dm, t), NAMED_PER_TASK, ids, NAIVE_K, NULL, &a);
        if (st == MVKE_OK) st = mvke_audience_top(users, tags, cli_demo_task(dm, t), NAMED_PER_TASK, ids, NAIVE_K, NULL, &b);
        for (int s = 0; s < NAMED_PER_TASK && st == MVKE_OK; s++) {
            const int64_t *ia, *ib;
            const float *sa, *sb;
            int64_t na, nb;
            mvke_result_get(a, s, &ia, &sa, &na);
            mvke_result_get(b, s, &ib, &sb, &nb);
            for (int64_t i = 0; i < na && i < nb; i++) same += ia[i] == ib[i] && sa[i] == sb[i];
            total += na > nb ? na : nb;
        }
        mvke_result_free(a);
        mvke_result_free(b);
    }
    mvke_index_free(users);
    mvke_tags_free(tags);
    if (st != MVKE_OK) return cli_fail("demo", st, "searching the reopened index file");
    struct stat sb;
    double mb = stat(path, &sb) == 0 ? sb.st_size / 1e6 : 0;
    cli_demo_say(dm, "\n== Index file ==\n%s: %.1f MB, saved in %.2f s, reopened in %.3f s; the reopened index gives %s "
            "(%lld of %lld results equal)\n",
        path, mb, t_save, t_open, same == total ? "the same audiences" : "DIFFERENT audiences", (long long)same,
        (long long)total);
    return same == total ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
