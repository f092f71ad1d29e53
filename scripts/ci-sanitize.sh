#!/usr/bin/env bash
# The sanitizer and fuzzing passes of CI (docs/reliability.md), run after the plain test suite:
#
#   asan  the whole suite built with AddressSanitizer + UndefinedBehaviorSanitizer and -Werror
#         (build-asan). Any sanitizer report fails the pass, including leaks found when a test
#         process exits, which Criterion itself does not count as a failure. The Python module is
#         not built here (-Dpython=disabled): a sanitized extension would need the ASan runtime
#         preloaded into an unsanitized python3 (docs/reliability.md).
#   tsan  the concurrency test under ThreadSanitizer (build-tsan), one OpenMP thread per search.
#   fuzz  every libFuzzer target for FUZZ_SECONDS (default 45) each, built with clang, ASan and
#         UBSan (build-fuzz); a crash, a leak, an input taking over 1 s or a single allocation
#         over 64 MiB (inputs are at most 4 KiB) fails.
#
#   bash scripts/ci-sanitize.sh [asan] [tsan] [fuzz]      (default: asan tsan)
#
# Prints one `tests (PASS): N passed, N failed, N skipped` line per pass and exits non-zero when
# any pass failed.
set -uo pipefail
cd "$(dirname "$0")/.."

passes=("$@")
[ ${#passes[@]} -eq 0 ] && passes=(asan tsan)
status=0

# The summary line of one meson test log, plus extra failures (sanitizer reports).
summary() { python3 scripts/ci-summary.py "$@"; } # NAME LOG [EXTRA_FAILED]

# Sanitizer reports written under DIR by tested processes: printed, and counted.
reports() { # DIR
    local n=0 f
    for f in "$1"/*; do
        [ -f "$f" ] || continue
        echo "ci-sanitize: sanitizer report $f:" >&2
        cat "$f" >&2
        n=$((n + 1))
    done
    echo "$n"
}

run_asan() {
    local dir=build-asan logs
    if ! bash scripts/setup.sh "$dir" -Db_sanitize=address,undefined -Dbuildtype=debugoptimized \
            -Dwerror=true -Dcuda=disabled -Dpython=disabled || ! ninja -C "$dir" -j2; then
        echo "tests (asan+ubsan): 0 passed, 1 failed, 0 skipped (the build failed)"
        return 1
    fi
    logs=$(mktemp -d)
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:log_path=$logs/asan" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan" \
        meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2
    local rc=$? n
    n=$(reports "$logs")
    rm -rf "$logs"
    summary "asan+ubsan" "$dir/meson-logs/testlog.json" "$n"
    [ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
}

run_tsan() {
    local dir=build-tsan
    if ! bash scripts/setup.sh "$dir" -Db_sanitize=thread -Dbuildtype=debugoptimized -Dwerror=true \
            -Dcuda=disabled -Dfaiss=disabled -Dpython=disabled || ! ninja -C "$dir" -j2 tests/test_concurrency_tsan; then
        echo "tests (tsan): 0 passed, 1 failed, 0 skipped (the build failed)"
        return 1
    fi
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
        meson test -C "$dir" --no-rebuild --print-errorlogs --suite tsan
    local rc=$?
    summary "tsan" "$dir/meson-logs/testlog.json" 0
    return $rc
}

run_fuzz() {
    local dir=build-fuzz secs=${FUZZ_SECONDS:-45} rc=0 ok=0 bad=0 t name work
    if ! CC=clang bash scripts/setup.sh "$dir" -Dfuzz=true -Db_sanitize=address,undefined \
            -Db_lundef=false -Dtests=false -Dcuda=disabled -Dfaiss=disabled -Dpython=disabled \
            -Dbuildtype=debugoptimized || ! ninja -C "$dir" -j2; then
        echo "tests (fuzz): 0 passed, 1 failed, 0 skipped (the build failed)"
        return 1
    fi
    for t in "$dir"/tests/fuzz/fuzz-*; do
        [ -f "$t" ] && [ -x "$t" ] || continue
        name=${t##*/fuzz-}
        # A scratch copy of the seed corpus: new inputs found here are not committed.
        work=$(mktemp -d)
        cp tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
        if "$t" -max_total_time="$secs" -timeout=1 -rss_limit_mb=2048 -malloc_limit_mb=64 \
               -print_final_stats=1 -artifact_prefix="$dir/fuzz-$name-" "$work" 2> "$dir/fuzz-$name.log"; then
            ok=$((ok + 1))
        else
            bad=$((bad + 1)); rc=1
            tail -n 40 "$dir/fuzz-$name.log" >&2
        fi
        echo "fuzz-$name: $(grep -E '^stat::number_of_executed_units' "$dir/fuzz-$name.log" | awk '{print $2}') executions in ${secs} s"
        rm -rf "$work"
    done
    echo "tests (fuzz): $ok passed, $bad failed, 0 skipped"
    return $rc
}

for p in "${passes[@]}"; do
    case "$p" in
        asan) run_asan || status=1 ;;
        tsan) run_tsan || status=1 ;;
        fuzz) run_fuzz || status=1 ;;
        *) echo "ci-sanitize: unknown pass $p (asan, tsan, fuzz)" >&2; status=2 ;;
    esac
done
exit $status
