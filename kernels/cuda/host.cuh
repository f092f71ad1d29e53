/*
 * host.cuh - the module's side of the host table (cuda_module.h): the library functions the
 * module calls, by their usual names, forwarded to the table the entry point received.
 */
#ifndef MVKE_KERNELS_CUDA_HOST_CUH
#define MVKE_KERNELS_CUDA_HOST_CUH

#include "cuda_module.h"

/* Keeps the host table for every later call. Returns 0, or -1 when its abi or size differs
 * from this build's (the module then refuses to start). */
int mvke_cuda_host_set(const mvke_cuda_host *host);

#endif
