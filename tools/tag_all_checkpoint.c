/*
 * tag_all_checkpoint.c - the checkpoint protocol of `mvke tag-all`: after a block is written and
 * fsynced, a small sidecar file (OUT.checkpoint, or OUT/checkpoint) is replaced atomically with
 * the position of the next user and the committed output length, plus what identifies the run
 * (index size and fingerprint, M, task, format, block size), and a last line with the CRC-32C
 * of the lines before it. --resume checks those, so that a resumed run writes exactly what an
 * uninterrupted one would, and refuses a checkpoint changed by hand or damaged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "index/crc32c.h"
#include "index/durable.h"
#include "tag_all.h"

int cli_tag_io_fail(const char *what, const char *path) {
    fprintf(stderr, "mvke tag-all: %s %s: %s\n", what, path, strerror(errno));
    return CLI_EXIT_IO;
}

/* The first line; 2 since the values line (--prob). */
#define CKPT_MAGIC "mvke tag-all checkpoint 2"

/* The checkpoint's text for a position and output length. */
static int ckpt_text(const cli_tag_run *r, int64_t next, uint64_t bytes, char *buf, size_t cap) {
    char part[128] = "";
    if (r->parts)
        snprintf(part, sizeof part, "part %d of %d: positions %lld-%lld\n", r->rank, r->nranks, (long long)r->lo,
                 (long long)r->hi);
    const int n = snprintf(buf, cap,
                    CKPT_MAGIC "\npartial yes (the output is incomplete: continue with --resume)\nindex_bytes %llu\nindex_fingerprint %08x\nusers %lld\ntop %lld\n"
                    "task %s\nformat %s\nvalues %s\nblock_users %lld\n%snext_user %lld\noutput_bytes %llu\n",
                    (unsigned long long)r->fi.size, r->fi.fingerprint, (long long)r->n, r->top, r->task ? r->task : "*",
                    r->npy ? "npy" : r->names ? "tsv-names" : "tsv", r->prob ? "prob" : "score", r->block, part, (long long)next, (unsigned long long)bytes);
    if (n < 0 || (size_t)n >= cap) return n;
    return n + snprintf(buf + n, cap - (size_t)n, "crc %08x\n", mvke_crc32c(0, buf, (size_t)n));
}

int cli_tag_checkpoint_write(const cli_tag_run *r, int64_t next, uint64_t bytes) {
    char text[1024], tmp[4300];
    int len = ckpt_text(r, next, bytes, text, sizeof text);
    snprintf(tmp, sizeof tmp, "%s.tmp", r->ckpt);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return cli_tag_io_fail("cannot create", tmp);
    if (mvke_write_all(fd, text, (size_t)len, -1, NULL) != 0 || fsync(fd) != 0) {
        close(fd);
        return cli_tag_io_fail("cannot write", tmp);
    }
    close(fd);
    if (rename(tmp, r->ckpt) != 0) return cli_tag_io_fail("cannot rename to", r->ckpt);
    if (mvke_fsync_dir_of(r->ckpt) != 0) return cli_tag_io_fail("cannot fsync the directory of", r->ckpt);
    return CLI_EXIT_OK;
}

/* What on the command line a checkpoint's key records. */
static const char *checkpoint_option(const char *key) {
    static const char *const map[][2] = {
        {"index_bytes", "index (its size in bytes)"}, {"index_fingerprint", "index (its fingerprint)"},
        {"users", "index (its number of users)"}, {"top", "--top"}, {"task", "--task"},
        {"format", "--format or --names"}, {"values", "--prob"}, {"block_users", "--block-users"}, {"part", "number of ranks"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(key, map[i][0])) return map[i][1];
    return "run";
}

/* The first line where the checkpoint (a) and this run's (b) differ: its key and both values
 * (key "part" and no values when only the position lies outside this rank's part). */
static void checkpoint_difference(const char *a, const char *b, char key[64], char was[160], char now[160]) {
    snprintf(key, 64, "part");
    was[0] = now[0] = 0;
    while (*a && *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la)) {
            const char *va = memchr(a, ' ', la), *vb = memchr(b, ' ', lb);
            size_t k = vb ? (size_t)(vb - b) : lb;
            snprintf(key, 64, "%.*s", (int)(k < 63 ? k : 63), b);
            if (va) snprintf(was, 160, "%.*s", (int)(a + la - va - 1 < 150 ? a + la - va - 1 : 150), va + 1);
            if (vb) snprintf(now, 160, "%.*s", (int)(b + lb - vb - 1 < 150 ? b + lb - vb - 1 : 150), vb + 1);
            return;
        }
        a += la + (a[la] != 0);
        b += lb + (b[lb] != 0);
    }
}

int cli_tag_checkpoint_read(const cli_tag_run *r, int *found, int64_t *next, uint64_t *bytes) {
    *found = 0;
    FILE *f = fopen(r->ckpt, "r");
    if (!f) return errno == ENOENT ? CLI_EXIT_OK : cli_tag_io_fail("cannot open", r->ckpt);
    char text[2048];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strstr(text, "next_user ");
    long long nu;
    unsigned long long ob;
    if (!p || sscanf(p, "next_user %lld\noutput_bytes %llu\n", &nu, &ob) != 2) {
        fprintf(stderr, "mvke tag-all: %s: not a checkpoint of this program\n", r->ckpt);
        return CLI_EXIT_DATA;
    }
    if (strncmp(text, CKPT_MAGIC "\n", sizeof CKPT_MAGIC)) {
        fprintf(stderr, "mvke tag-all: %s was written by another version of this program (%.*s); give --force instead "
                "of --resume to start over\n", r->ckpt, (int)strcspn(text, "\n"), text);
        return CLI_EXIT_DATA;
    }
    /* The last line is the CRC-32C of the lines before it. */
    const char *crc_line = strstr(text, "\ncrc ");
    unsigned crc = 0;
    if (!crc_line || sscanf(crc_line, "\ncrc %8x\n", &crc) != 1 || strlen(crc_line) != 14 ||
        mvke_crc32c(0, text, (size_t)(crc_line - text) + 1) != crc) {
        fprintf(stderr, "mvke tag-all: %s was changed or damaged (its checksum line does not match its contents); give "
                "--force instead of --resume to start over\n", r->ckpt);
        return CLI_EXIT_DATA;
    }
    char want[1024];
    ckpt_text(r, nu, ob, want, sizeof want);
    if (strcmp(text, want) != 0 || nu < r->lo || nu > r->hi) {
        char key[64], was[160], now[160];
        checkpoint_difference(text, want, key, was, now);
        if (was[0])
            fprintf(stderr, "mvke tag-all: %s was written by a run with another %s (that run: %s; this run: %s).\n", r->ckpt,
                    checkpoint_option(key), was, now);
        else
            fprintf(stderr, "mvke tag-all: %s was written by a run with another number of ranks (its next user, position "
                    "%lld, is outside this rank's part %lld-%lld).\n", r->ckpt, nu, (long long)r->lo, (long long)r->hi);
        fprintf(stderr, "  To continue that run, give its options again with --resume; to start over with this run's\n"
                "  options, give --force instead of --resume (the partial %s is then replaced).\n", r->out);
        return CLI_EXIT_DATA;
    }
    *found = 1;
    *next = nu;
    *bytes = ob;
    return CLI_EXIT_OK;
}
