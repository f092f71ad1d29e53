/*
 * sigbus.c - SIGBUS on a mapped index turned into a message and exit status 4 (sigbus.h). Only
 * async-signal-safe calls in the handler: write and _exit.
 */
#include "sigbus.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static char message[4400];
static size_t message_len;

static void on_sigbus(int sig) {
    (void)sig;
    ssize_t w = write(2, message, message_len);
    (void)w;
    _exit(CLI_EXIT_IO);
}

void cli_sigbus_install(int argc, char **argv) {
    const char *index = NULL;
    for (int i = 1; i < argc && !index; i++) {
        struct stat sb;
        if (argv[i][0] != '-' && stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode)) index = argv[i];
    }
    int n = snprintf(message, sizeof message, "mvke %s: %s was truncated or replaced in place while in use (publish a new "
                     "index with mv or rename, never cp over a live file)\n", argv[0], index ? index : "the index");
    message_len = n < 0 ? 0 : (size_t)n < sizeof message ? (size_t)n : sizeof message - 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}
