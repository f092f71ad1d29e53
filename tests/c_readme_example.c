/* The C example of README.md: a tag's audience and a user's top tag. */
#include <math.h>
#include <stdio.h>
#include <mvke/mvke.h>

enum { K = 5, D = 30, N = 1000 }; /* experts per user, their dimension, users */

static float x[N * K * D]; /* users: shape (N, K, D), each row K experts back to back */

int main(void) {
    int64_t ids[N], tag_ids[2] = {7, 8};
    float q[2 * D], w[2 * K] = {0.5f, 0.3f, 0.2f, 0, 0, 0.1f, 0.1f, 0.8f, 0, 0}; /* 2 tags: (2, D), (2, K) */
    for (int j = 0; j < 2 * D; j++) q[j] = cosf(0.3f * j);
    for (int i = 0; i < N; i++) {
        ids[i] = 100000 + i;
        for (int j = 0; j < K * D; j++) x[i * K * D + j] = i == 42 ? q[j % D] : sinf(0.7f * i + 1.3f * j);
    }
    mvke_index *users = NULL;
    mvke_tags *tags = NULL;
    mvke_result *aud = NULL, *top = NULL;
    const int64_t *who, *tag;
    const float *s, *ts;
    int64_t n = 0, m = 0;
    if (mvke_index_new(&users, K, D, NULL) || mvke_index_add(users, N, ids, x) ||
        mvke_tags_new(&tags, K, D, NULL) || mvke_tags_add_task(tags, "interest", (int[]){0, 1, 2}, 3) ||
        mvke_tags_add(tags, "interest", 2, tag_ids, NULL, NULL, q, w) ||
        mvke_audience_top(users, tags, "interest", 1, &tag_ids[0], 3, NULL, &aud) || /* tag 7 -> top-3 users */
        mvke_user_tags_top(users, tags, "interest", 1, &ids[42], 1, &top) ||         /* user -> top-1 tag */
        mvke_result_get(aud, 0, &who, &s, &n) || mvke_result_get(top, 0, &tag, &ts, &m)) {
        fprintf(stderr, "mvke: %s\n", mvke_last_error());
        return 1;
    }
    for (int64_t r = 0; r < n; r++) printf("tag 7: user %lld  cosine %.4f\n", (long long)who[r], s[r]);
    printf("user 100042: tag %lld  cosine %.4f\n", (long long)tag[0], ts[0]);
    const int ok = n == 3 && who[0] == 100042 && s[0] > 0.9999f && m == 1 && tag[0] == 7;
    mvke_result_free(aud), mvke_result_free(top), mvke_tags_free(tags), mvke_index_free(users);
    return ok ? 0 : 1;
}
