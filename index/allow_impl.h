/*
 * allow_impl.h - the private structure of mvke_allow: a backend filter over memory it owns.
 */
#ifndef MVKE_INDEX_ALLOW_IMPL_H
#define MVKE_INDEX_ALLOW_IMPL_H

#include "../kernels/backend.h"
#include "mvke/mvke.h"

struct mvke_allow {
    mvke_kfilter filter;
};

#endif
