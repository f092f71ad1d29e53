/*
 * backend.c - where backends are registered and picked.
 */
#include "backend.h"

#include "runtime.h"

const mvke_backend *mvke_backend_default(void) { return mvke_backend_cpu(); }

void mvke_kranges_release(mvke_kranges *r) {
    mvke_free(r->lims);
    mvke_free(r->ids);
    mvke_free(r->scores);
    r->lims = NULL;
    r->ids = NULL;
    r->scores = NULL;
    r->nq = 0;
}
