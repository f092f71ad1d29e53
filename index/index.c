/*
 * index.c - mvke_index: creation, adding, replacing, removing and reading rows. Every change
 * checks everything and reserves every byte it needs before it touches the store, so a failing
 * call leaves the index exactly as it was.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <stdlib.h>
#include <string.h>

#include "../kernels/cuda/cuda_module.h"
#include "../kernels/cpu/cpu_features.h"
#include "../kernels/runtime.h"
#include "crc32c.h"
#include "index_impl.h"

int mvke_rwlock_init(pthread_rwlock_t *lock) {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    int rc = pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return rc;
}

void mvke_index_options_init(mvke_index_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->storage = MVKE_STORAGE_F32;
    opts->threads = 0;
}

mvke_status mvke_index_new(mvke_index **out, int K, int d, const mvke_index_options *opts) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "mvke_index_new: out is NULL");
    *out = NULL;
    mvke_status cst = mvke_cpu_features_check();
    if (cst != MVKE_OK) return cst;
    if (K < 1 || K > MVKE_MAX_K)
        return mvke_error(MVKE_ERR_DIM, "K = %d is out of range [1, %d]", K, MVKE_MAX_K);
    if (d < 1 || d > MVKE_MAX_D)
        return mvke_error(MVKE_ERR_DIM, "d = %d is out of range [1, %d]", d, MVKE_MAX_D);
    mvke_index_options o;
    mvke_index_options_init(&o);
    if (opts) o = *opts;
    mvke_layout probe;
    if (mvke_layout_init(&probe, K, d, o.storage) != 0)
        return mvke_error(MVKE_ERR_INVALID, "unknown storage %d", (int)o.storage);
    if (o.threads < 0) return mvke_error(MVKE_ERR_INVALID, "threads = %d is negative", o.threads);
    if (o.score != MVKE_SCORE_COSINE && o.score != MVKE_SCORE_DOT)
        return mvke_error(MVKE_ERR_INVALID, "unknown score %d (known: cosine, dot)", (int)o.score);
    mvke_index *ix = mvke_calloc(1, sizeof *ix);
    if (!ix) return mvke_error(MVKE_ERR_NOMEM, "out of memory creating an index");
    if (mvke_rwlock_init(&ix->lock) != 0) {
        mvke_free(ix);
        return mvke_error(MVKE_ERR_NOMEM, "cannot create the index lock");
    }
    (void)mvke_store_init(&ix->store, K, d, o.storage); /* cannot fail: the storage was checked */
    mvke_layout_set_score(&ix->store.L, o.score);
    mvke_status st = mvke_store_init_codec(&ix->store, o.pq_m, o.refine);
    if (st != MVKE_OK) {
        mvke_store_release(&ix->store);
        pthread_rwlock_destroy(&ix->lock);
        mvke_free(ix);
        return st;
    }
    ix->refine_R = 4;
    ix->mode = ix->store.L.refine ? MVKE_SEARCH_EXACT : MVKE_SEARCH_APPROX;
    ix->threads = o.threads;
    ix->backend = mvke_backend_default();
    *out = ix;
    return MVKE_OK;
}

mvke_status mvke_index_new_like_unlocked(mvke_index **out, const mvke_index *src) {
    const mvke_store *s = &src->store;
    mvke_index_options o;
    mvke_index_options_init(&o);
    o.storage = s->storage;
    o.score = s->L.score;
    o.threads = src->threads;
    if (mvke_storage_is_codec(s->storage)) {
        o.pq_m = s->storage == MVKE_STORAGE_PQ ? s->codec.m : 0;
        o.refine = s->L.refine;
    }
    mvke_status st = mvke_index_new(out, s->K, s->d, &o);
    if (st == MVKE_OK) {
        (*out)->refine_R = src->refine_R;
        (*out)->mode = src->mode;
        if (mvke_storage_is_codec(s->storage) && s->codec.trained) mvke_codec_copy_params(&(*out)->store.codec, &s->codec);
    }
    return st;
}

mvke_status mvke_index_new_like(mvke_index **out, const mvke_index *src) {
    if (!out || !src) return mvke_error(MVKE_ERR_INVALID, "mvke_index_new_like: out or src is NULL");
    *out = NULL;
    mvke_index_rdlock(src);
    const mvke_status st = mvke_index_new_like_unlocked(out, src);
    mvke_index_unlock(src);
    return st;
}

void mvke_index_free(mvke_index *ix) {
    if (!ix) return;
    if (ix->backend->release) ix->backend->release(ix->backend);
    mvke_store_release(&ix->store);
    mvke_lists_release(&ix->lists);
    pthread_rwlock_destroy(&ix->lock);
    mvke_free(ix);
}

mvke_status mvke_index_shape(const mvke_index *ix, int *K, int *d, mvke_storage *storage) {
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (K) *K = ix->store.K;
    if (d) *d = ix->store.d;
    if (storage) *storage = ix->store.storage;
    return MVKE_OK;
}

mvke_status mvke_index_generation(const mvke_index *ix, uint64_t *generation) {
    if (!ix || !generation) return mvke_error(MVKE_ERR_INVALID, "index or generation is NULL");
    mvke_index_rdlock(ix);
    *generation = ix->version;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_score(const mvke_index *ix, mvke_score *score) {
    if (!ix || !score) return mvke_error(MVKE_ERR_INVALID, "index or score is NULL");
    *score = ix->store.L.score;
    return MVKE_OK;
}

/* CRC-32C of what decides a codec's encoding: storage, m, its parameters and bound units. */
static uint32_t codec_fingerprint(const mvke_codec *c) {
    const size_t kd = (size_t)c->K * (size_t)c->d;
    int32_t head[4] = {(int32_t)c->storage, c->K, c->d, c->m};
    uint32_t crc = mvke_crc32c(0, head, sizeof head);
    if (c->storage == MVKE_STORAGE_SQ8) {
        crc = mvke_crc32c(crc, c->vmin, kd * sizeof(float));
        crc = mvke_crc32c(crc, c->scale, kd * sizeof(float));
    } else {
        crc = mvke_crc32c(crc, c->cent, kd * MVKE_PQ_CENTROIDS * sizeof(float));
    }
    return mvke_crc32c(crc, c->bunit, (size_t)c->K * sizeof(float));
}

mvke_status mvke_index_describe(const mvke_index *ix, mvke_index_footprint *out) {
    if (!ix || !out) return mvke_error(MVKE_ERR_INVALID, "index or out is NULL");
    mvke_index_rdlock(ix);
    const mvke_store *s = &ix->store;
    memset(out, 0, sizeof *out);
    /* Over a large block, so that the planes' alignment padding is shared as in a real file. */
    out->row_bytes = (int64_t)((mvke_layout_block_bytes(&s->L, 1 << 16) + (1 << 16) - 1) >> 16);
    out->id_bytes = (int64_t)sizeof(int64_t) * 3;
    out->refine_bytes = s->L.refine ? (int64_t)s->D * (int64_t)sizeof(float) : 0;
    if (mvke_storage_is_codec(s->storage)) {
        out->pq_m = s->storage == MVKE_STORAGE_PQ ? s->codec.m : 0;
        out->train_rows = s->codec.trained ? s->codec.train_rows : 0;
        out->training = s->codec.trained ? codec_fingerprint(&s->codec) : 0;
        out->refine = s->L.refine;
    }
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_is_trained(const mvke_index *ix, int *yes) {
    if (!ix || !yes) return mvke_error(MVKE_ERR_INVALID, "index or yes is NULL");
    mvke_index_rdlock(ix);
    *yes = mvke_store_trained(&ix->store);
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_set_refine(mvke_index *ix, int R) {
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (!ix->store.L.refine) return mvke_error(MVKE_ERR_INVALID, "the index keeps no float32 rows to refine with");
    if (R < 1) return mvke_error(MVKE_ERR_INVALID, "refine factor R = %d must be >= 1", R);
    mvke_index_wrlock(ix);
    ix->refine_R = R;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_refine(const mvke_index *ix, int *refine, int *R) {
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    mvke_index_rdlock(ix);
    if (refine) *refine = ix->store.L.refine;
    if (R) *R = ix->refine_R;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_set_search_mode(mvke_index *ix, mvke_search_mode mode) {
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (mode != MVKE_SEARCH_EXACT && mode != MVKE_SEARCH_APPROX)
        return mvke_error(MVKE_ERR_INVALID, "unknown search mode %d (exact 0, approx 1)", (int)mode);
    if (mode == MVKE_SEARCH_EXACT && mvke_storage_is_codec(ix->store.storage) && !ix->store.L.refine)
        return mvke_error(MVKE_ERR_INVALID, "exact search of a %s index needs its float32 rows: create it with refine (mvke build --refine)",
                          mvke_storage_name(ix->store.storage));
    mvke_index_wrlock(ix);
    ix->mode = mode;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_search_mode(const mvke_index *ix, mvke_search_mode *mode) {
    if (!ix || !mode) return mvke_error(MVKE_ERR_INVALID, "index or mode is NULL");
    mvke_index_rdlock(ix);
    *mode = ix->mode;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_set_threads(mvke_index *ix, int threads) {
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (threads < 0) return mvke_error(MVKE_ERR_INVALID, "threads = %d is negative", threads);
    mvke_index_wrlock(ix);
    ix->threads = threads;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

typedef struct id_row {
    int64_t id, row;
} id_row;

static int cmp_id_row(const void *a, const void *b) {
    const id_row *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

mvke_status mvke_ids_check_batch(int64_t n, const int64_t *ids, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0)
            return mvke_error_row(MVKE_ERR_INVALID, i, "row %lld: %s %lld is negative (ids must be >= 0)",
                              (long long)i, what, (long long)ids[i]);
    if (n < 2) return MVKE_OK;
    id_row *v = mvke_malloc_array((size_t)n, sizeof *v);
    if (!v) return mvke_error(MVKE_ERR_NOMEM, "out of memory checking %lld ids", (long long)n);
    for (int64_t i = 0; i < n; i++) v[i] = (id_row){ids[i], i};
    qsort(v, (size_t)n, sizeof *v, cmp_id_row);
    mvke_status st = MVKE_OK;
    for (int64_t i = 1; i < n; i++)
        if (v[i].id == v[i - 1].id) {
            st = mvke_error_rows(MVKE_ERR_DUPLICATE, v[i - 1].row, v[i].row,
                                 "rows %lld and %lld: %s %lld appears twice in the batch", (long long)v[i - 1].row,
                                 (long long)v[i].row, what, (long long)v[i].id);
            break;
        }
    mvke_free(v);
    return st;
}

/* Shared by add and upsert: replace != 0 lets present ids be replaced. */
static mvke_status add_rows(mvke_index *ix, int64_t n, const int64_t *ids, const float *x, int replace) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (n < 0) return mvke_error(MVKE_ERR_INVALID, "n = %lld is negative", (long long)n);
    if (n == 0) return MVKE_OK;
    if (!x) return mvke_error(MVKE_ERR_INVALID, "rows are NULL");
    if (!ids && replace) return mvke_error(MVKE_ERR_INVALID, "upsert needs ids");
    mvke_store *s = &ix->store;
    size_t rows_bytes;
    if (!mvke_mul_ok((size_t)n, (size_t)s->D, &rows_bytes) || !mvke_mul_ok(rows_bytes, sizeof(float), &rows_bytes))
        return mvke_error(MVKE_ERR_INVALID, "n = %lld rows is too many", (long long)n);
    float *gram = mvke_malloc_array((size_t)n * s->P, sizeof *gram);
    float *scratch = mvke_malloc_array((size_t)s->D, sizeof *scratch); /* a row that lists cover */
    mvke_status st = MVKE_OK;
    if (!gram || !scratch) {
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory for the Gram triangles of %lld rows", (long long)n);
        goto done;
    }
    if ((st = mvke_store_check(s, n, x, gram)) != MVKE_OK) goto done;
    if (ids && (st = mvke_ids_check_batch(n, ids, "id")) != MVKE_OK) goto done;

    mvke_index_wrlock(ix);
    if (!mvke_store_trained(s))
        st = mvke_error(MVKE_ERR_UNTRAINED, "the %s index is not trained: call mvke_index_train with a sample first",
                        mvke_storage_name(s->storage));
    int64_t fresh = 0;
    for (int64_t i = 0; i < n && st == MVKE_OK; i++) {
        int64_t id = ids ? ids[i] : s->count + i, p;
        if ((st = mvke_store_lookup(s, id, &p)) != MVKE_OK) break;
        if (p < 0) {
            fresh++;
        } else if (!replace) {
            st = mvke_error_row(MVKE_ERR_DUPLICATE, i, "row %lld: id %lld is already in the index",
                            (long long)i, (long long)id);
        } else {
            st = mvke_store_own(s, p); /* only the blocks a replacement touches are copied */
        }
    }
    if (st == MVKE_OK) st = mvke_store_reserve(s, fresh);
    if (st == MVKE_OK) {
        const int64_t base = s->count;
        for (int64_t i = 0; i < n; i++) {
            int64_t id = ids ? ids[i] : base + i, p;
            (void)mvke_store_lookup(s, id, &p); /* checked above: cannot fail now */
            if (p >= 0) {
                mvke_store_set(s, p, x + i * s->D, gram + i * s->P);
                mvke_lists_cover(&ix->lists, s, p, scratch); /* the list's bound must cover the new row */
            } else
                mvke_store_append(s, id, x + i * s->D, gram + i * s->P);
        }
        ix->version++;
    }
    mvke_index_unlock(ix);
done:
    mvke_free(gram);
    mvke_free(scratch);
    return st;
}

mvke_status mvke_index_add(mvke_index *ix, int64_t n, const int64_t *ids, const float *x) {
    return add_rows(ix, n, ids, x, 0);
}

mvke_status mvke_index_upsert(mvke_index *ix, int64_t n, const int64_t *ids, const float *x) {
    return add_rows(ix, n, ids, x, 1);
}

mvke_status mvke_index_remove(mvke_index *ix, int64_t n, const int64_t *ids) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (n < 0) return mvke_error(MVKE_ERR_INVALID, "n = %lld is negative", (long long)n);
    if (n == 0) return MVKE_OK;
    if (!ids) return mvke_error(MVKE_ERR_INVALID, "ids are NULL");
    mvke_status st = mvke_ids_check_batch(n, ids, "id");
    if (st != MVKE_OK) return st;
    mvke_store *s = &ix->store;
    float *scratch = mvke_malloc_array((size_t)s->D, sizeof *scratch); /* a row that lists cover */
    if (!scratch) return mvke_error(MVKE_ERR_NOMEM, "out of memory removing %lld ids", (long long)n);
    mvke_index_wrlock(ix);
    for (int64_t i = 0; i < n && st == MVKE_OK; i++) {
        int64_t p;
        if ((st = mvke_store_lookup(s, ids[i], &p)) != MVKE_OK) break;
        if (p < 0)
            st = mvke_error_row(MVKE_ERR_UNKNOWN_ID, i, "row %lld: id %lld is not in the index",
                            (long long)i, (long long)ids[i]);
        else
            st = mvke_store_own(s, p);
    }
    if (st == MVKE_OK) st = mvke_store_reserve_removals(s, n);
    if (st == MVKE_OK)
        for (int64_t i = 0; i < n; i++) {
            int64_t p;
            (void)mvke_store_lookup(s, ids[i], &p); /* every block it reads is owned by now */
            mvke_store_remove_at(s, p);
            /* The last row moved into p: its new list's bound must cover it. */
            if (p < s->count) mvke_lists_cover(&ix->lists, s, p, scratch);
            mvke_lists_truncate(&ix->lists, s->count);
        }
    if (st == MVKE_OK) ix->version++;
    mvke_index_unlock(ix);
    mvke_free(scratch);
    return st;
}

mvke_status mvke_index_reset(mvke_index *ix) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    mvke_index_wrlock(ix);
    mvke_store_clear(&ix->store);
    mvke_lists_release(&ix->lists);
    ix->version++;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_count(const mvke_index *ix, int64_t *count) {
    if (!ix || !count) return mvke_error(MVKE_ERR_INVALID, "index or count is NULL");
    mvke_index_rdlock(ix);
    *count = ix->store.count;
    mvke_index_unlock(ix);
    return MVKE_OK;
}

mvke_status mvke_index_contains(const mvke_index *ix, int64_t id, int *yes) {
    if (!ix || !yes) return mvke_error(MVKE_ERR_INVALID, "index or yes is NULL");
    mvke_index_rdlock(ix);
    int64_t p;
    mvke_status st = mvke_store_lookup(&ix->store, id, &p);
    *yes = st == MVKE_OK && p >= 0;
    mvke_index_unlock(ix);
    return st;
}

mvke_status mvke_index_get(const mvke_index *ix, int64_t id, float *x) {
    if (!ix || !x) return mvke_error(MVKE_ERR_INVALID, "index or x is NULL");
    mvke_status st = MVKE_OK;
    mvke_index_rdlock(ix);
    int64_t p;
    st = mvke_store_lookup(&ix->store, id, &p);
    if (st == MVKE_OK && p < 0)
        st = mvke_error(MVKE_ERR_UNKNOWN_ID, "id %lld is not in the index", (long long)id);
    if (st == MVKE_OK && p >= 0) st = mvke_store_check_row(&ix->store, p);
    if (st == MVKE_OK) mvke_store_get(&ix->store, p, x);
    mvke_index_unlock(ix);
    return st;
}

mvke_status mvke_index_ids(const mvke_index *ix, int64_t *ids) {
    if (!ix || !ids) return mvke_error(MVKE_ERR_INVALID, "index or ids is NULL");
    mvke_index_rdlock(ix);
    const mvke_store *s = &ix->store;
    int64_t at = 0;
    mvke_status st = MVKE_OK;
    for (int64_t b = 0; b < s->nblocks && st == MVKE_OK; b++) {
        const mvke_store_block *bk = &s->blocks[b];
        if (!bk->owned && (st = mvke_units_check(s->units, bk->ids, (size_t)bk->n * sizeof *ids)) != MVKE_OK) break;
        memcpy(ids + at, bk->ids, (size_t)bk->n * sizeof *ids);
        at += bk->n;
    }
    mvke_index_unlock(ix);
    return st;
}

/* Swaps the backend of ix for b under the write lock and frees the one it replaces. */
static void swap_backend(mvke_index *ix, const mvke_backend *b) {
    mvke_index_wrlock(ix);
    const mvke_backend *old = ix->backend;
    ix->backend = b;
    mvke_index_unlock(ix);
    if (old->release) old->release(old);
}

mvke_status mvke_gpu_count(int *n) {
    mvke_error_clear();
    if (!n) return mvke_error(MVKE_ERR_INVALID, "n is NULL");
    return mvke_cuda_device_count(n);
}

mvke_status mvke_index_use_gpu(mvke_index *ix, int device) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    if (device < -1)
        return mvke_error(MVKE_ERR_INVALID, "device = %d: use 0, 1, ... or -1 for every device", device);
    if (ix->store.L.score == MVKE_SCORE_DOT)
        return mvke_error(MVKE_ERR_UNSUPPORTED, "the CUDA backend serves the cosine score only; this index scores by dot "
                          "(search it on the CPU)");
    mvke_cuda_config cfg = {device, &ix->version, 0, 0};
    const mvke_backend *b = NULL;
    mvke_status st = mvke_backend_cuda_new(&cfg, &b);
    if (st != MVKE_OK) return st;
    swap_backend(ix, b);
    return MVKE_OK;
}

mvke_status mvke_index_use_cpu(mvke_index *ix) {
    mvke_error_clear();
    if (!ix) return mvke_error(MVKE_ERR_INVALID, "index is NULL");
    swap_backend(ix, mvke_backend_default());
    return MVKE_OK;
}

mvke_status mvke_index_backend(const mvke_index *ix, const char **name) {
    if (!ix || !name) return mvke_error(MVKE_ERR_INVALID, "index or name is NULL");
    mvke_index_rdlock(ix);
    *name = ix->backend->name;
    mvke_index_unlock(ix);
    return MVKE_OK;
}
