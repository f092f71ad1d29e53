/*
 * mvke.c - entry point of the `mvke` command-line tool: dispatches to a subcommand.
 *
 * Launched by mpirun, the process is one rank of a job (mpi/dist.h): a rank whose command fails
 * ends the whole job at once with its exit code, so that no rank waits for ever on it.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "outputs.h"
#include "sigbus.h"

#include "../mpi/dist.h"

static void usage(FILE *f) {
    fprintf(f, "usage: mvke <command> [options]   (mvke <command> --help for each)\n\ncommands:\n");
    for (const cli_command *c = cli_commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\nmvke --version prints the library version.\n");
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return cli_close_stdout("--help", CLI_EXIT_OK);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mvke %s\n", mvke_version());
        return cli_close_stdout("--version", CLI_EXIT_OK);
    }
    for (const cli_command *c = cli_commands; c->name; c++)
        if (!strcmp(argv[1], c->name)) {
            cli_sigbus_install(c->name);
            return cli_close_stdout(c->name, c->run(argc - 1, argv + 1));
        }
    fprintf(stderr, "mvke: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
    /* A closed pipe is a write error like any other (exit 4, with a message), not a silent
     * death by SIGPIPE (exit 141). */
    signal(SIGPIPE, SIG_IGN);
    if (mvke_dist_init(&argc, &argv) != 0) return CLI_EXIT_FAIL;
    int rc = dispatch(argc, argv);
    if (!mvke_dist_active()) return rc;
    if (rc != CLI_EXIT_OK) mvke_dist_abort(rc);
    fflush(stdout);
    mvke_dist_finish();
    return rc;
}
