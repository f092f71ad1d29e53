/*
 * tagtop.cu - the fused user -> tags kernel (design notes in tagtop.cuh).
 */
#include "tagtop.cuh"

#define WARPS 8
#define SMEM_BUDGET (46 * 1024)

namespace {

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename T>
__global__ void __launch_bounds__(WARPS * 32)
tagtop_kernel(const float *__restrict__ Q, const float *__restrict__ GQ, const float *__restrict__ qtr,
              int64_t nq, const T *__restrict__ X, const float *__restrict__ G,
              const int64_t *__restrict__ ids, const float *__restrict__ rtr, int64_t n, int D, int P,
              mvke_cu_filter filter, int M, int TT, float *out_s, int64_t *out_id) {
    extern __shared__ __align__(16) unsigned char smem[];
    int64_t *lid = (int64_t *)smem;                       /* WARPS * M */
    int64_t *tid_s = lid + WARPS * M;                     /* TT */
    float *ls = (float *)(tid_s + TT);                    /* WARPS * M */
    float *xs = ls + WARPS * M;                           /* TT * D */
    float *gs = xs + (size_t)TT * D;                      /* TT * P */
    float *rs = gs + (size_t)TT * P;                      /* TT */

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t q = (int64_t)blockIdx.x * WARPS + warp;
    const bool active = q < nq;
    float *my_s = ls + warp * M;
    int64_t *my_id = lid + warp * M;
    int cnt = 0;
    const float *x = Q + (active ? q : 0) * (int64_t)D;
    const float *gq = GQ + (active ? q : 0) * (int64_t)P;
    const float qt = active ? qtr[q] : 0.0f;

    for (int64_t r0 = 0; r0 < n; r0 += TT) {
        const int tt = n - r0 < TT ? (int)(n - r0) : TT;
        __syncthreads(); /* the previous tile is no longer read */
        for (int64_t i = threadIdx.x; i < (int64_t)tt * D; i += blockDim.x)
            xs[i] = mvke_cu_load(X, r0 * D + i);
        for (int64_t i = threadIdx.x; i < (int64_t)tt * P; i += blockDim.x) gs[i] = G[r0 * P + i];
        for (int i = threadIdx.x; i < tt; i += blockDim.x) {
            tid_s[i] = ids[r0 + i];
            rs[i] = rtr[r0 + i];
        }
        __syncthreads();
        if (!active) continue;
        for (int t = 0; t < tt; t++) {
            const int64_t id = tid_s[t];
            if (!mvke_cu_pass(filter, id)) continue; /* warp-uniform */
            float num = 0.0f;
            for (int j = lane; j < D; j += 32) num = fmaf(x[j], xs[t * D + j], num);
            num = warp_sum(num);
            float den2 = 0.0f;
            for (int p = lane; p < P; p += 32) den2 = fmaf(gs[t * P + p], gq[p], den2);
            den2 = warp_sum(den2);
            const float s = mvke_cosine(num, den2, qt * MVKE_DEN2_REL_FLOOR * rs[t]);
            if (cnt == M && !mvke_cu_better(s, id, my_s[M - 1], my_id[M - 1])) continue;
            /* Position: entries ranking above the new one. */
            int above = 0;
            for (int j = lane; j < cnt; j += 32) above += mvke_cu_better(my_s[j], my_id[j], s, id);
            for (int o = 16; o > 0; o >>= 1) above += __shfl_xor_sync(0xffffffffu, above, o);
            const int last = cnt < M ? cnt : M - 1; /* the entry at `last` falls off when full */
            /* Shift [above, last) right by one, back to front in strides of 32. */
            for (int hi = last - 1; hi >= above; hi -= 32) {
                const int j = hi - lane;
                float vs = 0.0f;
                int64_t vi = 0;
                const bool mine = j >= above;
                if (mine) {
                    vs = my_s[j];
                    vi = my_id[j];
                }
                __syncwarp();
                if (mine) {
                    my_s[j + 1] = vs;
                    my_id[j + 1] = vi;
                }
                __syncwarp();
            }
            if (lane == 0) {
                my_s[above] = s;
                my_id[above] = id;
            }
            __syncwarp();
            if (cnt < M) cnt++;
        }
    }
    if (!active) return;
    for (int j = lane; j < M; j += 32) {
        out_s[q * M + j] = j < cnt ? my_s[j] : -INFINITY;
        out_id[q * M + j] = j < cnt ? my_id[j] : -1;
    }
}

size_t smem_bytes(int D, int P, int64_t m, int TT) {
    return (size_t)WARPS * m * 12 + (size_t)TT * (8 + 4 * (size_t)(D + P + 1));
}

} // namespace

int mvke_cu_tagtop_tile_rows(int D, int P, int64_t m) {
    if (m > MVKE_CU_TAGTOP_MAX_M) return 0;
    const size_t fixed = (size_t)WARPS * m * 12, per = 8 + 4 * (size_t)(D + P + 1);
    if (fixed + 8 * per > SMEM_BUDGET) return 0;
    size_t tt = (SMEM_BUDGET - fixed) / per;
    return tt > 64 ? 64 : (int)tt;
}

mvke_status mvke_cu_tagtop(const float *q, const float *gq, const float *qtr, int64_t nq,
                           const mvke_cu_rows *rows, int K, int d, const mvke_cu_filter *filter,
                           int64_t m, float *out_s, int64_t *out_id, cudaStream_t stream,
                           int device) {
    if (nq <= 0) return MVKE_OK;
    const int D = K * d, P = mvke_gram_size(K);
    const int TT = mvke_cu_tagtop_tile_rows(D, P, m);
    if (TT <= 0) return mvke_error(MVKE_ERR_BACKEND, "the fused user -> tags kernel cannot take rows of %d values with m = %lld", D, (long long)m);
    const unsigned blocks = (unsigned)((nq + WARPS - 1) / WARPS);
    const size_t smem = smem_bytes(D, P, m, TT);
    if (rows->half)
        tagtop_kernel<__half><<<blocks, WARPS * 32, smem, stream>>>(
            q, gq, qtr, nq, (const __half *)rows->x, rows->gram, rows->ids, rows->rtr, rows->n, D, P,
            *filter, (int)m, TT, out_s, out_id);
    else
        tagtop_kernel<float><<<blocks, WARPS * 32, smem, stream>>>(
            q, gq, qtr, nq, (const float *)rows->x, rows->gram, rows->ids, rows->rtr, rows->n, D, P,
            *filter, (int)m, TT, out_s, out_id);
    MVKE_CU_LAUNCHED(device, "the fused user -> tags kernel");
    return MVKE_OK;
}
