/*
 * tags.c - the tag table: tasks with their expert subsets, tags with embeddings and gates, and
 * the gated rows that searches use.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/runtime.h"
#include "../kernels/cpu/cpu_features.h"
#include "durable.h"
#include "index_impl.h"
#include "tags_impl.h"

mvke_status mvke_tags_new(mvke_tags **out, int K, int d, const mvke_index_options *opts) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = NULL;
    mvke_status cst = mvke_cpu_features_check();
    if (cst != MVKE_OK) return cst;
    if (opts && (opts->storage == MVKE_STORAGE_SQ8 || opts->storage == MVKE_STORAGE_PQ || opts->refine))
        return mvke_error(MVKE_ERR_INVALID, "a tag table keeps its gated rows as f32, f16 or bf16, not %s%s",
                          mvke_storage_name(opts->storage), opts->refine ? " with refine" : "");
    /* Reuse the index's checks of K, d and options. */
    mvke_index *probe;
    mvke_status st = mvke_index_new(&probe, K, d, opts);
    if (st != MVKE_OK) return st;
    mvke_index_free(probe);
    mvke_tags *t = mvke_calloc(1, sizeof *t);
    if (!t) return mvke_error(MVKE_ERR_NOMEM, "out of memory creating a tag table");
    if (mvke_rwlock_init(&t->lock) != 0) {
        mvke_free(t);
        return mvke_error(MVKE_ERR_NOMEM, "cannot create the tag table lock");
    }
    t->K = K;
    t->d = d;
    mvke_index_options_init(&t->opts);
    if (opts) t->opts = *opts;
    t->temperature = 1.0f;
    *out = t;
    return MVKE_OK;
}

/* The id of a task's metadata slot: the key of its id table. */
static int64_t task_id_at(const void *ctx, int64_t slot) { return ((const mvke_task *)ctx)->ids[slot]; }

static void task_release(mvke_task *tk) {
    mvke_free(tk->name);
    mvke_free(tk->experts);
    mvke_index_free(tk->rows);
    for (int64_t i = 0; i < tk->n; i++) mvke_free(tk->names[i]);
    mvke_free(tk->ids);
    mvke_free(tk->names);
    mvke_free(tk->parents);
    mvke_free(tk->q);
    mvke_free(tk->w);
    mvke_idmap_release(&tk->slot);
}

void mvke_tags_free(mvke_tags *t) {
    if (!t) return;
    for (int i = 0; i < t->ntasks; i++) task_release(&t->tasks[i]);
    mvke_free(t->tasks);
    mvke_free(t->vk);
    pthread_rwlock_destroy(&t->lock);
    mvke_free(t);
}

static mvke_status check_name(const char *name, const char *what) {
    if (!name || !*name) return mvke_error(MVKE_ERR_INVALID, "%s is empty", what);
    size_t n = strlen(name);
    if (n > 255) return mvke_error(MVKE_ERR_INVALID, "%s is %zu bytes long (at most 255)", what, n);
    if (strpbrk(name, "\t\n\r")) return mvke_error(MVKE_ERR_INVALID, "%s \"%s\" contains a tab or newline", what, name);
    /* Control characters would act on a terminal or break a TSV reader where names are printed. */
    const unsigned char *u = (const unsigned char *)name;
    for (size_t i = 0; i < n; i++)
        if (u[i] < 0x20 || u[i] == 0x7F || (u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F))
            return mvke_error(MVKE_ERR_INVALID, "%s contains the control character 0x%02X at byte %zu (C0, DEL and C1 "
                              "controls are refused)", what, u[i] == 0xC2 ? u[i + 1] : u[i], i);
    return MVKE_OK;
}

const mvke_task *mvke_tags_find_task(const mvke_tags *t, const char *name) {
    if (name)
        for (int i = 0; i < t->ntasks; i++)
            if (strcmp(t->tasks[i].name, name) == 0) return &t->tasks[i];
    char known[512] = "";
    size_t at = 0;
    for (int i = 0; i < t->ntasks && at < sizeof known; i++)
        at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", i ? ", " : "", t->tasks[i].name);
    mvke_error(MVKE_ERR_UNKNOWN_TASK, "unknown task \"%s\" (%s%s)", name ? name : "(null)",
               t->ntasks ? "known: " : "no task is declared", known);
    return NULL;
}

mvke_status mvke_tags_add_task(mvke_tags *t, const char *name, const int *experts, int nexperts) {
    mvke_error_clear();
    if (!t) return mvke_error(MVKE_ERR_INVALID, "tag table is NULL");
    mvke_status st = check_name(name, "task name");
    if (st != MVKE_OK) return st;
    if (!experts || nexperts < 1 || nexperts > t->K)
        return mvke_error(MVKE_ERR_INVALID, "task \"%s\": it must use 1 to K = %d experts, not %d", name, t->K, nexperts);
    uint64_t mask = 0;
    for (int i = 0; i < nexperts; i++) {
        if (experts[i] < 0 || experts[i] >= t->K)
            return mvke_error(MVKE_ERR_INVALID, "task \"%s\": expert %d is out of range [0, %d)", name, experts[i], t->K);
        if (mask >> experts[i] & 1)
            return mvke_error(MVKE_ERR_INVALID, "task \"%s\": expert %d is listed twice", name, experts[i]);
        mask |= 1ull << experts[i];
    }
    pthread_rwlock_wrlock(&t->lock);
    for (int i = 0; i < t->ntasks && st == MVKE_OK; i++)
        if (strcmp(t->tasks[i].name, name) == 0)
            st = mvke_error(MVKE_ERR_DUPLICATE, "task \"%s\" is already declared", name);
    mvke_task tk = {0};
    if (st == MVKE_OK && t->ntasks == t->cap_tasks) {
        int cap = t->cap_tasks ? 2 * t->cap_tasks : 4;
        mvke_task *nt = mvke_realloc(t->tasks, (size_t)cap * sizeof *nt);
        if (!nt)
            st = mvke_error(MVKE_ERR_NOMEM, "out of memory declaring task \"%s\"", name);
        else {
            t->tasks = nt;
            t->cap_tasks = cap;
            for (int i = 0; i < t->ntasks; i++) t->tasks[i].slot.ctx = &t->tasks[i]; /* they moved */
        }
    }
    if (st == MVKE_OK) {
        tk.name = mvke_strdup(name);
        tk.experts = mvke_malloc_array((size_t)nexperts, sizeof *tk.experts);
        tk.nexperts = nexperts;
        tk.mask = mask;
        mvke_idmap_init(&tk.slot, task_id_at, NULL); /* ctx: the task's final address, below */
        if (!tk.name || !tk.experts)
            st = mvke_error(MVKE_ERR_NOMEM, "out of memory declaring task \"%s\"", name);
        else
            st = mvke_index_new(&tk.rows, t->K, t->d, &t->opts);
        if (st == MVKE_OK && t->on_gpu) st = mvke_index_use_gpu(tk.rows, t->gpu_device);
        if (st == MVKE_OK) {
            tk.rows->store.experts = mask; /* gated rows are zero outside the subset: kernels skip it */
            memcpy(tk.experts, experts, (size_t)nexperts * sizeof *experts);
            t->tasks[t->ntasks] = tk;
            t->tasks[t->ntasks].slot.ctx = &t->tasks[t->ntasks];
            t->ntasks++;
        } else {
            task_release(&tk);
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return st;
}

mvke_status mvke_tags_use_gpu(mvke_tags *t, int device) {
    mvke_error_clear();
    if (!t) return mvke_error(MVKE_ERR_INVALID, "tag table is NULL");
    if (device < -1)
        return mvke_error(MVKE_ERR_INVALID, "device = %d: use 0, 1, ... or -1 for every device", device);
    if (t->opts.score == MVKE_SCORE_DOT)
        return mvke_error(MVKE_ERR_UNSUPPORTED, "the CUDA backend serves the cosine score only; this tag table scores "
                          "by dot (search it on the CPU)");
    int n = 0;
    mvke_status st = mvke_gpu_count(&n);
    if (st != MVKE_OK) return st;
    if (device >= n)
        return mvke_error(MVKE_ERR_UNSUPPORTED, "CUDA device %d does not exist (%d visible); the tags stay on the CPU",
                          device, n);
    pthread_rwlock_wrlock(&t->lock);
    int moved = 0;
    for (; moved < t->ntasks && st == MVKE_OK; moved++)
        if ((st = mvke_index_use_gpu(t->tasks[moved].rows, device)) != MVKE_OK) break;
    if (st != MVKE_OK) { /* all or nothing: the tasks moved so far go back */
        char msg[512];
        snprintf(msg, sizeof msg, "task \"%s\": %s", t->tasks[moved].name, mvke_last_error());
        for (int i = 0; i < moved; i++) mvke_index_use_cpu(t->tasks[i].rows);
        mvke_error(st, "%s", msg);
    } else {
        t->on_gpu = 1;
        t->gpu_device = device;
    }
    pthread_rwlock_unlock(&t->lock);
    return st;
}

mvke_status mvke_tags_score(const mvke_tags *t, mvke_score *score) {
    if (!t || !score) return mvke_error(MVKE_ERR_INVALID, "tag table or score is NULL");
    *score = t->opts.score;
    return MVKE_OK;
}

mvke_status mvke_tags_set_threads(mvke_tags *t, int threads) {
    mvke_error_clear();
    if (!t) return mvke_error(MVKE_ERR_INVALID, "tag table is NULL");
    if (threads < 0) return mvke_error(MVKE_ERR_INVALID, "threads = %d is negative", threads);
    pthread_rwlock_wrlock(&t->lock);
    t->opts.threads = threads;
    for (int i = 0; i < t->ntasks; i++) mvke_index_set_threads(t->tasks[i].rows, threads);
    pthread_rwlock_unlock(&t->lock);
    return MVKE_OK;
}

mvke_status mvke_tags_use_cpu(mvke_tags *t) {
    mvke_error_clear();
    if (!t) return mvke_error(MVKE_ERR_INVALID, "tag table is NULL");
    pthread_rwlock_wrlock(&t->lock);
    for (int i = 0; i < t->ntasks; i++) mvke_index_use_cpu(t->tasks[i].rows);
    t->on_gpu = 0;
    pthread_rwlock_unlock(&t->lock);
    return MVKE_OK;
}

mvke_status mvke_tags_backend(const mvke_tags *t, const char **name) {
    if (!t || !name) return mvke_error(MVKE_ERR_INVALID, "tag table or name is NULL");
    pthread_rwlock_rdlock((pthread_rwlock_t *)&t->lock);
    *name = t->on_gpu ? "cuda" : "cpu";
    pthread_rwlock_unlock((pthread_rwlock_t *)&t->lock);
    return MVKE_OK;
}

mvke_status mvke_tags_ntasks(const mvke_tags *t, int *ntasks) {
    if (!t || !ntasks) return mvke_error(MVKE_ERR_INVALID, "tag table or ntasks is NULL");
    *ntasks = t->ntasks;
    return MVKE_OK;
}

mvke_status mvke_tags_task(const mvke_tags *t, int i, const char **name, const int **experts, int *nexperts) {
    if (!t) return mvke_error(MVKE_ERR_INVALID, "tag table is NULL");
    if (i < 0 || i >= t->ntasks) return mvke_error(MVKE_ERR_INVALID, "task %d is out of range [0, %d)", i, t->ntasks);
    if (name) *name = t->tasks[i].name;
    if (experts) *experts = t->tasks[i].experts;
    if (nexperts) *nexperts = t->tasks[i].nexperts;
    return MVKE_OK;
}

mvke_status mvke_tags_set_vk(mvke_tags *t, const float *vk, float temperature) {
    mvke_error_clear();
    if (!t || !vk) return mvke_error(MVKE_ERR_INVALID, "tag table or vk is NULL");
    if (!(temperature > 0.0f) || !isfinite(temperature))
        return mvke_error(MVKE_ERR_INVALID, "temperature %g must be finite and > 0", (double)temperature);
    const int64_t n = (int64_t)t->K * t->d;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(vk[i]))
            return mvke_error(MVKE_ERR_NONFINITE, "virtual kernel %lld, dim %lld is %s", (long long)(i / t->d),
                              (long long)(i % t->d), isnan(vk[i]) ? "NaN" : "Inf");
    float *copy = mvke_malloc_array((size_t)n, sizeof *copy);
    if (!copy) return mvke_error(MVKE_ERR_NOMEM, "out of memory copying virtual kernels");
    memcpy(copy, vk, (size_t)n * sizeof *copy);
    pthread_rwlock_wrlock(&t->lock);
    mvke_free(t->vk);
    t->vk = copy;
    t->temperature = temperature;
    pthread_rwlock_unlock(&t->lock);
    return MVKE_OK;
}

/* Grows the metadata arrays of a task to hold `need` tags. */
static mvke_status task_reserve(mvke_task *tk, int K, int d, int64_t need) {
    if (need <= tk->cap) return MVKE_OK;
    int64_t cap = tk->cap ? tk->cap : 16;
    while (cap < need) cap *= 2;
    int64_t *ids = mvke_realloc(tk->ids, (size_t)cap * sizeof *ids);
    if (ids) tk->ids = ids;
    char **names = ids ? mvke_realloc(tk->names, (size_t)cap * sizeof *names) : NULL;
    if (names) tk->names = names;
    int64_t *parents = names ? mvke_realloc(tk->parents, (size_t)cap * sizeof *parents) : NULL;
    if (parents) tk->parents = parents;
    float *q = parents ? mvke_realloc(tk->q, (size_t)cap * d * sizeof *q) : NULL;
    if (q) tk->q = q;
    float *w = q ? mvke_realloc(tk->w, (size_t)cap * K * sizeof *w) : NULL;
    if (w) tk->w = w;
    if (!w) return mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld tags", (long long)need);
    tk->cap = cap;
    return MVKE_OK;
}

mvke_status mvke_tags_add(mvke_tags *t, const char *task, int64_t n, const int64_t *ids,
                          const char *const *names, const int64_t *parents, const float *q,
                          const float *w) {
    mvke_error_clear();
    if (!t) return mvke_error(MVKE_ERR_INVALID, "tag table is NULL");
    if (n < 0) return mvke_error(MVKE_ERR_INVALID, "n = %lld is negative", (long long)n);
    if (n > 0 && (!ids || !q)) return mvke_error(MVKE_ERR_INVALID, "ids or q is NULL");
    const int K = t->K, d = t->d;
    const int64_t D = (int64_t)K * d;
    pthread_rwlock_wrlock(&t->lock);
    mvke_status st = MVKE_OK;
    float *wbuf = NULL, *z = NULL;
    char **copies = NULL;
    mvke_task *tk = (mvke_task *)mvke_tags_find_task(t, task);
    if (!tk) {
        st = MVKE_ERR_UNKNOWN_TASK;
        goto out;
    }
    if (n == 0) goto out;
    if (!w && !t->vk) {
        st = mvke_error(MVKE_ERR_INVALID, "task \"%s\": no gates given and no virtual kernels set", task);
        goto out;
    }
    if ((st = mvke_ids_check_batch(n, ids, "tag id")) != MVKE_OK) goto out;
    for (int64_t i = 0; i < n; i++) {
        if (mvke_idmap_get(&tk->slot, ids[i]) >= 0) {
            st = mvke_error(MVKE_ERR_DUPLICATE, "row %lld: tag %lld is already in task \"%s\"",
                            (long long)i, (long long)ids[i], task);
            goto out;
        }
        if (names && names[i] && *names[i] && (st = check_name(names[i], "tag name")) != MVKE_OK) goto out;
        for (int j = 0; j < d; j++)
            if (!isfinite(q[i * d + j])) {
                st = mvke_error(MVKE_ERR_NONFINITE, "row %lld (tag %lld): embedding value %d is %s",
                                (long long)i, (long long)ids[i], j, isnan(q[i * d + j]) ? "NaN" : "Inf");
                goto out;
            }
    }
    wbuf = mvke_malloc_array((size_t)n * K, sizeof *wbuf);
    z = mvke_malloc_array((size_t)n * D, sizeof *z);
    copies = mvke_calloc((size_t)n, sizeof *copies);
    if (!wbuf || !z || !copies) {
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory adding %lld tags", (long long)n);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        float *wi = wbuf + i * K;
        if (w) {
            for (int k = 0; k < K; k++) {
                wi[k] = w[i * K + k];
                if (!isfinite(wi[k])) {
                    st = mvke_error(MVKE_ERR_NONFINITE, "row %lld (tag %lld): gate %d is %s", (long long)i,
                                    (long long)ids[i], k, isnan(wi[k]) ? "NaN" : "Inf");
                    goto out;
                }
                if (wi[k] != 0.0f && !(tk->mask >> k & 1)) {
                    st = mvke_error(MVKE_ERR_GATE,
                                    "row %lld (tag %lld): gate %d is %g but expert %d is not used by task \"%s\"",
                                    (long long)i, (long long)ids[i], k, (double)wi[k], k, task);
                    goto out;
                }
            }
        } else if ((st = mvke_gates_from_vk(K, d, q + i * d, t->vk, tk->experts, tk->nexperts,
                                            t->temperature, wi)) != MVKE_OK) {
            goto out;
        }
        mvke_pack_query(K, d, q + i * d, wi, z + i * D);
        copies[i] = mvke_strdup(names && names[i] ? names[i] : "");
        if (!copies[i]) {
            st = mvke_error(MVKE_ERR_NOMEM, "out of memory copying tag names");
            goto out;
        }
    }
    if ((st = task_reserve(tk, K, d, tk->n + n)) != MVKE_OK) goto out;
    if ((st = mvke_idmap_reserve(&tk->slot, tk->n + n)) != 0) {
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory indexing %lld tags", (long long)n);
        goto out;
    }
    if ((st = mvke_index_add(tk->rows, n, ids, z)) != MVKE_OK) goto out;
    for (int64_t i = 0; i < n; i++) {
        int64_t s = tk->n++;
        tk->ids[s] = ids[i];
        tk->names[s] = copies[i];
        copies[i] = NULL;
        tk->parents[s] = parents ? parents[i] : 0;
        memcpy(tk->q + s * d, q + i * d, (size_t)d * sizeof *q);
        memcpy(tk->w + s * K, wbuf + i * K, (size_t)K * sizeof *wbuf);
        mvke_idmap_put(&tk->slot, ids[i], s);
    }
out:
    if (copies)
        for (int64_t i = 0; i < n; i++) mvke_free(copies[i]);
    mvke_free(copies);
    mvke_free(wbuf);
    mvke_free(z);
    pthread_rwlock_unlock(&t->lock);
    return st;
}

mvke_status mvke_tags_count(const mvke_tags *t, const char *task, int64_t *count) {
    if (!t || !count) return mvke_error(MVKE_ERR_INVALID, "tag table or count is NULL");
    pthread_rwlock_rdlock((pthread_rwlock_t *)&t->lock);
    mvke_status st = MVKE_OK;
    int64_t c = 0;
    if (task) {
        const mvke_task *tk = mvke_tags_find_task(t, task);
        if (tk) c = tk->n; else st = MVKE_ERR_UNKNOWN_TASK;
    } else {
        for (int i = 0; i < t->ntasks; i++) c += t->tasks[i].n;
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&t->lock);
    if (st == MVKE_OK) *count = c;
    return st;
}

mvke_status mvke_tags_ids(const mvke_tags *t, const char *task, int64_t *ids) {
    if (!t || !task || !ids) return mvke_error(MVKE_ERR_INVALID, "tag table, task or ids is NULL");
    pthread_rwlock_rdlock((pthread_rwlock_t *)&t->lock);
    const mvke_task *tk = mvke_tags_find_task(t, task);
    if (tk && tk->n) memcpy(ids, tk->ids, (size_t)tk->n * sizeof *ids);
    pthread_rwlock_unlock((pthread_rwlock_t *)&t->lock);
    return tk ? MVKE_OK : MVKE_ERR_UNKNOWN_TASK;
}

/* Looks up the metadata slot of tag id in task, under the caller's read lock. */
static mvke_status find_slot(const mvke_tags *t, const char *task, int64_t id, const mvke_task **tk,
                             int64_t *slot) {
    *tk = mvke_tags_find_task(t, task);
    if (!*tk) return MVKE_ERR_UNKNOWN_TASK;
    *slot = mvke_idmap_get(&(*tk)->slot, id);
    if (*slot < 0) return mvke_error(MVKE_ERR_UNKNOWN_ID, "tag %lld is not in task \"%s\"", (long long)id, task);
    return MVKE_OK;
}

mvke_status mvke_tags_get(const mvke_tags *t, const char *task, int64_t id, const char **name,
                          int64_t *parent, float *q, float *w) {
    if (!t) return mvke_error(MVKE_ERR_INVALID, "tag table is NULL");
    pthread_rwlock_rdlock((pthread_rwlock_t *)&t->lock);
    const mvke_task *tk;
    int64_t s;
    mvke_status st = find_slot(t, task, id, &tk, &s);
    if (st == MVKE_OK) {
        if (name) *name = tk->names[s];
        if (parent) *parent = tk->parents[s];
        if (q) memcpy(q, tk->q + s * t->d, (size_t)t->d * sizeof *q);
        if (w) memcpy(w, tk->w + s * t->K, (size_t)t->K * sizeof *w);
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&t->lock);
    return st;
}

mvke_status mvke_tags_row_locked(const mvke_tags *t, const char *task, int64_t id, float *z) {
    const mvke_task *tk;
    int64_t s;
    mvke_status st = find_slot(t, task, id, &tk, &s);
    return st == MVKE_OK ? mvke_index_get(tk->rows, id, z) : st;
}

mvke_status mvke_tags_get_row(const mvke_tags *t, const char *task, int64_t id, float *z) {
    if (!t || !z) return mvke_error(MVKE_ERR_INVALID, "tag table or z is NULL");
    pthread_rwlock_rdlock((pthread_rwlock_t *)&t->lock);
    mvke_status st = mvke_tags_row_locked(t, task, id, z);
    pthread_rwlock_unlock((pthread_rwlock_t *)&t->lock);
    return st;
}
