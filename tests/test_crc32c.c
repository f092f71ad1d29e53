/*
 * test_crc32c.c - CRC-32C: the standard check value, the hardware path against the portable one
 * on every length and alignment, and chaining.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/crc32c.h"
#include "reference.h"

Test(crc32c, check_value) {
    /* The CRC-32C check value of "123456789" (RFC 3720 appendix B.4). */
    cr_assert_eq(mvke_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_assert_eq(mvke_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    unsigned char zeros[32] = {0};
    cr_assert_eq(mvke_crc32c(0, zeros, 32), 0x8A9136AAu);
    cr_assert_eq(mvke_crc32c(0, NULL, 0), 0u);
}

Test(crc32c, fast_path_equals_portable_and_chains) {
    unsigned char buf[600];
    ref_seed(5);
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(ref_uniform() * 256);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += 7) {
            uint32_t a = mvke_crc32c(0, buf + off, n), b = mvke_crc32c_portable(0, buf + off, n);
            cr_assert_eq(a, b, "offset %zu length %zu", off, n);
            size_t h = n / 3;
            cr_assert_eq(mvke_crc32c(mvke_crc32c(0, buf + off, h), buf + off + h, n - h), a);
        }
    /* one flipped bit anywhere changes it */
    uint32_t base = mvke_crc32c(0, buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf * 8; i += 13) {
        buf[i / 8] ^= (unsigned char)(1u << (i % 8));
        cr_assert_neq(mvke_crc32c(0, buf, sizeof buf), base);
        buf[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
}

Test(crc32c, interleaved_streams_equal_portable_on_long_buffers) {
    /* Lengths around multiples of the three-stream round (3 x 4096 bytes) and odd starts. */
    const size_t cap = 5 * 3 * 4096 + 64;
    unsigned char *buf = malloc(cap);
    ref_seed(6);
    for (size_t i = 0; i < cap; i++) buf[i] = (unsigned char)(ref_uniform() * 256);
    const size_t lens[] = {12287, 12288, 12289, 24576, 24583, 3 * 4096 * 5, 50000};
    for (size_t off = 0; off < 3; off++)
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            size_t n = lens[k];
            if (n + off > cap) continue;
            cr_assert_eq(mvke_crc32c(0, buf + off, n), mvke_crc32c_portable(0, buf + off, n), "offset %zu length %zu", off, n);
            cr_assert_eq(mvke_crc32c(0x12345678u, buf + off, n), mvke_crc32c_portable(0x12345678u, buf + off, n));
        }
    free(buf);
}
