/*
 * test_storage.c - storage names: every storage round-trips through its name, aliases parse,
 * unknown names are refused with a message that lists the known ones.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "mvke/mvke.h"

Test(storage, names_round_trip) {
    const mvke_storage all[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        mvke_storage back = (mvke_storage)-1;
        cr_assert_eq(mvke_storage_from_name(mvke_storage_name(all[i]), &back), MVKE_OK);
        cr_assert_eq(back, all[i]);
    }
}

Test(storage, aliases_and_unknown) {
    mvke_storage s;
    cr_assert_eq(mvke_storage_from_name("float16", &s), MVKE_OK);
    cr_assert_eq(s, MVKE_STORAGE_F16);
    cr_assert_eq(mvke_storage_from_name("float32", &s), MVKE_OK);
    cr_assert_eq(s, MVKE_STORAGE_F32);
    cr_assert_eq(mvke_storage_from_name("f64", &s), MVKE_ERR_INVALID);
    cr_assert(strstr(mvke_last_error(), "f64") && strstr(mvke_last_error(), "f16"), "%s", mvke_last_error());
    cr_assert_eq(mvke_storage_from_name(NULL, &s), MVKE_ERR_INVALID);
    cr_assert_str_eq(mvke_storage_name((mvke_storage)99), "unknown");
}
