/*
 * decimal.c - integers and six-decimal fixed point as printf writes them, without printf
 * (decimal.h says why). A float is m * 2^e with m < 2^24, so round(|v| * 10^6) is an exact
 * integer computation in 64 bits for every |v| < 2^40: m * 10^6 < 2^44, shifted right with
 * round-half-even, as glibc rounds the exact binary value.
 */
#include "decimal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";

/* Two digits at a time from the end: half the divisions of one at a time. */
static char *u64_digits(char *p, uint64_t v) {
    int n = 1;
    for (uint64_t t = v; t >= 10; t /= 10) n++;
    char *q = p + n;
    while (v >= 100) {
        const unsigned r = (unsigned)(v % 100);
        v /= 100;
        q -= 2;
        memcpy(q, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, pairs + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    return p + n;
}

char *cli_decimal_i64(char *p, int64_t v) {
    if (v < 0) {
        *p++ = '-';
        return u64_digits(p, 0 - (uint64_t)v); /* INT64_MIN included */
    }
    return u64_digits(p, (uint64_t)v);
}

char *cli_decimal_fixed6(char *p, float v) {
    if (!isfinite(v) || fabsf(v) >= 0x1p40f) {
        char tmp[CLI_DECIMAL_MAX + 1];
        int n = snprintf(tmp, sizeof tmp, "%.6f", (double)v);
        if (n < 0) n = 0;
        if (n > CLI_DECIMAL_MAX) n = CLI_DECIMAL_MAX; /* never: |v| < 3.5e38 has 39 digits + 8 */
        memcpy(p, tmp, (size_t)n);
        return p + n;
    }
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    const uint32_t ex = (b >> 23) & 0xff;
    uint64_t m = b & 0x7fffff;
    int e = -149; /* subnormal */
    if (ex) {
        m |= 0x800000;
        e = (int)ex - 150;
    }
    uint64_t q; /* round(|v| * 10^6) */
    if (e >= 0) {
        q = (m << e) * 1000000u; /* m << e < 2^40 */
    } else if (-e >= 64) {
        q = 0; /* |v| * 10^6 < 2^44 / 2^64 */
    } else {
        const int s = -e;
        const uint64_t N = m * 1000000u, half = 1ull << (s - 1);
        q = N >> s;
        const uint64_t rem = N - (q << s);
        if (rem > half || (rem == half && (q & 1))) q++;
    }
    if (b >> 31) *p++ = '-';
    p = u64_digits(p, q / 1000000u);
    *p++ = '.';
    const uint32_t f = (uint32_t)(q % 1000000u);
    memcpy(p, pairs + 2 * (f / 10000), 2);
    memcpy(p + 2, pairs + 2 * (f / 100 % 100), 2);
    memcpy(p + 4, pairs + 2 * (f % 100), 2);
    return p + 6;
}
