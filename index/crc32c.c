/*
 * crc32c.c - CRC-32C, reflected polynomial 0x82F63B78, initial value and final xor ~0.
 * Portable path: slicing-by-8 tables built once. Hardware path: the SSE4.2 crc32 instruction on
 * three interleaved streams (the instruction has a latency of 3 cycles and a throughput of 1, so
 * one stream runs at a third of the unit's speed); the three partial CRCs are joined with a
 * "shift by L zero bytes" operator applied through four byte tables. Whether SSE4.2 may be used
 * is the one reader of the CPU's answer (kernels/cpu/cpu_features.h, capped by MVKE_CPU).
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#include "../kernels/cpu/cpu_features.h"

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 8; s++) table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xff];
}

/* The raw register update (no inversions) over n bytes. */
static uint32_t raw_portable(uint32_t c, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint32_t lo = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        lo ^= c;
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
            table[4][lo >> 24] ^ table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return c;
}

uint32_t mvke_crc32c_portable(uint32_t crc, const void *data, size_t n) {
    pthread_once(&table_once, table_init);
    return ~raw_portable(~crc, data, n);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

#define STREAM 4096 /* bytes of each of the three streams per round */

/* shift[i][b]: the register after STREAM zero bytes, starting from byte b at position i. */
static uint32_t shift[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static void shift_init(void) {
    pthread_once(&table_once, table_init);
    static const unsigned char zeros[STREAM];
    uint32_t basis[32];
    for (int j = 0; j < 32; j++) basis[j] = raw_portable((uint32_t)1 << j, zeros, STREAM);
    for (int i = 0; i < 4; i++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int j = 0; j < 8; j++)
                if (b >> j & 1) v ^= basis[8 * i + j];
            shift[i][b] = v;
        }
}

static inline uint32_t shift_one(uint32_t c) {
    return shift[0][c & 0xff] ^ shift[1][(c >> 8) & 0xff] ^ shift[2][(c >> 16) & 0xff] ^ shift[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    while (n >= 3 * STREAM) {
        uint64_t a = c, b = 0, d = 0;
        const unsigned char *pb = p + STREAM, *pd = p + 2 * STREAM;
        for (size_t i = 0; i < STREAM; i += 8) {
            uint64_t va, vb, vd;
            memcpy(&va, p + i, 8);
            memcpy(&vb, pb + i, 8);
            memcpy(&vd, pd + i, 8);
            a = _mm_crc32_u64(a, va);
            b = _mm_crc32_u64(b, vb);
            d = _mm_crc32_u64(d, vd);
        }
        c = shift_one(shift_one((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)d;
        p += 3 * STREAM;
        n -= 3 * STREAM;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

static int has_sse42(void) { return (mvke_cpu_features() & MVKE_CPU_HAS_SSE42) != 0; }

uint32_t mvke_crc32c(uint32_t crc, const void *data, size_t n) {
    static int hw = -1; /* -1 unknown, else 0/1; every thread computes the same value */
    int h = __atomic_load_n(&hw, __ATOMIC_ACQUIRE);
    if (h < 0) {
        h = has_sse42();
        if (h) pthread_once(&shift_once, shift_init);
        __atomic_store_n(&hw, h, __ATOMIC_RELEASE);
    }
    return h ? crc32c_sse42(crc, data, n) : mvke_crc32c_portable(crc, data, n);
}
#else
uint32_t mvke_crc32c(uint32_t crc, const void *data, size_t n) { return mvke_crc32c_portable(crc, data, n); }
#endif
