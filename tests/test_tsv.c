/*
 * test_tsv.c - the tags.tsv reader: rows, UTF-8 names, tag ids shared across tasks, and every
 * malformed file refused with its file and line; applying a taxonomy to a tag table.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mvke/mvke.h"

static char path[64];

static void write_file(const char *text) {
    strcpy(path, "/tmp/mvke_test_tsv_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static mvke_status read_text(const char *text, mvke_taxonomy **t) {
    write_file(text);
    mvke_status st = mvke_taxonomy_read(t, path);
    unlink(path);
    return st;
}

Test(tsv, reads_rows) {
    mvke_taxonomy *t;
    cr_assert_eq(read_text("tag_id\ttask\tname\tparent_id\n"
                           "1\tinterest\tsports\t0\n"
                           "2\tinterest\tfootball \xe2\x9a\xbd\t1\r\n"
                           "1\tintention\tsports\t0\n"
                           "3\tintention\t\t1\n",
                           &t),
                 MVKE_OK, "%s", mvke_last_error());
    int64_t n, id, parent;
    const char *task, *name;
    cr_assert_eq(mvke_taxonomy_count(t, &n), MVKE_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(mvke_taxonomy_row(t, 1, &id, &task, &name, &parent), MVKE_OK);
    cr_assert(id == 2 && parent == 1 && !strcmp(task, "interest") && !strcmp(name, "football \xe2\x9a\xbd"));
    cr_assert_eq(mvke_taxonomy_row(t, 3, &id, &task, &name, &parent), MVKE_OK);
    cr_assert(id == 3 && !strcmp(task, "intention") && !strcmp(name, ""));
    cr_assert_eq(mvke_taxonomy_row(t, 4, &id, NULL, NULL, NULL), MVKE_ERR_INVALID);
    mvke_taxonomy_free(t);
    /* header only; no final newline */
    cr_assert_eq(read_text("tag_id\ttask\tname\tparent_id", &t), MVKE_OK);
    mvke_taxonomy_count(t, &n);
    cr_assert_eq(n, 0);
    mvke_taxonomy_free(t);
    cr_assert_eq(read_text("h\tt\tn\tp\n5\tx\ty\t0", &t), MVKE_OK);
    mvke_taxonomy_free(t);
}

Test(tsv, refuses_malformed_files_naming_the_line) {
    const struct {
        const char *text;
        mvke_status st;
        const char *msg;
    } cases[] = {
        {"", MVKE_ERR_FORMAT, "empty"},
        {"\n1\tt\tn\t0\n", MVKE_ERR_FORMAT, "line 1"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\tn\n", MVKE_ERR_FORMAT, "line 2: 3 columns"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\tn\t0\n2\tt\tn\t0\t9\n", MVKE_ERR_FORMAT, "line 3: more than 4"},
        {"tag_id\ttask\tname\tparent_id\nx1\tt\tn\t0\n", MVKE_ERR_FORMAT, "line 2: tag_id 'x1'"},
        {"tag_id\ttask\tname\tparent_id\n-1\tt\tn\t0\n", MVKE_ERR_FORMAT, "line 2: tag_id"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\tn\t\n", MVKE_ERR_FORMAT, "line 2: parent_id"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\tn\t99999999999999999999\n", MVKE_ERR_FORMAT, "parent_id"},
        {"tag_id\ttask\tname\tparent_id\n1\t\tn\t0\n", MVKE_ERR_FORMAT, "line 2: the task is empty"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\tbad \xc3\x28\t0\n", MVKE_ERR_FORMAT, "line 2: the name is not valid UTF-8"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\t\xed\xa0\x80\t0\n", MVKE_ERR_FORMAT, "UTF-8"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\t\xc0\xaf\t0\n", MVKE_ERR_FORMAT, "UTF-8"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\ta\t0\n\n2\tt\tb\t0\n", MVKE_ERR_FORMAT, "line 3: blank line"},
        {"tag_id\ttask\tname\tparent_id\n1\tt\ta\t0\n2\tu\tb\t0\n1\tt\tc\t0\n", MVKE_ERR_DUPLICATE, "lines 2 and 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mvke_taxonomy *t = (mvke_taxonomy *)1;
        mvke_status st = read_text(cases[i].text, &t);
        cr_assert_eq(st, cases[i].st, "case %zu: %d %s", i, st, mvke_last_error());
        cr_assert_null(t);
        cr_assert(strstr(mvke_last_error(), cases[i].msg), "case %zu: %s", i, mvke_last_error());
        cr_assert(strstr(mvke_last_error(), "/tmp/mvke_test_tsv_"), "case %zu: %s", i, mvke_last_error());
    }
    mvke_taxonomy *t;
    cr_assert_eq(mvke_taxonomy_read(&t, "/nonexistent/tags.tsv"), MVKE_ERR_IO);
}

Test(tsv, apply_to_a_tag_table) {
    const int K = 3, d = 2;
    mvke_taxonomy *t;
    cr_assert_eq(read_text("tag_id\ttask\tname\tparent_id\n"
                           "1\tA\tone\t0\n2\tB\ttwo\t0\n3\tA\tthree\t1\n",
                           &t),
                 MVKE_OK);
    float q[3 * 2] = {1, 0, 0, 1, 1, 1};
    float w[3 * 3] = {1, 0, 0, 0, 0.5f, 0.5f, 0.2f, 0.8f, 0};
    mvke_tags *tags;
    cr_assert_eq(mvke_tags_new(&tags, K, d, NULL), MVKE_OK);
    const int ea[2] = {0, 1}, eb[2] = {1, 2};
    cr_assert_eq(mvke_tags_add_task(tags, "A", ea, 2), MVKE_OK);
    /* an undeclared task adds nothing */
    cr_assert_eq(mvke_taxonomy_apply(t, tags, q, w), MVKE_ERR_UNKNOWN_TASK);
    cr_assert(strstr(mvke_last_error(), "line 3"), "%s", mvke_last_error());
    int64_t n;
    mvke_tags_count(tags, NULL, &n);
    cr_assert_eq(n, 0);
    cr_assert_eq(mvke_tags_add_task(tags, "B", eb, 2), MVKE_OK);
    /* a gate outside the subset names the line */
    w[8] = 0.1f;
    cr_assert_eq(mvke_taxonomy_apply(t, tags, q, w), MVKE_ERR_GATE);
    cr_assert(strstr(mvke_last_error(), "line 4"), "%s", mvke_last_error());
    w[8] = 0;
    cr_assert_eq(mvke_taxonomy_apply(t, tags, q, w), MVKE_OK, "%s", mvke_last_error());
    const char *name;
    int64_t parent;
    float qq[2], ww[3];
    cr_assert_eq(mvke_tags_get(tags, "A", 3, &name, &parent, qq, ww), MVKE_OK);
    cr_assert(!strcmp(name, "three") && parent == 1 && qq[0] == 1 && ww[1] == 0.8f);
    cr_assert_eq(mvke_tags_get(tags, "B", 2, &name, NULL, NULL, ww), MVKE_OK);
    cr_assert(!strcmp(name, "two") && ww[2] == 0.5f);
    mvke_tags_free(tags);
    mvke_taxonomy_free(t);
}

/* Messages quote the file's bytes with control characters escaped: a terminal shows "\x1b[2J",
 * it does not clear the screen. A directory, or a FIFO without a writer, is an error at once,
 * not an empty file or a hang. */
Test(tsv, messages_escape_control_bytes_and_special_files_are_refused) {
    mvke_taxonomy *t = NULL;
    cr_assert_eq(read_text("tag_id\ttask\tname\tparent_id\n\x1b[2J7\tinterest\tx\t0\n", &t), MVKE_ERR_FORMAT);
    const char *m = mvke_last_error();
    cr_assert_null(strchr(m, 0x1b), "a raw escape in: %s", m);
    cr_assert(strstr(m, "\\x1b[2J7"), "%s", m);
    cr_assert_eq(mvke_taxonomy_read(&t, "/tmp"), MVKE_ERR_IO);
    cr_assert(strstr(mvke_last_error(), "is a directory"), "%s", mvke_last_error());
    char fifo[] = "/tmp/mvke-tsv-fifo-XXXXXX";
    cr_assert_not_null(mkdtemp(fifo));
    char f[80];
    snprintf(f, sizeof f, "%s/tags.tsv", fifo);
    cr_assert_eq(mkfifo(f, 0600), 0);
    /* No writer: the open must not block; the stream is empty. */
    cr_assert_eq(mvke_taxonomy_read(&t, f), MVKE_ERR_FORMAT);
    cr_assert(strstr(mvke_last_error(), "empty"), "%s", mvke_last_error());
    unlink(f);
    rmdir(fifo);
}
