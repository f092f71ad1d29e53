/*
 * world.c - the synthetic MVKE world of world.h: taxonomy, tag embeddings, virtual kernels,
 * gates and users with planted preferences.
 *
 * Design notes:
 *  1. Randomness comes from rng.h: a stream per purpose, and one per user keyed by (seed, user
 *     index), so a user's vectors do not depend on how many users come before it in any loop.
 *  2. Children are spread evenly over the parents of the level above: parent p of a level with
 *     P parents and C children owns children floor(p*C/P) .. floor((p+1)*C/P)-1. For the paper's
 *     18/216/942/610 this gives 12 subtopics per topic, 4 or 5 tags below each subtopic and 0 or 1
 *     below those.
 *  3. A user's expert k holds sum_c a_c * omega_k(c) * s_c plus noise, where s_c is the direction
 *     of one subtopic of a preferred topic c (so a user leans to a part of a topic, as people do),
 *     a_c a strength in [0.7, 1.3], and omega_k(c) the share of the tasks using expert k in whose
 *     preferences c is. With the default tasks: a topic preferred only for interest weighs 1 on
 *     expert 0, 1/2 on experts 1-2 and 0 on experts 3-4; an intention topic weighs 1 everywhere.
 */
#include "world.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "world_names.h"

/* ---- random numbers ------------------------------------------------------------------------ */

/* A stream of the world (rng.h), from its second value on, as the world has always drawn them. */
static synth_rng stream(uint64_t seed, uint64_t purpose) { return synth_rng_at(synth_key(seed, purpose), 1); }

/* v: d values, a random direction of length len. */
static void random_direction(synth_rng *r, int d, float len, float *v) {
    double n2 = 0;
    for (int j = 0; j < d; j++) {
        v[j] = (float)synth_rng_normal(r);
        n2 += (double)v[j] * v[j];
    }
    double s = n2 > 0 ? len / sqrt(n2) : 0;
    for (int j = 0; j < d; j++) v[j] = (float)(v[j] * s);
}

static void normalize(int d, float *v) {
    double n2 = 0;
    for (int j = 0; j < d; j++) n2 += (double)v[j] * v[j];
    if (n2 > 0)
        for (int j = 0; j < d; j++) v[j] = (float)(v[j] / sqrt(n2));
}

enum { STREAM_TOPIC = 1, STREAM_FACET, STREAM_TAG, STREAM_TASK, STREAM_POPULARITY, STREAM_USER };

/* ---- options ------------------------------------------------------------------------------- */

void synth_world_options_init(synth_world_options *o) {
    memset(o, 0, sizeof *o);
    o->nusers = 200000;
    o->seed = 42;
    o->K = 5;
    o->d = 30;
    o->nlevels = 4;
    o->level_counts[0] = 18;
    o->level_counts[1] = 216;
    o->level_counts[2] = 942;
    o->level_counts[3] = 610;
    o->ntasks = 2;
    snprintf(o->tasks[0].name, sizeof o->tasks[0].name, "interest");
    o->tasks[0].nexperts = 3;
    for (int k = 0; k < 3; k++) o->tasks[0].experts[k] = k;
    snprintf(o->tasks[1].name, sizeof o->tasks[1].name, "intention");
    o->tasks[1].nexperts = 4;
    for (int k = 0; k < 4; k++) o->tasks[1].experts[k] = k + 1;
    o->temperature = 1.0f;
    o->vk_norm = 4.0f;
    o->facet_weight = 0.5f;
    o->tag_spread = 0.35f;
    o->task_spread = 0.1f;
    o->user_noise = 2.0f;
    o->prefs_min = 2;
    o->prefs_max = 4;
    o->funnel = 0.4f;
    o->tag_norm = 0.0f;
    o->user_scale = 1.0f;
}

void synth_world_options_for_score(synth_world_options *o, mvke_score score) {
    o->tag_norm = score == MVKE_SCORE_DOT ? 1.0f : 0.0f;
    o->user_scale = score == MVKE_SCORE_DOT ? 3.0f : 1.0f;
}

int synth_world_options_check(const synth_world_options *o, char *msg, size_t cap) {
#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -1; } while (0)
    if (o->nusers < 1 || o->nusers > 2000000000) BAD("users must be in [1, 2e9], not %lld", (long long)o->nusers);
    if (o->K < 1 || o->K > MVKE_MAX_K) BAD("K must be in [1, %d], not %d", MVKE_MAX_K, o->K);
    if (o->d < 1 || o->d > MVKE_MAX_D) BAD("d must be in [1, %d], not %d", MVKE_MAX_D, o->d);
    if ((double)o->nusers * o->K * o->d * sizeof(float) > (double)SIZE_MAX / 4)
        BAD("%lld users of K*d = %d floats do not fit in memory", (long long)o->nusers, o->K * o->d);
    if (o->nlevels < 1 || o->nlevels > SYNTH_WORLD_MAX_LEVELS) BAD("levels must be 1 to %d", SYNTH_WORLD_MAX_LEVELS);
    int64_t total = 0;
    for (int l = 0; l < o->nlevels; l++) {
        if (o->level_counts[l] < 1 || o->level_counts[l] > 10000000) BAD("level %d count must be in [1, 1e7]", l + 1);
        total += o->level_counts[l];
    }
    if (total > 10000000) BAD("at most 1e7 tags");
    if (o->ntasks < 1 || o->ntasks > SYNTH_WORLD_MAX_TASKS) BAD("tasks must be 1 to %d", SYNTH_WORLD_MAX_TASKS);
    for (int t = 0; t < o->ntasks; t++) {
        const synth_world_task *tk = &o->tasks[t];
        if (!tk->name[0] || strpbrk(tk->name, "\t\n\r")) BAD("task %d has an empty name or a tab or newline in it", t);
        for (int u = 0; u < t; u++)
            if (!strcmp(o->tasks[u].name, tk->name)) BAD("task '%s' is given twice", tk->name);
        if (tk->nexperts < 1 || tk->nexperts > o->K) BAD("task '%s' must use 1 to K = %d experts", tk->name, o->K);
        for (int i = 0; i < tk->nexperts; i++) {
            if (tk->experts[i] < 0 || tk->experts[i] >= o->K)
                BAD("task '%s': expert %d is outside 0..%d", tk->name, tk->experts[i], o->K - 1);
            for (int j = 0; j < i; j++)
                if (tk->experts[j] == tk->experts[i]) BAD("task '%s': expert %d twice", tk->name, tk->experts[i]);
        }
    }
    if (!(o->temperature > 0) || !isfinite(o->temperature)) BAD("temperature must be > 0");
    if (!(o->vk_norm >= 0) || !(o->facet_weight >= 0) || !(o->tag_spread >= 0) || !(o->task_spread >= 0) ||
        !(o->user_noise >= 0) || !(o->tag_norm >= 0) || !(o->user_scale > 0) ||
        !isfinite(o->vk_norm + o->facet_weight + o->tag_spread + o->task_spread + o->user_noise + o->tag_norm + o->user_scale))
        BAD("vk norm, facet weight, spreads and noise must be finite and >= 0");
    if (o->prefs_min < 1 || o->prefs_max < o->prefs_min || o->prefs_max > SYNTH_WORLD_MAX_PREFS)
        BAD("preferences per user must satisfy 1 <= min <= max <= %d", SYNTH_WORLD_MAX_PREFS);
    if (o->prefs_max > o->level_counts[0])
        BAD("users cannot prefer %d of %lld topics", o->prefs_max, (long long)o->level_counts[0]);
    if (!(o->funnel >= 0 && o->funnel <= 1)) BAD("funnel must be in [0, 1]");
    return 0;
#undef BAD
}

/* ---- taxonomy ------------------------------------------------------------------------------ */

void synth_world_free(synth_world *w) {
    if (!w) return;
    if (w->tag_name)
        for (int64_t i = 0; i < w->ntags; i++) free(w->tag_name[i]);
    free(w->tag_name);
    free(w->tag_id);
    free(w->tag_parent);
    free(w->tag_level);
    free(w->tag_topic);
    free(w->tag_facet);
    free(w->topic_ntags);
    free(w->vk);
    free(w->q);
    free(w->w);
    free(w->user_id);
    free(w->x);
    free(w->pref);
    free(w->h);
    free(w->popularity);
    free(w);
}

static char *name_join(const char *parent, const char *word, int64_t rank, int64_t nwords) {
    char buf[512];
    if (rank < nwords) snprintf(buf, sizeof buf, "%s - %s", parent, word);
    else snprintf(buf, sizeof buf, "%s - %s %lld", parent, word, (long long)(rank / nwords + 1));
    return strdup(buf);
}

/* The tags, their levels, parents, topics and names (design note 2). Returns 0 or -1 (memory). */
static int build_taxonomy(synth_world *w) {
    const synth_world_options *o = &w->opt;
    int64_t first = 0; /* index of the first tag of the current level */
    for (int l = 0; l < o->nlevels; l++) {
        int64_t n = o->level_counts[l];
        int64_t pfirst = l ? first - o->level_counts[l - 1] : 0, np = l ? o->level_counts[l - 1] : 0;
        int64_t p = 0;
        for (int64_t j = 0; j < n; j++) {
            int64_t i = first + j;
            w->tag_id[i] = i + 1;
            w->tag_level[i] = l + 1;
            char buf[64];
            if (l == 0) {
                w->tag_parent[i] = 0;
                w->tag_topic[i] = (int)j;
                if (j < WORLD_NTOPIC_NAMES) w->tag_name[i] = strdup(world_topic_names[j]);
                else {
                    snprintf(buf, sizeof buf, "Topic %lld", (long long)j + 1);
                    w->tag_name[i] = strdup(buf);
                }
            } else {
                /* the parent p owns children [p*n/np, (p+1)*n/np) */
                while (p + 1 < np && (p + 1) * n / np <= j) p++;
                int64_t rank = j - p * n / np, pi = pfirst + p;
                w->tag_parent[i] = w->tag_id[pi];
                int topic = w->tag_topic[pi];
                w->tag_topic[i] = topic;
                if (l == 1 && topic < WORLD_NTOPIC_NAMES && rank < WORLD_NSUB_NAMES)
                    w->tag_name[i] = name_join(w->tag_name[pi], world_sub_names[topic][rank], 0, 1);
                else if (l == 1)
                    w->tag_name[i] = name_join(w->tag_name[pi], "subtopic", rank, 1);
                else if (l == 2)
                    w->tag_name[i] = name_join(w->tag_name[pi], world_qualifiers[(p * 7 + rank) % WORLD_NQUALIFIERS],
                                               rank, WORLD_NQUALIFIERS);
                else
                    w->tag_name[i] = name_join(w->tag_name[pi], world_details[(p * 5 + rank) % WORLD_NDETAILS],
                                               rank, WORLD_NDETAILS);
            }
            if (!w->tag_name[i]) return -1;
            w->topic_ntags[w->tag_topic[i]]++;
        }
        first += n;
    }
    return 0;
}

/* Tag directions h (design: topic direction refined level by level), facets, virtual kernels,
 * per-task embeddings q = h + facet + task step, and gates from the virtual kernels. */
static mvke_status build_tags(synth_world *w, float *h) {
    const synth_world_options *o = &w->opt;
    const int K = o->K, d = o->d;
    synth_rng rt = stream(o->seed, STREAM_TOPIC), rf = stream(o->seed, STREAM_FACET);
    synth_rng rg = stream(o->seed, STREAM_TAG), rq = stream(o->seed, STREAM_TASK);

    /* Facet directions: orthonormal when K <= d, so each virtual kernel picks out its facet. */
    float *g = malloc(sizeof(float) * K * d), *step = malloc(sizeof(float) * d);
    if (!g || !step) {
        free(g);
        free(step);
        return MVKE_ERR_NOMEM;
    }
    for (int k = 0; k < K; k++) {
        float *gk = g + (size_t)k * d;
        random_direction(&rf, d, 1.0f, gk);
        if (k < d) {
            for (int l = 0; l < k; l++) {
                const float *gl = g + (size_t)l * d;
                double dot = 0;
                for (int j = 0; j < d; j++) dot += (double)gk[j] * gl[j];
                for (int j = 0; j < d; j++) gk[j] -= (float)(dot * gl[j]);
            }
            normalize(d, gk);
        }
        for (int j = 0; j < d; j++) w->vk[(size_t)k * d + j] = o->vk_norm * gk[j];
    }

    for (int64_t i = 0; i < w->ntags; i++) {
        float *hi = h + (size_t)i * d;
        if (w->tag_level[i] == 1) {
            random_direction(&rt, d, 1.0f, hi);
        } else {
            const float *hp = h + (size_t)(w->tag_parent[i] - 1) * d;
            random_direction(&rg, d, o->tag_spread, step);
            for (int j = 0; j < d; j++) hi[j] = hp[j] + step[j];
            normalize(d, hi);
        }
        w->tag_facet[i] = (int)synth_rng_below(&rf, K);
    }

    mvke_status st = MVKE_OK;
    for (int t = 0; t < o->ntasks && st == MVKE_OK; t++) {
        for (int64_t i = 0; i < w->ntags; i++) {
            float *q = w->q + ((size_t)t * w->ntags + i) * d;
            const float *hi = h + (size_t)i * d, *gf = g + (size_t)w->tag_facet[i] * d;
            random_direction(&rq, d, o->task_spread, step);
            for (int j = 0; j < d; j++) q[j] = hi[j] + o->facet_weight * gf[j] + step[j];
            if (o->tag_norm > 0.0f) {
                normalize(d, q);
                for (int j = 0; j < d; j++) q[j] *= o->tag_norm;
            }
            st = mvke_gates_from_vk(K, d, q, w->vk, o->tasks[t].experts, o->tasks[t].nexperts, o->temperature,
                                    w->w + ((size_t)t * w->ntags + i) * K);
            if (st != MVKE_OK) break;
        }
    }
    free(g);
    free(step);
    return st;
}

/* The first child of tag index i and how many children it has (design note 2). */
static void children(const synth_world *w, int64_t i, int64_t *first, int64_t *n) {
    const synth_world_options *o = &w->opt;
    int l = w->tag_level[i] - 1; /* 0-based level */
    int64_t lfirst = 0;
    for (int m = 0; m < l; m++) lfirst += o->level_counts[m];
    if (l + 1 >= o->nlevels) {
        *first = 0;
        *n = 0;
        return;
    }
    int64_t p = i - lfirst, np = o->level_counts[l], nc = o->level_counts[l + 1];
    int64_t cfirst = lfirst + np;
    *first = cfirst + p * nc / np;
    *n = (p + 1) * nc / np - p * nc / np;
}

/* Which tasks use each expert, for the weights of design note 3. */
typedef struct expert_use {
    int users_of[MVKE_MAX_K];                  /* tasks using each expert */
    int uses[SYNTH_WORLD_MAX_TASKS][MVKE_MAX_K]; /* whether task t uses expert k */
} expert_use;

static void expert_use_of(const synth_world_options *o, expert_use *u_of) {
    memset(u_of, 0, sizeof *u_of);
    for (int t = 0; t < o->ntasks; t++)
        for (int i = 0; i < o->tasks[t].nexperts; i++) {
            u_of->users_of[o->tasks[t].experts[i]]++;
            u_of->uses[t][o->tasks[t].experts[i]] = 1;
        }
}

/* Topic popularity 1/(rank + 2) over a seeded order of the topics, so that audiences differ.
 * Returns 0 or -1 (memory). */
static int build_popularity(synth_world *w) {
    const int C = w->ntopics;
    int64_t *order = malloc(sizeof(int64_t) * C);
    if (!order) return -1;
    synth_rng rp = stream(w->opt.seed, STREAM_POPULARITY);
    for (int c = 0; c < C; c++) order[c] = c;
    for (int c = C - 1; c > 0; c--) {
        int64_t r = synth_rng_below(&rp, c + 1), tmp = order[c];
        order[c] = order[r];
        order[r] = tmp;
    }
    for (int c = 0; c < C; c++) w->popularity[order[c]] = 1.0 / (c + 2);
    free(order);
    return 0;
}

/* User index u (design notes 1 and 3): its expert vectors into x (K*d floats) and its preferred
 * topics per task into pref + t*pref_stride (prefs_max each, -1 padded). */
static void make_user(const synth_world *w, const expert_use *u_of, int64_t u, float *x, int32_t *pref,
                      size_t pref_stride) {
    const synth_world_options *o = &w->opt;
    const int K = o->K, d = o->d, P = o->prefs_max, T = o->ntasks, C = w->ntopics;
    const float noise = o->user_noise / sqrtf((float)d);
    synth_rng r = stream(o->seed ^ 0x5bd1e995u, (uint64_t)STREAM_USER << 40 ^ (uint64_t)u);
    int np = o->prefs_min + (int)synth_rng_below(&r, o->prefs_max - o->prefs_min + 1);
    int chosen[SYNTH_WORLD_MAX_PREFS];
    float strength[SYNTH_WORLD_MAX_PREFS];
    const float *dir[SYNTH_WORLD_MAX_PREFS];
    for (int a = 0; a < np; a++) {
        double total = 0;
        for (int c = 0; c < C; c++) {
            int taken = 0;
            for (int b = 0; b < a; b++) taken |= chosen[b] == c;
            if (!taken) total += w->popularity[c];
        }
        double at = synth_rng_uniform(&r) * total;
        int pick = -1;
        for (int c = 0; c < C; c++) {
            int taken = 0;
            for (int b = 0; b < a; b++) taken |= chosen[b] == c;
            if (taken) continue;
            pick = c;
            if ((at -= w->popularity[c]) < 0) break;
        }
        chosen[a] = pick;
        strength[a] = (float)(0.7 + 0.6 * synth_rng_uniform(&r));
        int64_t cf, cn;
        children(w, pick, &cf, &cn);
        dir[a] = w->h + (size_t)(cn ? cf + synth_rng_below(&r, cn) : pick) * d;
    }
    /* in[t][a]: preference a holds in task t; each task keeps a sparser subset. */
    int in[SYNTH_WORLD_MAX_TASKS][SYNTH_WORLD_MAX_PREFS];
    for (int a = 0; a < np; a++) in[0][a] = 1;
    for (int t = 1; t < T; t++) {
        int kept = 0, last = -1;
        for (int a = 0; a < np; a++) {
            in[t][a] = in[t - 1][a] && synth_rng_uniform(&r) < o->funnel;
            kept += in[t][a];
            if (in[t - 1][a]) last = a;
        }
        if (!kept) {
            /* keep one of the previous task's preferences */
            int cnt = 0;
            for (int a = 0; a < np; a++) cnt += in[t - 1][a];
            int64_t pick = synth_rng_below(&r, cnt);
            for (int a = 0; a < np; a++)
                if (in[t - 1][a] && pick-- == 0) {
                    last = a;
                    break;
                }
            in[t][last] = 1;
        }
    }
    for (int t = 0; t < T; t++) {
        int32_t *pr = pref + (size_t)t * pref_stride;
        int n = 0;
        for (int a = 0; a < np; a++)
            if (in[t][a]) pr[n++] = chosen[a];
        for (; n < P; n++) pr[n] = -1;
    }
    for (int k = 0; k < K; k++) {
        float *e = x + (size_t)k * d;
        for (int j = 0; j < d; j++) e[j] = (float)(noise * synth_rng_normal(&r));
        if (!u_of->users_of[k]) continue;
        for (int a = 0; a < np; a++) {
            int cnt = 0;
            for (int t = 0; t < T; t++) cnt += in[t][a] && u_of->uses[t][k];
            float s = strength[a] * (float)cnt / (float)u_of->users_of[k];
            for (int j = 0; j < d; j++) e[j] += s * dir[a][j];
        }
        if (o->user_scale != 1.0f)
            for (int j = 0; j < d; j++) e[j] *= o->user_scale;
    }
}

void synth_world_user_rows(const synth_world *w, int64_t first, int64_t n, float *x) {
    expert_use u_of;
    expert_use_of(&w->opt, &u_of);
    int32_t pref[SYNTH_WORLD_MAX_TASKS * SYNTH_WORLD_MAX_PREFS];
    const size_t D = (size_t)w->opt.K * w->opt.d;
    for (int64_t i = 0; i < n; i++) make_user(w, &u_of, first + i, x + (size_t)i * D, pref, (size_t)w->opt.prefs_max);
}

/* Every user's rows and preferences. */
static void build_users(synth_world *w) {
    expert_use u_of;
    expert_use_of(&w->opt, &u_of);
    const synth_world_options *o = &w->opt;
    const size_t D = (size_t)o->K * o->d, P = (size_t)o->prefs_max;
    for (int64_t u = 0; u < o->nusers; u++) {
        w->user_id[u] = u;
        make_user(w, &u_of, u, w->x + (size_t)u * D, w->pref + (size_t)u * P, (size_t)o->nusers * P);
    }
}

mvke_status synth_world_new(synth_world **out, const synth_world_options *o, char *msg, size_t cap) {
    if (!out || !o) {
        snprintf(msg, cap, "no world or no options given");
        return MVKE_ERR_INVALID;
    }
    *out = NULL;
    if (synth_world_options_check(o, msg, cap)) return MVKE_ERR_INVALID;
    synth_world *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(msg, cap, "out of memory for the world");
        return MVKE_ERR_NOMEM;
    }
    w->opt = *o;
    const size_t K = o->K, d = o->d, n = o->nusers, T = o->ntasks;
    for (int l = 0; l < o->nlevels; l++) w->ntags += o->level_counts[l];
    w->ntopics = (int)o->level_counts[0];
    const size_t nt = w->ntags;
    w->tag_id = malloc(sizeof(int64_t) * nt);
    w->tag_parent = malloc(sizeof(int64_t) * nt);
    w->tag_level = malloc(sizeof(int) * nt);
    w->tag_topic = malloc(sizeof(int) * nt);
    w->tag_facet = malloc(sizeof(int) * nt);
    w->tag_name = calloc(nt, sizeof(char *));
    w->topic_ntags = calloc(w->ntopics, sizeof(int64_t));
    w->vk = malloc(sizeof(float) * K * d);
    w->q = malloc(sizeof(float) * T * nt * d);
    w->w = malloc(sizeof(float) * T * nt * K);
    w->user_id = malloc(sizeof(int64_t) * n);
    w->x = malloc(sizeof(float) * n * K * d);
    w->pref = malloc(sizeof(int32_t) * T * n * o->prefs_max);
    w->h = malloc(sizeof(float) * nt * d);
    w->popularity = malloc(sizeof(double) * w->ntopics);
    mvke_status st = MVKE_ERR_NOMEM;
    if (w->tag_id && w->tag_parent && w->tag_level && w->tag_topic && w->tag_facet && w->tag_name &&
        w->topic_ntags && w->vk && w->q && w->w && w->user_id && w->x && w->pref && w->h && w->popularity &&
        build_taxonomy(w) == 0 && build_popularity(w) == 0) {
        st = build_tags(w, w->h);
        if (st == MVKE_OK) build_users(w);
    }
    if (st != MVKE_OK) {
        snprintf(msg, cap, st == MVKE_ERR_NOMEM ? "out of memory for %lld users of K*d = %d floats and %lld tags"
                                                : "computing the gates of %lld users' %d floats and %lld tags failed",
                 (long long)o->nusers, o->K * o->d, (long long)w->ntags);
        synth_world_free(w);
        return st;
    }
    *out = w;
    return MVKE_OK;
}

/* ---- queries ------------------------------------------------------------------------------- */

int synth_world_prefers(const synth_world *w, int t, int64_t u, int topic) {
    const int32_t *pr = w->pref + ((size_t)t * w->opt.nusers + u) * w->opt.prefs_max;
    for (int a = 0; a < w->opt.prefs_max && pr[a] >= 0; a++)
        if (pr[a] == topic) return 1;
    return 0;
}

double synth_world_random_precision(const synth_world *w, int t, int64_t u) {
    const int32_t *pr = w->pref + ((size_t)t * w->opt.nusers + u) * w->opt.prefs_max;
    int64_t hit = 0;
    for (int a = 0; a < w->opt.prefs_max && pr[a] >= 0; a++) hit += w->topic_ntags[pr[a]];
    return (double)hit / (double)w->ntags;
}

int64_t synth_world_tag_index(const synth_world *w, int64_t id) {
    return id >= 1 && id <= w->ntags ? id - 1 : -1; /* ids are 1 .. ntags in index order */
}

mvke_status synth_world_users(const synth_world *w, const mvke_index_options *opts, mvke_index **out) {
    mvke_index *idx = NULL;
    *out = NULL;
    mvke_status st = mvke_index_new(&idx, w->opt.K, w->opt.d, opts);
    if (st == MVKE_OK) st = mvke_index_add(idx, w->opt.nusers, w->user_id, w->x);
    if (st != MVKE_OK) {
        mvke_index_free(idx);
        return st;
    }
    *out = idx;
    return MVKE_OK;
}

mvke_status synth_world_tags(const synth_world *w, const mvke_index_options *opts, mvke_tags **out) {
    const synth_world_options *o = &w->opt;
    mvke_tags *tags = NULL;
    *out = NULL;
    mvke_status st = mvke_tags_new(&tags, o->K, o->d, opts);
    if (st == MVKE_OK) st = mvke_tags_set_vk(tags, w->vk, o->temperature);
    for (int t = 0; t < o->ntasks && st == MVKE_OK; t++) {
        st = mvke_tags_add_task(tags, o->tasks[t].name, o->tasks[t].experts, o->tasks[t].nexperts);
        if (st == MVKE_OK)
            st = mvke_tags_add(tags, o->tasks[t].name, w->ntags, w->tag_id, (const char *const *)w->tag_name,
                               w->tag_parent, w->q + (size_t)t * w->ntags * o->d,
                               w->w + (size_t)t * w->ntags * o->K);
    }
    if (st != MVKE_OK) {
        mvke_tags_free(tags);
        return st;
    }
    *out = tags;
    return MVKE_OK;
}

/* ---- files --------------------------------------------------------------------------------- */

static mvke_status save_npy(const char *dir, const char *name, mvke_dtype dt, int ndim, const int64_t *shape,
                            const void *data, char *msg, size_t cap) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mvke_status st = mvke_npy_save(path, dt, ndim, shape, data);
    if (st != MVKE_OK) snprintf(msg, cap, "%s", mvke_last_error());
    return st;
}

mvke_status synth_world_save(const synth_world *w, const char *dir, char *msg, size_t cap) {
    const synth_world_options *o = &w->opt;
    const int64_t n = o->nusers, rows = (int64_t)o->ntasks * w->ntags;
    mvke_status st;
    int64_t s3[3] = {n, o->K, o->d};
    if ((st = save_npy(dir, "users.npy", MVKE_DTYPE_F32, 3, s3, w->x, msg, cap))) return st;
    if ((st = save_npy(dir, "user_ids.npy", MVKE_DTYPE_I64, 1, &n, w->user_id, msg, cap))) return st;
    int64_t sq[2] = {rows, o->d}, sw[2] = {rows, o->K}, sv[2] = {o->K, o->d};
    if ((st = save_npy(dir, "tag_emb.npy", MVKE_DTYPE_F32, 2, sq, w->q, msg, cap))) return st;
    if ((st = save_npy(dir, "gates.npy", MVKE_DTYPE_F32, 2, sw, w->w, msg, cap))) return st;
    if ((st = save_npy(dir, "vk.npy", MVKE_DTYPE_F32, 2, sv, w->vk, msg, cap))) return st;

    int64_t *planted = malloc(sizeof(int64_t) * (size_t)n * o->prefs_max);
    if (!planted) return MVKE_ERR_NOMEM;
    for (int t = 0; t < o->ntasks && !st; t++) {
        const int32_t *pr = w->pref + (size_t)t * n * o->prefs_max;
        for (size_t i = 0; i < (size_t)n * o->prefs_max; i++) planted[i] = pr[i] < 0 ? -1 : w->tag_id[pr[i]];
        char name[SYNTH_WORLD_MAX_NAME + 32];
        snprintf(name, sizeof name, "planted_%s.npy", o->tasks[t].name);
        int64_t sp[2] = {n, o->prefs_max};
        st = save_npy(dir, name, MVKE_DTYPE_I64, 2, sp, planted, msg, cap);
    }
    free(planted);
    if (st) return st;

    char path[4096];
    snprintf(path, sizeof path, "%s/tags.tsv", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(msg, cap, "%s: cannot create: %s", path, strerror(errno));
        return MVKE_ERR_IO;
    }
    fprintf(f, "tag_id\ttask\tname\tparent_id\n");
    for (int t = 0; t < o->ntasks; t++)
        for (int64_t i = 0; i < w->ntags; i++)
            fprintf(f, "%lld\t%s\t%s\t%lld\n", (long long)w->tag_id[i], o->tasks[t].name, w->tag_name[i],
                    (long long)w->tag_parent[i]);
    if (ferror(f) | fclose(f)) {
        snprintf(msg, cap, "%s: write failed: %s", path, strerror(errno));
        remove(path);
        return MVKE_ERR_IO;
    }
    return MVKE_OK;
}
