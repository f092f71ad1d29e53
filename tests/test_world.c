/*
 * test_world.c - the synthetic MVKE world (support/world.c): deterministic for a seed, the
 * taxonomy's counts and links, shapes, gates zero outside each task's experts, the funnel of
 * preferences, the planted structure recoverable through the library's searches, and the files
 * it writes read back with the library's readers.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mvke/mvke.h"
#include "support/world.h"
#include "tools/args.h"

static synth_world *make(int64_t nusers, uint64_t seed) {
    synth_world_options o;
    synth_world_options_init(&o);
    o.nusers = nusers;
    o.seed = seed;
    synth_world *w = NULL;
    char msg[256];
    cr_assert_eq(synth_world_new(&w, &o, msg, sizeof msg), MVKE_OK, "%s", msg);
    return w;
}

static int in_subset(const synth_world_task *t, int k) {
    for (int i = 0; i < t->nexperts; i++)
        if (t->experts[i] == k) return 1;
    return 0;
}

Test(world, defaults_are_the_papers_setting) {
    synth_world *w = make(50, 1);
    const synth_world_options *o = &w->opt;
    cr_assert_eq(o->K, 5);
    cr_assert_eq(o->d, 30);
    cr_assert_eq(o->nlevels, 4);
    cr_assert_eq(w->ntags, 1786);
    cr_assert_eq(w->ntopics, 18);
    cr_assert_eq(o->ntasks, 2);
    cr_assert_str_eq(o->tasks[0].name, "interest");
    cr_assert_str_eq(o->tasks[1].name, "intention");
    cr_assert_eq(o->tasks[0].nexperts, 3);
    cr_assert_eq(o->tasks[1].nexperts, 4);
    cr_assert(in_subset(&o->tasks[0], 0) && in_subset(&o->tasks[0], 2) && !in_subset(&o->tasks[0], 3));
    cr_assert(in_subset(&o->tasks[1], 1) && in_subset(&o->tasks[1], 4) && !in_subset(&o->tasks[1], 0));
    synth_world_free(w);
}

Test(world, taxonomy_counts_and_links) {
    synth_world *w = make(10, 7);
    int64_t per_level[5] = {0}, topic_total = 0;
    int villa = 0;
    for (int64_t i = 0; i < w->ntags; i++) {
        cr_assert_eq(w->tag_id[i], i + 1);
        cr_assert_eq(synth_world_tag_index(w, w->tag_id[i]), i);
        int l = w->tag_level[i];
        cr_assert(l >= 1 && l <= 4);
        per_level[l]++;
        cr_assert(w->tag_name[i] && w->tag_name[i][0]);
        cr_assert_null(strpbrk(w->tag_name[i], "\t\n"));
        if (l == 1) {
            cr_assert_eq(w->tag_parent[i], 0);
            cr_assert_eq(w->tag_topic[i], i);
        } else {
            int64_t p = synth_world_tag_index(w, w->tag_parent[i]);
            cr_assert(p >= 0 && p < i);
            cr_assert_eq(w->tag_level[p], l - 1, "tag %lld: parent level", (long long)i);
            cr_assert_eq(w->tag_topic[p], w->tag_topic[i]);
            /* a child's name extends its parent's */
            cr_assert_eq(strncmp(w->tag_name[i], w->tag_name[p], strlen(w->tag_name[p])), 0);
        }
        cr_assert(w->tag_facet[i] >= 0 && w->tag_facet[i] < 5);
        villa |= !strcmp(w->tag_name[i], "Real estate - house lease - villa");
    }
    cr_assert_eq(per_level[1], 18);
    cr_assert_eq(per_level[2], 216);
    cr_assert_eq(per_level[3], 942);
    cr_assert_eq(per_level[4], 610);
    for (int c = 0; c < w->ntopics; c++) topic_total += w->topic_ntags[c];
    cr_assert_eq(topic_total, 1786);
    cr_assert(villa, "the paper's example name is in the taxonomy");
    synth_world_free(w);
}

Test(world, deterministic_for_a_seed) {
    synth_world *a = make(300, 11), *b = make(300, 11), *c = make(300, 12);
    size_t nx = (size_t)300 * 5 * 30, nq = (size_t)2 * a->ntags * 30, nw = (size_t)2 * a->ntags * 5;
    cr_assert_eq(memcmp(a->x, b->x, nx * sizeof(float)), 0);
    cr_assert_eq(memcmp(a->q, b->q, nq * sizeof(float)), 0);
    cr_assert_eq(memcmp(a->w, b->w, nw * sizeof(float)), 0);
    cr_assert_eq(memcmp(a->vk, b->vk, 150 * sizeof(float)), 0);
    cr_assert_eq(memcmp(a->pref, b->pref, (size_t)2 * 300 * a->opt.prefs_max * sizeof(int32_t)), 0);
    cr_assert_eq(memcmp(a->tag_facet, b->tag_facet, a->ntags * sizeof(int)), 0);
    cr_assert_neq(memcmp(a->x, c->x, nx * sizeof(float)), 0, "another seed gives other users");
    cr_assert_neq(memcmp(a->q, c->q, nq * sizeof(float)), 0, "another seed gives other tags");
    /* a user does not depend on how many users are generated */
    synth_world *d = make(100, 11);
    cr_assert_eq(memcmp(a->x, d->x, (size_t)100 * 150 * sizeof(float)), 0);
    synth_world_free(a);
    synth_world_free(b);
    synth_world_free(c);
    synth_world_free(d);
}

Test(world, other_shapes) {
    synth_world_options o;
    synth_world_options_init(&o);
    char msg[256];
    o.nusers = 40;
    o.K = 3;
    o.d = 7;
    cr_assert_eq(cli_world_levels("4,9", &o, msg, sizeof msg), 0, "%s", msg);
    o.ntasks = 1;
    cr_assert_eq(cli_world_task("click=0,2", &o.tasks[0], msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(o.tasks[0].nexperts, 2);
    o.prefs_min = 1;
    o.prefs_max = 2;
    synth_world *w = NULL;
    cr_assert_eq(synth_world_new(&w, &o, msg, sizeof msg), MVKE_OK, "%s", msg);
    cr_assert_eq(w->ntags, 13);
    cr_assert_eq(w->ntopics, 4);
    for (int64_t i = 0; i < w->ntags; i++) {
        cr_assert_float_eq(w->w[i * 3 + 1], 0.0f, 0.0, "expert 1 is outside the task");
        cr_assert(w->tag_facet[i] < 3);
    }
    synth_world_free(w);
}

Test(world, gates_zero_outside_each_task_and_favour_the_facet) {
    synth_world *w = make(20, 3);
    const int K = w->opt.K;
    int64_t facet_tags = 0, facet_top = 0;
    for (int t = 0; t < w->opt.ntasks; t++) {
        const synth_world_task *tk = &w->opt.tasks[t];
        for (int64_t i = 0; i < w->ntags; i++) {
            const float *g = w->w + ((size_t)t * w->ntags + i) * K;
            double sum = 0;
            int best = 0;
            for (int k = 0; k < K; k++) {
                if (!in_subset(tk, k)) cr_assert_eq(g[k], 0.0f, "task %d tag %lld expert %d", t, (long long)i, k);
                else cr_assert(g[k] > 0);
                sum += g[k];
                if (g[k] > g[best]) best = k;
            }
            cr_assert_float_eq(sum, 1.0, 1e-5);
            /* the gates are those the library computes from the virtual kernels */
            float ref[64];
            cr_assert_eq(mvke_gates_from_vk(K, w->opt.d, w->q + ((size_t)t * w->ntags + i) * w->opt.d, w->vk,
                                            tk->experts, tk->nexperts, w->opt.temperature, ref),
                         MVKE_OK);
            for (int k = 0; k < K; k++) cr_assert_float_eq(g[k], ref[k], 1e-6);
            if (in_subset(tk, w->tag_facet[i])) {
                facet_tags++;
                facet_top += best == w->tag_facet[i];
            }
        }
    }
    cr_assert(facet_top > 0.8 * facet_tags, "gates favour the facet's expert: %lld of %lld", (long long)facet_top,
              (long long)facet_tags);
    synth_world_free(w);
}

Test(world, intention_preferences_are_a_sparser_subset) {
    synth_world *w = make(2000, 5);
    int64_t n0 = 0, n1 = 0;
    for (int64_t u = 0; u < 2000; u++) {
        int c0 = 0, c1 = 0;
        for (int c = 0; c < w->ntopics; c++) {
            int a = synth_world_prefers(w, 0, u, c), b = synth_world_prefers(w, 1, u, c);
            cr_assert(!b || a, "user %lld: intention topic %d not an interest topic", (long long)u, c);
            c0 += a;
            c1 += b;
        }
        cr_assert(c0 >= w->opt.prefs_min && c0 <= w->opt.prefs_max);
        cr_assert(c1 >= 1);
        n0 += c0;
        n1 += c1;
    }
    cr_assert(n1 < 0.7 * n0, "intention is sparser: %lld vs %lld", (long long)n1, (long long)n0);
    synth_world_free(w);
}

Test(world, planted_structure_is_recoverable) {
    const int64_t n = 1500, M = 10;
    synth_world *w = make(n, 9);
    mvke_tags *tags = NULL;
    cr_assert_eq(synth_world_tags(w, NULL, &tags), MVKE_OK, "%s", mvke_last_error());
    for (int t = 0; t < w->opt.ntasks; t++) {
        mvke_result *res = NULL;
        cr_assert_eq(mvke_user_tags_top_rows(tags, w->opt.tasks[t].name, n, w->x, M, &res), MVKE_OK);
        double hits = 0, base = 0;
        for (int64_t u = 0; u < n; u++) {
            const int64_t *ids;
            int64_t m;
            cr_assert_eq(mvke_result_get(res, u, &ids, NULL, &m), MVKE_OK);
            cr_assert_eq(m, M);
            for (int64_t j = 0; j < m; j++) hits += synth_world_prefers(w, t, u, w->tag_topic[ids[j] - 1]);
            base += synth_world_random_precision(w, t, u);
        }
        double p = hits / (n * M), b = base / n;
        cr_assert(b > 0 && b < 0.3, "baseline %f", b);
        cr_assert(p > 0.6 && p > 3 * b, "task %d: precision %.3f against random %.3f", t, p, b);
        mvke_result_free(res);
    }
    /* an audience: most users above a high score prefer the tag's topic */
    mvke_index *users = NULL;
    cr_assert_eq(synth_world_users(w, NULL, &users), MVKE_OK);
    int64_t tag = 3; /* a level-1 tag */
    mvke_result *aud = NULL;
    cr_assert_eq(mvke_audience_top(users, tags, "interest", 1, &tag, 50, NULL, &aud), MVKE_OK);
    const int64_t *ids;
    int64_t m, hits = 0, all = 0;
    mvke_result_get(aud, 0, &ids, NULL, &m);
    for (int64_t i = 0; i < m; i++) hits += synth_world_prefers(w, 0, ids[i], w->tag_topic[tag - 1]);
    for (int64_t u = 0; u < n; u++) all += synth_world_prefers(w, 0, u, w->tag_topic[tag - 1]);
    cr_assert(hits >= 30 && hits * n > 3 * all * m, "top-50 audience: %lld prefer the topic (of all users: %lld)",
              (long long)hits, (long long)all);
    mvke_result_free(aud);
    mvke_index_free(users);
    mvke_tags_free(tags);
    synth_world_free(w);
}

Test(world, options_are_checked) {
    synth_world_options o;
    char msg[256];
    synth_world_options_init(&o);
    cr_assert_eq(synth_world_options_check(&o, msg, sizeof msg), 0);
    o.tasks[1].experts[0] = 5; /* K = 5 */
    cr_assert_neq(synth_world_options_check(&o, msg, sizeof msg), 0);
    cr_assert_not_null(strstr(msg, "intention"), "%s", msg);
    synth_world *w = (synth_world *)1;
    cr_assert_eq(synth_world_new(&w, &o, msg, sizeof msg), MVKE_ERR_INVALID);
    cr_assert_null(w);
    synth_world_options_init(&o);
    snprintf(o.tasks[1].name, sizeof o.tasks[1].name, "interest");
    cr_assert_neq(synth_world_options_check(&o, msg, sizeof msg), 0, "a task twice");
    synth_world_options_init(&o);
    o.prefs_max = 19;
    cr_assert_neq(synth_world_options_check(&o, msg, sizeof msg), 0, "more preferences than topics");
    synth_world_options_init(&o);
    o.temperature = 0;
    cr_assert_neq(synth_world_options_check(&o, msg, sizeof msg), 0);
    synth_world_task t;
    cr_assert_eq(cli_world_task("intention=1-4", &t, msg, sizeof msg), 0);
    cr_assert_eq(t.nexperts, 4);
    cr_assert_eq(t.experts[3], 4);
    cr_assert_neq(cli_world_task("intention", &t, msg, sizeof msg), 0);
    cr_assert_neq(cli_world_task("x=3-1", &t, msg, sizeof msg), 0);
    cr_assert_neq(cli_world_task("x=1,,2", &t, msg, sizeof msg), 0);
    cr_assert_neq(cli_world_levels("18,0", &o, msg, sizeof msg), 0);
}

Test(world, files_read_back) {
    synth_world *w = make(120, 21);
    char dir[] = "/tmp/mvke-world-XXXXXX", path[256], msg[512];
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(synth_world_save(w, dir, msg, sizeof msg), MVKE_OK, "%s", msg);

    mvke_npy *f = NULL;
    mvke_dtype dt;
    int nd;
    int64_t shape[MVKE_NPY_MAX_DIMS];
    snprintf(path, sizeof path, "%s/users.npy", dir);
    cr_assert_eq(mvke_npy_open(&f, path), MVKE_OK, "%s", mvke_last_error());
    mvke_npy_shape(f, &dt, &nd, shape);
    cr_assert(dt == MVKE_DTYPE_F32 && nd == 3 && shape[0] == 120 && shape[1] == 5 && shape[2] == 30);
    float *x = malloc(sizeof(float) * 120 * 150);
    cr_assert_eq(mvke_npy_read_f32(f, 0, 120, x), MVKE_OK);
    cr_assert_eq(memcmp(x, w->x, sizeof(float) * 120 * 150), 0);
    free(x);
    mvke_npy_close(f);

    const struct { const char *name; mvke_dtype dt; int nd; int64_t s0, s1; } files[] = {
        {"user_ids.npy", MVKE_DTYPE_I64, 1, 120, 0},       {"tag_emb.npy", MVKE_DTYPE_F32, 2, 2 * 1786, 30},
        {"gates.npy", MVKE_DTYPE_F32, 2, 2 * 1786, 5},     {"vk.npy", MVKE_DTYPE_F32, 2, 5, 30},
        {"planted_interest.npy", MVKE_DTYPE_I64, 2, 120, 4}, {"planted_intention.npy", MVKE_DTYPE_I64, 2, 120, 4},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        cr_assert_eq(mvke_npy_open(&f, path), MVKE_OK, "%s: %s", files[i].name, mvke_last_error());
        mvke_npy_shape(f, &dt, &nd, shape);
        cr_assert(dt == files[i].dt && nd == files[i].nd && shape[0] == files[i].s0, "%s", files[i].name);
        if (nd == 2) cr_assert_eq(shape[1], files[i].s1, "%s", files[i].name);
        mvke_npy_close(f);
    }

    /* tags.tsv + tag_emb + gates give the same tag table as the world */
    mvke_taxonomy *tax = NULL;
    snprintf(path, sizeof path, "%s/tags.tsv", dir);
    cr_assert_eq(mvke_taxonomy_read(&tax, path), MVKE_OK, "%s", mvke_last_error());
    int64_t rows;
    mvke_taxonomy_count(tax, &rows);
    cr_assert_eq(rows, 2 * 1786);
    mvke_tags *a = NULL, *b = NULL;
    cr_assert_eq(synth_world_tags(w, NULL, &a), MVKE_OK);
    cr_assert_eq(mvke_tags_new(&b, 5, 30, NULL), MVKE_OK);
    for (int t = 0; t < 2; t++)
        cr_assert_eq(mvke_tags_add_task(b, w->opt.tasks[t].name, w->opt.tasks[t].experts, w->opt.tasks[t].nexperts),
                     MVKE_OK);
    cr_assert_eq(mvke_taxonomy_apply(tax, b, w->q, w->w), MVKE_OK, "%s", mvke_last_error());
    float za[150], zb[150];
    for (int64_t id = 1; id <= 1786; id += 97) {
        const char *name;
        cr_assert_eq(mvke_tags_get_row(a, "intention", id, za), MVKE_OK);
        cr_assert_eq(mvke_tags_get_row(b, "intention", id, zb), MVKE_OK);
        cr_assert_eq(memcmp(za, zb, sizeof za), 0);
        cr_assert_eq(mvke_tags_get(b, "interest", id, &name, NULL, NULL, NULL), MVKE_OK);
        cr_assert_str_eq(name, w->tag_name[id - 1]);
    }
    mvke_tags_free(a);
    mvke_tags_free(b);
    mvke_taxonomy_free(tax);
    const char *names[] = {"users.npy", "user_ids.npy", "tag_emb.npy", "gates.npy", "vk.npy",
                           "planted_interest.npy", "planted_intention.npy", "tags.tsv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    synth_world_free(w);
}

Test(world, any_range_of_users_is_made_again_alone) {
    synth_world *w = make(300, 9);
    const int64_t D = (int64_t)w->opt.K * w->opt.d, first = 123, n = 45;
    float *x = malloc(sizeof(float) * n * D);
    cr_assert_not_null(x);
    synth_world_user_rows(w, first, n, x);
    cr_assert_eq(memcmp(x, w->x + first * D, sizeof(float) * n * D), 0, "rows 123..167 differ from the world's");
    synth_world_user_rows(w, first + 7, 1, x);
    cr_assert_eq(memcmp(x, w->x + (first + 7) * D, sizeof(float) * D), 0);
    free(x);
    synth_world_free(w);
}
