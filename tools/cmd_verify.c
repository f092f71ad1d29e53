/*
 * cmd_verify.c - `mvke verify INDEX`: checks every size, offset and checksum of an index file
 * and that its users and tags load.
 */
#include <stdio.h>

#include "args.h"
#include "cli.h"

static const char *USAGE = "mvke verify INDEX";

int mvke_cmd_verify(int argc, char **argv) {
    if (mvke_arg_wants_help(argc, argv)) {
        printf("usage: %s\n\nRecomputes the CRC-32C of the header, the section table and every section, checks\n"
               "every size and offset, and loads the users and tags. Prints 'INDEX: ok' and exits 0, or\n"
               "names what is wrong and exits 3 (corrupted or malformed) or 4 (cannot read).\n", USAGE);
        return MVKE_EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') return mvke_cli_usage("verify", USAGE, "expected one INDEX argument");
    mvke_status st = mvke_file_verify(argv[1]);
    if (st != MVKE_OK) return mvke_cli_fail("verify", st, argv[1]);
    printf("%s: ok\n", argv[1]);
    return MVKE_EXIT_OK;
}
