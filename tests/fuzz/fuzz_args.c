/*
 * fuzz_args.c - fuzz target for the command line's value parsers (tools/args.c, tools/cli.c):
 * the input is split at its first two newlines into an id list ("1,2,3"), a task spec
 * ("NAME=0-2" or "NAME=1,3") and the text of an --allow file (one id a line). Each is parsed
 * or refused; what is parsed must be what the text says.
 */
#define _GNU_SOURCE /* memfd_create */
#include <string.h>

#include "fuzz_input.h"
#include "tools/args.h"
#include "tools/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    char *spec = strchr(text, '\n');
    char *allow = spec ? strchr(spec + 1, '\n') : NULL;
    if (spec) *spec++ = '\0';
    if (allow) *allow++ = '\0';

    int64_t *ids = NULL, n = -1;
    if (cli_arg_id_list(text, &ids, &n) == 0) {
        if (n < 0 || (n > 0 && !ids) || (size_t)n > size) abort();
        long long v;
        if (n == 1 && (cli_parse_i64(text, &v) != 0 || v != ids[0])) abort();
        free(ids);
    }
    if (spec) {
        char *name = NULL;
        int experts[MVKE_MAX_K], ne = -1;
        if (cli_arg_task_spec(spec, &name, experts, &ne) == 0) {
            if (!name || ne < 0 || ne > MVKE_MAX_K || strncmp(spec, name, strlen(name)) != 0) abort();
            free(name);
        }
    }
    if (allow) {
        char path[64];
        int fd = fuzz_file((const uint8_t *)allow, strlen(allow), path, sizeof path);
        mvke_allow *a = NULL;
        if (cli_arg_load_allow("fuzz", path, &a) == CLI_EXIT_OK) {
            if (!a) abort();
            mvke_allow_free(a);
        } else if (a) {
            abort();
        }
        close(fd);
    }
    free(text);
    return 0;
}
