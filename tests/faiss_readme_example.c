/* Reverse targeting through FAISS's C API: the example of README.md, "Using it from FAISS". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <mvke/mvke.h>
#include <mvke/mvke_faiss.h>

#define K 5  /* experts per user */
#define D 30 /* dimension of an expert and of a tag embedding */
#define N 1000

int main(void) {
    /* Users: row i is user i's K expert vectors back to back, an array shaped (N, K, D). */
    float *x = malloc(sizeof(float) * N * K * D);
    idx_t *ids = malloc(sizeof(idx_t) * N);
    for (int i = 0; i < N; i++) {
        ids[i] = 100000 + i;
        for (int j = 0; j < K * D; j++) x[i * K * D + j] = sinf(0.7f * i + 1.3f * j);
    }
    /* A tag of a task that uses experts 0-2: its embedding q and its gate weights w. */
    float q[D], w[K] = {0.5f, 0.3f, 0.2f, 0.0f, 0.0f};
    for (int j = 0; j < D; j++) q[j] = cosf(0.3f * j);
    /* User 100042's experts all point along q, so it scores 1 for this tag. */
    for (int j = 0; j < K * D; j++) x[42 * K * D + j] = q[j % D];

    FaissIndex *users = NULL;
    if (mvke_faiss_user_index_new(&users, K, D) || faiss_Index_add_with_ids(users, N, x, ids)) {
        fprintf(stderr, "faiss: %s\n", faiss_get_last_error());
        return 1;
    }

    /* The tag's gated row z (block k is w[k] * q): a plain FAISS query of dimension K*D. */
    float z[K * D];
    if (mvke_pack_query(K, D, q, w, z) != MVKE_OK) {
        fprintf(stderr, "mvke: %s\n", mvke_last_error());
        return 1;
    }

    float cosine[3];
    idx_t top[3];
    if (faiss_Index_search(users, 1, z, 3, cosine, top)) {
        fprintf(stderr, "faiss: %s\n", faiss_get_last_error());
        return 1;
    }
    for (int r = 0; r < 3; r++) printf("user %lld  cosine %.4f\n", (long long)top[r], cosine[r]);

    faiss_Index_free(users);
    free(x);
    free(ids);
    return top[0] == 100042 && cosine[0] > 0.9999f ? 0 : 1;
}
