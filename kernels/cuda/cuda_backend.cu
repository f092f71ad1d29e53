/*
 * cuda_backend.cu - the CUDA backend behind kernels/backend.h: device-resident shards of an
 * index's rows, and the drivers of top-k and threshold searches over them. Built into the module
 * libmvke-cuda.so, whose one exported symbol (mvke_cuda_module_entry, at the end) hands the
 * registry of kernels/registry.c the table of cuda_module.h.
 *
 * Design notes.
 * 1. One backend object per index (made by mvke_index_use_gpu). It owns, per device, the
 *    resources (streams, cuBLAS handles, scratch) and a shard: a contiguous range of the rows
 *    copied to the device. The copies are refreshed when the index's change counter moves
 *    (read under the index's read lock, so it cannot move during a search). Searches on one
 *    backend take its mutex: concurrent searches are safe, and run one after the other.
 * 2. Several devices: the rows are cut into one shard per device (only when each gets at least
 *    MIN_ROWS_PER_DEVICE rows; smaller indexes stay on the first device). Each device searches
 *    its shard in its own host thread; top-k lists are merged and threshold lists concatenated
 *    and sorted on the host.
 * 3. A shard that does not fit (beyond most of the free device memory, or the configured
 *    resident_bytes) is not kept: every search streams its rows tile by tile from host memory
 *    through pinned buffers, alternating two streams so that tile t + 1 is copied while tile t
 *    is scored.
 * 4. Tag -> users (few queries, many rows): per query tile, each row tile is one cuBLAS product
 *    plus the fused normalise + select kernels of select.cuh; the two streams (lanes) keep
 *    their own running lists, merged at the end of the query tile. k above MVKE_CU_MAX_K goes
 *    to the CPU backend.
 * 5. User -> tags and batch tagging (many queries, a small resident database of at most
 *    FUSED_MAX_ROWS rows, m <= 128): the fused kernel of tagtop.cuh, with the queries streamed
 *    in chunks (a quarter of the call, between 2^13 and 2^16 queries) through pinned buffers
 *    on the two lanes - double buffering: while one lane's chunk is scored, the other's is
 *    copied in and its results copied out - and the database rows resident.
 * 6. Threshold search: per query tile a count pass and a write pass (range.cuh) over the same
 *    row tiles on one stream (so both passes see bit-identical products).
 * 7. Errors become statuses with the CUDA error string (mvke_cu_fail); nothing aborts. A
 *    search that fails leaves the backend usable: shards are marked stale and re-made.
 */
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "cuda_module.h"
#include "gemm.cuh"
#include "range.cuh"
#include "resources.cuh"
#include "select.cuh"
#include "shard.cuh"
#include "tagtop.cuh"

extern "C" {
#include "../cpu/topk.h"
}
#include "host.cuh"

#define MIN_ROWS_PER_DEVICE ((int64_t)1 << 20)
#define TQ_MAX 512
#define NUM_TILE_FLOATS ((int64_t)1 << 25) /* 128 MiB product tile per lane */
#define TU_MAX ((int64_t)1 << 22)
#define TU_STREAM_MAX ((int64_t)1 << 18)
#define CAND_BYTES_MAX ((int64_t)256 << 20)
#define FUSED_MAX_ROWS ((int64_t)1 << 16)
#define FUSED_MIN_QUERIES 64
#define FUSED_QUERY_CHUNK ((int64_t)1 << 16)
#define FUSED_MIN_CHUNK ((int64_t)1 << 13)
/* Share of the free device memory a resident shard may take when resident_bytes is 0. */
#define RESIDENT_SHARE 0.6

namespace {

struct cu_dev {
    mvke_cu_res res;
    int64_t r0, n;        /* the shard: global rows [r0, r0 + n) */
    int resident;
    mvke_cu_buf sx, sg, sid, srtr;
    mvke_cu_rows view;    /* the resident shard */
    mvke_status st;       /* failure in a worker thread, reported by the caller's thread */
    char msg[512];
};

struct cu_backend {
    mvke_backend base;    /* first: the index holds a pointer to it */
    mvke_cuda_config cfg;
    int ndev, nused;
    cu_dev *devs;
    pthread_mutex_t mu;
    int synced;
    uint64_t version;
    int64_t nrows;
    int half;
};

mvke_status dev_fail(cu_dev *dv, mvke_status st) {
    dv->st = st;
    strncpy(dv->msg, mvke_last_error(), sizeof dv->msg - 1);
    dv->msg[sizeof dv->msg - 1] = 0;
    return st;
}

void shard_release(cu_dev *dv) {
    mvke_cu_buf_release(&dv->sx);
    mvke_cu_buf_release(&dv->sg);
    mvke_cu_buf_release(&dv->sid);
    mvke_cu_buf_release(&dv->srtr);
    dv->resident = 0;
    memset(&dv->view, 0, sizeof dv->view);
}

/* Re-makes the shards when the rows changed since the last search (design note 1). */
mvke_status shards_sync(cu_backend *be, const mvke_cu_layout *L) {
    const int stale = !be->synced || !be->cfg.version || *be->cfg.version != be->version ||
                      L->nrows != be->nrows || L->half != be->half;
    if (!stale) return MVKE_OK;
    be->synced = 0;
    const int D = L->db->L.K * L->db->L.d, P = L->db->L.P;
    be->nused = L->nrows >= (int64_t)be->ndev * MIN_ROWS_PER_DEVICE ? be->ndev : 1;
    const int64_t per = (L->nrows + be->nused - 1) / be->nused;
    for (int i = 0; i < be->ndev; i++) {
        cu_dev *dv = &be->devs[i];
        const int dev = dv->res.device;
        MVKE_CU_TRY(dev, cudaSetDevice(dev));
        shard_release(dv);
        dv->r0 = i < be->nused ? (int64_t)i * per : L->nrows;
        dv->n = i < be->nused ? (L->nrows - dv->r0 < per ? L->nrows - dv->r0 : per) : 0;
        if (dv->n < 0) dv->n = 0;
        size_t free_b = 0, total_b = 0;
        MVKE_CU_TRY(dev, cudaMemGetInfo(&free_b, &total_b));
        const double limit = be->cfg.resident_bytes > 0 ? (double)be->cfg.resident_bytes
                             : be->cfg.resident_bytes < 0 ? 0.0
                                                          : RESIDENT_SHARE * (double)free_b;
        const double need = (double)dv->n * (double)mvke_cu_row_bytes(D, P, L->half);
        if (dv->n == 0) {
            dv->resident = 1;
            continue;
        }
        if (need > limit) continue; /* streamed */
        mvke_cu_rowbufs bufs = {&dv->sx, &dv->sg, &dv->sid, &dv->srtr};
        mvke_status st = mvke_cu_rows_reserve(&bufs, dv->n, D, P, L->half, dev);
        if (st == MVKE_ERR_NOMEM) {
            shard_release(dv); /* does not fit after all: streamed */
            mvke_error_clear();
            continue;
        }
        if (st != MVKE_OK) return st;
        st = mvke_cu_rows_upload(L, dv->r0, dv->n, &bufs, &dv->res.lane[0].bounce,
                                 dv->res.lane[0].stream, dev, &dv->view);
        if (st != MVKE_OK) {
            shard_release(dv);
            return st;
        }
        dv->resident = 1;
    }
    be->synced = 1;
    be->version = be->cfg.version ? *be->cfg.version : 0;
    be->nrows = L->nrows;
    be->half = L->half;
    return MVKE_OK;
}

/* Copies the allow-list to the device. */
mvke_status filter_upload(cu_dev *dv, const mvke_kfilter *f, mvke_cu_filter *out) {
    const int dev = dv->res.device;
    memset(out, 0, sizeof *out);
    if (!f) return MVKE_OK;
    cudaStream_t s = dv->res.lane[0].stream;
    if (f->bits) {
        const size_t bytes = (size_t)((f->nbits + 7) / 8);
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&dv->res.fbits, bytes, dev));
        if (bytes) MVKE_CU_TRY(dev, cudaMemcpyAsync(dv->res.fbits.p, f->bits, bytes, cudaMemcpyHostToDevice, s));
        out->kind = 1;
        out->bits = (const uint8_t *)dv->res.fbits.p;
        out->nbits = f->nbits;
    } else {
        const size_t bytes = (size_t)f->nsorted * sizeof(int64_t);
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&dv->res.fsorted, bytes, dev));
        if (bytes) MVKE_CU_TRY(dev, cudaMemcpyAsync(dv->res.fsorted.p, f->sorted, bytes, cudaMemcpyHostToDevice, s));
        out->kind = 2;
        out->sorted = (const int64_t *)dv->res.fsorted.p;
        out->nsorted = f->nsorted;
    }
    MVKE_CU_TRY(dev, cudaStreamSynchronize(s)); /* pageable sources: copies are done */
    return MVKE_OK;
}

/* Copies queries [q0, q0 + tq) with their Gram triangles to the device, computes their traces
 * (and float16 copy), on lane 0; lane 1 waits for them. */
mvke_status queries_upload(cu_dev *dv, const mvke_kqueries *q, int K, int D, int64_t q0, int tq,
                           int half) {
    const int dev = dv->res.device, P = mvke_gram_size(K);
    mvke_cu_res *r = &dv->res;
    cudaStream_t s = r->lane[0].stream;
    MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->q, (size_t)tq * D * 4, dev));
    MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->gq, (size_t)tq * P * 4, dev));
    MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->qtr, (size_t)tq * 4, dev));
    if (half) MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->qh, (size_t)tq * D * 2, dev));
    MVKE_CU_TRY(dev, cudaMemcpyAsync(r->q.p, q->x + (size_t)q0 * D, (size_t)tq * D * 4, cudaMemcpyHostToDevice, s));
    MVKE_CU_TRY(dev, cudaMemcpyAsync(r->gq.p, q->gram + (size_t)q0 * P, (size_t)tq * P * 4, cudaMemcpyHostToDevice, s));
    MVKE_OK_OR_RETURN(mvke_cu_traces((const float *)r->gq.p, tq, K, (float *)r->qtr.p, s, dev));
    if (half) MVKE_OK_OR_RETURN(mvke_cu_to_half((const float *)r->q.p, (__half *)r->qh.p, (int64_t)tq * D, s, dev));
    MVKE_CU_TRY(dev, cudaEventRecord(r->lane[0].done, s));
    MVKE_CU_TRY(dev, cudaStreamWaitEvent(r->lane[1].stream, r->lane[0].done, 0));
    return MVKE_OK;
}

/* The rows of tile [u0, u0 + n) of the device's shard, resident or streamed into lane ln. */
mvke_status tile_rows(cu_dev *dv, const mvke_cu_layout *L, mvke_cu_lane *ln, int64_t u0, int64_t n,
                      mvke_cu_rows *rows) {
    const int D = L->db->L.K * L->db->L.d, P = L->db->L.P;
    if (dv->resident) {
        *rows = mvke_cu_rows_slice(&dv->view, u0, n, D, P);
        return MVKE_OK;
    }
    const int dev = dv->res.device;
    MVKE_CU_TRY(dev, cudaStreamSynchronize(ln->stream)); /* the lane's staging is free again */
    mvke_cu_rowbufs bufs = {&ln->tx, &ln->tg, &ln->tid, &ln->trtr};
    MVKE_OK_OR_RETURN(mvke_cu_rows_reserve(&bufs, n, D, P, L->half, dev));
    return mvke_cu_rows_stage(L, dv->r0 + u0, n, &bufs, &ln->bounce, ln->stream, dev, rows);
}

/* Rows per tile for tq queries. */
int64_t tile_rows_for(const cu_dev *dv, int64_t tq, int64_t k, int64_t chunk) {
    int64_t tu = dv->resident ? TU_MAX : TU_STREAM_MAX;
    if (tu > NUM_TILE_FLOATS / tq) tu = NUM_TILE_FLOATS / tq;
    if (k > 0) {
        const int64_t chunks = CAND_BYTES_MAX / (tq * k * 12);
        if (tu > chunks * chunk) tu = chunks * chunk;
        if (tu < chunk) tu = chunk;
    }
    const int64_t n = dv->n > 0 ? dv->n : 1;
    if (tu > n) tu = n;
    return tu;
}

/* Design note 5: the fused kernel with queries streamed through both lanes. */
mvke_status dev_tagtop(cu_dev *dv, const mvke_cu_layout *L, const mvke_kqueries *q, int64_t k,
                       const mvke_cu_filter *filter, float *out_s, int64_t *out_i) {
    const int dev = dv->res.device, K = L->db->L.K, d = L->db->L.d, D = K * d, P = mvke_gram_size(K);
    /* At least four chunks when there are enough queries, so that the two lanes overlap the
     * copies of one chunk with the kernel of the other even for one block of a batch job. */
    int64_t qc = (q->n + 3) / 4;
    if (qc < FUSED_MIN_CHUNK) qc = FUSED_MIN_CHUNK;
    if (qc > FUSED_QUERY_CHUNK) qc = FUSED_QUERY_CHUNK;
    if (qc > q->n) qc = q->n;
    const size_t qbytes = (size_t)qc * D * 4, gbytes = (size_t)qc * P * 4;
    const size_t obytes = (size_t)qc * k * (4 + 8);
    for (int l = 0; l < 2; l++) {
        mvke_cu_lane *ln = &dv->res.lane[l];
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->tx, qbytes, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->tg, gbytes, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->trtr, (size_t)qc * 4, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->out_s, (size_t)qc * k * 4, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->out_id, (size_t)qc * k * 8, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve_host(&ln->bounce, qbytes + gbytes, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve_host(&ln->bounce_out, obytes, dev));
    }
    int64_t pend_q0[2] = {-1, -1}, pend_n[2] = {0, 0};
    int64_t c = 0;
    for (int64_t q0 = 0;; q0 += qc, c++) {
        const int l = (int)(c & 1);
        mvke_cu_lane *ln = &dv->res.lane[l];
        MVKE_CU_TRY(dev, cudaStreamSynchronize(ln->stream));
        if (pend_q0[l] >= 0) { /* results of the chunk before last on this lane */
            const int64_t *hi = (const int64_t *)ln->bounce_out.p; /* ids first: aligned */
            const float *hs = (const float *)(hi + (size_t)qc * k);
            memcpy(out_s + pend_q0[l] * k, hs, (size_t)pend_n[l] * k * 4);
            memcpy(out_i + pend_q0[l] * k, hi, (size_t)pend_n[l] * k * 8);
            pend_q0[l] = -1;
        }
        if (q0 >= q->n) {
            if (pend_q0[1 - l] < 0) break;
            continue; /* drain the other lane */
        }
        const int64_t n = q->n - q0 < qc ? q->n - q0 : qc;
        char *hq = (char *)ln->bounce.p;
        memcpy(hq, q->x + (size_t)q0 * D, (size_t)n * D * 4);
        memcpy(hq + qbytes, q->gram + (size_t)q0 * P, (size_t)n * P * 4);
        MVKE_CU_TRY(dev, cudaMemcpyAsync(ln->tx.p, hq, (size_t)n * D * 4, cudaMemcpyHostToDevice, ln->stream));
        MVKE_CU_TRY(dev, cudaMemcpyAsync(ln->tg.p, hq + qbytes, (size_t)n * P * 4, cudaMemcpyHostToDevice, ln->stream));
        MVKE_OK_OR_RETURN(mvke_cu_traces((const float *)ln->tg.p, n, K, (float *)ln->trtr.p, ln->stream, dev));
        MVKE_OK_OR_RETURN(mvke_cu_tagtop((const float *)ln->tx.p, (const float *)ln->tg.p,
                                         (const float *)ln->trtr.p, n, &dv->view, K, d, filter, k,
                                         (float *)ln->out_s.p, (int64_t *)ln->out_id.p, ln->stream, dev));
        int64_t *hi = (int64_t *)ln->bounce_out.p;
        float *hs = (float *)(hi + (size_t)qc * k);
        MVKE_CU_TRY(dev, cudaMemcpyAsync(hs, ln->out_s.p, (size_t)n * k * 4, cudaMemcpyDeviceToHost, ln->stream));
        MVKE_CU_TRY(dev, cudaMemcpyAsync(hi, ln->out_id.p, (size_t)n * k * 8, cudaMemcpyDeviceToHost, ln->stream));
        pend_q0[l] = q0;
        pend_n[l] = n;
    }
    return MVKE_OK;
}

/* Top-k over one device's shard into out (nq * k). */
mvke_status dev_knn(const cu_backend *be, cu_dev *dv, const mvke_cu_layout *L,
                    const mvke_kqueries *q, int64_t k, const mvke_kfilter *f, float *out_s,
                    int64_t *out_i) {
    const int dev = dv->res.device, K = L->db->L.K, D = K * L->db->L.d, P = mvke_gram_size(K);
    MVKE_CU_TRY(dev, cudaSetDevice(dev));
    if (dv->n == 0) {
        for (int64_t i = 0; i < q->n * k; i++) {
            out_s[i] = -INFINITY;
            out_i[i] = -1;
        }
        return MVKE_OK;
    }
    mvke_cu_filter filter;
    MVKE_OK_OR_RETURN(filter_upload(dv, f, &filter));
    if (be->nused == 1 && dv->resident && dv->n <= FUSED_MAX_ROWS && q->n >= FUSED_MIN_QUERIES &&
        mvke_cu_tagtop_tile_rows(D, P, k) > 0)
        return dev_tagtop(dv, L, q, k, &filter, out_s, out_i);

    const int64_t TQ = q->n < TQ_MAX ? q->n : TQ_MAX;
    const int64_t chunk = mvke_cu_select_chunk(k);
    const int64_t TU = tile_rows_for(dv, TQ, k, chunk);
    const int64_t nch = (TU + chunk - 1) / chunk;
    for (int l = 0; l < 2; l++) {
        mvke_cu_lane *ln = &dv->res.lane[l];
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->num, (size_t)TU * TQ * 4, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->cand_s, (size_t)TQ * nch * k * 4, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->cand_id, (size_t)TQ * nch * k * 8, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->run_s, (size_t)TQ * k * 4, dev));
        MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->run_id, (size_t)TQ * k * 8, dev));
    }
    mvke_cu_lane *l0 = &dv->res.lane[0], *l1 = &dv->res.lane[1];
    for (int64_t q0 = 0; q0 < q->n; q0 += TQ) {
        const int tq = (int)(q->n - q0 < TQ ? q->n - q0 : TQ);
        MVKE_OK_OR_RETURN(queries_upload(dv, q, K, D, q0, tq, L->half));
        for (int l = 0; l < 2; l++) {
            mvke_cu_lane *ln = &dv->res.lane[l];
            MVKE_OK_OR_RETURN(mvke_cu_select_clear((float *)ln->run_s.p, (int64_t *)ln->run_id.p,
                                                   (int64_t)tq * k, ln->stream, dev));
        }
        int64_t t = 0;
        for (int64_t u0 = 0; u0 < dv->n; u0 += TU, t++) {
            mvke_cu_lane *ln = &dv->res.lane[t & 1];
            const int64_t n = dv->n - u0 < TU ? dv->n - u0 : TU;
            mvke_cu_rows rows;
            MVKE_OK_OR_RETURN(tile_rows(dv, L, ln, u0, n, &rows));
            MVKE_OK_OR_RETURN(mvke_cu_gemm_num(ln->blas, &rows, D, (const float *)dv->res.q.p,
                                               (const __half *)dv->res.qh.p, tq, (float *)ln->num.p,
                                               be->cfg.tf32, dev));
            mvke_cu_select_args a;
            a.num = (const float *)ln->num.p;
            a.ld = n;
            a.rows = rows;
            a.gq = (const float *)dv->res.gq.p;
            a.qtr = (const float *)dv->res.qtr.p;
            a.tq = tq;
            a.P = P;
            a.filter = filter;
            a.k = k;
            a.chunk = chunk;
            a.nchunks = (int)((n + chunk - 1) / chunk);
            a.run_s = (float *)ln->run_s.p;
            a.run_id = (int64_t *)ln->run_id.p;
            a.cand_s = (float *)ln->cand_s.p;
            a.cand_id = (int64_t *)ln->cand_id.p;
            MVKE_OK_OR_RETURN(mvke_cu_select_tile(&a, ln->stream, dev));
        }
        MVKE_CU_TRY(dev, cudaEventRecord(l1->done, l1->stream));
        MVKE_CU_TRY(dev, cudaStreamWaitEvent(l0->stream, l1->done, 0));
        MVKE_OK_OR_RETURN(mvke_cu_select_merge((float *)l0->run_s.p, (int64_t *)l0->run_id.p,
                                               (const float *)l1->run_s.p, (const int64_t *)l1->run_id.p,
                                               tq, k, l0->stream, dev));
        MVKE_CU_TRY(dev, cudaMemcpyAsync(out_s + q0 * k, l0->run_s.p, (size_t)tq * k * 4, cudaMemcpyDeviceToHost, l0->stream));
        MVKE_CU_TRY(dev, cudaMemcpyAsync(out_i + q0 * k, l0->run_id.p, (size_t)tq * k * 8, cudaMemcpyDeviceToHost, l0->stream));
        MVKE_CU_TRY(dev, cudaStreamSynchronize(l0->stream));
    }
    return MVKE_OK;
}

/* Unsorted threshold hits of one device: list j is [lims[j], lims[j+1]). */
mvke_status dev_range(const cu_backend *be, cu_dev *dv, const mvke_cu_layout *L,
                      const mvke_kqueries *q, float min_score, const mvke_kfilter *f,
                      mvke_kranges *out) {
    const int dev = dv->res.device, K = L->db->L.K, D = K * L->db->L.d, P = mvke_gram_size(K);
    memset(out, 0, sizeof *out);
    out->nq = q->n;
    out->lims = (int64_t *)mvke_calloc((size_t)q->n + 1, sizeof(int64_t));
    if (!out->lims) return mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld threshold lists", (long long)q->n);
    MVKE_CU_TRY(dev, cudaSetDevice(dev));
    if (dv->n == 0) return MVKE_OK;
    mvke_cu_filter filter;
    MVKE_OK_OR_RETURN(filter_upload(dv, f, &filter));
    const int64_t TQ = q->n < TQ_MAX ? q->n : TQ_MAX;
    const int64_t TU = tile_rows_for(dv, TQ, 0, 1);
    mvke_cu_res *r = &dv->res;
    mvke_cu_lane *ln = &r->lane[0];
    MVKE_OK_OR_RETURN(mvke_cu_reserve(&ln->num, (size_t)TU * TQ * 4, dev));
    MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->count, (size_t)TQ * 8, dev));
    MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->cursor, (size_t)TQ * 16, dev));
    int64_t *hcount = (int64_t *)mvke_malloc_array((size_t)TQ * 3, sizeof(int64_t));
    if (!hcount) return mvke_error(MVKE_ERR_NOMEM, "out of memory for threshold counters");
    int64_t total = 0, cap = 0;
    mvke_status st = MVKE_OK;
    for (int64_t q0 = 0; q0 < q->n && st == MVKE_OK; q0 += TQ) {
        const int tq = (int)(q->n - q0 < TQ ? q->n - q0 : TQ);
        mvke_cu_range_args a;
        memset(&a, 0, sizeof a);
        a.gq = (const float *)r->gq.p;
        a.tq = tq;
        a.P = P;
        a.filter = filter;
        a.min_score = min_score;
        a.count = (unsigned long long *)r->count.p;
        a.cursor = (unsigned long long *)r->cursor.p;
        a.offset = (const int64_t *)((unsigned long long *)r->cursor.p + TQ);
        auto pass = [&](int write) -> mvke_status {
            for (int64_t u0 = 0; u0 < dv->n; u0 += TU) {
                const int64_t n = dv->n - u0 < TU ? dv->n - u0 : TU;
                mvke_cu_rows rows;
                MVKE_OK_OR_RETURN(tile_rows(dv, L, ln, u0, n, &rows));
                MVKE_OK_OR_RETURN(mvke_cu_gemm_num(ln->blas, &rows, D, (const float *)r->q.p,
                                                   (const __half *)r->qh.p, tq, (float *)ln->num.p,
                                                   be->cfg.tf32, dev));
                a.num = (const float *)ln->num.p;
                a.ld = n;
                a.rows = rows;
                a.qtr = (const float *)r->qtr.p;
                MVKE_OK_OR_RETURN(write ? mvke_cu_range_write(&a, ln->stream, dev)
                                        : mvke_cu_range_count(&a, ln->stream, dev));
            }
            return MVKE_OK;
        };
        auto body = [&]() -> mvke_status {
            MVKE_OK_OR_RETURN(queries_upload(dv, q, K, D, q0, tq, L->half));
            MVKE_CU_TRY(dev, cudaMemsetAsync(r->count.p, 0, (size_t)tq * 8, ln->stream));
            MVKE_OK_OR_RETURN(pass(0));
            MVKE_CU_TRY(dev, cudaMemcpyAsync(hcount, r->count.p, (size_t)tq * 8, cudaMemcpyDeviceToHost, ln->stream));
            MVKE_CU_TRY(dev, cudaStreamSynchronize(ln->stream));
            int64_t *hoff = hcount + TQ, tile_total = 0;
            for (int j = 0; j < tq; j++) {
                hoff[j] = tile_total;
                tile_total += hcount[j];
            }
            if (tile_total > 0) {
                if (total + tile_total > cap) {
                    int64_t ncap = cap ? cap : 1024;
                    while (ncap < total + tile_total) ncap *= 2;
                    int64_t *ni = (int64_t *)mvke_realloc(out->ids, (size_t)ncap * sizeof(int64_t));
                    if (ni) out->ids = ni;
                    float *ns = ni ? (float *)mvke_realloc(out->scores, (size_t)ncap * sizeof(float)) : NULL;
                    if (!ni || !ns)
                        return mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld threshold hits", (long long)(total + tile_total));
                    out->scores = ns;
                    cap = ncap;
                }
                MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->hit_s, (size_t)tile_total * 4, dev));
                MVKE_OK_OR_RETURN(mvke_cu_reserve(&r->hit_id, (size_t)tile_total * 8, dev));
                a.hit_s = (float *)r->hit_s.p;
                a.hit_id = (int64_t *)r->hit_id.p;
                MVKE_CU_TRY(dev, cudaMemcpyAsync((void *)a.offset, hoff, (size_t)tq * 8, cudaMemcpyHostToDevice, ln->stream));
                MVKE_CU_TRY(dev, cudaMemsetAsync(r->cursor.p, 0, (size_t)tq * 8, ln->stream));
                MVKE_OK_OR_RETURN(pass(1));
                MVKE_CU_TRY(dev, cudaMemcpyAsync(out->scores + total, r->hit_s.p, (size_t)tile_total * 4, cudaMemcpyDeviceToHost, ln->stream));
                MVKE_CU_TRY(dev, cudaMemcpyAsync(out->ids + total, r->hit_id.p, (size_t)tile_total * 8, cudaMemcpyDeviceToHost, ln->stream));
                int64_t *hcur = hcount + 2 * TQ;
                MVKE_CU_TRY(dev, cudaMemcpyAsync(hcur, r->cursor.p, (size_t)tq * 8, cudaMemcpyDeviceToHost, ln->stream));
                MVKE_CU_TRY(dev, cudaStreamSynchronize(ln->stream));
                for (int j = 0; j < tq; j++)
                    if (hcur[j] != hcount[j])
                        return mvke_error(MVKE_ERR_BACKEND,
                                          "device %d: threshold query %lld counted %lld hits but wrote %lld",
                                          dev, (long long)(q0 + j), (long long)hcount[j], (long long)hcur[j]);
            }
            for (int j = 0; j < tq; j++) out->lims[q0 + j + 1] = total + hoff[j] + hcount[j];
            total += tile_total;
            return MVKE_OK;
        };
        st = body();
    }
    mvke_free(hcount);
    return st;
}

void backend_release(const mvke_backend *self) {
    cu_backend *be = (cu_backend *)self;
    if (!be) return;
    for (int i = 0; i < be->ndev; i++) {
        if (cudaSetDevice(be->devs[i].res.device) == cudaSuccess) shard_release(&be->devs[i]);
        mvke_cu_res_release(&be->devs[i].res);
    }
    cudaGetLastError();
    mvke_free(be->devs);
    pthread_mutex_destroy(&be->mu);
    mvke_free(be);
}

/* Runs fn on every device in use, one host thread each, and reports the first failure on the
 * calling thread. */
template <typename F> mvke_status each_device(cu_backend *be, F fn) {
    const int nu = be->nused;
    for (int i = 0; i < nu; i++) be->devs[i].st = MVKE_OK;
#pragma omp parallel for num_threads(nu) schedule(static, 1) if (nu > 1)
    for (int i = 0; i < nu; i++) {
        mvke_status st = fn(i);
        if (st != MVKE_OK) dev_fail(&be->devs[i], st);
    }
    for (int i = 0; i < nu; i++)
        if (be->devs[i].st != MVKE_OK) {
            be->synced = 0; /* re-made at the next search */
            return mvke_error(be->devs[i].st, "%s", be->devs[i].msg);
        }
    return MVKE_OK;
}

/* What the devices do not take: codec storages (scored from their codes and refined by the CPU
 * driver) and allow-lists given as a callback (host code). */
bool cpu_only(const mvke_kdb *db, const mvke_kfilter *filter) {
    return db->L.storage == MVKE_STORAGE_SQ8 || db->L.storage == MVKE_STORAGE_PQ || (filter && filter->member);
}

mvke_status cu_knn(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q, int64_t k,
                   const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i) {
    cu_backend *be = (cu_backend *)self;
    if (k > MVKE_CU_MAX_K || cpu_only(db, filter)) { /* the device selector's limit: the CPU backend has none */
        const mvke_backend *cpu = mvke_backend_cpu();
        return cpu->knn(cpu, db, q, k, filter, threads, out_s, out_i);
    }
    if (q->n == 0) return MVKE_OK;
    mvke_cu_layout L;
    MVKE_OK_OR_RETURN(mvke_cu_layout_make(&L, db));
    pthread_mutex_lock(&be->mu);
    mvke_status st = shards_sync(be, &L);
    if (st != MVKE_OK) be->synced = 0;
    float *tmp_s = NULL;
    int64_t *tmp_i = NULL;
    if (st == MVKE_OK && be->nused > 1) {
        tmp_s = (float *)mvke_malloc_array((size_t)be->nused * q->n * k, sizeof(float));
        tmp_i = (int64_t *)mvke_malloc_array((size_t)be->nused * q->n * k, sizeof(int64_t));
        if (!tmp_s || !tmp_i) st = mvke_error(MVKE_ERR_NOMEM, "out of memory merging %d devices", be->nused);
    }
    if (st == MVKE_OK) {
        const size_t per = (size_t)q->n * k;
        st = each_device(be, [&](int i) {
            return dev_knn(be, &be->devs[i], &L, q, k, filter, tmp_s ? tmp_s + i * per : out_s,
                           tmp_i ? tmp_i + i * per : out_i);
        });
        if (st == MVKE_OK && tmp_s) {
            for (int64_t j = 0; j < q->n; j++) {
                mvke_topk h;
                mvke_topk_init(&h, out_s + j * k, out_i + j * k, k);
                for (int i = 0; i < be->nused; i++)
                    for (int64_t e = 0; e < k; e++) {
                        const size_t at = i * per + (size_t)j * k + e;
                        if (tmp_i[at] >= 0 && mvke_topk_admits(&h, tmp_s[at], tmp_i[at]))
                            mvke_topk_push(&h, tmp_s[at], tmp_i[at]);
                    }
                mvke_topk_finish(&h);
            }
        }
    }
    pthread_mutex_unlock(&be->mu);
    mvke_free(tmp_s);
    mvke_free(tmp_i);
    mvke_cu_layout_release(&L);
    return st;
}

mvke_status cu_range(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q,
                     float min_score, const mvke_kfilter *filter, int threads, mvke_kranges *out) {
    cu_backend *be = (cu_backend *)self;
    if (cpu_only(db, filter)) {
        const mvke_backend *cpu = mvke_backend_cpu();
        return cpu->range(cpu, db, q, min_score, filter, threads, out);
    }
    memset(out, 0, sizeof *out);
    if (q->n == 0) { /* no queries: one empty offset list */
        out->lims = (int64_t *)mvke_calloc(1, sizeof(int64_t));
        out->ids = (int64_t *)mvke_malloc(sizeof(int64_t));
        out->scores = (float *)mvke_malloc(sizeof(float));
        if (!out->lims || !out->ids || !out->scores) {
            mvke_kranges_release(out);
            return mvke_error(MVKE_ERR_NOMEM, "out of memory for an empty threshold result");
        }
        return MVKE_OK;
    }
    mvke_cu_layout L;
    MVKE_OK_OR_RETURN(mvke_cu_layout_make(&L, db));
    mvke_kranges *parts = (mvke_kranges *)mvke_calloc((size_t)be->ndev, sizeof *parts);
    if (!parts) {
        mvke_cu_layout_release(&L);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory for threshold results");
    }
    pthread_mutex_lock(&be->mu);
    mvke_status st = shards_sync(be, &L);
    if (st != MVKE_OK) be->synced = 0;
    if (st == MVKE_OK)
        st = each_device(be, [&](int i) {
            return dev_range(be, &be->devs[i], &L, q, min_score, filter, &parts[i]);
        });
    pthread_mutex_unlock(&be->mu);
    /* Concatenate the devices' lists per query, then sort each (score desc, id asc). */
    if (st == MVKE_OK) {
        int64_t total = 0;
        for (int i = 0; i < be->nused; i++) total += parts[i].lims ? parts[i].lims[q->n] : 0;
        if ((st = mvke_kranges_alloc(out, q->n, total)) == MVKE_OK) {
            int64_t at = 0;
            for (int64_t j = 0; j < q->n; j++) {
                out->lims[j] = at;
                const int64_t start = at;
                for (int i = 0; i < be->nused; i++) {
                    const mvke_kranges *p = &parts[i];
                    const int64_t a = p->lims[j], b = p->lims[j + 1];
                    if (b > a) {
                        memcpy(out->ids + at, p->ids + a, (size_t)(b - a) * sizeof(int64_t));
                        memcpy(out->scores + at, p->scores + a, (size_t)(b - a) * sizeof(float));
                    }
                    at += b - a;
                }
                mvke_pairs_sort(out->scores + start, out->ids + start, at - start);
            }
            out->lims[q->n] = at;
        }
    }
    for (int i = 0; i < be->ndev; i++) mvke_kranges_release(&parts[i]);
    mvke_free(parts);
    mvke_cu_layout_release(&L);
    return st;
}

/* Why no device can be used, into the error message; returns the device count or -1. */
int visible_devices(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        const char *what = e == cudaErrorInsufficientDriver ? "the CUDA driver is missing or older than the runtime"
                           : e == cudaErrorNoDevice         ? "no CUDA device"
                                                            : "the CUDA driver cannot be used";
        mvke_error(MVKE_ERR_UNSUPPORTED, "%s (%s: %s); searches stay on the CPU backend", what,
                   cudaGetErrorName(e), cudaGetErrorString(e));
        return -1;
    }
    if (n == 0) {
        mvke_error(MVKE_ERR_UNSUPPORTED, "no CUDA device is visible; searches stay on the CPU backend");
        return -1;
    }
    return n;
}

mvke_status module_device_count(int *n) {
    if (!n) return mvke_error(MVKE_ERR_INVALID, "n is NULL");
    const int c = visible_devices();
    *n = c > 0 ? c : 0;
    return c > 0 ? MVKE_OK : MVKE_ERR_UNSUPPORTED;
}

mvke_status module_backend_new(const mvke_cuda_config *cfg, const mvke_backend **out) {
    if (!out || !cfg) return mvke_error(MVKE_ERR_INVALID, "cfg or out is NULL");
    *out = NULL;
    const int count = visible_devices();
    if (count < 0) return MVKE_ERR_UNSUPPORTED;
    if (cfg->device >= count)
        return mvke_error(MVKE_ERR_UNSUPPORTED,
                          "CUDA device %d does not exist (%d visible); searches stay on the CPU backend",
                          cfg->device, count);
    if (cfg->device < -1) return mvke_error(MVKE_ERR_INVALID, "device = %d", cfg->device);
    const int ndev = cfg->device < 0 ? count : 1;
    for (int i = 0; i < ndev; i++) {
        const int dev = cfg->device < 0 ? i : cfg->device;
        cudaDeviceProp prop;
        cudaError_t e = cudaGetDeviceProperties(&prop, dev);
        if (e != cudaSuccess) return mvke_cu_fail(e, "cudaGetDeviceProperties", dev);
        if (prop.major < 8)
            return mvke_error(MVKE_ERR_UNSUPPORTED,
                              "CUDA device %d (%s) has compute capability %d.%d; this library's "
                              "kernels need 8.0 or newer; searches stay on the CPU backend",
                              dev, prop.name, prop.major, prop.minor);
    }
    cu_backend *be = (cu_backend *)mvke_calloc(1, sizeof *be);
    cu_dev *devs = (cu_dev *)mvke_calloc((size_t)ndev, sizeof *devs);
    if (!be || !devs) {
        mvke_free(be);
        mvke_free(devs);
        return mvke_error(MVKE_ERR_NOMEM, "out of memory creating the CUDA backend");
    }
    be->base.name = "cuda";
    be->base.knn = cu_knn;
    be->base.range = cu_range;
    be->base.release = backend_release;
    be->cfg = *cfg;
    be->devs = devs;
    be->nused = 1;
    pthread_mutex_init(&be->mu, NULL);
    mvke_status st = MVKE_OK;
    for (int i = 0; i < ndev && st == MVKE_OK; i++) {
        const int dev = cfg->device < 0 ? i : cfg->device;
        st = mvke_cu_res_init(&devs[i].res, dev, cfg->tf32);
        if (st == MVKE_OK) {
            be->ndev = i + 1;
            st = mvke_cu_select_setup(dev);
        }
    }
    if (st != MVKE_OK) {
        char msg[512];
        strncpy(msg, mvke_last_error(), sizeof msg - 1);
        msg[sizeof msg - 1] = 0;
        backend_release(&be->base);
        return mvke_error(st, "%s", msg);
    }
    *out = &be->base;
    return MVKE_OK;
}

const mvke_cuda_module the_module = {MVKE_CUDA_MODULE_ABI, sizeof(mvke_cuda_module), MVKE_VERSION,
                                     module_device_count, module_backend_new};

} // namespace

/* The module's one exported symbol (the rest is hidden: -fvisibility=hidden). */
extern "C" __attribute__((visibility("default"))) const mvke_cuda_module *mvke_cuda_module_entry(const mvke_cuda_host *host) {
    return mvke_cuda_host_set(host) == 0 ? &the_module : NULL;
}
