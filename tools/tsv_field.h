/*
 * tsv_field.h - printing a stored string (a tag or task name) as one TSV field: whatever cannot
 * appear raw in a field or should not reach a terminal is escaped, so that one field stays one
 * field and no control sequence is ever printed.
 */
#ifndef MVKE_TOOLS_TSV_FIELD_H
#define MVKE_TOOLS_TSV_FIELD_H

#include <stdio.h>

/* Writes s to f with backslash escapes: \t, \n, \r, \\ and \xHH for any other C0 control, DEL and
 * the C1 controls (UTF-8 C2 80-9F, written \xC2\xHH). Other bytes, UTF-8 included, are written
 * as they are. Returns 0, or -1 when writing failed (ferror(f)). */
int cli_tsv_field_print(FILE *f, const char *s);

#endif
