/*
 * commands.c - the table of `mvke` subcommands. A new subcommand adds its line here.
 */
#include "cli.h"

int mvke_cmd_demo(int argc, char **argv);

const mvke_command mvke_commands[] = {
    {"demo", "build a random index and show an audience and a user's top tags", mvke_cmd_demo},
    {0, 0, 0},
};
