/*
 * cpu_backend.c - the CPU backend: the backend interface (backend.h) over the one CPU driver
 * (scan.h), which serves every storage and search shape. Always available, part of libmvke.
 */
#include <string.h>

#include "../backend.h"
#include "../runtime.h"
#include "scan.h"
#include "topk.h"

static mvke_status cpu_knn(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q,
                           int64_t k, const mvke_kfilter *filter, int threads, float *out_s, int64_t *out_i) {
    (void)self;
    return mvke_scan_search(db, q, k, 0.0f, filter, threads, out_s, out_i, NULL);
}

static mvke_status cpu_range(const mvke_backend *self, const mvke_kdb *db, const mvke_kqueries *q,
                             float min_score, const mvke_kfilter *filter, int threads,
                             mvke_kranges *out) {
    (void)self;
    mvke_hits *lists = NULL;
    mvke_status st = mvke_scan_search(db, q, 0, min_score, filter, threads, NULL, NULL, &lists);
    if (st != MVKE_OK) return st;
    memset(out, 0, sizeof *out);
    int64_t total = 0;
    for (int64_t j = 0; j < q->n; j++) total += lists[j].n;
    if ((st = mvke_kranges_alloc(out, q->n, total)) == MVKE_OK) {
        int64_t at = 0;
        for (int64_t j = 0; j < q->n; j++) {
            out->lims[j] = at;
            if (lists[j].n) {
                memcpy(out->ids + at, lists[j].id, (size_t)lists[j].n * sizeof *out->ids);
                memcpy(out->scores + at, lists[j].s, (size_t)lists[j].n * sizeof *out->scores);
                mvke_pairs_sort(out->scores + at, out->ids + at, lists[j].n);
            }
            at += lists[j].n;
        }
        out->lims[q->n] = at;
    }
    for (int64_t j = 0; j < q->n; j++) mvke_hits_release(&lists[j]);
    mvke_free(lists);
    return st;
}

static const mvke_backend cpu_backend = {"cpu", cpu_knn, cpu_range, NULL};

const mvke_backend *mvke_backend_cpu(void) { return &cpu_backend; }
