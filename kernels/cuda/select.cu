/*
 * select.cu - the selection kernels (design notes in select.cuh).
 */
#include "select.cuh"

namespace {

struct sel_state {
    int cnt;      /* entries in the buffer */
    int full;     /* a threshold is active */
    float ts;     /* threshold: an entry must rank strictly above (ts, tid) */
    int64_t tid;
};

int buffer_entries(int64_t k) {
    int b = 1;
    while (b < k + MVKE_CU_THREADS) b <<= 1;
    return b;
}

size_t buffer_bytes(int64_t k) { return (size_t)buffer_entries(k) * (sizeof(int64_t) + sizeof(float)); }

/* Bitonic sort of B entries, best first. */
__device__ void sel_sort(float *bs, int64_t *bi, int B) {
    for (int size = 2; size <= B; size <<= 1)
        for (int stride = size >> 1; stride > 0; stride >>= 1) {
            for (int t = threadIdx.x; t < B / 2; t += blockDim.x) {
                const int lo = 2 * stride * (t / stride) + (t % stride), hi = lo + stride;
                const bool best_first = (lo & size) == 0;
                const bool swap = best_first ? mvke_cu_better(bs[hi], bi[hi], bs[lo], bi[lo])
                                             : mvke_cu_better(bs[lo], bi[lo], bs[hi], bi[hi]);
                if (swap) {
                    float s = bs[lo];
                    bs[lo] = bs[hi];
                    bs[hi] = s;
                    int64_t i = bi[lo];
                    bi[lo] = bi[hi];
                    bi[hi] = i;
                }
            }
            __syncthreads();
        }
}

/* Sorts the buffer and keeps its best k; the k-th becomes the threshold. */
__device__ void sel_compact(float *bs, int64_t *bi, int B, int64_t k, sel_state &st) {
    const int cnt = st.cnt;
    for (int i = cnt + threadIdx.x; i < B; i += blockDim.x) {
        bs[i] = -INFINITY;
        bi[i] = -1;
    }
    __syncthreads();
    sel_sort(bs, bi, B);
    if (threadIdx.x == 0) {
        const int c = cnt < k ? cnt : (int)k;
        st.cnt = c;
        if (c == k) {
            st.full = 1;
            st.ts = bs[k - 1];
            st.tid = bi[k - 1];
        }
    }
    __syncthreads();
}

/* Every thread offers at most one entry; called by all threads of the block. */
__device__ void sel_offer(bool have, float s, int64_t id, float *bs, int64_t *bi, int B, int64_t k,
                          sel_state &st) {
    if (have && (!st.full || mvke_cu_better(s, id, st.ts, st.tid))) {
        const int p = atomicAdd(&st.cnt, 1);
        bs[p] = s;
        bi[p] = id;
    }
    __syncthreads();
    const bool crowded = st.cnt > B - (int)blockDim.x;
    __syncthreads(); /* everyone has read cnt before anyone changes it */
    if (crowded) sel_compact(bs, bi, B, k, st);
}

__global__ void __launch_bounds__(MVKE_CU_THREADS) select_tile_kernel(mvke_cu_select_args a, int B) {
    extern __shared__ __align__(16) unsigned char smem[];
    int64_t *bi = (int64_t *)smem;
    float *bs = (float *)(bi + B);
    __shared__ sel_state st;
    const int q = blockIdx.y, c = blockIdx.x;
    const int64_t k = a.k;
    const int64_t u0 = (int64_t)c * a.chunk;
    const int64_t u1 = u0 + a.chunk < a.rows.n ? u0 + a.chunk : a.rows.n;
    if (threadIdx.x == 0) {
        st.cnt = 0;
        const int64_t kth = a.run_id[(int64_t)q * k + k - 1];
        st.full = kth >= 0;
        st.ts = a.run_s[(int64_t)q * k + k - 1];
        st.tid = kth;
    }
    __syncthreads();
    const float *numq = a.num + (int64_t)q * a.ld;
    const float *gq = a.gq + (int64_t)q * a.P;
    const float qtr = a.qtr[q];
    for (int64_t base = u0; base < u1; base += blockDim.x) {
        const int64_t u = base + threadIdx.x;
        bool have = u < u1;
        float s = 0.0f;
        int64_t id = -1;
        if (have) {
            id = a.rows.ids[u];
            have = mvke_cu_pass(a.filter, id);
            if (have) s = mvke_cu_cosine(numq[u], a.rows.gram + u * a.P, gq, a.P, a.rows.rtr[u], qtr);
        }
        sel_offer(have, s, id, bs, bi, B, k, st);
    }
    sel_compact(bs, bi, B, k, st);
    const int64_t o = ((int64_t)q * a.nchunks + c) * k;
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) {
        a.cand_s[o + i] = bs[i];
        a.cand_id[o + i] = bi[i];
    }
}

__global__ void __launch_bounds__(MVKE_CU_THREADS)
select_merge_kernel(float *run_s, int64_t *run_id, const float *cs, const int64_t *ci, int64_t nper,
                    int64_t k, int B) {
    extern __shared__ __align__(16) unsigned char smem[];
    int64_t *bi = (int64_t *)smem;
    float *bs = (float *)(bi + B);
    __shared__ sel_state st;
    const int64_t q = blockIdx.x;
    if (threadIdx.x == 0) {
        st.cnt = 0;
        st.full = 0;
        st.ts = -INFINITY;
        st.tid = -1;
    }
    __syncthreads();
    const int64_t total = k + nper;
    for (int64_t base = 0; base < total; base += blockDim.x) {
        const int64_t i = base + threadIdx.x;
        float s = -INFINITY;
        int64_t id = -1;
        if (i < k) {
            s = run_s[q * k + i];
            id = run_id[q * k + i];
        } else if (i < total) {
            s = cs[q * nper + (i - k)];
            id = ci[q * nper + (i - k)];
        }
        sel_offer(id >= 0, s, id, bs, bi, B, k, st);
    }
    sel_compact(bs, bi, B, k, st);
    for (int64_t i = threadIdx.x; i < k; i += blockDim.x) {
        run_s[q * k + i] = bs[i];
        run_id[q * k + i] = bi[i];
    }
}

__global__ void clear_kernel(float *s, int64_t *id, int64_t n) {
    const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        s[i] = -INFINITY;
        id[i] = -1;
    }
}

} // namespace

int64_t mvke_cu_select_chunk(int64_t k) { return k <= 512 ? 4096 : 8 * k; }

mvke_status mvke_cu_select_setup(int device) {
    const int bytes = (int)buffer_bytes(MVKE_CU_MAX_K);
    MVKE_CU_TRY(device, cudaFuncSetAttribute(select_tile_kernel,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    MVKE_CU_TRY(device, cudaFuncSetAttribute(select_merge_kernel,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    return MVKE_OK;
}

mvke_status mvke_cu_select_clear(float *s, int64_t *id, int64_t n, cudaStream_t stream, int device) {
    if (n <= 0) return MVKE_OK;
    clear_kernel<<<(unsigned)((n + 255) / 256), 256, 0, stream>>>(s, id, n);
    MVKE_CU_LAUNCHED(device, "the list clearing kernel");
    return MVKE_OK;
}

/* Merges nper entries per query from other into the running lists. */
static mvke_status launch_merge(float *run_s, int64_t *run_id, const float *other_s,
                                const int64_t *other_id, int64_t nper, int tq, int64_t k,
                                cudaStream_t stream, int device) {
    if (tq <= 0) return MVKE_OK;
    const int B = buffer_entries(k);
    select_merge_kernel<<<(unsigned)tq, MVKE_CU_THREADS, buffer_bytes(k), stream>>>(
        run_s, run_id, other_s, other_id, nper, k, B);
    MVKE_CU_LAUNCHED(device, "the merge kernel");
    return MVKE_OK;
}

mvke_status mvke_cu_select_tile(const mvke_cu_select_args *a, cudaStream_t stream, int device) {
    if (a->rows.n <= 0 || a->tq <= 0) return MVKE_OK;
    const int B = buffer_entries(a->k);
    dim3 grid((unsigned)a->nchunks, (unsigned)a->tq);
    select_tile_kernel<<<grid, MVKE_CU_THREADS, buffer_bytes(a->k), stream>>>(*a, B);
    MVKE_CU_LAUNCHED(device, "the tile selection kernel");
    return launch_merge(a->run_s, a->run_id, a->cand_s, a->cand_id, (int64_t)a->nchunks * a->k,
                        a->tq, a->k, stream, device);
}

mvke_status mvke_cu_select_merge(float *run_s, int64_t *run_id, const float *other_s,
                                 const int64_t *other_id, int tq, int64_t k, cudaStream_t stream,
                                 int device) {
    return launch_merge(run_s, run_id, other_s, other_id, k, tq, k, stream, device);
}
