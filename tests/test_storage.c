/*
 * test_storage.c - storage names: every storage round-trips through its name, aliases parse,
 * unknown names are refused with a message that lists the known ones, and "pq:M" sets the
 * options (mvke_index_options_set_storage) or changes nothing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "mvke/mvke.h"

Test(storage, names_round_trip) {
    const mvke_storage all[] = {MVKE_STORAGE_F32, MVKE_STORAGE_F16, MVKE_STORAGE_BF16, MVKE_STORAGE_SQ8,
                                MVKE_STORAGE_PQ};
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

Test(storage, options_take_pq_with_its_sub_spaces) {
    mvke_index_options o;
    mvke_index_options_init(&o);
    cr_assert_eq(o.pq_m, 0);
    cr_assert_eq(o.refine, 0);
    cr_assert_eq(mvke_index_options_set_storage(&o, "pq:8"), MVKE_OK);
    cr_assert_eq(o.storage, MVKE_STORAGE_PQ);
    cr_assert_eq(o.pq_m, 8);
    const char *bad[] = {"pq:", "pq:0", "pq:x", "pq:8x", "pq:-1", "pq: 8", "sq4", "", "pq:99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(mvke_index_options_set_storage(&o, bad[i]), MVKE_ERR_INVALID, "%s", bad[i]);
        cr_assert_eq(o.storage, MVKE_STORAGE_PQ);
        cr_assert_eq(o.pq_m, 8);
    }
    cr_assert_eq(mvke_index_options_set_storage(&o, "sq8"), MVKE_OK);
    cr_assert_eq(o.storage, MVKE_STORAGE_SQ8);
    cr_assert_eq(o.pq_m, 0);
    cr_assert_eq(mvke_index_options_set_storage(&o, "float16"), MVKE_OK);
    cr_assert_eq(o.storage, MVKE_STORAGE_F16);
    cr_assert_eq(mvke_index_options_set_storage(NULL, "f32"), MVKE_ERR_INVALID);
    mvke_storage st;
    cr_assert_eq(mvke_storage_from_name("pq:8", &st), MVKE_ERR_INVALID); /* plain names only */
    cr_assert(strstr(mvke_last_error(), "pq:M"), "%s", mvke_last_error());
}
