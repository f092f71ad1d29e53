/*
 * tsv_field.c - one TSV field, escaped (tsv_field.h).
 */
#include "tsv_field.h"

int cli_tsv_field_print(FILE *f, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    for (; *u; u++) {
        const unsigned c = *u;
        if (c == '\t') fputs("\\t", f);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (c < 0x20 || c == 0x7F) fprintf(f, "\\x%02X", c);
        else if (c == 0xC2 && u[1] >= 0x80 && u[1] <= 0x9F) {
            fprintf(f, "\\xC2\\x%02X", u[1]);
            u++;
        } else fputc((int)c, f);
    }
    return ferror(f) ? -1 : 0;
}
