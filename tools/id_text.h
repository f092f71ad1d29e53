/*
 * id_text.h - the parser of one line of a text file of ids, shared by every option that reads one
 * (--allow, and id files): a line of any length (read with getline) holds one decimal id with an
 * optional sign, surrounded by spaces or tabs; CRLF endings and a UTF-8 byte-order mark on the
 * first line are accepted; blank lines and lines starting with '#' are skipped. Anything else
 * (hex, junk after the number, a value outside int64, a NUL byte) is an error.
 */
#ifndef MVKE_TOOLS_ID_TEXT_H
#define MVKE_TOOLS_ID_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* line (len bytes as getline returned them, modified in place) is line number lineno (from 1).
 * Returns 1 with *id set, 0 for a line to skip, or -1 with *why (static text) for a bad line. */
int cli_id_line(char *line, size_t len, int64_t lineno, long long *id, const char **why);

#endif
