/*
 * test_allow.c - allow-list construction and membership.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "mvke/mvke.h"

Test(allow, sorted_and_bitmap) {
    int64_t ids[4] = {0, 3, 64, 1000000000000};
    mvke_allow *a;
    cr_assert_eq(mvke_allow_new_sorted(&a, ids, 4), MVKE_OK);
    int yes;
    for (int i = 0; i < 4; i++) {
        mvke_allow_contains(a, ids[i], &yes);
        cr_assert(yes);
    }
    mvke_allow_contains(a, 4, &yes);
    cr_assert(!yes);
    mvke_allow_free(a);
    uint8_t bits[2] = {0x81, 0x02}; /* 0, 7, 9 */
    cr_assert_eq(mvke_allow_new_bitmap(&a, bits, 10), MVKE_OK);
    bits[0] = 0; /* the allow-list keeps its own copy */
    for (int64_t id = -1; id < 20; id++) {
        mvke_allow_contains(a, id, &yes);
        cr_assert_eq(yes, id == 0 || id == 7 || id == 9, "id %lld", (long long)id);
    }
    mvke_allow_free(a);
    cr_assert_eq(mvke_allow_new_sorted(&a, NULL, 0), MVKE_OK);
    mvke_allow_contains(a, 0, &yes);
    cr_assert(!yes);
    mvke_allow_free(a);
    mvke_allow_free(NULL);
}

Test(allow, rejects_unsorted) {
    int64_t ids[3] = {1, 5, 5};
    mvke_allow *a = (mvke_allow *)1;
    cr_assert_eq(mvke_allow_new_sorted(&a, ids, 3), MVKE_ERR_INVALID);
    cr_assert_null(a);
    cr_assert(strstr(mvke_last_error(), "position 2"), "%s", mvke_last_error());
    cr_assert_eq(mvke_allow_new_bitmap(&a, NULL, 5), MVKE_ERR_INVALID);
    cr_assert_eq(mvke_allow_new_sorted(&a, ids, -1), MVKE_ERR_INVALID);
}
