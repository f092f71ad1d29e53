/* Reverse targeting through FAISS's C API: the FAISS example of README.md. */
#include <math.h>
#include <stdio.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <mvke/mvke.h>
#include <mvke/mvke_faiss.h>

enum { K = 5, D = 30, N = 1000 }; /* experts per user, their dimension, users */

static float x[N * K * D]; /* users: shape (N, K, D) */

int main(void) {
    idx_t ids[N], top[3];
    float q[D], w[K] = {0.5f, 0.3f, 0.2f, 0, 0}, z[K * D], cosine[3];
    for (int j = 0; j < D; j++) q[j] = cosf(0.3f * j);
    for (int i = 0; i < N; i++) {
        ids[i] = 100000 + i;
        for (int j = 0; j < K * D; j++) x[i * K * D + j] = i == 42 ? q[j % D] : sinf(0.7f * i + 1.3f * j);
    }
    FaissIndex *users = NULL; /* an ordinary FaissIndex of dimension K*D, metric inner product */
    if (mvke_faiss_user_index_new(&users, K, D) || faiss_Index_add_with_ids(users, N, x, ids) ||
        mvke_pack_query(K, D, q, w, z) || /* the tag's gated row: a plain FAISS query */
        faiss_Index_search(users, 1, z, 3, cosine, top)) {
        fprintf(stderr, "%s %s\n", faiss_get_last_error() ? faiss_get_last_error() : "", mvke_last_error());
        return 1;
    }
    for (int r = 0; r < 3; r++) printf("user %lld  cosine %.4f\n", (long long)top[r], cosine[r]);
    faiss_Index_free(users);
    return top[0] == 100042 && cosine[0] > 0.9999f ? 0 : 1;
}
