/*
 * decimal.h - numbers as TSV text without printf: tag-all writes tens of millions of lines, and
 * printf's parsing and general-purpose float conversion cost as much CPU as the scoring. The
 * output is byte for byte what printf writes (tests/test_decimal.c compares them), so files
 * stay identical to those of earlier versions.
 */
#ifndef MVKE_TOOLS_DECIMAL_H
#define MVKE_TOOLS_DECIMAL_H

#include <stdint.h>

/* The longest text either function writes: a sign and 20 digits; for cli_decimal_fixed6 a value
 * beyond 2^40 falls back to snprintf, which writes at most CLI_DECIMAL_MAX bytes. No terminating
 * NUL is written. */
#define CLI_DECIMAL_MAX 64

/* Writes v as printf("%lld") does at p; returns the end of what it wrote. */
char *cli_decimal_i64(char *p, int64_t v);

/* Writes v as printf("%.6f", (double)v) does at p (round half to even on the exact binary
 * value, "-0.000000" for small negatives, inf and nan as printf spells them); returns the end.
 * Writes at most CLI_DECIMAL_MAX bytes (larger magnitudes than 1e19 are never scores). */
char *cli_decimal_fixed6(char *p, float v);

#endif
