/*
 * test_backend.c - the backend registry (kernels/registry.c): finding and loading the CUDA module,
 * and what a request for a GPU answers where the module, its CUDA libraries, a driver or a
 * device is missing: MVKE_ERR_UNSUPPORTED with a message saying which, and nothing changed.
 *
 * Each Criterion test runs in its own process, so each starts with no module loaded and its own
 * MVKE_CUDA_MODULE. MVKE_TEST_CUDA_MODULE (set by meson when the module is built) is the path of
 * the built module; tests that need it skip without it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_module.h"
#include "mvke/mvke.h"
#include "reference.h"

enum { K = 3, d = 4, D = K * d };

#define HIDDEN "/nonexistent/dir/libmvke-cuda.so"

static mvke_index *small_index(void) {
    mvke_index *ix = NULL;
    cr_assert_eq(mvke_index_new(&ix, K, d, NULL), MVKE_OK);
    float x[20 * D];
    for (int i = 0; i < 20 * D; i++) x[i] = (float)((i * 37) % 11) - 5.0f;
    cr_assert_eq(mvke_index_add(ix, 20, NULL, x), MVKE_OK, "%s", mvke_last_error());
    return ix;
}

static mvke_tags *small_tags(void) {
    mvke_tags *t = NULL;
    cr_assert_eq(mvke_tags_new(&t, K, d, NULL), MVKE_OK);
    int ex[2] = {0, 2};
    cr_assert_eq(mvke_tags_add_task(t, "a", ex, 2), MVKE_OK);
    float q[5 * d], w[5 * K] = {0};
    for (int i = 0; i < 5 * d; i++) q[i] = (float)((i * 13) % 7) - 3.0f;
    for (int i = 0; i < 5; i++) w[i * K] = 0.4f, w[i * K + 2] = 0.6f;
    int64_t ids[5] = {10, 11, 12, 13, 14};
    cr_assert_eq(mvke_tags_add(t, "a", 5, ids, NULL, NULL, q, w), MVKE_OK, "%s", mvke_last_error());
    return t;
}

Test(backend, a_hidden_module_is_reported_with_where_it_was_looked_for) {
    setenv("MVKE_CUDA_MODULE", HIDDEN, 1);
    int n = 7;
    cr_assert_eq(mvke_gpu_count(&n), MVKE_ERR_UNSUPPORTED);
    cr_assert_eq(n, 0);
    const char *m = mvke_last_error();
    cr_assert(strstr(m, "not found") && strstr(m, "MVKE_CUDA_MODULE=" HIDDEN), "%s", m);
    const mvke_backend *b = (const mvke_backend *)&n;
    mvke_cuda_config cfg = {0, NULL, 0, 0};
    cr_assert_eq(mvke_backend_cuda_new(&cfg, &b), MVKE_ERR_UNSUPPORTED);
    cr_assert_null(b);
}

Test(backend, an_index_asked_for_a_gpu_without_module_stays_on_the_cpu) {
    setenv("MVKE_CUDA_MODULE", HIDDEN, 1);
    mvke_index *ix = small_index();
    float z[D], s0[3], s1[3];
    int64_t i0[3], i1[3];
    for (int j = 0; j < D; j++) z[j] = (float)(j % 3) - 1.0f;
    cr_assert_eq(mvke_index_search(ix, 1, z, 3, NULL, s0, i0), MVKE_OK);
    cr_assert_eq(mvke_index_use_gpu(ix, 0), MVKE_ERR_UNSUPPORTED);
    cr_assert(strstr(mvke_last_error(), "not found"), "%s", mvke_last_error());
    cr_assert_eq(mvke_index_use_gpu(ix, -3), MVKE_ERR_INVALID);
    const char *name = NULL;
    cr_assert_eq(mvke_index_backend(ix, &name), MVKE_OK);
    cr_assert_str_eq(name, "cpu");
    cr_assert_eq(mvke_index_search(ix, 1, z, 3, NULL, s1, i1), MVKE_OK);
    cr_assert_arr_eq(i0, i1, sizeof i0);
    cr_assert_arr_eq(s0, s1, sizeof s0);
    mvke_index_free(ix);
}

Test(backend, a_tag_table_asked_for_a_gpu_without_module_stays_on_the_cpu) {
    setenv("MVKE_CUDA_MODULE", HIDDEN, 1);
    mvke_tags *t = small_tags();
    float x[2 * D];
    for (int j = 0; j < 2 * D; j++) x[j] = (float)((j * 5) % 9) - 4.0f;
    mvke_result *r0 = NULL, *r1 = NULL;
    cr_assert_eq(mvke_user_tags_top_rows(t, NULL, 2, x, 3, &r0), MVKE_OK);
    cr_assert_eq(mvke_tags_use_gpu(t, 0), MVKE_ERR_UNSUPPORTED);
    cr_assert(strstr(mvke_last_error(), "not found") && strstr(mvke_last_error(), HIDDEN), "%s", mvke_last_error());
    cr_assert_eq(mvke_tags_use_gpu(t, -2), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_tags_use_gpu(NULL, 0), MVKE_ERR_INVALID);
    const char *name = NULL;
    cr_assert_eq(mvke_tags_backend(t, &name), MVKE_OK);
    cr_assert_str_eq(name, "cpu");
    /* A task declared after the refusal is an ordinary CPU task. */
    int ex[1] = {1};
    cr_assert_eq(mvke_tags_add_task(t, "b", ex, 1), MVKE_OK, "%s", mvke_last_error());
    cr_assert_eq(mvke_user_tags_top_rows(t, "a", 2, x, 3, &r1), MVKE_OK);
    for (int64_t u = 0; u < 2; u++) {
        const int64_t *a, *b;
        const float *sa, *sb;
        int64_t na, nb;
        mvke_result_get(r0, u, &a, &sa, &na);
        mvke_result_get(r1, u, &b, &sb, &nb);
        cr_assert_eq(na, nb);
        cr_assert_arr_eq(a, b, (size_t)na * sizeof *a);
        cr_assert_arr_eq(sa, sb, (size_t)na * sizeof *sa);
    }
    cr_assert_eq(mvke_tags_use_cpu(t), MVKE_OK);
    cr_assert_eq(mvke_tags_use_cpu(NULL), MVKE_ERR_INVALID);
    mvke_result_free(r0);
    mvke_result_free(r1);
    mvke_tags_free(t);
}

/* A bare name is left to the loader's search, and reported as not found there. */
Test(backend, a_bare_name_not_on_the_loader_path_is_not_found) {
    setenv("MVKE_CUDA_MODULE", "libmvke-no-such-module.so", 1);
    int n = 3;
    cr_assert_eq(mvke_gpu_count(&n), MVKE_ERR_UNSUPPORTED);
    cr_assert(strstr(mvke_last_error(), "not found") && strstr(mvke_last_error(), "loader's path"), "%s", mvke_last_error());
}

/* A shared object that is not the module (libm: it loads, but has no entry point). */
Test(backend, a_file_that_is_not_the_module_is_refused_by_name) {
    setenv("MVKE_CUDA_MODULE", "libm.so.6", 1);
    int n = 3;
    cr_assert_eq(mvke_gpu_count(&n), MVKE_ERR_UNSUPPORTED);
    cr_assert_eq(n, 0);
    cr_assert(strstr(mvke_last_error(), "cannot be loaded") && strstr(mvke_last_error(), MVKE_CUDA_MODULE_ENTRY),
              "%s", mvke_last_error());
}

/* The built module, named explicitly and found by the default search (beside libmvke in the
 * build directory): it loads; then either a GPU is there, or the message is about the driver
 * or the device - never about the module. */
static void check_loaded(void) {
    int n = -1;
    mvke_status st = mvke_gpu_count(&n);
    const char *m = mvke_last_error();
    if (st == MVKE_OK) {
        cr_assert_geq(n, 1);
        return;
    }
    cr_assert_eq(st, MVKE_ERR_UNSUPPORTED);
    cr_assert_eq(n, 0);
    cr_assert(!strstr(m, "module") && (strstr(m, "driver") || strstr(m, "device")), "%s", m);
}

Test(backend, the_built_module_loads_by_path) {
    const char *path = getenv("MVKE_TEST_CUDA_MODULE");
    if (!path || !*path) cr_skip_test("this build has no CUDA module");
    setenv("MVKE_CUDA_MODULE", path, 1);
    check_loaded();
}

Test(backend, the_built_module_is_found_beside_libmvke) {
    const char *path = getenv("MVKE_TEST_CUDA_MODULE");
    if (!path || !*path) cr_skip_test("this build has no CUDA module");
    unsetenv("MVKE_CUDA_MODULE");
    check_loaded();
}

Test(backend, null_arguments) {
    cr_assert_eq(mvke_gpu_count(NULL), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_cuda_device_count(NULL), MVKE_ERR_INVALID);
    const mvke_backend *b;
    cr_assert_eq(mvke_backend_cuda_new(NULL, &b), MVKE_ERR_INVALID);
    mvke_cuda_config cfg = {-2, NULL, 0, 0};
    cr_assert_eq(mvke_backend_cuda_new(&cfg, &b), MVKE_ERR_INVALID);
}
