/*
 * cmd_concat.c - `mvke concat OUT`: joins the parts OUT.part-00000, OUT.part-00001, ... of a
 * distributed `mvke tag-all -o OUT` run, in rank order, into OUT: the single-process output.
 *
 * tsv parts are files and are joined byte for byte (cat does the same). npy parts are folders
 * holding the same .npy names; each array is joined along its first axis: one header for the
 * total rows, then every part's data bytes as they are. A part with a checkpoint is unfinished
 * and refused. Each output file is written to NAME.tmp, fsynced and renamed into place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "index/durable.h"
#include "index/npy.h"
#include "outputs.h"
#include "support/options.h"

static int io_fail(const char *what, const char *path) {
    fprintf(stderr, "mvke concat: %s %s: %s\n", what, path, strerror(errno));
    return CLI_EXIT_IO;
}

/* Appends bytes [off, off + n) of file `src` to fd. */
static int copy_range(int fd, const char *src, off_t off, uint64_t n) {
    int in = open(src, O_RDONLY);
    if (in < 0) return io_fail("cannot open", src);
    char *buf = malloc(1 << 20);
    int rc = buf ? CLI_EXIT_OK : cli_fail("concat", MVKE_ERR_NOMEM, "copying");
    while (rc == CLI_EXIT_OK && n) {
        const size_t want = n < (1u << 20) ? (size_t)n : (size_t)1 << 20;
        ssize_t got = pread(in, buf, want, off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) rc = got < 0 ? io_fail("cannot read", src) : (fprintf(stderr, "mvke concat: %s shrank while read\n", src), CLI_EXIT_IO);
        else if (mvke_write_all(fd, buf, (size_t)got, -1, NULL) != 0) rc = io_fail("cannot write", "the output");
        else off += got, n -= (uint64_t)got;
    }
    free(buf);
    close(in);
    return rc;
}

/* Creates path.tmp for writing; *fd receives it. */
static int open_tmp(const char *path, char *tmp, size_t cap, int *fd) {
    snprintf(tmp, cap, "%s.tmp", path);
    *fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    return *fd < 0 ? io_fail("cannot create", tmp) : CLI_EXIT_OK;
}

/* fsyncs and closes fd and renames tmp to path (or removes tmp when rc says it failed). */
static int finish_tmp(int rc, int fd, const char *tmp, const char *path) {
    if (rc == CLI_EXIT_OK && fsync(fd) != 0) rc = io_fail("cannot fsync", tmp);
    if (close(fd) != 0 && rc == CLI_EXIT_OK) rc = io_fail("cannot close", tmp);
    if (rc == CLI_EXIT_OK && rename(tmp, path) != 0) rc = io_fail("cannot rename to", path);
    if (rc == CLI_EXIT_OK && mvke_fsync_dir_of(path) != 0) rc = io_fail("cannot fsync the directory of", path);
    if (rc != CLI_EXIT_OK) unlink(tmp);
    return rc;
}

static int concat_files(const char *out, int n, char **parts) {
    char tmp[4200];
    int fd, rc = open_tmp(out, tmp, sizeof tmp, &fd);
    if (rc != CLI_EXIT_OK) return rc;
    for (int i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        struct stat sb;
        if (stat(parts[i], &sb) != 0) rc = io_fail("cannot stat", parts[i]);
        else rc = copy_range(fd, parts[i], 0, (uint64_t)sb.st_size);
    }
    return finish_tmp(rc, fd, tmp, out);
}

/* Joins the array `name` of every part folder into out/name. */
static int concat_array(const char *out, const char *name, int n, char **parts) {
    char path[4400], tmp[4500];
    mvke_dtype dt0 = MVKE_DTYPE_F32;
    int nd0 = 0;
    int64_t shape0[MVKE_NPY_MAX_DIMS], rows = 0, row_bytes = 1;
    uint64_t *data_off = calloc((size_t)n, sizeof *data_off), *data_len = calloc((size_t)n, sizeof *data_len);
    if (!data_off || !data_len) {
        free(data_off);
        free(data_len);
        return cli_fail("concat", MVKE_ERR_NOMEM, name);
    }
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < n && rc == CLI_EXIT_OK; i++) {
        snprintf(path, sizeof path, "%s/%s", parts[i], name);
        mvke_npy *f = NULL;
        mvke_status st = mvke_npy_open(&f, path);
        mvke_dtype dt;
        int nd;
        int64_t shape[MVKE_NPY_MAX_DIMS];
        struct stat sb;
        if (st != MVKE_OK) {
            rc = cli_fail("concat", st, path);
            break;
        }
        mvke_npy_shape(f, &dt, &nd, shape);
        mvke_npy_close(f);
        if (nd < 1) {
            fprintf(stderr, "mvke concat: %s is a 0-d array; parts are joined along their first axis\n", path);
            rc = CLI_EXIT_DATA;
            break;
        }
        if (i == 0) {
            dt0 = dt, nd0 = nd;
            memcpy(shape0, shape, sizeof shape);
            row_bytes = (int64_t)mvke_dtype_size(dt);
            for (int k = 1; k < nd; k++) row_bytes *= shape[k];
        } else if (dt != dt0 || nd != nd0 || (nd > 1 && memcmp(shape + 1, shape0 + 1, (size_t)(nd - 1) * sizeof *shape))) {
            fprintf(stderr, "mvke concat: %s differs from %s/%s in dtype or row shape\n", path, parts[0], name);
            rc = CLI_EXIT_DATA;
            break;
        }
        if (stat(path, &sb) != 0) {
            rc = io_fail("cannot stat", path);
            break;
        }
        /* The reader checked that the file is exactly header + data. */
        data_len[i] = (uint64_t)shape[0] * (uint64_t)row_bytes;
        data_off[i] = (uint64_t)sb.st_size - data_len[i];
        rows += shape[0];
    }
    int fd = -1;
    char head[512];
    size_t hl = 0;
    snprintf(path, sizeof path, "%s/%s", out, name);
    shape0[0] = rows;
    if (rc == CLI_EXIT_OK && mvke_npy_header(dt0, nd0, shape0, head, sizeof head, &hl) != MVKE_OK)
        rc = cli_fail("concat", MVKE_ERR_INVALID, path);
    if (rc == CLI_EXIT_OK && (rc = open_tmp(path, tmp, sizeof tmp, &fd)) == CLI_EXIT_OK) {
        if (mvke_write_all(fd, head, hl, -1, NULL) != 0) rc = io_fail("cannot write", tmp);
        for (int i = 0; i < n && rc == CLI_EXIT_OK; i++) {
            char src[4400];
            snprintf(src, sizeof src, "%s/%s", parts[i], name);
            rc = copy_range(fd, src, (off_t)data_off[i], data_len[i]);
        }
        rc = finish_tmp(rc, fd, tmp, path);
    }
    free(data_off);
    free(data_len);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int concat_dirs(const char *out, int n, char **parts) {
    DIR *d = opendir(parts[0]);
    if (!d) return io_fail("cannot read the folder", parts[0]);
    char **names = NULL;
    int nn = 0, rc = CLI_EXIT_OK;
    struct dirent *e;
    while ((e = readdir(d)) && rc == CLI_EXIT_OK) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy")) continue;
        char **g = realloc(names, (size_t)(nn + 1) * sizeof *names);
        if (!g || !(g[nn] = strdup(e->d_name))) {
            if (g) names = g;
            rc = cli_fail("concat", MVKE_ERR_NOMEM, parts[0]);
            break;
        }
        names = g;
        nn++;
    }
    closedir(d);
    if (rc == CLI_EXIT_OK && nn == 0) {
        fprintf(stderr, "mvke concat: %s holds no .npy file\n", parts[0]);
        rc = CLI_EXIT_DATA;
    }
    if (nn) qsort(names, (size_t)nn, sizeof *names, cmp_str);
    if (rc == CLI_EXIT_OK && mkdir(out, 0755) != 0 && errno != EEXIST) rc = io_fail("cannot create the folder", out);
    for (int i = 0; i < nn && rc == CLI_EXIT_OK; i++) rc = concat_array(out, names[i], n, parts);
    for (int i = 0; i < nn; i++) free(names[i]);
    free(names);
    return rc;
}

int cli_cmd_concat(int argc, char **argv) {
    const char *out = NULL;
    long long want = 0;
    int force = 0;
    const cli_option options[] = {
        {.metavar = "OUT", .help = "the -o of the tag-all run: its parts are OUT.part-00000, ...", .kind = CLI_POSITIONAL,
         .dst = &out, .required = 1},
        {.name = "--parts", .metavar = "R", .help = "check that there are exactly R parts (default: every part\n"
         "from 00000 on, up to the first one missing)", .kind = CLI_INT, .dst = &want, .min = 1, .max = 99999},
        {.name = "--force", .help = "replace OUT even when it exists and is not a tag-all output",
         .kind = CLI_FLAG, .dst = &force},
    };
    const cli_spec spec = {"mvke concat",
                           "Joins the parts of a distributed `mvke tag-all -o OUT` (OUT.part-00000 ...), in rank order,\n"
                           "into OUT: the output one process would have written.\n"
                           "  tsv parts (files) are joined byte for byte, as `cat OUT.part-* > OUT` does;\n"
                           "  npy parts (folders): every .npy of the first part is joined along its first axis.\n"
                           "A part that still has a checkpoint (its run is not finished) is refused; OUT is written\n"
                           "through a temporary file (one per array for npy) and renamed.",
                           NULL, options, CLI_NOPTIONS(options)};
    int rc;
    if (!cli_parse(&spec, argc, argv, &rc)) return rc;
    char **parts = NULL;
    int n = 0, dirs = 0;
    rc = CLI_EXIT_OK;
    for (;; n++) {
        char path[4200], ck[4300];
        struct stat sb;
        snprintf(path, sizeof path, "%s.part-%05d", out, n);
        if (stat(path, &sb) != 0) {
            if (errno != ENOENT) rc = io_fail("cannot open", path);
            else if (n == 0 || (want && n < want)) {
                fprintf(stderr, "mvke concat: %s is missing%s\n", path, want ? "" : ": no part to join");
                rc = CLI_EXIT_IO;
            }
            break;
        }
        if (want && n == want) {
            fprintf(stderr, "mvke concat: %s exists: there are more than the %lld parts asked for\n", path, want);
            rc = CLI_EXIT_DATA;
            break;
        }
        const int dir = S_ISDIR(sb.st_mode);
        if (n == 0) dirs = dir;
        if (dir != dirs) {
            fprintf(stderr, "mvke concat: %s is a %s but %s.part-00000 is a %s; parts are all tsv files or all npy "
                    "folders\n", path, dir ? "folder" : "file", out, dirs ? "folder" : "file");
            rc = CLI_EXIT_DATA;
            break;
        }
        snprintf(ck, sizeof ck, dir ? "%s/checkpoint" : "%s.checkpoint", path);
        if (access(ck, F_OK) == 0) {
            fprintf(stderr, "mvke concat: %s has a checkpoint (%s): its run is not finished; finish it with --resume\n",
                    path, ck);
            rc = CLI_EXIT_DATA;
            break;
        }
        char **g = realloc(parts, (size_t)(n + 1) * sizeof *parts);
        if (!g || !(g[n] = strdup(path))) {
            if (g) parts = g;
            rc = cli_fail("concat", MVKE_ERR_NOMEM, "listing the parts");
            break;
        }
        parts = g;
    }
    if (rc == CLI_EXIT_OK && !dirs)
        rc = cli_output_replace_check("concat", out, (const char *const *)parts, n, CLI_KIND_TAG_ALL, force);
    if (rc == CLI_EXIT_OK) rc = dirs ? concat_dirs(out, n, parts) : concat_files(out, n, parts);
    for (int i = 0; parts && i < n; i++) free(parts[i]);
    free(parts);
    return rc;
}
