#!/usr/bin/env bash
# open-bench.sh - opening an index and answering one user or one tag, timed as whole processes
# from outside (docs/benchmarks.md, "Opening and looking up"): `mvke info`, `mvke tags --user`,
# `mvke audience` of one tag and FAISS's IndexIDMap2 read + one reconstruct, each the median of
# 7 runs with its peak RSS (GNU time), beside the in-process figures of mvke-open-bench.
#
#   bench/open-bench.sh [BUILD_DIR] [USERS ...]      (default: build 1000000 10000000)
#
# Worlds are made with `mvke gen` + `mvke build` under $MVKE_BENCH_DATA (default
# /tmp/mvke-open-bench) and deleted at the end unless MVKE_BENCH_KEEP=1. Needs about 20 GB of disk
# at 1e7 users (the .npy export, the index and the FAISS file).
set -euo pipefail
B=${1:-build}
shift || true
SIZES=${*:-1000000 10000000}
MVKE=$B/tools/mvke
OB=$B/bench/mvke-open-bench
DATA=${MVKE_BENCH_DATA:-/tmp/mvke-open-bench}
mkdir -p "$DATA"
[ -x "$MVKE" ] && [ -x "$OB" ] || { echo "build first: meson compile -C $B" >&2; exit 2; }
df -h "$DATA" | tail -1 >&2

# median of 7 whole-process runs: prints "wall_ms rss_mib" (medians)
runs() {
    local walls=() rss=()
    for r in 1 2 3 4 5 6 7; do
        local t0 t1
        t0=$(date +%s%N)
        /usr/bin/time -f %M -o "$DATA/rss.txt" "$@" > /dev/null
        t1=$(date +%s%N)
        walls+=($(( (t1 - t0) / 1000 )))
        rss+=($(cat "$DATA/rss.txt"))
    done
    local w m
    w=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 4p)
    m=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n 4p)
    awk -v w="$w" -v m="$m" 'BEGIN { printf "%.1f ms  %.1f MiB\n", w / 1000, m / 1024 }'
}

# the cost of starting the tool at all, for reference
printf 'mvke --version: %s\n' "$(runs "$MVKE" --version)"
"$OB" crc

for n in $SIZES; do
    W=$DATA/w$n
    IX=$DATA/u$n.mvke
    if [ ! -f "$IX" ]; then
        "$MVKE" gen --out "$W" --users "$n" > /dev/null
        "$MVKE" build -o "$IX" --experts "$W/users.npy" --ids "$W/user_ids.npy" --tags "$W/tags.tsv" \
            --tag-emb "$W/tag_emb.npy" --gates "$W/gates.npy" --task interest=0-2 --task intention=1-4 > /dev/null
        rm -rf "$W"
    fi
    ID=$("$OB" id "$IX")
    TAG=$("$MVKE" tags "$IX" --user "$ID" --task interest --top 1 | awk 'NR == 2 { print $4 }')
    echo "== $n users: $(du -h --apparent-size "$IX" | cut -f1) index, user $ID, tag $TAG"
    printf 'info:                %s\n' "$(runs "$MVKE" info "$IX")"
    printf 'tags --user (top 10): %s\n' "$(runs "$MVKE" tags "$IX" --user "$ID" --task interest --top 10)"
    printf 'audience (top 10):   %s\n' "$(runs "$MVKE" audience "$IX" --task interest --tag "$TAG" --top 10)"
    printf 'audience --no-verify: %s\n' "$(runs "$MVKE" audience "$IX" --task interest --tag "$TAG" --top 10 --no-verify)"
    "$OB" search "$IX" interest "$TAG"
    "$OB" lookup "$IX" 1000000
    if "$OB" faiss-write "$IX" "$DATA/faiss$n.index" 2> /dev/null; then
        printf 'faiss read + reconstruct: %s\n' "$(runs "$OB" faiss-read "$DATA/faiss$n.index" "$ID")"
        "$OB" faiss-read "$DATA/faiss$n.index" "$ID"
        rm -f "$DATA/faiss$n.index"
    else
        echo "faiss anchor: not built (no FAISS plugin)"
    fi
    [ "${MVKE_BENCH_KEEP:-0}" = 1 ] || rm -f "$IX"
done
