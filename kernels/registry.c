/*
 * registry.c - the backend registry: the one place that names the backends, finds them and
 * hands them out.
 *
 * The CPU backend is part of libmvke. The CUDA backend is a module, libmvke-cuda.so (built from
 * kernels/cuda/ when nvcc and cuBLAS are found), opened with dlopen at the first request for a
 * GPU and kept loaded for the life of the process. Its one exported symbol,
 * MVKE_CUDA_MODULE_ENTRY, takes the host table below (what the module may call here) and returns
 * the module's table (kernels/cuda/cuda_module.h). The module is looked
 * for, in order:
 *   1. $MVKE_CUDA_MODULE, when set and not empty: that file and nothing else (so a test or an
 *      operator can point at a module, or hide it by pointing nowhere);
 *   2. the directory of the libmvke that is running (dladdr): the module installed beside it,
 *      or built beside it in a build directory;
 *   3. the build directory and the install directory this library was configured with;
 *   4. the dynamic loader's own search (LD_LIBRARY_PATH, the ld.so cache, system directories).
 * A request for a GPU where the module or a device is missing fails with MVKE_ERR_UNSUPPORTED and
 * a message that says which: the module was not found (and where it was looked for), it was
 * found but could not be loaded (its CUDA libraries are missing), or it has no driver or device.
 */
#define _GNU_SOURCE /* dladdr */
#include "backend.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/topk.h"
#include "cuda/cuda_module.h"
#include "half.h"
#include "runtime.h"

const mvke_backend *mvke_backend_default(void) { return mvke_backend_cpu(); }

/* ---------------------------------------------------------------------------------------------
 * Finding and loading the CUDA module
 * ------------------------------------------------------------------------------------------- */

#ifndef MVKE_CUDA_BUILD_DIR
#define MVKE_CUDA_BUILD_DIR ""
#endif
#ifndef MVKE_CUDA_INSTALL_DIR
#define MVKE_CUDA_INSTALL_DIR ""
#endif
#ifndef MVKE_CUDA_MODULE_BUILT
#define MVKE_CUDA_MODULE_BUILT 0
#endif

static pthread_mutex_t cuda_mu = PTHREAD_MUTEX_INITIALIZER;
static const mvke_cuda_module *cuda_module; /* set once, under cuda_mu, never unset */

/* Appends printf-style text to buf (capacity cap, length *len), truncating quietly. */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, const char *a, const char *b) {
    if (*len >= cap) return;
    int w = snprintf(buf + *len, cap - *len, fmt, a, b);
    if (w > 0) *len += (size_t)w < cap - *len ? (size_t)w : cap - *len - 1;
}

static mvke_status host_error(mvke_status status, const char *message) { return mvke_error(status, "%s", message); }

/* What the module calls back (cuda_module.h). */
static const mvke_cuda_host host = {
    MVKE_CUDA_MODULE_ABI, sizeof(mvke_cuda_host), host_error, mvke_error_clear, mvke_last_error,
    mvke_malloc, mvke_calloc, mvke_realloc, mvke_free, mvke_malloc_array, mvke_backend_cpu,
    mvke_kranges_alloc, mvke_kranges_release, mvke_half_from_float, mvke_layout_get, mvke_pairs_sort,
    mvke_topk_init, mvke_topk_push, mvke_topk_finish,
};

/* Tries one candidate file. Returns the module, or NULL with *found set when the file exists
 * but could not be used (then why holds the reason). */
static const mvke_cuda_module *try_module(const char *path, int *found, char *why, size_t cap) {
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        /* A name without a slash goes to the loader's search: "found" unless the loader's
         * complaint is about that very name (a missing dependency names the dependency). */
        const size_t pl = strlen(path);
        const int exists = strchr(path, '/') ? access(path, F_OK) == 0
                                             : !(e && !strncmp(e, path, pl) && strstr(e + pl, "cannot open shared object"));
        if (exists) {
            *found = 1;
            snprintf(why, cap, "%s", e ? e : "dlopen failed");
        }
        return NULL;
    }
    *found = 1;
    mvke_cuda_module_entry_fn entry = (mvke_cuda_module_entry_fn)dlsym(h, MVKE_CUDA_MODULE_ENTRY);
    const mvke_cuda_module *m = entry ? entry(&host) : NULL;
    if (!entry) {
        snprintf(why, cap, "it has no %s entry point", MVKE_CUDA_MODULE_ENTRY);
    } else if (!m) {
        snprintf(why, cap, "it was built for another version of libmvke (it refused this library's host table, abi %d, version %s)",
                 MVKE_CUDA_MODULE_ABI, MVKE_VERSION);
    } else if (m->abi != MVKE_CUDA_MODULE_ABI || m->size != sizeof *m || !m->version ||
               strcmp(m->version, MVKE_VERSION) != 0 || !m->device_count || !m->backend_new) {
        snprintf(why, cap, "it was built for another version of libmvke (module abi %u, version %s; "
                 "this library: abi %d, version %s)", (unsigned)m->abi, m->version ? m->version : "?",
                 MVKE_CUDA_MODULE_ABI, MVKE_VERSION);
        m = NULL;
    } else {
        return m; /* kept loaded: backends made from it may live until exit */
    }
    dlclose(h);
    return NULL;
}

/* The directory holding the running libmvke, into dir (empty when unknown). */
static void own_dir(char *dir, size_t cap) {
    Dl_info info;
    dir[0] = 0;
    if (!dladdr((const void *)&mvke_backend_default, &info) || !info.dli_fname) return;
    char *real = realpath(info.dli_fname, NULL); /* "tools/../libmvke.so.0" reads better resolved */
    const char *name = real ? real : info.dli_fname, *slash = strrchr(name, '/');
    if (slash) snprintf(dir, cap, "%.*s", (int)(slash - name), name);
    free(real);
}

/* Loads the module (search order in the file's comment). On failure sets the error. */
static mvke_status cuda_load(const mvke_cuda_module **out) {
    pthread_mutex_lock(&cuda_mu);
    if (cuda_module) {
        *out = cuda_module;
        pthread_mutex_unlock(&cuda_mu);
        return MVKE_OK;
    }
    char why[512] = "", looked[640] = "", path[4096], hit[4200] = "";
    size_t len = 0;
    int found = 0;
    const mvke_cuda_module *m = NULL;
    const char *env = getenv("MVKE_CUDA_MODULE");
    if (env && *env) {
        m = try_module(env, &found, why, sizeof why);
        if (!m) {
            pthread_mutex_unlock(&cuda_mu);
            if (found)
                return mvke_error(MVKE_ERR_UNSUPPORTED,
                                  "the CUDA backend module %s (from MVKE_CUDA_MODULE) cannot be loaded: %s; "
                                  "searches stay on the CPU backend", env, why);
            return mvke_error(MVKE_ERR_UNSUPPORTED,
                              "CUDA backend module not found: MVKE_CUDA_MODULE=%s %s; searches stay on the "
                              "CPU backend", env, strchr(env, '/') ? "does not exist" : "is not on the loader's path");
        }
    } else {
        char dirs[3][2048];
        own_dir(dirs[0], sizeof dirs[0]);
        snprintf(dirs[1], sizeof dirs[1], "%s", MVKE_CUDA_BUILD_DIR);
        snprintf(dirs[2], sizeof dirs[2], "%s", MVKE_CUDA_INSTALL_DIR);
        for (int i = 0; i < 3 && !m && !found; i++) {
            int seen = !dirs[i][0];
            for (int j = 0; j < i && !seen; j++) seen = !strcmp(dirs[i], dirs[j]);
            if (seen) continue;
            if (snprintf(path, sizeof path, "%s/%s", dirs[i], MVKE_CUDA_MODULE_FILE) >= (int)sizeof path) continue;
            m = try_module(path, &found, why, sizeof why);
            append(looked, sizeof looked, &len, "%s%s, ", dirs[i], "");
            if (found) snprintf(hit, sizeof hit, "%s", path);
        }
        if (!m && !found) {
            snprintf(path, sizeof path, "%s", MVKE_CUDA_MODULE_FILE);
            m = try_module(path, &found, why, sizeof why);
            append(looked, sizeof looked, &len, "%s%s", "the loader's path (LD_LIBRARY_PATH, ld.so.cache)", "");
            if (found) snprintf(hit, sizeof hit, "%s (on the loader's path)", path);
        }
    }
    if (m) {
        cuda_module = m;
        *out = m;
        pthread_mutex_unlock(&cuda_mu);
        return MVKE_OK;
    }
    pthread_mutex_unlock(&cuda_mu);
    if (found)
        return mvke_error(MVKE_ERR_UNSUPPORTED,
                          "the CUDA backend module %s was found but cannot be loaded: %s; searches stay on "
                          "the CPU backend", hit, why);
    return mvke_error(MVKE_ERR_UNSUPPORTED,
                      "CUDA backend module not found: no %s in %s%s; set MVKE_CUDA_MODULE to its path; "
                      "searches stay on the CPU backend", MVKE_CUDA_MODULE_FILE, looked,
                      MVKE_CUDA_MODULE_BUILT ? ""
                                             : " (this build made none: nvcc or cuBLAS was not found, or -Dcuda=disabled)");
}

mvke_status mvke_backend_cuda_new(const mvke_cuda_config *cfg, const mvke_backend **out) {
    if (!out || !cfg) return mvke_error(MVKE_ERR_INVALID, "cfg or out is NULL");
    *out = NULL;
    if (cfg->device < -1) return mvke_error(MVKE_ERR_INVALID, "device = %d: use 0, 1, ... or -1", cfg->device);
    const mvke_cuda_module *m;
    mvke_status st = cuda_load(&m);
    return st != MVKE_OK ? st : m->backend_new(cfg, out);
}

mvke_status mvke_cuda_device_count(int *n) {
    if (!n) return mvke_error(MVKE_ERR_INVALID, "n is NULL");
    *n = 0;
    const mvke_cuda_module *m;
    mvke_status st = cuda_load(&m);
    return st != MVKE_OK ? st : m->device_count(n);
}
