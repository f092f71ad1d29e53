/*
 * id_text.c - one line of a text file of ids (allow-lists, id files): the rules every such file
 * follows, whatever the line's length (docs/cli.md, "Text files of ids").
 */
#include "id_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_id_line(char *line, size_t len, int64_t lineno, long long *id, const char **why) {
    if (strlen(line) != len) {
        *why = "holds a NUL byte";
        return -1;
    }
    char *s = line;
    if (lineno == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3; /* a UTF-8 byte-order mark */
    while (*s == ' ' || *s == '\t') s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n' || s[l - 1] == '\r')) s[--l] = 0;
    if (l == 0 || s[0] == '#') return 0;
    const char *p = s + (s[0] == '-' || s[0] == '+');
    if (*p < '0' || *p > '9') {
        *why = "is not a decimal id";
        return -1;
    }
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') {
            *why = (q == p + 1 && p[0] == '0' && (*q == 'x' || *q == 'X')) ? "is hexadecimal; ids are decimal"
                                                                            : "has characters after the number";
            return -1;
        }
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE) {
        *why = "is outside the int64 range";
        return -1;
    }
    *id = v;
    return 1;
}
