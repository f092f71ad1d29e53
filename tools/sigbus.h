/*
 * sigbus.h - the tool's answer to an index file cut short under its mapping (`cp new live` over a
 * file in use truncates it in place): a message naming the file and exit status 4, not a crash.
 */
#ifndef MVKE_TOOLS_SIGBUS_H
#define MVKE_TOOLS_SIGBUS_H

/* Installs the SIGBUS handler for the run of subcommand `cmd`; until an index is registered the
 * message speaks of "the index". */
void cli_sigbus_install(const char *cmd);

/* Registers an index file the command is about to map: the message names every file
 * registered (a merge maps several). Call before mvke_file_open. */
void cli_sigbus_index(const char *path);

#endif
