/*
 * tag_all_safety.c - what keeps `mvke tag-all` from harming its inputs or a run's state: the
 * output, its checkpoint and the checkpoint's temporary checked before anything is opened for
 * writing (never a device, FIFO, link, nor the index itself); a leftover checkpoint not
 * overwritten without --resume or --force; -o - (or /dev/stdout) streamed tsv with no checkpoint;
 * SIGINT and SIGTERM turned into a clean stop after the current block with a checkpoint.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "outputs.h"
#include "tag_all.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) {
    stop_signal = sig;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

void cli_tag_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_tag_stop_signal(void) { return (int)stop_signal; }

int cli_tag_check_outputs(cli_tag_run *r, int resume, int force) {
    if (r->stream) {
        if (r->npy) {
            fprintf(stderr, "mvke tag-all: -o %s streams tsv only; --format npy needs a directory\n", r->out);
            return CLI_EXIT_USAGE;
        }
        if (resume) {
            fprintf(stderr, "mvke tag-all: --resume needs a file output: a stream (-o %s) has no checkpoint\n", r->out);
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    }
    const char *const inputs[] = {r->index};
    char tmp[sizeof r->ckpt + 8]; /* room for the checkpoint's name and ".tmp" */
    snprintf(tmp, sizeof tmp, "%s.tmp", r->ckpt);
    int rc = r->npy ? cli_output_dir_check("tag-all", r->out, inputs, 1) : cli_output_check("tag-all", r->out, inputs, 1);
    if (rc || (rc = cli_output_check("tag-all", r->ckpt, inputs, 1)) || (rc = cli_output_check("tag-all", tmp, inputs, 1)))
        return rc;
    /* A part after the first has no header line: its name (OUT.part-NNNNN) is the program's own. */
    if (!r->npy && !resume && !(r->parts && r->rank != 0) &&
        (rc = cli_output_kind_check("tag-all", r->out, CLI_KIND_TAG_ALL, force)) != 0)
        return rc;
    struct stat sb;
    if (!resume && !force && lstat(r->ckpt, &sb) == 0) {
        fprintf(stderr, "mvke tag-all: %s exists: a run into %s was interrupted; add --resume to continue it or "
                "--force to start over\n", r->ckpt, r->out);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}
