/*
 * version.c - the library's version string, set by the build.
 */
#include "mvke/mvke.h"

const char *mvke_version(void) { return MVKE_VERSION; }
