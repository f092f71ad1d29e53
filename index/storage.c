/*
 * storage.c - the names of the row storages, shared by the command line, the Python module and
 * messages, so that every front end accepts the same words.
 */
#include <stdlib.h>
#include <string.h>

#include "../kernels/runtime.h"
#include "mvke/mvke.h"

typedef struct storage_name {
    mvke_storage storage;
    const char *name;  /* canonical */
    const char *alias; /* accepted too */
} storage_name;

static const storage_name names[] = {
    {MVKE_STORAGE_F32, "f32", "float32"},
    {MVKE_STORAGE_F16, "f16", "float16"},
    {MVKE_STORAGE_BF16, "bf16", "bfloat16"},
    {MVKE_STORAGE_SQ8, "sq8", "sq8"},
    {MVKE_STORAGE_PQ, "pq", "pq"},
};
#define NNAMES (sizeof names / sizeof names[0])

const char *mvke_storage_name(mvke_storage storage) {
    for (size_t i = 0; i < NNAMES; i++)
        if (names[i].storage == storage) return names[i].name;
    return "unknown";
}

mvke_status mvke_storage_from_name(const char *name, mvke_storage *storage) {
    if (!name || !storage) return mvke_error(MVKE_ERR_INVALID, "mvke_storage_from_name: NULL argument");
    for (size_t i = 0; i < NNAMES; i++)
        if (!strcmp(name, names[i].name) || !strcmp(name, names[i].alias)) {
            *storage = names[i].storage;
            return MVKE_OK;
        }
    char known[256] = "";
    for (size_t i = 0; i < NNAMES; i++) {
        if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, names[i].name, sizeof known - strlen(known) - 1);
    }
    return mvke_error(MVKE_ERR_INVALID, "unknown storage \"%s\" (known: %s, pq:M)", name, known);
}

mvke_status mvke_index_options_set_storage(mvke_index_options *opts, const char *name) {
    if (!opts || !name) return mvke_error(MVKE_ERR_INVALID, "mvke_index_options_set_storage: NULL argument");
    if (!strncmp(name, "pq:", 3)) {
        const char *digits = name + 3;
        char *end = NULL;
        long m = *digits >= '0' && *digits <= '9' ? strtol(digits, &end, 10) : -1;
        if (m < 1 || m > 65536 || !end || *end)
            return mvke_error(MVKE_ERR_INVALID, "storage \"%s\": pq:M needs M, the sub-spaces per expert, a whole number >= 1",
                              name);
        opts->storage = MVKE_STORAGE_PQ;
        opts->pq_m = (int)m;
        return MVKE_OK;
    }
    mvke_storage st;
    mvke_status rc = mvke_storage_from_name(name, &st);
    if (rc != MVKE_OK) return rc;
    opts->storage = st;
    opts->pq_m = 0;
    return MVKE_OK;
}
