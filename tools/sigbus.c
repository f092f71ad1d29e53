/*
 * sigbus.c - SIGBUS on a mapped index turned into a message and exit status 4 (sigbus.h). Only
 * async-signal-safe calls in the handler: write and _exit. The message is built before any
 * mapping, each time a command registers the file it is about to open.
 */
#include "sigbus.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static char message[4400];
static size_t message_len;
static char cmd_name[64] = "mvke";
static char files[3072];

static void on_sigbus(int sig) {
    (void)sig;
    ssize_t w = write(2, message, message_len);
    (void)w;
    _exit(CLI_EXIT_IO);
}

static void build(void) {
    int n = snprintf(message, sizeof message, "mvke %s: %s was truncated or replaced in place while in use (publish a new "
                     "index with mv or rename, never cp over a live file)\n", cmd_name, files[0] ? files : "the index");
    message_len = n < 0 ? 0 : (size_t)n < sizeof message ? (size_t)n : sizeof message - 1;
}

void cli_sigbus_install(const char *cmd) {
    snprintf(cmd_name, sizeof cmd_name, "%s", cmd);
    files[0] = 0;
    build();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

void cli_sigbus_index(const char *path) {
    const size_t used = strlen(files);
    if (used + strlen(path) + 6 < sizeof files) snprintf(files + used, sizeof files - used, "%s%s", used ? " or " : "", path);
    build();
}
