/*
 * scan.c - the one CPU search driver (scan.h): the variant chosen at start-up, the active
 * experts of a search, the queries packed once per search, the split of the work over threads,
 * the scalar end of the epilogue, and the exact re-scoring of a codec's candidates.
 *
 * Design notes.
 * 1. Queries are packed once per search into groups of nr (the kernel's register tile), only
 *    their active experts and Gram entries, so no kernel call repacks anything.
 * 2. The database is cut into tiles of whole panels whose active bytes fit in L2 (TILE_BYTES);
 *    a kernel call runs every query group of a query tile over one row tile, so a row tile is
 *    read from memory once per query tile and from cache for the other groups.
 * 3. Work is split two ways: with at least as many query tiles as threads, each thread takes
 *    whole query tiles (user -> tags, batch tagging: no merge); with fewer, the threads split the
 *    row tiles of one query tile with private selectors merged at the end (tag -> users).
 * 4. Selection keeps the total order (score desc, then smaller id) and a pair's score depends
 *    only on its two rows (every lane accumulates in the same order whatever the tile or group),
 *    so results do not depend on threads, tiling or batch size within one variant.
 * 5. Refine: the codes' search keeps candidates by position (block, row), not by id, so that the
 *    exact re-scoring reads the row's float32 values and Gram entries where they are, without an
 *    id lookup, and only the active experts' values (refine.c).
 */
#include "scan.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../codec.h"
#include "../half.h"
#include "../runtime.h"
#include "cpu_features.h"
#include "refine.h"

/* Active bytes of one row tile (panels of the active planes plus Gram lines). */
#define TILE_BYTES (96 * 1024)
#define TILE_PANELS_MAX 1024
/* Queries per query tile (a multiple of any group width is taken below). */
#define TQ_MAX 256
/* Bound on selection entries per thread (queries of a query tile times k). */
#define SELECT_ENTRIES_PER_THREAD (1 << 22)

/* ---- variants ---------------------------------------------------------------------------- */

static int forced = -1;

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

mvke_cpu_variant mvke_cpu_variant_get(void) {
    const int f = __atomic_load_n(&forced, __ATOMIC_RELAXED);
    if (f >= 0) return (mvke_cpu_variant)f;
    if (mvke_cpu_variant_supported(MVKE_CPU_AVX512)) return MVKE_CPU_AVX512;
    if (mvke_cpu_variant_supported(MVKE_CPU_AVX2)) return MVKE_CPU_AVX2;
    return MVKE_CPU_GENERIC;
}

int mvke_cpu_variant_force(mvke_cpu_variant v) {
    if (!mvke_cpu_variant_supported(v)) return -1;
    __atomic_store_n(&forced, (int)v, __ATOMIC_RELAXED);
    return 0;
}

void mvke_cpu_variant_unforce(void) { __atomic_store_n(&forced, -1, __ATOMIC_RELAXED); }

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

void mvke_scan_offer(mvke_scan_sink *sk, int64_t q, uint32_t mask, const float *scores, const mvke_scan_view *v,
                     int64_t p) {
    const int64_t j = q - sk->q0;
    const int64_t *ids = v->ids + p * MVKE_LANES;
    const int64_t pos = v->pos0 + p * MVKE_LANES;
    if (sk->sel) {
        mvke_select *r = &sk->sel[j];
        for (; mask; mask &= mask - 1) {
            const int g = __builtin_ctz(mask);
            if (!sk->filter || mvke_kfilter_pass(sk->filter, ids[g])) mvke_select_push(r, scores[g], pos + g);
        }
        sk->thr[j] = r->thr;
    } else {
        for (; mask; mask &= mask - 1) {
            const int g = __builtin_ctz(mask);
            if ((!sk->filter || mvke_kfilter_pass(sk->filter, ids[g])) && mvke_hits_push(&sk->hits[j], scores[g], pos + g) != 0)
                sk->failed = 1;
        }
    }
}

void mvke_scan_offer_cert(mvke_scan_sink *sk, int64_t q, uint32_t mask, const float *lo, const float *hi,
                          const mvke_scan_view *v, int64_t p) {
    const int64_t j = q - sk->q0;
    const int64_t *ids = v->ids + p * MVKE_LANES;
    const int64_t pos = v->pos0 + p * MVKE_LANES;
    mvke_select *r = sk->sel ? &sk->sel[j] : NULL;
    for (; mask; mask &= mask - 1) {
        const int g = __builtin_ctz(mask);
        if (sk->filter && !mvke_kfilter_pass(sk->filter, ids[g])) continue;
        if (r && lo[g] >= r->thr) mvke_select_push(r, lo[g], pos + g);
        if (mvke_hits_push(&sk->hits[j], hi[g], pos + g) != 0) sk->failed = 1;
    }
    if (r) sk->thr[j] = r->thr;
}

/* ---- what a search reads ----------------------------------------------------------------- */

static void shape_make(mvke_scan_shape *sh, const mvke_layout *L, uint64_t experts, const mvke_kqueries *q) {
    memset(sh, 0, sizeof *sh);
    sh->L = *L;
    const int K = L->K, d = L->d;
    const uint64_t all = mvke_experts_all(K);
    uint64_t used = 0;
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
            if (L->score != MVKE_SCORE_DOT && ((active >> k) & 1) && ((active >> l) & 1)) {
                sh->diag[sh->pa] = k == l;
                sh->ent[sh->pa++] = pos;
            }
}

/* How the rows are scored: the kernel's storage, and whether pq tiles are decoded first. */
typedef struct mode {
    mvke_storage kst; /* the kernel (fn index) */
    int decode;       /* pq: tiles decoded to float32 planes, scored by the f32 kernel */
} mode;

static mode mode_of(const mvke_layout *L, int64_t nq) {
    if (L->storage == MVKE_STORAGE_PQ && nq > MVKE_SCAN_PQ_TABLE_MAX_Q) return (mode){MVKE_STORAGE_F32, 1};
    return (mode){L->storage, 0};
}

static void pack_release(mvke_scan_pack *pk) {
    mvke_free(pk->z);
    mvke_free(pk->zb);
    mvke_free(pk->gram);
    mvke_free(pk->floor);
    mvke_free(pk->cst);
    mvke_free(pk->lut);
    mvke_free(pk->zn);
    mvke_free(pk->nslack);
    mvke_free(pk->trz);
    memset(pk, 0, sizeof *pk);
}

/* pq tables of one query: for active expert a and sub-space j, the inner products of the
 * query's sub-vector with the 256 centroids. */
static void pq_tables(const mvke_scan_shape *sh, const float *x, float *lut) {
    const mvke_codec *c = sh->L.codec;
    const int d = sh->L.d;
    for (int a = 0; a < sh->na; a++) {
        const int k = sh->act[a];
        for (int j = 0; j < c->m; j++) {
            const int ds = mvke_pq_dsub(c, j);
            const float *zs = x + (size_t)k * d + c->off[j], *cent = mvke_pq_table(c, k, j);
            float *t = lut + ((size_t)a * c->m + j) * MVKE_PQ_CENTROIDS;
            for (int e = 0; e < MVKE_PQ_CENTROIDS; e++, cent += ds) {
                float s = 0.0f;
                for (int i = 0; i < ds; i++) s += zs[i] * cent[i];
                t[e] = s;
            }
        }
    }
}

/* x rounded up to float32. */
static float up_f(double x) {
    float f = (float)x;
    if ((double)f < x) f = nextafterf(f, INFINITY);
    return f;
}

/* What a certified search needs of each query (scan.h, MVKE_CERT_*). Norms are taken from the
 * query's Gram diagonal (its plain triangle), in double, rounded up. */
static int pack_cert(mvke_scan_pack *pk, const mvke_scan_shape *sh, const mvke_kqueries *q) {
    const mvke_layout *L = &sh->L;
    const mvke_codec *c = L->codec;
    const size_t nqs = (size_t)(pk->ngroups ? pk->ngroups : 1) * (size_t)pk->nr;
    pk->zn = mvke_calloc(nqs * (size_t)(sh->na ? sh->na : 1), sizeof *pk->zn);
    pk->nslack = mvke_calloc(nqs, sizeof *pk->nslack);
    pk->trz = mvke_calloc(nqs, sizeof *pk->trz);
    if (!pk->zn || !pk->nslack || !pk->trz) return -1;
    for (int j = 0; j < 16; j++) pk->steps[j] = ldexpf(mvke_bound_step(j), -8); /* exact */
    /* The numerator's rounding: about one unit of the last place per term a kernel adds, once
     * for the codes' kernel and once for the float32 kernel whose score the refine reproduces
     * (its terms are bounded by the decoded row's, amax, plus the residual's: the latter is
     * covered by scaling zn up by 1 + unit). */
    const double unit = (double)(L->K * L->d + 8) * 0x1p-24;
    for (int64_t i = 0; i < q->n; i++) {
        const float *gx = q->gram + i * (int64_t)L->P;
        double ns = 0.0, tr = 0.0;
        for (int a = 0; a < sh->na; a++) {
            /* The diagonal entry (k, k) of the query's plain triangle (every score computes it). */
            const float gkk = gx[(sh->act[a] * (2 * L->K - sh->act[a] + 1)) / 2];
            const double zz = gkk > 0.0f ? (double)gkk : 0.0;
            const double zn = sqrt(zz) * (1.0 + 0x1p-40);
            pk->zn[i * sh->na + a] = up_f(zn * (1.0 + unit) * (double)c->bunit[sh->act[a]]);
            ns += zn * (double)c->amax[sh->act[a]];
            tr += zz;
        }
        pk->nslack[i] = up_f(2.0 * unit * ns);
        pk->trz[i] = up_f(tr);
    }
    return 0;
}

static int pack_make(mvke_scan_pack *pk, const mvke_scan_shape *sh, const mvke_kqueries *q, int nr, mode md,
                     int bf16_dot, int cert) {
    memset(pk, 0, sizeof *pk);
    const mvke_layout *L = &sh->L;
    const int K = L->K, d = L->d, P = L->P, na = sh->na, pa = sh->pa;
    const mvke_codec *codec = L->codec;
    const int sq8 = md.kst == MVKE_STORAGE_SQ8, tables = md.kst == MVKE_STORAGE_PQ;
    bf16_dot = bf16_dot && md.kst == MVKE_STORAGE_BF16;
    pk->nq = q->n;
    pk->nr = nr;
    pk->ngroups = (q->n + nr - 1) / nr;
    pk->dp = (d + 1) / 2;
    pk->dz = md.kst == MVKE_STORAGE_BF16 ? 2 * pk->dp : d;
    pk->zstride = (size_t)na * (size_t)pk->dz * (size_t)nr;
    pk->zbstride = bf16_dot ? (size_t)na * (size_t)pk->dp * 2 * (size_t)nr : 0;
    pk->gstride = (size_t)pa * (size_t)nr;
    pk->lstride = tables ? (size_t)na * (size_t)codec->m * MVKE_PQ_CENTROIDS : 0;
    const size_t ng = (size_t)(pk->ngroups ? pk->ngroups : 1), nqs = ng * (size_t)nr;
    size_t nz, nzb, ngr, nl;
    if (!mvke_mul_ok(ng, pk->zstride + 1, &nz) || !mvke_mul_ok(ng, pk->zbstride + 1, &nzb) ||
        !mvke_mul_ok(ng, pk->gstride + 1, &ngr) || !mvke_mul_ok(nqs, pk->lstride + 1, &nl))
        return -1;
    pk->z = mvke_calloc(nz, sizeof *pk->z);
    pk->zb = bf16_dot ? mvke_calloc(nzb, sizeof *pk->zb) : NULL;
    pk->gram = mvke_calloc(ngr, sizeof *pk->gram);
    pk->floor = mvke_calloc(nqs, sizeof *pk->floor);
    pk->cst = mvke_calloc(nqs, sizeof *pk->cst);
    pk->lut = tables ? mvke_malloc_array(nl, sizeof *pk->lut) : NULL;
    if (!pk->z || (bf16_dot && !pk->zb) || !pk->gram || !pk->floor || !pk->cst || (tables && !pk->lut)) {
        pack_release(pk);
        return -1;
    }
    for (int64_t i = 0; i < q->n; i++) {
        const int64_t g = i / nr;
        const int r = (int)(i % nr);
        const float *x = q->x + i * (int64_t)K * d, *gx = q->gram + i * (int64_t)P;
        float *z = pk->z + (size_t)g * pk->zstride;
        double cst = 0.0;
        for (int a = 0; a < na; a++) {
            const int k = sh->act[a];
            const float *v = x + (int64_t)k * d;
            if (sq8) {
                const float *scale = codec->scale + (size_t)k * d, *vmin = codec->vmin + (size_t)k * d;
                for (int j = 0; j < d; j++) {
                    z[((size_t)a * pk->dz + j) * nr + r] = v[j] * scale[j];
                    cst += (double)v[j] * (double)vmin[j];
                }
            } else {
                for (int j = 0; j < d; j++) z[((size_t)a * pk->dz + j) * nr + r] = v[j];
            }
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
        pk->cst[i] = (float)cst;
        if (tables) pq_tables(sh, x, pk->lut + (size_t)i * pk->lstride);
        float *gp = pk->gram + (size_t)g * pk->gstride, tr = 0.0f;
        for (int e = 0; e < pa; e++) {
            gp[(size_t)e * nr + r] = gx[sh->ent[e]];
            if (sh->diag[e]) tr += gx[sh->ent[e]];
        }
        pk->floor[i] = tr * MVKE_DEN2_REL_FLOOR;
    }
    if (cert && pack_cert(pk, sh, q) != 0) {
        pack_release(pk);
        return -1;
    }
    return 0;
}

/* ---- row tiles --------------------------------------------------------------------------- */

typedef struct tile {
    int64_t block, p0, p1;
} tile;

/* Calls fn(ctx, block, p0, p1) for the panel ranges a search reads, in row order: every panel
 * of every block, or those touching db's spans (rows numbered across the blocks in order), a
 * panel shared by two spans once. */
typedef void (*panels_fn)(void *ctx, int64_t block, int64_t p0, int64_t p1);

static void panels_each(const mvke_kdb *db, panels_fn fn, void *ctx) {
    if (!db->spans) {
        for (int64_t b = 0; b < db->nblocks; b++) fn(ctx, b, 0, mvke_layout_round(db->blocks[b].n) / MVKE_LANES);
        return;
    }
    int64_t cb = -1, c0 = 0, c1 = 0; /* the pending range of panels */
    int64_t b = 0, first = 0;        /* the block holding row `first`, its first row */
    for (int64_t i = 0; i < db->nspans; i++) {
        int64_t a = db->spans[2 * i];
        const int64_t e = db->spans[2 * i + 1];
        while (a < e) {
            while (b < db->nblocks && a >= first + db->blocks[b].n) first += db->blocks[b++].n;
            if (b >= db->nblocks) break;
            const int64_t r0 = a - first, r1 = e - first < db->blocks[b].n ? e - first : db->blocks[b].n;
            const int64_t p0 = r0 / MVKE_LANES, p1 = (r1 + MVKE_LANES - 1) / MVKE_LANES;
            if (b == cb && p0 <= c1) {
                c1 = p1 > c1 ? p1 : c1;
            } else {
                if (cb >= 0) fn(ctx, cb, c0, c1);
                cb = b, c0 = p0, c1 = p1;
            }
            a = first + r1;
        }
    }
    if (cb >= 0) fn(ctx, cb, c0, c1);
}

typedef struct tiles_ctx {
    int64_t tp, n;
    tile *out;
} tiles_ctx;

static void tiles_add(void *ctx, int64_t b, int64_t p0, int64_t p1) {
    tiles_ctx *c = ctx;
    for (int64_t p = p0; p < p1; p += c->tp) {
        if (c->out) c->out[c->n] = (tile){b, p, p + c->tp < p1 ? p + c->tp : p1};
        c->n++;
    }
}

/* The row tiles of tp panels a search reads (into tiles when not NULL); returns their count. */
static int64_t tiles_make(const mvke_kdb *db, int64_t tp, tile *tiles) {
    tiles_ctx c = {tp, 0, tiles};
    panels_each(db, tiles_add, &c);
    return c.n;
}

/* The view of a tile, its planes in the block; or, for decoded pq, in `dec` (na planes of
 * np * d * LANES float32, filled here). */
static void view_make(const mvke_kdb *db, const mvke_scan_shape *sh, const tile *t, float *dec, mvke_scan_view *v) {
    const mvke_layout *L = &db->L;
    const mvke_kblock *b = &db->blocks[t->block];
    const int64_t np = t->p1 - t->p0;
    const size_t line = (size_t)L->panel_values * (size_t)L->esize;
    for (int a = 0; a < sh->na; a++)
        v->planes[a] = (const char *)mvke_layout_plane(L, b->data, b->cap, sh->act[a]) + (size_t)t->p0 * line;
    v->gram = mvke_layout_gram(L, b->data, b->cap) + (size_t)t->p0 * L->G * MVKE_LANES;
    v->ids = b->ids + t->p0 * MVKE_LANES;
    v->n = b->n - t->p0 * MVKE_LANES;
    v->np = np;
    v->pos0 = mvke_scan_pos(t->block, t->p0 * MVKE_LANES);
    const uint8_t *bp = mvke_layout_bounds(L, b->data, b->cap);
    v->bounds = bp ? bp + (size_t)t->p0 * (size_t)L->K * MVKE_LANES : NULL;
    v->K = L->K;
    if (!dec) return;
    const mvke_codec *c = L->codec;
    const int d = L->d, m = c->m;
    for (int a = 0; a < sh->na; a++) {
        const uint8_t *codes = v->planes[a];
        float *out = dec + (size_t)a * (size_t)np * d * MVKE_LANES;
        for (int64_t p = 0; p < np; p++)
            for (int j = 0; j < m; j++) {
                const int ds = mvke_pq_dsub(c, j), off = c->off[j];
                const float *cent = mvke_pq_table(c, sh->act[a], j);
                const uint8_t *cj = codes + ((size_t)p * m + j) * MVKE_LANES;
                float *o = out + ((size_t)p * d + off) * MVKE_LANES;
                for (int g = 0; g < MVKE_LANES; g++) {
                    const float *cv = cent + (size_t)cj[g] * ds;
                    for (int i = 0; i < ds; i++) o[(size_t)i * MVKE_LANES + g] = cv[i];
                }
            }
        v->planes[a] = out;
    }
}

/* ---- selectors --------------------------------------------------------------------------- */

/* A sink for queries [q0, q0 + nq): selections of the k best (k > 0) or hit lists. */
static int sink_alloc(mvke_scan_sink *sk, const mvke_kdb *db, int64_t q0, int64_t nq, int64_t k, float min_score,
                      const mvke_kfilter *filter, int by_pos, int cert) {
    memset(sk, 0, sizeof *sk);
    sk->db = db;
    sk->cert = cert;
    sk->q0 = q0;
    sk->nq = nq;
    sk->filter = filter;
    sk->by_pos = by_pos;
    const size_t n = (size_t)(nq ? nq : 1);
    sk->thr = mvke_malloc_array(n, sizeof *sk->thr);
    if (!sk->thr) return -1;
    for (int64_t j = 0; j < nq; j++) sk->thr[j] = k > 0 ? -INFINITY : min_score;
    if (k > 0) {
        const int64_t cap = mvke_select_cap(k);
        sk->sel = mvke_malloc_array(n, sizeof *sk->sel);
        float *s = mvke_malloc_array(n * (size_t)cap, sizeof(float));
        int64_t *id = mvke_malloc_array(n * (size_t)cap, sizeof(int64_t));
        if (!sk->sel || !s || !id) {
            mvke_free(s);
            mvke_free(id);
            mvke_free(sk->sel);
            mvke_free(sk->thr);
            memset(sk, 0, sizeof *sk);
            return -1;
        }
        for (int64_t j = 0; j < (int64_t)n; j++)
            mvke_select_init(&sk->sel[j], s + j * cap, id + j * cap, k, cap, mvke_scan_pos_id, db);
    }
    if (k == 0 || cert) {
        sk->hits = mvke_calloc(n, sizeof *sk->hits);
        if (!sk->hits) {
            if (sk->sel) {
                mvke_free(sk->sel[0].s);
                mvke_free(sk->sel[0].key);
                mvke_free(sk->sel);
            }
            mvke_free(sk->thr);
            memset(sk, 0, sizeof *sk);
            return -1;
        }
    }
    return 0;
}

static void sink_release(mvke_scan_sink *sk) {
    if (sk->sel) {
        mvke_free(sk->sel[0].s);
        mvke_free(sk->sel[0].key);
        mvke_free(sk->sel);
    }
    if (sk->hits) {
        for (int64_t j = 0; j < sk->nq; j++) mvke_hits_release(&sk->hits[j]);
        mvke_free(sk->hits);
    }
    mvke_free(sk->thr);
    memset(sk, 0, sizeof *sk);
}

/* Writes a finished selection's k best to out_s/out_i (ids, or positions when by_pos), padded
 * with -INFINITY and -1. */
static void select_out(const mvke_select *r, const mvke_kdb *db, int by_pos, float *out_s, int64_t *out_i) {
    for (int64_t i = 0; i < r->k; i++) {
        out_s[i] = i < r->n ? r->s[i] : -INFINITY;
        out_i[i] = i >= r->n ? -1 : by_pos ? r->key[i] : mvke_scan_pos_id(db, r->key[i]);
    }
}

/* Turns a hit list's positions into ids. */
static void hits_ids(mvke_hits *l, const mvke_kdb *db) {
    for (int64_t e = 0; e < l->n; e++) l->id[e] = mvke_scan_pos_id(db, l->id[e]);
}

/* ---- the scan ---------------------------------------------------------------------------- */

static int threads_for(int threads) {
    int n = threads > 0 ? threads : omp_get_max_threads();
    return n < 1 ? 1 : n;
}

/* One scan: every query against every row, top-k (k > 0) into out_s/out_i or hit lists into
 * *lists; keys are ids, or positions when by_pos. */
/* A certified top-k's threshold: the k-th best lower bound (-infinity with fewer than k). */
static float tau_of(mvke_select *r) {
    mvke_select_compact(r);
    if (r->n < r->k) return -INFINITY;
    float t = r->s[0];
    for (int64_t e = 1; e < r->n; e++) t = r->s[e] < t ? r->s[e] : t;
    return t;
}

/* Keeps the candidates whose upper bound reaches tau. */
static void keep_from(mvke_hits *l, float tau) {
    int64_t kept = 0;
    for (int64_t e = 0; e < l->n; e++)
        if (l->s[e] >= tau) {
            l->s[kept] = l->s[e];
            l->id[kept++] = l->id[e];
        }
    l->n = kept;
}

/* One scan: every query against every row, top-k (k > 0) into out_s/out_i or hit lists into
 * *lists; keys are ids, or positions when by_pos. Certified (cert): *lists receives, per query,
 * the candidates by position with their upper bounds (a top-k's: those reaching its k-th best
 * lower bound; a threshold's: those reaching the threshold). */
static mvke_status scan(const mvke_kdb *db, const mvke_scan_shape *sh, const mvke_kqueries *q, int64_t k,
                        float min_score, const mvke_kfilter *filter, int by_pos, int cert, int threads, float *out_s,
                        int64_t *out_i, mvke_hits **lists) {
    const mvke_scan_kernels *kern = mvke_scan_kernels_of(mvke_cpu_variant_get());
    const mode md = mode_of(&db->L, q->n);
    const mvke_scan_fn fn = cert ? kern->cert[md.decode ? 0 : md.kst == MVKE_STORAGE_SQ8 ? 1 : 2] : kern->fn[md.kst];
    const int nthreads = threads_for(threads);
    const int nr_max = md.kst == MVKE_STORAGE_PQ && kern->nr_max > MVKE_SCAN_PQ_TABLE_MAX_Q ? MVKE_SCAN_PQ_TABLE_MAX_Q
                                                                                           : kern->nr_max;

    /* Query groups and query tiles. */
    const int nr = q->n < nr_max ? (int)(q->n > 0 ? q->n : 1) : nr_max;
    int64_t tq = q->n < TQ_MAX ? q->n : TQ_MAX;
    if (k > 0 && tq > SELECT_ENTRIES_PER_THREAD / k) tq = SELECT_ENTRIES_PER_THREAD / k;
    int64_t tg = (tq + nr - 1) / nr; /* groups per query tile */
    if (tg < 1) tg = 1;

    /* Row tiles of whole panels (sized by the bytes the kernel reads: decoded pq as float32). */
    const size_t esize = md.decode ? sizeof(float) : (size_t)db->L.esize;
    const size_t values = md.decode ? (size_t)db->L.d * MVKE_LANES : (size_t)db->L.panel_values;
    const size_t panel_bytes = (size_t)sh->na * values * esize + (size_t)sh->pa * MVKE_LANES * sizeof(float) + 64;
    int64_t tp = (int64_t)(TILE_BYTES / panel_bytes);
    tp = tp < 1 ? 1 : tp > TILE_PANELS_MAX ? TILE_PANELS_MAX : tp;
    const int64_t ntiles = tiles_make(db, tp, NULL);
    const size_t dec_floats = md.decode ? (size_t)sh->na * (size_t)tp * (size_t)db->L.d * MVKE_LANES : 0;
    mvke_scan_pack pk;
    tile *tiles = mvke_malloc_array((size_t)(ntiles ? ntiles : 1), sizeof *tiles);
    const int want_lists = k == 0 || cert;
    mvke_hits *out_lists = want_lists ? mvke_calloc((size_t)(q->n ? q->n : 1), sizeof *out_lists) : NULL;
    if (!tiles || (want_lists && !out_lists) || pack_make(&pk, sh, q, nr, md, kern->bf16_dot, cert) != 0) {
        mvke_free(tiles);
        mvke_free(out_lists);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory starting a search of %lld queries", (long long)q->n);
    }
    tiles_make(db, tp, tiles);

    const int64_t nqt = (pk.ngroups + tg - 1) / tg;
    int failed = 0;
    if (nqt >= nthreads || ntiles <= 1) {
        /* Whole query tiles per thread. */
#pragma omp parallel num_threads(nthreads) reduction(| : failed)
        {
            float *dec = dec_floats ? mvke_malloc_array(dec_floats, sizeof *dec) : NULL;
            if (dec_floats && !dec) failed = 1;
#pragma omp for schedule(dynamic, 1)
            for (int64_t qt = 0; qt < nqt; qt++) {
                if (failed) continue;
                const int64_t g0 = qt * tg, g1 = g0 + tg < pk.ngroups ? g0 + tg : pk.ngroups;
                const int64_t q0 = g0 * nr, nq = (g1 * nr < q->n ? g1 * nr : q->n) - q0;
                mvke_scan_sink sk;
                if (sink_alloc(&sk, db, q0, nq, k, min_score, filter, by_pos, cert) != 0) {
                    failed = 1;
                    continue;
                }
                for (int64_t i = 0; i < ntiles; i++) {
                    mvke_scan_view v;
                    view_make(db, sh, &tiles[i], dec, &v);
                    fn(sh, &pk, &v, g0, g1, &sk);
                }
                if (k > 0 && !cert) {
                    for (int64_t j = 0; j < nq; j++) {
                        mvke_select_finish(&sk.sel[j]);
                        select_out(&sk.sel[j], db, by_pos, out_s + (q0 + j) * k, out_i + (q0 + j) * k);
                    }
                } else {
                    if (sk.failed) failed = 1;
                    for (int64_t j = 0; j < nq; j++) { /* hand the lists over */
                        if (cert && k > 0) keep_from(&sk.hits[j], tau_of(&sk.sel[j]));
                        if (!by_pos && !cert) hits_ids(&sk.hits[j], db);
                        out_lists[q0 + j] = sk.hits[j];
                        memset(&sk.hits[j], 0, sizeof sk.hits[j]);
                    }
                }
                sink_release(&sk);
            }
            mvke_free(dec);
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
                float *dec = dec_floats ? mvke_malloc_array(dec_floats, sizeof *dec) : NULL;
                if ((dec_floats && !dec) || sink_alloc(&sinks[me], db, q0, nq, k, min_score, filter, by_pos, cert) != 0)
                    failed = 1;
#pragma omp for schedule(dynamic, 4)
                for (int64_t i = 0; i < ntiles; i++)
                    if (!failed && sinks[me].thr) {
                        mvke_scan_view v;
                        view_make(db, sh, &tiles[i], dec, &v);
                        fn(sh, &pk, &v, g0, g1, &sinks[me]);
                    }
                if (sinks[me].failed) failed = 1;
                for (int64_t j = 0; j < nq && sinks[me].sel; j++) mvke_select_compact(&sinks[me].sel[j]);
                mvke_free(dec);
            }
            /* Merge: every thread's k best into one selection; hit lists end to end. */
            mvke_select m;
            float *ms = k > 0 ? mvke_malloc_array((size_t)nthreads * (size_t)k + 1, sizeof *ms) : NULL;
            int64_t *mk = k > 0 ? mvke_malloc_array((size_t)nthreads * (size_t)k + 1, sizeof *mk) : NULL;
            if (k > 0 && (!ms || !mk)) failed = 1;
            for (int64_t j = 0; j < nq && !failed; j++) {
                float tau = -INFINITY;
                if (k > 0) {
                    mvke_select_init(&m, ms, mk, k, (int64_t)nthreads * k + 1, mvke_scan_pos_id, db);
                    for (int w = 0; w < nthreads; w++) {
                        const mvke_select *src = sinks[w].sel ? &sinks[w].sel[j] : NULL;
                        for (int64_t e = 0; src && e < src->n; e++) mvke_select_push(&m, src->s[e], src->key[e]);
                    }
                    if (cert) {
                        tau = tau_of(&m);
                    } else {
                        mvke_select_finish(&m);
                        select_out(&m, db, by_pos, out_s + (q0 + j) * k, out_i + (q0 + j) * k);
                        continue;
                    }
                }
                mvke_hits *dst = &out_lists[q0 + j];
                for (int w = 0; w < nthreads && !failed; w++) {
                    const mvke_hits *src = sinks[w].hits ? &sinks[w].hits[j] : NULL;
                    for (int64_t e = 0; src && e < src->n; e++)
                        if (src->s[e] >= tau && mvke_hits_push(dst, src->s[e], src->id[e]) != 0) {
                            failed = 1;
                            break;
                        }
                }
                if (!by_pos && !cert) hits_ids(dst, db);
            }
            mvke_free(ms);
            mvke_free(mk);
            for (int w = 0; w < nthreads; w++) sink_release(&sinks[w]);
            mvke_free(sinks);
        }
    }
    pack_release(&pk);
    mvke_free(tiles);
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

/* ---- the search -------------------------------------------------------------------------- */

/* How a codec database with refine rows is searched: 1 certified, 2 the R*k best re-scored,
 * 0 by its codes (or it has no codec). */
static int refine_mode(const mvke_kdb *db) {
    if (!db->L.refine || !mvke_storage_is_codec(db->L.storage)) return 0;
    return db->refine_R < 0 ? 1 : db->refine_R > 0 ? 2 : 0;
}

static void rows_add(void *ctx, int64_t b, int64_t p0, int64_t p1) {
    int64_t *n = ((int64_t **)ctx)[0];
    const mvke_kdb *db = ((const mvke_kdb **)ctx)[1];
    const int64_t r1 = p1 * MVKE_LANES < db->blocks[b].n ? p1 * MVKE_LANES : db->blocks[b].n;
    *n += r1 - p0 * MVKE_LANES;
}

/* Rows a search reads: every row, or those of the panels db's spans touch. */
static int64_t rows_of(const mvke_kdb *db) {
    int64_t n = 0;
    if (!db->spans) {
        for (int64_t b = 0; b < db->nblocks; b++) n += db->blocks[b].n;
        return n;
    }
    const void *ctx[2] = {&n, db};
    panels_each(db, rows_add, (void *)ctx);
    return n;
}

mvke_status mvke_scan_search(const mvke_kdb *db, const mvke_kqueries *q, int64_t k, float min_score,
                             const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i,
                             mvke_hits **lists) {
    mvke_scan_shape *sh = mvke_malloc(sizeof *sh);
    if (!sh) return mvke_error(MVKE_ERR_NOMEM, "out of memory starting a search");
    shape_make(sh, &db->L, db->experts, q);
    const int rm = refine_mode(db);
    const int64_t n = rows_of(db);
    int64_t refined = 0;
    int certified = !mvke_storage_is_codec(db->L.storage); /* stored rows score exactly */
    mvke_status st;
    if (rm == 0) {
        st = scan(db, sh, q, k, min_score, filter, 0, 0, threads, out_s, out_i, lists);
    } else if (rm == 1) {
        /* Certified: the candidates by their intervals, re-scored exactly (DESIGN section 14). */
        mvke_hits *cand = NULL;
        st = scan(db, sh, q, k, min_score, filter, 1, 1, threads, NULL, NULL, &cand);
        if (st == MVKE_OK) {
            for (int64_t i = 0; i < q->n; i++) refined += cand[i].n;
            if (k > 0) {
                st = mvke_refine_topk(db, sh, q, cand, k, threads, out_s, out_i);
                for (int64_t i = 0; i < q->n; i++) mvke_hits_release(&cand[i]);
                mvke_free(cand);
            } else {
                st = mvke_refine_hits(db, sh, q, min_score, threads, cand);
                if (st == MVKE_OK) *lists = cand;
                else {
                    for (int64_t i = 0; i < q->n; i++) mvke_hits_release(&cand[i]);
                    mvke_free(cand);
                }
            }
            certified = st == MVKE_OK;
        }
    } else if (k == 0) {
        /* Every hit of the codes, by position, re-scored exactly. */
        st = scan(db, sh, q, 0, min_score, filter, 1, 0, threads, NULL, NULL, lists);
        if (st == MVKE_OK) {
            for (int64_t i = 0; i < q->n; i++) refined += (*lists)[i].n;
            st = mvke_refine_hits(db, sh, q, min_score, threads, *lists);
            if (st != MVKE_OK) {
                for (int64_t i = 0; i < q->n; i++) mvke_hits_release(&(*lists)[i]);
                mvke_free(*lists);
                *lists = NULL;
            }
        }
    } else {
        /* The R*k best of the codes, by position, re-scored exactly. */
        int64_t kk = k <= INT64_MAX / db->refine_R ? k * db->refine_R : INT64_MAX;
        if (kk > n) kk = n > k ? n : k;
        size_t cells;
        float *cs = NULL;
        int64_t *ci = NULL;
        mvke_hits *cand = mvke_calloc((size_t)(q->n ? q->n : 1), sizeof *cand);
        if (mvke_mul_ok((size_t)q->n, (size_t)kk, &cells)) {
            cs = mvke_malloc_array(cells ? cells : 1, sizeof *cs);
            ci = mvke_malloc_array(cells ? cells : 1, sizeof *ci);
        }
        st = cs && ci && cand ? scan(db, sh, q, kk, 0.0f, filter, 1, 0, threads, cs, ci, NULL)
                              : mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld x %lld refine candidates",
                                           (long long)q->n, (long long)kk);
        if (st == MVKE_OK) {
            for (int64_t i = 0; i < q->n; i++) { /* views of the rows of the candidate arrays */
                cand[i].s = cs + i * kk;
                cand[i].id = ci + i * kk;
                while (cand[i].n < kk && ci[i * kk + cand[i].n] >= 0) cand[i].n++;
                refined += cand[i].n;
            }
            st = mvke_refine_topk(db, sh, q, cand, k, threads, out_s, out_i);
            /* Exact when R*k covered every eligible row. */
            certified = st == MVKE_OK && kk >= n && !filter;
        }
        mvke_free(cand);
        mvke_free(cs);
        mvke_free(ci);
    }
    if (db->stats) {
        db->stats->scanned = n;
        db->stats->refined = refined;
        db->stats->certified = st == MVKE_OK && certified;
    }
    mvke_free(sh);
    return st;
}

mvke_status mvke_scan_intervals(const mvke_kdb *db, const mvke_kqueries *q, int threads, float *s, float *hi) {
    mvke_scan_shape *sh = mvke_malloc(sizeof *sh);
    int64_t *first = mvke_malloc_array((size_t)(db->nblocks ? db->nblocks : 1), sizeof *first);
    if (!sh || !first) {
        mvke_free(sh);
        mvke_free(first);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory starting a search");
    }
    shape_make(sh, &db->L, db->experts, q);
    const int64_t n = rows_of(db);
    for (int64_t b = 0, at = 0; b < db->nblocks; at += db->blocks[b++].n) first[b] = at;
    mvke_status st = MVKE_OK;
    for (int cert = 0; cert < (hi ? 2 : 1) && st == MVKE_OK; cert++) {
        mvke_hits *lists = NULL;
        st = scan(db, sh, q, 0, -INFINITY, NULL, 1, cert, threads, NULL, NULL, &lists);
        if (st != MVKE_OK) break;
        float *out = cert ? hi : s;
        for (int64_t i = 0; i < q->n; i++) {
            for (int64_t e = 0; e < lists[i].n; e++) {
                const int64_t pos = lists[i].id[e];
                out[i * n + first[mvke_scan_pos_block(pos)] + mvke_scan_pos_row(pos)] = lists[i].s[e];
            }
            mvke_hits_release(&lists[i]);
        }
        mvke_free(lists);
    }
    mvke_free(sh);
    mvke_free(first);
    return st;
}
