/*
 * cmd_verify.c - `mvke verify INDEX`: checks every size, offset and checksum of an index file
 * and that its users and tags load.
 */
#include <stdio.h>

#include "cli.h"
#include "support/options.h"

int cli_cmd_verify(int argc, char **argv) {
    const char *path = NULL;
    const cli_option options[] = {
        {.metavar = "INDEX", .help = "the index file", .kind = CLI_POSITIONAL, .dst = &path, .required = 1},
    };
    const cli_spec spec = {"mvke verify",
                           "Recomputes the CRC-32C of the header, the section table and every section, checks\n"
                           "every size and offset, and loads the users and tags. Prints 'INDEX: ok' and exits 0, or\n"
                           "names what is wrong and exits 3 (corrupted or malformed) or 4 (cannot read).\n",
                           NULL, options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    mvke_status st = mvke_file_verify(path);
    if (st != MVKE_OK) return cli_fail("verify", st, path);
    printf("%s: ok\n", path);
    return CLI_EXIT_OK;
}
