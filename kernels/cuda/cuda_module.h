/*
 * cuda_module.h - the interface between libmvke and its CUDA backend module, libmvke-cuda.so.
 *
 * libmvke never links the CUDA runtime. The CUDA backend is a separate shared object that the
 * backend registry (kernels/registry.c) loads with dlopen the first time a caller asks for a GPU,
 * and from which it resolves one symbol, MVKE_CUDA_MODULE_ENTRY: a function returning the
 * module's table below. The module links libcudart and libcublas; libmvke does not, so a machine
 * without CUDA runs every binary and only a request for a GPU fails (MVKE_ERR_UNSUPPORTED).
 *
 * The module calls back into the library that loaded it (errors, allocation, the CPU backend for
 * k beyond its selector, the layout's reader, selection) through the host table the registry
 * hands to the entry point: libmvke exports only its public API, and a program may carry the
 * library linked statically, so the module cannot find those functions by name. Inside the
 * module, kernels/cuda/host.cu defines the usual names (mvke_malloc, mvke_error, ...) over the
 * table. The module must come from the same build: the registry refuses a table whose abi or
 * library version differs. Plain C, no CUDA header: the registry and the tests include it.
 */
#ifndef MVKE_KERNELS_CUDA_MODULE_H
#define MVKE_KERNELS_CUDA_MODULE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "../backend.h"
#include "../cpu/topk.h"

/* File name of the module, and the symbol the registry resolves in it. */
#define MVKE_CUDA_MODULE_FILE "libmvke-cuda.so"
#define MVKE_CUDA_MODULE_ENTRY "mvke_cuda_module_entry"
/* Bumped whenever the tables, the config or the views of backend.h change shape. */
#define MVKE_CUDA_MODULE_ABI 2

/* What the module may call in the library that loads it. */
typedef struct mvke_cuda_host {
    uint32_t abi;  /* MVKE_CUDA_MODULE_ABI */
    uint32_t size; /* sizeof(mvke_cuda_host) */
    mvke_status (*error)(mvke_status status, const char *message); /* sets the message as given */
    void (*error_clear)(void);
    const char *(*last_error)(void);
    void *(*malloc)(size_t size);
    void *(*calloc)(size_t count, size_t size);
    void *(*realloc)(void *ptr, size_t size);
    void (*free)(void *ptr);
    void *(*malloc_array)(size_t count, size_t size);
    const mvke_backend *(*backend_cpu)(void);
    mvke_status (*kranges_alloc)(mvke_kranges *r, int64_t nq, int64_t total);
    void (*kranges_release)(mvke_kranges *r);
    void (*half_from_float)(const float *src, uint16_t *dst, size_t n);
    void (*layout_get)(const mvke_layout *L, const void *block, int64_t cap, int64_t r, float *row, float *gram);
    void (*pairs_sort)(float *s, int64_t *id, int64_t n);
    void (*topk_init)(mvke_topk *h, float *s, int64_t *id, int64_t k);
    void (*topk_push)(mvke_topk *h, float s, int64_t id);
    void (*topk_finish)(mvke_topk *h);
} mvke_cuda_host;

/* How a CUDA backend is made (see kernels/cuda/cuda_backend.cu and docs/gpu.md). */
typedef struct mvke_cuda_config {
    int device;              /* a device ordinal, or -1: every visible device, one shard each */
    const uint64_t *version; /* the owner's change counter, read during searches (under the
                                owner's read lock): device copies of the rows are refreshed when
                                it moves. NULL: refreshed on every search. */
    int64_t resident_bytes;  /* most device memory the resident rows may take per device:
                                0 = most of what is free, < 0 = never resident (rows are
                                streamed from host memory on every search) */
    int tf32;                /* 1: TF32 tensor cores for float32 rows (faster; about 1e-3
                                error instead of 1e-6); 0: exact float32 products */
} mvke_cuda_config;

/* The module's table: everything the registry calls. */
typedef struct mvke_cuda_module {
    uint32_t abi;            /* MVKE_CUDA_MODULE_ABI of the module's build */
    uint32_t size;           /* sizeof(mvke_cuda_module) of the module's build */
    const char *version;     /* MVKE_VERSION of the module's build */
    /* The number of usable devices (UNSUPPORTED with *n = 0 and a message: no driver, no
     * device). */
    mvke_status (*device_count)(int *n);
    /* A new backend per cfg, released with its release slot. Errors as mvke_backend_cuda_new. */
    mvke_status (*backend_new)(const mvke_cuda_config *cfg, const mvke_backend **out);
} mvke_cuda_module;

/* The type of the entry point: given the host table (kept for the life of the process), the
 * module's table, or NULL when the host table is not the one the module was built for. */
typedef const mvke_cuda_module *(*mvke_cuda_module_entry_fn)(const mvke_cuda_host *host);

/* A new CUDA backend per cfg, owned by the caller (free with its release slot). The module is
 * loaded at the first call (search order in registry.c and docs/gpu.md); nothing is uploaded
 * until the first search. Errors: MVKE_ERR_UNSUPPORTED (the module was not found - the message
 * lists where it looked -, or cannot be loaded, or there is no driver or no usable device: the
 * message says which), MVKE_ERR_INVALID (device < -1), MVKE_ERR_BACKEND (CUDA or cuBLAS failed
 * to start), MVKE_ERR_NOMEM. Defined in registry.c (the registry). */
mvke_status mvke_backend_cuda_new(const mvke_cuda_config *cfg, const mvke_backend **out);

/* The number of usable CUDA devices. Errors: MVKE_ERR_UNSUPPORTED with *n = 0 (no module, no
 * driver, or no device: the message says which). Defined in registry.c. */
mvke_status mvke_cuda_device_count(int *n);

#ifdef __cplusplus
}
#endif

#endif
