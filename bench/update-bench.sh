#!/bin/sh
# update-bench.sh - the daily update of an index file from the command line against a full
# rebuild, both timed as whole processes in the same run: on an index of N users (default
# 1,000,000), add 1% new users, upsert 1% (replace present users), remove 1%, each with its own
# `mvke` process rewriting the file; then `mvke build` of N users from scratch; then the same
# three in one `mvke update` process (one rewrite) on a copy of the first index.
#
#   bench/update-bench.sh [MVKE [N [DIR]]]    (MVKE default build/tools/mvke)
#
# Prints one line per step and the ratio update / rebuild. Wrap it in flock on a shared machine.
set -eu
MVKE=${1:-build/tools/mvke}
N=${2:-1000000}
DIR=${3:-$(mktemp -d /tmp/mvke-update-bench.XXXXXX)}
P=$((N / 100))
TASKS="--task interest=0-2 --task intention=1-4"
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

"$MVKE" gen --out "$DIR/base" --users "$N" --seed 1 >/dev/null
"$MVKE" gen --out "$DIR/day" --users "$P" --seed 2 >/dev/null # ids 0..P-1: present users, new rows
B="$DIR/base"
BUILD_ARGS="--tags $B/tags.tsv --tag-emb $B/tag_emb.npy --gates $B/gates.npy $TASKS"
"$MVKE" build -o "$DIR/index.mvke" --experts "$B/users.npy" --ids "$B/user_ids.npy" $BUILD_ARGS 2>/dev/null
seq $((N - P)) $((N - 1)) > "$DIR/gone.txt" # the last 1% of the base users
cp "$DIR/index.mvke" "$DIR/index1.mvke"

t0=$(now)
"$MVKE" add "$DIR/index.mvke" --experts "$DIR/day/users.npy" >/dev/null # ids N.. (count onwards)
t1=$(now)
"$MVKE" upsert "$DIR/index.mvke" --experts "$DIR/day/users.npy" --ids "$DIR/day/user_ids.npy" >/dev/null
t2=$(now)
"$MVKE" remove "$DIR/index.mvke" --ids-file "$DIR/gone.txt" >/dev/null
t3=$(now)
"$MVKE" build -o "$DIR/rebuilt.mvke" --experts "$B/users.npy" --ids "$B/user_ids.npy" $BUILD_ARGS 2>/dev/null
t4=$(now)
"$MVKE" update "$DIR/index1.mvke" --remove-file "$DIR/gone.txt" --upsert "$DIR/day/users.npy" \
    --upsert-ids "$DIR/day/user_ids.npy" --add "$DIR/day/users.npy" >/dev/null
t5=$(now)
"$MVKE" verify "$DIR/index.mvke" >/dev/null
"$MVKE" verify "$DIR/index1.mvke" >/dev/null

add=$(elapsed "$t0" "$t1"); ups=$(elapsed "$t1" "$t2"); rem=$(elapsed "$t2" "$t3"); reb=$(elapsed "$t3" "$t4"); one=$(elapsed "$t4" "$t5")
upd=$(echo "$add + $ups + $rem" | bc)
echo "users $N, 1% = $P; K 5, d 30, float32 rows"
printf 'add 1%%      %8.2f s\nupsert 1%%   %8.2f s\nremove 1%%   %8.2f s\nthe three   %8.2f s\nupdate (one process, one rewrite) %8.2f s\nrebuild     %8.2f s\nratio three/rebuild %.2f, update/rebuild %.2f\n' \
    "$add" "$ups" "$rem" "$upd" "$one" "$reb" "$(echo "$upd / $reb" | bc -l)" "$(echo "$one / $reb" | bc -l)"
[ -n "${3:-}" ] || rm -rf "$DIR"
