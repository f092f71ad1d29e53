/*
 * fuzz_npy.c - fuzz target for the .npy reader (index/npy.c): any bytes are either refused with
 * a message, or opened; an opened file must read back every row of the shape it declares.
 */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz_input.h"
#include "index/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    mvke_npy *f = NULL;
    mvke_status st = mvke_npy_open(&f, path);
    if (st != MVKE_OK) {
        fuzz_refused(st);
        if (f) abort(); /* a failed open hands out nothing */
        close(fd);
        return 0;
    }
    mvke_dtype dt;
    int nd;
    int64_t shape[MVKE_NPY_MAX_DIMS];
    if (mvke_npy_shape(f, &dt, &nd, shape) != MVKE_OK || nd < 0 || nd > MVKE_NPY_MAX_DIMS) abort();
    int64_t rows = nd ? shape[0] : 1, per = 1;
    for (int i = 1; i < nd; i++)
        if (__builtin_mul_overflow(per, shape[i], &per)) per = -1;
    /* The file holds exactly the declared data, so a non-empty array's row fits in the input. */
    if (rows > 0 && per > 0) {
        if (per > (int64_t)size) abort();
        int64_t chunk = per >= 4096 ? 1 : 4096 / per;
        void *buf = malloc((size_t)(chunk * per) * 8);
        if (!buf) abort();
        for (int64_t first = 0; first < rows; first += chunk) {
            int64_t n = rows - first < chunk ? rows - first : chunk;
            st = mvke_dtype_is_int(dt) ? mvke_npy_read_i64(f, first, n, buf) : mvke_npy_read_f32(f, first, n, buf);
            /* Only a value that does not fit (float64 beyond float32, uint64 beyond int64) is refused. */
            if (st == MVKE_ERR_NONFINITE && dt == MVKE_DTYPE_F64) break;
            if (st == MVKE_ERR_INVALID && dt == MVKE_DTYPE_U64) break;
            if (st != MVKE_OK) abort(); /* accepted, unchanged, and yet unreadable */
        }
        free(buf);
    }
    mvke_npy_close(f);
    close(fd);
    return 0;
}
