/*
 * range.cu - the count and write kernels of threshold search (see range.cuh).
 */
#include "range.cuh"

namespace {

__device__ __forceinline__ bool hit(const mvke_cu_range_args &a, int64_t u, int q, float *s,
                                    int64_t *id) {
    if (u >= a.rows.n) return false;
    *id = a.rows.ids[u];
    if (!mvke_cu_pass(a.filter, *id)) return false;
    *s = mvke_cu_cosine(a.num[u + (int64_t)q * a.ld], a.rows.gram + u * a.P, a.gq + (int64_t)q * a.P,
                        a.P, a.rows.rtr[u], a.qtr[q]);
    return *s >= a.min_score;
}

__global__ void count_kernel(mvke_cu_range_args a) {
    const int q = blockIdx.y;
    const int64_t u = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    float s;
    int64_t id;
    const bool h = hit(a, u, q, &s, &id);
    const unsigned mask = __ballot_sync(0xffffffffu, h);
    if ((threadIdx.x & 31) == 0 && mask) atomicAdd(&a.count[q], (unsigned long long)__popc(mask));
}

__global__ void write_kernel(mvke_cu_range_args a) {
    const int q = blockIdx.y;
    const int64_t u = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    float s;
    int64_t id;
    if (!hit(a, u, q, &s, &id)) return;
    const unsigned long long p = atomicAdd(&a.cursor[q], 1ull);
    if (p < a.count[q]) {
        a.hit_s[a.offset[q] + (int64_t)p] = s;
        a.hit_id[a.offset[q] + (int64_t)p] = id;
    }
}

} // namespace

mvke_status mvke_cu_range_count(const mvke_cu_range_args *a, cudaStream_t stream, int device) {
    if (a->rows.n <= 0 || a->tq <= 0) return MVKE_OK;
    dim3 grid((unsigned)((a->rows.n + 255) / 256), (unsigned)a->tq);
    count_kernel<<<grid, 256, 0, stream>>>(*a);
    MVKE_CU_LAUNCHED(device, "the threshold count kernel");
    return MVKE_OK;
}

mvke_status mvke_cu_range_write(const mvke_cu_range_args *a, cudaStream_t stream, int device) {
    if (a->rows.n <= 0 || a->tq <= 0) return MVKE_OK;
    dim3 grid((unsigned)((a->rows.n + 255) / 256), (unsigned)a->tq);
    write_kernel<<<grid, 256, 0, stream>>>(*a);
    MVKE_CU_LAUNCHED(device, "the threshold write kernel");
    return MVKE_OK;
}
