/*
 * storage.c - the names of the row storages, shared by the command line, the Python module and
 * messages, so that every front end accepts the same words.
 */
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
    return mvke_error(MVKE_ERR_INVALID, "unknown storage \"%s\" (known: %s)", name, known);
}
