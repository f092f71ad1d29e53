/*
 * targeting.c - searches between users and tags: reverse targeting (tag -> audience) and
 * per-user top tags (user -> tags). Both look up rows and run the same index search; no scoring
 * happens here.
 */
#include <string.h>

#include "../kernels/runtime.h"
#include "index_impl.h"
#include "result.h"
#include "tags_impl.h"

static mvke_status check_shapes(const mvke_index *users, const mvke_tags *tags) {
    if (!users || !tags) return mvke_error(MVKE_ERR_INVALID, "index or tag table is NULL");
    if (users->store.K != tags->K || users->store.d != tags->d)
        return mvke_error(MVKE_ERR_DIM, "the index has K = %d, d = %d but the tag table K = %d, d = %d",
                          users->store.K, users->store.d, tags->K, tags->d);
    if (users->store.L.score != tags->opts.score)
        return mvke_error(MVKE_ERR_INVALID, "the index scores by %s but the tag table by %s: build both with one score",
                          mvke_score_name(users->store.L.score), mvke_score_name(tags->opts.score));
    return MVKE_OK;
}

/* The gated rows of ntag tags of a task, in a new array (ntag * K*d floats). */
static mvke_status gather_tags(const mvke_tags *tags, const char *task, int64_t ntag,
                               const int64_t *tag_ids, float **out) {
    *out = NULL;
    if (ntag < 0 || (ntag > 0 && !tag_ids)) return mvke_error(MVKE_ERR_INVALID, "bad tag list of %lld ids", (long long)ntag);
    const int64_t D = (int64_t)tags->K * tags->d;
    float *z = mvke_malloc_array((size_t)(ntag ? ntag : 1) * D, sizeof *z);
    if (!z) return mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld tag rows", (long long)ntag);
    pthread_rwlock_rdlock((pthread_rwlock_t *)&tags->lock);
    mvke_status st = mvke_tags_find_task(tags, task) ? MVKE_OK : MVKE_ERR_UNKNOWN_TASK;
    for (int64_t i = 0; i < ntag && st == MVKE_OK; i++)
        st = mvke_tags_row_locked(tags, task, tag_ids[i], z + i * D);
    pthread_rwlock_unlock((pthread_rwlock_t *)&tags->lock);
    if (st != MVKE_OK) {
        mvke_free(z);
        return st;
    }
    *out = z;
    return MVKE_OK;
}

mvke_status mvke_audience_top(const mvke_index *users, const mvke_tags *tags, const char *task,
                              int64_t ntag, const int64_t *tag_ids, int64_t k,
                              const mvke_allow *allow, mvke_result **out) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = NULL;
    mvke_status st = check_shapes(users, tags);
    if (st != MVKE_OK) return st;
    if (k <= 0) return mvke_error(MVKE_ERR_BAD_K, "k = %lld: the audience size must be > 0", (long long)k);
    size_t cells;
    if (!mvke_mul_ok((size_t)(ntag > 0 ? ntag : 0), (size_t)k, &cells))
        return mvke_error(MVKE_ERR_INVALID, "ntag * k overflows");
    float *z;
    if ((st = gather_tags(tags, task, ntag, tag_ids, &z)) != MVKE_OK) return st;
    float *D = mvke_malloc_array(cells ? cells : 1, sizeof *D);
    int64_t *I = mvke_malloc_array(cells ? cells : 1, sizeof *I);
    if (!D || !I)
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld x %lld results", (long long)ntag, (long long)k);
    else if ((st = mvke_index_search(users, ntag, z, k, allow, D, I)) == MVKE_OK)
        st = mvke_result_from_topk(ntag, k, D, I, out);
    mvke_free(D);
    mvke_free(I);
    mvke_free(z);
    return st;
}

mvke_status mvke_audience_range(const mvke_index *users, const mvke_tags *tags, const char *task,
                                int64_t ntag, const int64_t *tag_ids, float min_score,
                                const mvke_allow *allow, mvke_result **out) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = NULL;
    mvke_status st = check_shapes(users, tags);
    if (st != MVKE_OK) return st;
    float *z;
    if ((st = gather_tags(tags, task, ntag, tag_ids, &z)) != MVKE_OK) return st;
    st = mvke_index_range_search(users, ntag, z, min_score, allow, out);
    mvke_free(z);
    return st;
}

/* Top-m tags of the given task (or all tasks) for nu user rows x. */
static mvke_status top_tags(const mvke_tags *tags, const char *task, int64_t nu, const float *x,
                            int64_t m, mvke_result **out) {
    if (m <= 0) return mvke_error(MVKE_ERR_BAD_K, "m = %lld: the number of tags must be > 0", (long long)m);
    int t0 = 0, nt = tags->ntasks;
    if (task) {
        const mvke_task *tk = mvke_tags_find_task(tags, task);
        if (!tk) return MVKE_ERR_UNKNOWN_TASK;
        t0 = (int)(tk - tags->tasks);
        nt = 1;
    }
    size_t cells;
    if (!mvke_mul_ok((size_t)nu, (size_t)m, &cells) || !mvke_mul_ok(cells, (size_t)(nt ? nt : 1), &cells))
        return mvke_error(MVKE_ERR_INVALID, "nu * m * tasks overflows");
    float *D = mvke_malloc_array(cells ? cells : 1, sizeof *D);
    int64_t *I = mvke_malloc_array(cells ? cells : 1, sizeof *I);
    float *Dt = mvke_malloc_array((size_t)(nu ? nu : 1) * (size_t)m, sizeof *Dt);
    int64_t *It = mvke_malloc_array((size_t)(nu ? nu : 1) * (size_t)m, sizeof *It);
    mvke_status st = MVKE_OK;
    if (!D || !I || !Dt || !It)
        st = mvke_error(MVKE_ERR_NOMEM, "out of memory for the top tags of %lld users", (long long)nu);
    for (int t = 0; t < nt && st == MVKE_OK; t++) {
        st = mvke_index_search(tags->tasks[t0 + t].rows, nu, x, m, NULL, Dt, It);
        /* Interleave: list u * nt + t. */
        for (int64_t u = 0; u < nu && st == MVKE_OK; u++) {
            memcpy(D + (u * nt + t) * m, Dt + u * m, (size_t)m * sizeof *D);
            memcpy(I + (u * nt + t) * m, It + u * m, (size_t)m * sizeof *I);
        }
    }
    if (st == MVKE_OK) st = mvke_result_from_topk(nu * nt, m, D, I, out);
    mvke_free(D);
    mvke_free(I);
    mvke_free(Dt);
    mvke_free(It);
    return st;
}

mvke_status mvke_user_tags_top(const mvke_index *users, const mvke_tags *tags, const char *task,
                               int64_t nu, const int64_t *user_ids, int64_t m, mvke_result **out) {
    mvke_error_clear();
    if (!out) return mvke_error(MVKE_ERR_INVALID, "out is NULL");
    *out = NULL;
    mvke_status st = check_shapes(users, tags);
    if (st != MVKE_OK) return st;
    if (nu < 0 || (nu > 0 && !user_ids)) return mvke_error(MVKE_ERR_INVALID, "bad user list of %lld ids", (long long)nu);
    const int64_t D = users->store.D;
    float *x = mvke_malloc_array((size_t)(nu ? nu : 1) * D, sizeof *x);
    if (!x) return mvke_error(MVKE_ERR_NOMEM, "out of memory for %lld user rows", (long long)nu);
    for (int64_t i = 0; i < nu && st == MVKE_OK; i++)
        if ((st = mvke_index_get(users, user_ids[i], x + i * D)) == MVKE_ERR_UNKNOWN_ID)
            mvke_error(st, "user %lld (position %lld in the list) is not in the index",
                       (long long)user_ids[i], (long long)i);
    pthread_rwlock_rdlock((pthread_rwlock_t *)&tags->lock);
    if (st == MVKE_OK) st = top_tags(tags, task, nu, x, m, out);
    pthread_rwlock_unlock((pthread_rwlock_t *)&tags->lock);
    mvke_free(x);
    return st;
}

mvke_status mvke_user_tags_top_rows(const mvke_tags *tags, const char *task, int64_t nu,
                                    const float *x, int64_t m, mvke_result **out) {
    mvke_error_clear();
    if (!out || !tags) return mvke_error(MVKE_ERR_INVALID, "tag table or out is NULL");
    *out = NULL;
    if (nu < 0 || (nu > 0 && !x)) return mvke_error(MVKE_ERR_INVALID, "bad user rows (%lld)", (long long)nu);
    pthread_rwlock_rdlock((pthread_rwlock_t *)&tags->lock);
    mvke_status st = top_tags(tags, task, nu, x, m, out);
    pthread_rwlock_unlock((pthread_rwlock_t *)&tags->lock);
    return st;
}
