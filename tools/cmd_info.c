/*
 * cmd_info.c - `mvke info INDEX`: what an index file holds (shape, storage, tasks, tag counts).
 * Output is TSV-like "key<TAB>value" lines on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "support/options.h"
#include "sigbus.h"

int cli_cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int list_tags = 0;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file", .kind = CLI_POSITIONAL, .dst = &path, .required = 1},
        {.name = "--tags", .help = "list the tags instead: tag_id<TAB>task<TAB>name<TAB>parent_id lines with a\n"
         "header (the layout of build's --tags file), tasks in declaration order", .kind = CLI_FLAG,
         .dst = &list_tags},
    };
    const cli_spec spec = {"mvke info",
                           "Prints the format version, size, K, d, storage, user count, tasks with their experts\n"
                           "and tag counts of an index file, one 'key<TAB>value' line each. Checks the header, the\n"
                           "section table and the tag sections, and nothing per user (use 'mvke verify' for every checksum).\n",
                           NULL, options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    mvke_file_info fi;
    mvke_status st = mvke_file_inspect(path, &fi);
    if (st != MVKE_OK) return cli_fail("info", st, path);
    mvke_index *users;
    mvke_tags *tags;
    cli_sigbus_index(path);
    st = mvke_file_open(path, MVKE_FILE_OPEN_DEFAULT, &users, &tags);
    if (st != MVKE_OK) return cli_fail("info", st, path);
    int ntasks;
    int64_t ntags;
    mvke_tags_ntasks(tags, &ntasks);
    if (list_tags) {
        int rc = CLI_EXIT_OK;
        printf("tag_id\ttask\tname\tparent_id\n");
        for (int t = 0; t < ntasks && rc == CLI_EXIT_OK; t++) {
            const char *task;
            int64_t n = 0;
            mvke_tags_task(tags, t, &task, NULL, NULL);
            mvke_tags_count(tags, task, &n);
            int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
            if (!ids) {
                rc = cli_fail("info", MVKE_ERR_NOMEM, "listing the tags");
                break;
            }
            mvke_tags_ids(tags, task, ids);
            for (int64_t i = 0; i < n; i++) {
                const char *name = NULL;
                int64_t parent = 0;
                mvke_tags_get(tags, task, ids[i], &name, &parent, NULL, NULL);
                printf("%lld\t%s\t%s\t%lld\n", (long long)ids[i], task, name ? name : "", (long long)parent);
            }
            free(ids);
        }
        mvke_index_free(users);
        mvke_tags_free(tags);
        return rc == CLI_EXIT_OK ? cli_finish_stdout("info") : rc;
    }
    mvke_tags_count(tags, NULL, &ntags);
    mvke_index_footprint fp;
    int refine = 0;
    mvke_index_describe(users, &fp);
    mvke_index_refine(users, &refine, NULL);
    char storage[32];
    if (fi.storage == MVKE_STORAGE_PQ) snprintf(storage, sizeof storage, "pq:%d", fp.pq_m);
    else
        snprintf(storage, sizeof storage, "%s",
                 fi.storage == MVKE_STORAGE_F16    ? "float16"
                 : fi.storage == MVKE_STORAGE_BF16 ? "bfloat16"
                 : fi.storage == MVKE_STORAGE_SQ8  ? "sq8"
                                                   : "float32");
    printf("file\t%s\nformat\t%u\nbytes\t%llu\nfingerprint\t%08x\nusers\t%lld\nK\t%d\nd\t%d\nstorage\t%s\n", path,
           fi.version, (unsigned long long)fi.size, fi.fingerprint, (long long)fi.nusers, fi.K, fi.d, storage);
    if (fi.storage == MVKE_STORAGE_SQ8 || fi.storage == MVKE_STORAGE_PQ)
        printf("refine\t%s\ntrain_sample\t%lld\n", refine ? "float32 rows kept (searches exact by default)" : "no (approximate searches)",
               (long long)fp.train_rows);
    mvke_score score;
    mvke_index_score(users, &score);
    printf("score\t%s\n", score == MVKE_SCORE_DOT ? "dot (<E, q>; no Gram triangles stored)" : "cosine (cos(E, q))");
    mvke_lists_info li;
    mvke_index_lists(users, &li);
    if (li.nlists)
        printf("lists\t%d (users per list: %lld smallest, %lld median, %lld largest; %lld users added since, in the tail)\n",
               li.nlists, (long long)li.min_size, (long long)li.median_size, (long long)li.max_size, (long long)li.tail);
    else
        printf("lists\tnone\n");
    /* Resident: what a search reads per user (rows or codes, Gram, bounds) and the ids with
     * their lookup; refine rows are read only for a codec search's candidates. */
    printf("bytes_per_user\tresident %lld (rows %lld, ids %lld)", (long long)(fp.row_bytes + fp.id_bytes),
           (long long)fp.row_bytes, (long long)fp.id_bytes);
    if (fp.refine_bytes) printf(", refine rows %lld", (long long)fp.refine_bytes);
    if (fi.nusers > 0) printf(", file %.1f", (double)fi.size / (double)fi.nusers);
    printf("\ntasks\t%d\ntags\t%lld\n", ntasks, (long long)ntags);
    for (int t = 0; t < ntasks; t++) {
        const char *name;
        const int *ex;
        int nex;
        int64_t n;
        mvke_tags_task(tags, t, &name, &ex, &nex);
        mvke_tags_count(tags, name, &n);
        printf("task\t%s\texperts=", name);
        for (int k = 0; k < nex; k++) printf("%s%d", k ? "," : "", ex[k]);
        printf("\ttags=%lld\n", (long long)n);
    }
    mvke_index_free(users);
    mvke_tags_free(tags);
    return CLI_EXIT_OK;
}
