/*
 * commands.c - the table of `mvke` subcommands. A new subcommand adds its line here.
 */
#include "cli.h"

int mvke_cmd_demo(int argc, char **argv);
int mvke_cmd_gen(int argc, char **argv);

const mvke_command mvke_commands[] = {
    {"demo", "what the system does, on a synthetic world it makes itself (report with pictures)", mvke_cmd_demo},
    {"gen", "write a synthetic MVKE world as .npy files and a tags.tsv", mvke_cmd_gen},
    {0, 0, 0},
};
