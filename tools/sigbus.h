/*
 * sigbus.h - the tool's answer to an index file cut short under its mapping (`cp new live` over a
 * file in use truncates it in place): a message naming the file and exit status 4, not a crash.
 */
#ifndef MVKE_TOOLS_SIGBUS_H
#define MVKE_TOOLS_SIGBUS_H

/* Installs the SIGBUS handler for the run of one subcommand; index is the file it maps (the first
 * argument of argv[1..argc-1] that names an existing file; none: "the index"). */
void cli_sigbus_install(int argc, char **argv);

#endif
