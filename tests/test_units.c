/*
 * test_units.c - first-use checksum units: a unit is checked when a read first overlaps it and
 * never again, a mismatch names the section and the byte range, reads outside the sections
 * (memory the store owns) need nothing, and a skipped section is not checked.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/crc32c.h"
#include "index/file_format.h"
#include "index/units.h"

enum { SHIFT = 6, UNIT = 1 << SHIFT, SIZE = 5 * UNIT + 10 }; /* six units, the last short */

static unsigned char file[64 + SIZE], crcs[4 * 6], state[6];

static void make(mvke_units *u, int skip) {
    for (int i = 0; i < SIZE; i++) file[64 + i] = (unsigned char)(i * 7 + 3);
    for (int k = 0; k < 6; k++) {
        const int len = k < 5 ? UNIT : 10;
        mvke_put_u32(crcs + 4 * k, mvke_crc32c(0, file + 64 + k * UNIT, (size_t)len));
    }
    memset(state, 0, sizeof state);
    memset(u, 0, sizeof *u);
    u->base = file;
    u->path = (char *)"f.mvke";
    u->shift = SHIFT;
    u->nunits = 6;
    u->crcs = crcs;
    u->state = state;
    u->nsec = 1;
    u->sec[0] = (mvke_units_section){MVKE_SEC_USER_BLOCKS, 64, SIZE, 0, skip};
}

Test(units, checked_on_first_overlap_then_never_again) {
    mvke_units u;
    make(&u, 0);
    cr_assert_eq(mvke_units_check(&u, file + 64 + UNIT - 1, 2), MVKE_OK); /* units 0 and 1 */
    cr_assert(state[0] && state[1] && !state[2]);
    file[64 + 3] ^= 1; /* unit 0 is trusted now: no second look */
    cr_assert_eq(mvke_units_check(&u, file + 64, 4), MVKE_OK);
    cr_assert_eq(mvke_units_check_all(&u), MVKE_ERR_CHECKSUM); /* verify looks again */
    file[64 + 3] ^= 1;
    cr_assert_eq(mvke_units_check(&u, file + 64 + SIZE - 1, 1), MVKE_OK); /* the short last unit */
    cr_assert(state[5]);
    unsigned char mine[8];
    cr_assert_eq(mvke_units_check(&u, mine, sizeof mine), MVKE_OK);
    cr_assert_eq(mvke_units_check(NULL, file, 1), MVKE_OK);
}

Test(units, a_mismatch_names_the_byte_range) {
    mvke_units u;
    make(&u, 0);
    file[64 + 2 * UNIT + 5] ^= 0x40;
    cr_assert_eq(mvke_units_check(&u, file + 64 + 2 * UNIT + 9, 1), MVKE_ERR_CHECKSUM);
    char want[64];
    snprintf(want, sizeof want, "bytes %d-%d", 64 + 2 * UNIT, 64 + 3 * UNIT - 1);
    cr_assert(strstr(mvke_last_error(), want) && strstr(mvke_last_error(), "f.mvke") &&
              strstr(mvke_last_error(), "user blocks"), "%s", mvke_last_error());
    cr_assert_eq(state[2], 0);
    cr_assert_eq(mvke_units_check(&u, file + 64 + 2 * UNIT, 1), MVKE_ERR_CHECKSUM); /* still refused */
}

Test(units, a_skipped_section_is_not_checked) {
    mvke_units u;
    make(&u, 1);
    file[64] ^= 1;
    cr_assert_eq(mvke_units_check(&u, file + 64, 8), MVKE_OK);
}
