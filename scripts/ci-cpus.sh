#!/usr/bin/env bash
# CI runs the suite as three CPUs (docs/reliability.md): the plain run (.ci/run) uses whatever
# this CPU has; this script runs the whole suite again capped to AVX2 (MVKE_CPU=avx2: no
# AVX-512, as most users' CPUs) and the kernel tests capped to portable C (MVKE_CPU=generic: no
# AVX2, F16C or SSE4.2). MVKE_CPU caps every instruction-set choice of the library, so one
# machine runs the code an older CPU would. A level this CPU lacks is reported as skipped, never
# as passed.
#
#   bash scripts/ci-cpus.sh [BUILD_DIR]      (default build; already built and tested)
#
# Prints one `tests (MVKE_CPU=...)` line per pass and exits non-zero when a pass failed.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
status=0

summary() { python3 scripts/ci-summary.py "$@"; } # NAME LOG [EXTRA_FAILED]

has_avx2() { grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; }

# 1. The whole suite as an AVX2 CPU (the compile-only lint suite is the same on any CPU).
if has_avx2; then
    MVKE_CPU=avx2 meson test -C "$dir" --no-rebuild --print-errorlogs --no-suite lint
    rc=$?
    summary "MVKE_CPU=avx2" "$dir/meson-logs/testlog.json"
    [ $rc -eq 0 ] || status=1
else
    echo "tests (MVKE_CPU=avx2): 0 passed, 0 failed, 1 skipped (this CPU has no AVX2)"
fi

# 2. The kernel tests as a CPU without AVX2: every kernel on its portable C path.
MVKE_CPU=generic meson test -C "$dir" --no-rebuild --print-errorlogs scan cpu_backend cpu_features half crc32c refine
rc=$?
summary "MVKE_CPU=generic, kernels" "$dir/meson-logs/testlog.json"
[ $rc -eq 0 ] || status=1
exit $status
