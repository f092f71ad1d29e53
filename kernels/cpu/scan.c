/*
 * scan.c - the driver of the fused scan (scan.h): the variant chosen at start-up, the active
 * experts of a search, the queries packed once per search, the split of the work over threads,
 * and the scalar end of the epilogue.
 *
 * Design notes.
 * 1. Queries are packed once per search into groups of nr (the kernel's register tile), only
 *    their active experts and Gram entries, so no kernel call repacks anything.
 * 2. The database is cut into tiles of whole panels whose active bytes fit in L2 (TILE_BYTES);
 *    a kernel call runs every query group of a query tile over one row tile, so a row tile is
 *    read from memory once per query tile and from cache for the other groups.
 * 3. Work is split as before: with at least as many query tiles as threads, each thread takes
 *    whole query tiles (user -> tags, batch tagging: no merge); with fewer, the threads split the
 *    row tiles of one query tile with private selectors merged at the end (tag -> users).
 * 4. Selection keeps the total order (score desc, then smaller id) and a pair's score depends
 *    only on its two rows (every lane accumulates in the same order whatever the tile or group),
 *    so results do not depend on threads, tiling or batch size within one variant.
 */
#include "scan.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../gram.h"
#include "../half.h"
#include "../runtime.h"
#include "cpu_features.h"

/* Active bytes of one row tile (panels of the active planes plus Gram lines). */
#define TILE_BYTES (96 * 1024)
#define TILE_PANELS_MAX 1024
/* Queries per query tile (a multiple of any group width is taken below). */
#define TQ_MAX 256
/* Bound on selector entries per thread when threads split the rows of one query tile. */
#define HEAP_ENTRIES_PER_THREAD (1 << 22)

/* ---- variants ---------------------------------------------------------------------------- */

static int forced = -1, chosen = -1;

static const char *const variant_names[MVKE_CPU_VARIANTS] = {"generic", "avx2", "avx512", "avx512-bf16dot"};

const char *mvke_cpu_variant_name(mvke_cpu_variant v) {
    return (unsigned)v < MVKE_CPU_VARIANTS ? variant_names[v] : "unknown";
}

int mvke_cpu_variant_supported(mvke_cpu_variant v) {
    const unsigned f = mvke_cpu_features();
    switch (v) {
    case MVKE_CPU_GENERIC: return 1;
#if defined(__x86_64__) && defined(__GNUC__)
    case MVKE_CPU_AVX2: return (f & MVKE_CPU_HAS_AVX2) != 0;
    case MVKE_CPU_AVX512: return (f & MVKE_CPU_HAS_AVX512) != 0;
    case MVKE_CPU_AVX512_BF16DOT: return (f & MVKE_CPU_HAS_AVX512BF16) != 0;
#endif
    default: (void)f; return 0;
    }
}

static mvke_cpu_variant best_variant(void) {
    if (mvke_cpu_variant_supported(MVKE_CPU_AVX512)) return MVKE_CPU_AVX512;
    if (mvke_cpu_variant_supported(MVKE_CPU_AVX2)) return MVKE_CPU_AVX2;
    return MVKE_CPU_GENERIC;
}

mvke_cpu_variant mvke_cpu_variant_get(void) {
    int f = __atomic_load_n(&forced, __ATOMIC_RELAXED);
    if (f >= 0) return (mvke_cpu_variant)f;
    int c = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (c < 0) {
        c = (int)best_variant();
        const char *env = getenv("MVKE_CPU");
        /* A variant the CPU lacks, or an unknown name, leaves the best one. */
        for (int v = 0; env && v < MVKE_CPU_AVX512_BF16DOT; v++)
            if (strcmp(env, variant_names[v]) == 0 && mvke_cpu_variant_supported((mvke_cpu_variant)v)) c = v;
        __atomic_store_n(&chosen, c, __ATOMIC_RELAXED);
    }
    return (mvke_cpu_variant)c;
}

int mvke_cpu_variant_force(mvke_cpu_variant v) {
    if (!mvke_cpu_variant_supported(v)) return -1;
    __atomic_store_n(&forced, (int)v, __ATOMIC_RELAXED);
    return 0;
}

const mvke_scan_kernels *mvke_scan_kernels_of(mvke_cpu_variant v) {
#if defined(__x86_64__) && defined(__GNUC__)
    switch (v) {
    case MVKE_CPU_AVX2: return &mvke_scan_avx2;
    case MVKE_CPU_AVX512: return &mvke_scan_avx512;
    case MVKE_CPU_AVX512_BF16DOT: return &mvke_scan_avx512_bf16dot;
    default: break;
    }
#else
    (void)v;
#endif
    return &mvke_scan_generic;
}

/* ---- the scalar end of the epilogue ------------------------------------------------------ */

void mvke_scan_offer(mvke_scan_sink *sk, int64_t q, uint32_t mask, const float *scores, const int64_t *ids) {
    const int64_t j = q - sk->q0;
    if (sk->heaps) {
        mvke_topk *h = &sk->heaps[j];
        for (; mask; mask &= mask - 1) {
            const int g = __builtin_ctz(mask);
            if (mvke_topk_admits(h, scores[g], ids[g]) && mvke_kfilter_pass(sk->filter, ids[g]))
                mvke_topk_push(h, scores[g], ids[g]);
        }
        if (h->n == h->k) sk->thr[j] = h->s[0];
    } else {
        for (; mask; mask &= mask - 1) {
            const int g = __builtin_ctz(mask);
            if (mvke_kfilter_pass(sk->filter, ids[g]) && mvke_hits_push(&sk->hits[j], scores[g], ids[g]) != 0)
                sk->failed = 1;
        }
    }
}

/* ---- what a search reads ----------------------------------------------------------------- */

static void shape_make(mvke_scan_shape *sh, const mvke_layout *L, uint64_t experts, const mvke_kqueries *q) {
    memset(sh, 0, sizeof *sh);
    sh->L = *L;
    const int K = L->K, d = L->d;
    uint64_t used = 0, all = K >= 64 ? ~0ull : (1ull << K) - 1;
    for (int64_t i = 0; i < q->n && used != all; i++) {
        const float *x = q->x + i * (int64_t)K * d;
        for (int k = 0; k < K; k++) {
            if ((used >> k) & 1) continue;
            for (int j = 0; j < d; j++)
                if (x[k * d + j] != 0.0f) {
                    used |= 1ull << k;
                    break;
                }
        }
    }
    const uint64_t active = used & experts & all;
    for (int k = 0; k < K; k++)
        if ((active >> k) & 1) sh->act[sh->na++] = k;
    int pos = 0;
    for (int k = 0; k < K; k++)
        for (int l = k; l < K; l++, pos++)
            if (((active >> k) & 1) && ((active >> l) & 1)) {
                sh->diag[sh->pa] = k == l;
                sh->ent[sh->pa++] = pos;
            }
}

static void pack_release(mvke_scan_pack *pk) {
    mvke_free(pk->z);
    mvke_free(pk->zb);
    mvke_free(pk->gram);
    mvke_free(pk->floor);
    memset(pk, 0, sizeof *pk);
}

static int pack_make(mvke_scan_pack *pk, const mvke_scan_shape *sh, const mvke_kqueries *q, int nr, int bf16_dot) {
    memset(pk, 0, sizeof *pk);
    const mvke_layout *L = &sh->L;
    const int K = L->K, d = L->d, P = L->P, na = sh->na, pa = sh->pa;
    pk->nq = q->n;
    pk->nr = nr;
    pk->ngroups = (q->n + nr - 1) / nr;
    pk->dp = (d + 1) / 2;
    pk->dz = L->storage == MVKE_STORAGE_BF16 ? 2 * pk->dp : d;
    pk->zstride = (size_t)na * (size_t)pk->dz * (size_t)nr;
    pk->zbstride = bf16_dot ? (size_t)na * (size_t)pk->dp * 2 * (size_t)nr : 0;
    pk->gstride = (size_t)pa * (size_t)nr;
    const size_t ng = (size_t)(pk->ngroups ? pk->ngroups : 1);
    size_t nz, nzb, ngr;
    if (!mvke_mul_ok(ng, pk->zstride + 1, &nz) || !mvke_mul_ok(ng, pk->zbstride + 1, &nzb) ||
        !mvke_mul_ok(ng, pk->gstride + 1, &ngr))
        return -1;
    pk->z = mvke_calloc(nz, sizeof *pk->z);
    pk->zb = bf16_dot ? mvke_calloc(nzb, sizeof *pk->zb) : NULL;
    pk->gram = mvke_calloc(ngr, sizeof *pk->gram);
    pk->floor = mvke_calloc(ng * (size_t)nr, sizeof *pk->floor);
    if (!pk->z || (bf16_dot && !pk->zb) || !pk->gram || !pk->floor) {
        pack_release(pk);
        return -1;
    }
    for (int64_t i = 0; i < q->n; i++) {
        const int64_t g = i / nr;
        const int r = (int)(i % nr);
        const float *x = q->x + i * (int64_t)K * d, *gx = q->gram + i * (int64_t)P;
        float *z = pk->z + (size_t)g * pk->zstride;
        for (int a = 0; a < na; a++) {
            const float *v = x + (int64_t)sh->act[a] * d;
            for (int j = 0; j < d; j++) z[((size_t)a * pk->dz + j) * nr + r] = v[j];
            if (!bf16_dot) continue;
            uint32_t *zb = pk->zb + (size_t)g * pk->zbstride;
            for (int jp = 0; jp < pk->dp; jp++) {
                uint32_t hi = 0, lo = 0;
                for (int h = 0; h < 2; h++) {
                    const float f = 2 * jp + h < d ? v[2 * jp + h] : 0.0f;
                    const uint16_t fh = mvke_bf16_from_float1(f);
                    const uint16_t fl = mvke_bf16_from_float1(f - mvke_bf16_to_float1(fh));
                    hi |= (uint32_t)fh << (16 * h);
                    lo |= (uint32_t)fl << (16 * h);
                }
                zb[(((size_t)a * pk->dp + jp) * 2 + 0) * nr + r] = hi;
                zb[(((size_t)a * pk->dp + jp) * 2 + 1) * nr + r] = lo;
            }
        }
        float *gp = pk->gram + (size_t)g * pk->gstride, tr = 0.0f;
        for (int e = 0; e < pa; e++) {
            gp[(size_t)e * nr + r] = gx[sh->ent[e]];
            if (sh->diag[e]) tr += gx[sh->ent[e]];
        }
        pk->floor[i] = tr * MVKE_DEN2_REL_FLOOR;
    }
    return 0;
}

/* ---- selectors --------------------------------------------------------------------------- */

/* A sink for queries [q0, q0 + nq); heaps over the given storage when out_s is not NULL. */
static int sink_alloc(mvke_scan_sink *sk, int64_t q0, int64_t nq, int64_t k, float min_score,
                      const mvke_kfilter *filter, float *out_s, int64_t *out_i) {
    memset(sk, 0, sizeof *sk);
    sk->q0 = q0;
    sk->nq = nq;
    sk->filter = filter;
    const size_t n = (size_t)(nq ? nq : 1);
    sk->thr = mvke_malloc_array(n, sizeof *sk->thr);
    if (!sk->thr) return -1;
    for (int64_t j = 0; j < nq; j++) sk->thr[j] = k > 0 ? -INFINITY : min_score;
    if (k > 0) {
        sk->heaps = mvke_malloc_array(n, sizeof *sk->heaps);
        float *s = out_s ? NULL : mvke_malloc_array(n * (size_t)k, sizeof(float));
        int64_t *id = out_s ? NULL : mvke_malloc_array(n * (size_t)k, sizeof(int64_t));
        if (!sk->heaps || (!out_s && (!s || !id))) {
            mvke_free(s);
            mvke_free(id);
            mvke_free(sk->heaps);
            mvke_free(sk->thr);
            memset(sk, 0, sizeof *sk);
            return -1;
        }
        if (!out_s) {
            out_s = s;
            out_i = id;
        }
        for (int64_t j = 0; j < nq; j++) mvke_topk_init(&sk->heaps[j], out_s + j * k, out_i + j * k, k);
        if (s && nq == 0) { /* nothing points at them */
            mvke_free(s);
            mvke_free(id);
        }
    } else {
        sk->hits = mvke_calloc(n, sizeof *sk->hits);
        if (!sk->hits) {
            mvke_free(sk->thr);
            memset(sk, 0, sizeof *sk);
            return -1;
        }
    }
    return 0;
}

static void sink_release(mvke_scan_sink *sk, int owned) {
    if (sk->heaps && owned && sk->nq > 0) {
        mvke_free(sk->heaps[0].s);
        mvke_free(sk->heaps[0].id);
    }
    mvke_free(sk->heaps);
    if (sk->hits) {
        for (int64_t j = 0; j < sk->nq; j++) mvke_hits_release(&sk->hits[j]);
        mvke_free(sk->hits);
    }
    mvke_free(sk->thr);
    memset(sk, 0, sizeof *sk);
}

/* ---- the search -------------------------------------------------------------------------- */

static int threads_for(int threads) {
    int n = threads > 0 ? threads : omp_get_max_threads();
    return n < 1 ? 1 : n;
}

mvke_status mvke_scan_search(const mvke_scan_db *db, const mvke_kqueries *q, int64_t k, float min_score,
                             const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i,
                             mvke_hits **lists) {
    const mvke_scan_kernels *kern = mvke_scan_kernels_of(mvke_cpu_variant_get());
    const mvke_scan_fn fn = kern->fn[db->L.storage];
    const int nthreads = threads_for(threads);
    mvke_scan_shape *sh = mvke_malloc(sizeof *sh);
    if (!sh) return mvke_error(MVKE_ERR_NOMEM, "out of memory starting a search");
    shape_make(sh, &db->L, db->experts, q);

    /* Query groups and query tiles. */
    const int nr = q->n < kern->nr_max ? (int)(q->n > 0 ? q->n : 1) : kern->nr_max;
    int64_t tq = q->n < TQ_MAX ? q->n : TQ_MAX;
    if (k > 0 && tq > HEAP_ENTRIES_PER_THREAD / k) tq = HEAP_ENTRIES_PER_THREAD / k;
    int64_t tg = (tq + nr - 1) / nr; /* groups per query tile */
    if (tg < 1) tg = 1;

    /* Row tiles of whole panels. */
    const size_t panel_bytes = (size_t)sh->na * (size_t)db->L.panel_values * (size_t)db->L.esize +
                               (size_t)sh->pa * MVKE_LANES * sizeof(float) + 64;
    int64_t tp = (int64_t)(TILE_BYTES / panel_bytes);
    tp = tp < 1 ? 1 : tp > TILE_PANELS_MAX ? TILE_PANELS_MAX : tp;
    int64_t ntiles = 0;
    for (int64_t b = 0; b < db->nblocks; b++) {
        const int64_t np = mvke_layout_round(db->blocks[b].n) / MVKE_LANES;
        ntiles += (np + tp - 1) / tp;
    }
    mvke_scan_pack pk;
    mvke_scan_tile *tiles = mvke_malloc_array((size_t)(ntiles ? ntiles : 1), sizeof *tiles);
    mvke_hits *out_lists = k > 0 ? NULL : mvke_calloc((size_t)(q->n ? q->n : 1), sizeof *out_lists);
    if (!tiles || (k == 0 && !out_lists) || pack_make(&pk, sh, q, nr, kern->bf16_dot) != 0) {
        mvke_free(tiles);
        mvke_free(out_lists);
        mvke_free(sh);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory starting a search of %lld queries", (long long)q->n);
    }
    int64_t t = 0;
    for (int64_t b = 0; b < db->nblocks; b++) {
        const int64_t np = mvke_layout_round(db->blocks[b].n) / MVKE_LANES;
        for (int64_t p = 0; p < np; p += tp) tiles[t++] = (mvke_scan_tile){&db->blocks[b], p, p + tp < np ? p + tp : np};
    }

    const int64_t nqt = (pk.ngroups + tg - 1) / tg;
    int failed = 0;
    if (nqt >= nthreads || ntiles <= 1) {
        /* Whole query tiles per thread. */
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1) reduction(| : failed)
        for (int64_t qt = 0; qt < nqt; qt++) {
            if (failed) continue;
            const int64_t g0 = qt * tg, g1 = g0 + tg < pk.ngroups ? g0 + tg : pk.ngroups;
            const int64_t q0 = g0 * nr, nq = (g1 * nr < q->n ? g1 * nr : q->n) - q0;
            mvke_scan_sink sk;
            if (sink_alloc(&sk, q0, nq, k, min_score, filter, k > 0 ? out_s + q0 * k : NULL,
                           k > 0 ? out_i + q0 * k : NULL) != 0) {
                failed = 1;
                continue;
            }
            for (int64_t i = 0; i < ntiles; i++) fn(sh, &pk, &tiles[i], g0, g1, &sk);
            if (k > 0) {
                for (int64_t j = 0; j < nq; j++) mvke_topk_finish(&sk.heaps[j]);
            } else {
                if (sk.failed) failed = 1;
                for (int64_t j = 0; j < nq; j++) { /* hand the lists over */
                    out_lists[q0 + j] = sk.hits[j];
                    memset(&sk.hits[j], 0, sizeof sk.hits[j]);
                }
            }
            sink_release(&sk, 0);
        }
    } else {
        /* One query tile at a time; threads split the row tiles. */
        for (int64_t qt = 0; qt < nqt && !failed; qt++) {
            const int64_t g0 = qt * tg, g1 = g0 + tg < pk.ngroups ? g0 + tg : pk.ngroups;
            const int64_t q0 = g0 * nr, nq = (g1 * nr < q->n ? g1 * nr : q->n) - q0;
            mvke_scan_sink *sinks = mvke_calloc((size_t)nthreads, sizeof *sinks);
            if (!sinks) {
                failed = 1;
                break;
            }
#pragma omp parallel num_threads(nthreads) reduction(| : failed)
            {
                const int me = omp_get_thread_num();
                if (sink_alloc(&sinks[me], q0, nq, k, min_score, filter, NULL, NULL) != 0) failed = 1;
#pragma omp for schedule(dynamic, 4)
                for (int64_t i = 0; i < ntiles; i++)
                    if (!failed && sinks[me].thr) fn(sh, &pk, &tiles[i], g0, g1, &sinks[me]);
                if (sinks[me].failed) failed = 1;
            }
            for (int64_t j = 0; j < nq && !failed; j++) {
                if (k > 0) {
                    mvke_topk h;
                    mvke_topk_init(&h, out_s + (q0 + j) * k, out_i + (q0 + j) * k, k);
                    for (int w = 0; w < nthreads; w++) {
                        const mvke_topk *src = sinks[w].heaps ? &sinks[w].heaps[j] : NULL;
                        for (int64_t e = 0; src && e < src->n; e++) mvke_topk_push(&h, src->s[e], src->id[e]);
                    }
                    mvke_topk_finish(&h);
                } else {
                    mvke_hits *dst = &out_lists[q0 + j];
                    for (int w = 0; w < nthreads && !failed; w++) {
                        const mvke_hits *src = sinks[w].hits ? &sinks[w].hits[j] : NULL;
                        for (int64_t e = 0; src && e < src->n; e++)
                            if (mvke_hits_push(dst, src->s[e], src->id[e]) != 0) {
                                failed = 1;
                                break;
                            }
                    }
                }
            }
            for (int w = 0; w < nthreads; w++) sink_release(&sinks[w], 1);
            mvke_free(sinks);
        }
    }
    pack_release(&pk);
    mvke_free(tiles);
    mvke_free(sh);
    if (failed) {
        if (out_lists) {
            for (int64_t j = 0; j < q->n; j++) mvke_hits_release(&out_lists[j]);
            mvke_free(out_lists);
        }
        return mvke_error(MVKE_ERR_NOMEM, "out of memory during a search of %lld queries", (long long)q->n);
    }
    if (lists) *lists = out_lists;
    return MVKE_OK;
}
