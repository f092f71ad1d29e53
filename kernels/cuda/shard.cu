/*
 * shard.cu - staging database rows to a device (see shard.cuh).
 */
#include <string.h>

#include "shard.cuh"

#define ALIGN_UP(x) (((x) + 255) & ~(size_t)255)
/* Rows per piece when a resident shard is uploaded through a bounce buffer. */
#define UPLOAD_PIECE_ROWS ((int64_t)1 << 16)

mvke_cu_rows mvke_cu_rows_slice(const mvke_cu_rows *r, int64_t off, int64_t n, int D, int P) {
    mvke_cu_rows v = *r;
    const size_t es = r->half ? sizeof(__half) : sizeof(float);
    v.x = (const char *)r->x + (size_t)off * (size_t)D * es;
    v.gram = r->gram + (size_t)off * (size_t)P;
    v.ids = r->ids + off;
    v.rtr = r->rtr + off;
    v.n = n;
    return v;
}

mvke_status mvke_cu_layout_make(mvke_cu_layout *L, const mvke_kdb *db) {
    memset(L, 0, sizeof *L);
    L->db = db;
    L->start = (int64_t *)mvke_malloc_array((size_t)db->nblocks + 1, sizeof(int64_t));
    if (!L->start) return mvke_error(MVKE_ERR_NOMEM, "out of memory laying out %lld blocks", (long long)db->nblocks);
    int64_t at = 0;
    for (int64_t b = 0; b < db->nblocks; b++) {
        L->start[b] = at;
        at += db->blocks[b].n;
    }
    L->start[db->nblocks] = at;
    L->nrows = at;
    /* float16 rows stay float16 on the device; bfloat16 rows are widened to float32. */
    L->half = db->L.storage == MVKE_STORAGE_F16;
    return MVKE_OK;
}

void mvke_cu_layout_release(mvke_cu_layout *L) {
    mvke_free(L->start);
    L->start = NULL;
}

size_t mvke_cu_row_bytes(int D, int P, int half) {
    return (size_t)D * (half ? 2 : 4) + (size_t)P * 4 + 8 + 4;
}

mvke_status mvke_cu_rows_reserve(const mvke_cu_rowbufs *bufs, int64_t n, int D, int P, int half,
                                 int device) {
    const size_t nn = (size_t)(n > 0 ? n : 1);
    MVKE_OK_OR_RETURN(mvke_cu_reserve(bufs->x, nn * (size_t)D * (half ? 2 : 4), device));
    MVKE_OK_OR_RETURN(mvke_cu_reserve(bufs->gram, nn * (size_t)P * 4, device));
    MVKE_OK_OR_RETURN(mvke_cu_reserve(bufs->ids, nn * 8, device));
    MVKE_OK_OR_RETURN(mvke_cu_reserve(bufs->rtr, nn * 4, device));
    return MVKE_OK;
}

__global__ void mvke_cu_traces_kernel(const float *__restrict__ gram, int64_t n, int K, int P,
                                      float *__restrict__ rtr) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float *t = gram + i * P;
    float s = 0.0f;
    int p = 0;
    for (int k = 0; k < K; k++) {
        s = __fadd_rn(s, t[p]); /* no contraction: the CPU sums the same way */
        p += K - k;
    }
    rtr[i] = s;
}

mvke_status mvke_cu_traces(const float *gram, int64_t n, int K, float *rtr, cudaStream_t stream,
                           int device) {
    if (n <= 0) return MVKE_OK;
    const int P = mvke_gram_size(K);
    const unsigned blocks = (unsigned)((n + 255) / 256);
    mvke_cu_traces_kernel<<<blocks, 256, 0, stream>>>(gram, n, K, P, rtr);
    MVKE_CU_LAUNCHED(device, "the trace kernel");
    return MVKE_OK;
}

/* Converts host rows [a, a + n) of one block into the staging layout: n row-major rows of D
 * values (float16 when the shard is half, else float32), n Gram triangles, n ids. This is the
 * only code of the CUDA backend that reads a block's rows: the host blocks are in the
 * expert-major layout of kernels/layout.h, and each row is read out of it (bfloat16 widened). */
static void stage_piece(const mvke_kdb *db, const mvke_kblock *b, int64_t a, int64_t n, int D, int P, int half,
                        char *x, float *gram, int64_t *ids) {
    float *row = (float *)mvke_malloc_array((size_t)D, sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        float *dst = half ? row : (float *)x + (size_t)i * D;
        if (!row) break; /* out of memory: the caller's buffers keep zeros for these rows */
        mvke_layout_get(&db->L, b->data, b->cap, a + i, dst, gram + (size_t)i * P);
        if (half) mvke_half_from_float(row, (uint16_t *)x + (size_t)i * D, (size_t)D);
    }
    mvke_free(row);
    memcpy(ids, b->ids + a, (size_t)n * sizeof(int64_t));
}

mvke_status mvke_cu_rows_stage(const mvke_cu_layout *L, int64_t r0, int64_t n,
                               const mvke_cu_rowbufs *bufs, mvke_cu_hostbuf *bounce,
                               cudaStream_t stream, int device, mvke_cu_rows *view) {
    const mvke_kdb *db = L->db;
    const int D = db->L.K * db->L.d, P = db->L.P, half = L->half;
    const size_t es = half ? 2 : 4, nn = (size_t)(n > 0 ? n : 0);
    const size_t xb = ALIGN_UP(nn * D * es), gb = ALIGN_UP(nn * P * 4), ib = ALIGN_UP(nn * 8);
    MVKE_OK_OR_RETURN(mvke_cu_reserve_host(bounce, xb + gb + ib, device));
    char *hx = (char *)bounce->p;
    float *hg = (float *)(hx + xb);
    int64_t *hi = (int64_t *)(hx + xb + gb);

    /* The block pieces of [r0, r0 + n), converted in parallel: this host copy is on the
     * critical path of streamed searches. */
    int64_t b0 = 0;
    while (b0 < db->nblocks && L->start[b0 + 1] <= r0) b0++;
    int64_t b1 = b0;
    while (b1 < db->nblocks && L->start[b1] < r0 + n) b1++;
    const int64_t chunk = 4096;
    for (int64_t b = b0; b < b1; b++) {
        const int64_t lo = r0 > L->start[b] ? r0 : L->start[b];
        const int64_t hi_ = r0 + n < L->start[b + 1] ? r0 + n : L->start[b + 1];
        const int64_t pieces = (hi_ - lo + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (pieces > 4)
        for (int64_t c = 0; c < pieces; c++) {
            const int64_t g = lo + c * chunk, m = hi_ - g < chunk ? hi_ - g : chunk;
            const int64_t at = g - r0;
            stage_piece(db, &db->blocks[b], g - L->start[b], m, D, P, half, hx + (size_t)at * D * es,
                        hg + (size_t)at * P, hi + at);
        }
    }
    if (n > 0) {
        MVKE_CU_TRY(device, cudaMemcpyAsync(bufs->x->p, hx, nn * D * es, cudaMemcpyHostToDevice, stream));
        MVKE_CU_TRY(device, cudaMemcpyAsync(bufs->gram->p, hg, nn * P * 4, cudaMemcpyHostToDevice, stream));
        MVKE_CU_TRY(device, cudaMemcpyAsync(bufs->ids->p, hi, nn * 8, cudaMemcpyHostToDevice, stream));
        MVKE_OK_OR_RETURN(mvke_cu_traces((const float *)bufs->gram->p, n, db->L.K, (float *)bufs->rtr->p,
                                         stream, device));
    }
    view->x = bufs->x->p;
    view->half = half;
    view->gram = (const float *)bufs->gram->p;
    view->ids = (const int64_t *)bufs->ids->p;
    view->rtr = (const float *)bufs->rtr->p;
    view->n = n;
    return MVKE_OK;
}

mvke_status mvke_cu_rows_upload(const mvke_cu_layout *L, int64_t r0, int64_t n,
                                const mvke_cu_rowbufs *bufs, mvke_cu_hostbuf *bounce,
                                cudaStream_t stream, int device, mvke_cu_rows *view) {
    const int D = L->db->L.K * L->db->L.d, P = L->db->L.P;
    const size_t es = L->half ? 2 : 4;
    mvke_cu_rows whole = {bufs->x->p, L->half, (const float *)bufs->gram->p,
                          (const int64_t *)bufs->ids->p, (const float *)bufs->rtr->p, n};
    for (int64_t at = 0; at < n; at += UPLOAD_PIECE_ROWS) {
        const int64_t m = n - at < UPLOAD_PIECE_ROWS ? n - at : UPLOAD_PIECE_ROWS;
        /* Views of the piece's place in the shard, as buffers for the staging call. */
        mvke_cu_buf px = {(char *)bufs->x->p + (size_t)at * D * es, (size_t)m * D * es};
        mvke_cu_buf pg = {(float *)bufs->gram->p + (size_t)at * P, (size_t)m * P * 4};
        mvke_cu_buf pi = {(int64_t *)bufs->ids->p + at, (size_t)m * 8};
        mvke_cu_buf pr = {(float *)bufs->rtr->p + at, (size_t)m * 4};
        mvke_cu_rowbufs pb = {&px, &pg, &pi, &pr};
        mvke_cu_rows ignored;
        MVKE_OK_OR_RETURN(mvke_cu_rows_stage(L, r0 + at, m, &pb, bounce, stream, device, &ignored));
        MVKE_CU_TRY(device, cudaStreamSynchronize(stream)); /* bounce is reused next piece */
    }
    *view = whole;
    return MVKE_OK;
}
