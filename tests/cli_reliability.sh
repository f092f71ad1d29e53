#!/usr/bin/env bash
# cli_reliability.sh - the tool's promises about its outputs and hostile inputs, end to end
# (docs/reliability.md lists each beside the section here that checks it):
#   outputs  - an output onto a device, FIFO, symlink, the index or any input (also through a hard
#              link or the checkpoint) is refused with exit 2 before anything is written;
#   writeerr - every subcommand with stdout on /dev/full exits 4 with "write error";
#   stream   - tag-all -o - and -o /dev/stdout stream tsv equal to the file output; --resume refused;
#   signal   - SIGINT / SIGTERM during tag-all leave a partial checkpoint, a rerun without
#              --resume asks for --resume or --force, --resume completes byte-identically;
#   sigkill  - SIGKILL at 20 random points of build: the old index verifies, no temporary remains
#              (or the next build removes it);
#   idtext   - allow-list lines: long, spaces, CRLF, BOM, blank, sign, past int64, hex, junk;
#   sigbus   - an index truncated under tag-all's mapping: exit 4 with a message;
#   names    - control characters in tags.tsv refused at build with the line;
#   memory   - every command under ulimit -v at several limits ends within 10 s (success or a
#              message about memory).
# Usage: cli_reliability.sh MVKE_EXE [SECTION...]
set -u
exe=$1
shift
sections=${*:-"outputs writeerr stream signal sigkill sigbus idtext names memory"}
T=$(mktemp -d /tmp/mvke_rel_XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
say() { echo "reliability: $*"; }
bad() { echo "reliability: FAIL: $*"; fail=1; }
# expect NAME WANT_RC [GREP] -- command...: runs the command, checks the exit status (and stderr).
expect() {
    local name=$1 want=$2 pat=$3
    shift 4
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then bad "$name: exit $rc, want $want: $(head -c 400 "$T/err")"; return 1; fi
    if [ -n "$pat" ] && ! grep -q -- "$pat" "$T/err"; then bad "$name: stderr lacks '$pat': $(head -c 400 "$T/err")"; return 1; fi
    say "ok $name"
}

# A small world and its index.
"$exe" gen --users 3000 --levels 4,12 --d 8 --out "$T/w" >"$T/gen.txt" 2>/dev/null || { bad "gen failed"; exit 1; }
build_line=$(sed -n 's/^  mvke build -o [^ ]* //p' "$T/gen.txt")
read -r -a build_args <<<"$build_line"
build() { "$exe" build -o "$1" "${build_args[@]}"; }
build "$T/a.mvke" 2>/dev/null || { bad "build failed"; exit 1; }
task=$(awk -F'\t' 'NR == 2 {print $2}' "$T/w/tags.tsv")
tag=$(awk -F'\t' 'NR == 2 {print $1}' "$T/w/tags.tsv")
uid=$("$exe" tag-all "$T/a.mvke" --top 1 -o - 2>/dev/null | awk 'NR == 2 {print $1}')
# A larger world (250,000 users, a build of about half a second) for the signal sections.
big_ready=0
big() {
    [ $big_ready = 1 ] && return 0
    "$exe" gen --users 250000 --levels 4,12 --d 16 --out "$T/big" >"$T/big.txt" 2>/dev/null || { bad "gen big"; return 1; }
    read -r -a big_args <<<"$(sed -n 's/^  mvke build -o [^ ]* //p' "$T/big.txt")"
    "$exe" build -o "$T/big.mvke" "${big_args[@]}" 2>/dev/null || { bad "big build"; return 1; }
    big_ready=1
}
"$exe" verify "$T/a.mvke" >/dev/null 2>&1 || bad "the index does not verify"

sec_outputs() {
    cp "$T/a.mvke" "$T/b.mvke"
    mknod "$T/nulldev" c 1 3 && expect "build -o a character device" 2 "is a character device" -- build "$T/nulldev"
    [ -c "$T/nulldev" ] || bad "the device node was replaced"
    mkfifo "$T/fifo"
    expect "build -o a FIFO" 2 "is a FIFO" -- timeout 10 bash -c "$(declare -f build); exe=$exe; build_args=(${build_args[*]}); build $T/fifo"
    [ -p "$T/fifo" ] || bad "the FIFO was replaced"
    ln -s "$T/b.mvke" "$T/link"
    expect "build -o a symlink to another index" 2 "symbolic link" -- build "$T/link"
    [ -L "$T/link" ] && cmp -s "$T/a.mvke" "$T/b.mvke" || bad "the link or its target changed"
    expect "build -o one of its inputs" 2 "is an input" -- build "$T/w/tags.tsv"
    expect "tag-all IDX -o IDX" 2 "is an input" -- "$exe" tag-all "$T/a.mvke" --task "$task" --top 3 -o "$T/a.mvke"
    "$exe" verify "$T/a.mvke" >/dev/null 2>&1 || bad "tag-all -o IDX harmed the index"
    ln "$T/a.mvke" "$T/hard.tsv"
    expect "tag-all -o a hard link of the index" 2 "same file as the input" -- "$exe" tag-all "$T/a.mvke" --top 3 -o "$T/hard.tsv"
    cp "$T/a.mvke" "$T/X.checkpoint"
    expect "tag-all X.checkpoint -o X" 2 "is an input" -- "$exe" tag-all "$T/X.checkpoint" --task "$task" --top 3 -o "$T/X"
    "$exe" verify "$T/X.checkpoint" >/dev/null 2>&1 || bad "tag-all deleted or harmed its index X.checkpoint"
    [ -e "$T/X" ] && bad "tag-all X.checkpoint -o X wrote X"
    expect "tag-all -o a character device" 2 "character device" -- "$exe" tag-all "$T/a.mvke" --top 3 -o "$T/nulldev"
    expect "tag-all -o a FIFO" 2 "FIFO" -- timeout 10 "$exe" tag-all "$T/a.mvke" --top 3 -o "$T/fifo"
    expect "tag-all --format npy -o a file" 2 "not a directory" -- "$exe" tag-all "$T/a.mvke" --top 3 --format npy -o "$T/b.mvke"
    cmp -s "$T/a.mvke" "$T/b.mvke" || bad "b.mvke changed"
    [ -c "$T/nulldev" ] && [ -p "$T/fifo" ] || bad "the device or FIFO changed"
}

sec_writeerr() {
    expect "info > /dev/full" 4 "write error" -- bash -c "'$exe' info '$T/a.mvke' >/dev/full"
    expect "verify > /dev/full" 4 "write error" -- bash -c "'$exe' verify '$T/a.mvke' >/dev/full"
    expect "audience > /dev/full" 4 "write error" -- bash -c "'$exe' audience '$T/a.mvke' --task '$task' --tag $tag --top 5 >/dev/full"
    expect "tags > /dev/full" 4 "write error" -- bash -c "'$exe' tags '$T/a.mvke' --user $uid --top 3 >/dev/full"
    expect "gen > /dev/full" 4 "write error" -- bash -c "'$exe' gen --users 100 --levels 2,3 --out '$T/g2' >/dev/full"
    expect "tag-all -o - > /dev/full" 4 "write error" -- bash -c "'$exe' tag-all '$T/a.mvke' --top 3 -o - >/dev/full"
    expect "info --help > /dev/full" 4 "write error" -- bash -c "'$exe' info --help >/dev/full"
    expect "--version > /dev/full" 4 "write error" -- bash -c "'$exe' --version >/dev/full"
    # build prints nothing on stdout (its report goes to stderr): stdout on /dev/full is no error.
    expect "build > /dev/full (nothing on stdout)" 0 "" -- bash -c "$(declare -f build); exe=$exe; build_args=(${build_args[*]}); build $T/c.mvke >/dev/full"
}

sec_stream() {
    "$exe" tag-all "$T/a.mvke" --top 3 -o "$T/file.tsv" 2>/dev/null || bad "tag-all to a file failed"
    expect "tag-all -o -" 0 "" -- bash -c "'$exe' tag-all '$T/a.mvke' --top 3 -o - >'$T/stream.tsv'"
    cmp -s "$T/file.tsv" "$T/stream.tsv" || bad "tag-all -o - differs from the file output"
    [ -e "$T/-" ] || [ -e "./-" ] && bad "tag-all -o - wrote a file named -"
    expect "tag-all -o /dev/stdout into a pipe" 0 "" -- bash -c "'$exe' tag-all '$T/a.mvke' --top 3 -o /dev/stdout | cat >'$T/pipe.tsv'"
    cmp -s "$T/file.tsv" "$T/pipe.tsv" || bad "tag-all -o /dev/stdout differs from the file output"
    expect "tag-all -o - --resume" 2 "no checkpoint" -- "$exe" tag-all "$T/a.mvke" --top 3 -o - --resume
}

sec_signal() {
    big || return
    local sig
    for sig in INT TERM; do
        rm -f "$T/s.tsv" "$T/s.tsv.checkpoint"
        "$exe" tag-all "$T/big.mvke" --top 5 --block-users 2048 --checkpoint-every 1000 -o "$T/s.tsv" 2>"$T/sig_err" &
        local pid=$!
        sleep 0.3
        kill -$sig $pid
        wait $pid
        local rc=$?
        if [ ! -f "$T/s.tsv.checkpoint" ]; then
            [ $rc = 0 ] && { bad "SIG$sig: the run ended before the signal (make the world larger)"; continue; }
            bad "SIG$sig left no checkpoint (exit $rc)"; continue
        fi
        grep -q '^partial yes' "$T/s.tsv.checkpoint" || bad "SIG$sig: the checkpoint does not say partial"
        ls "$T"/s.tsv.checkpoint.tmp* >/dev/null 2>&1 && bad "SIG$sig left a temporary checkpoint"
        say "ok SIG$sig stops tag-all with a partial checkpoint (exit $rc)"
        expect "rerun over a checkpoint without --resume" 2 "add --resume to continue it or --force" -- \
            "$exe" tag-all "$T/big.mvke" --top 5 --block-users 2048 -o "$T/s.tsv"
        expect "--resume after SIG$sig" 0 "" -- "$exe" tag-all "$T/big.mvke" --top 5 --block-users 2048 -o "$T/s.tsv" --resume
        "$exe" tag-all "$T/big.mvke" --top 5 --block-users 2048 -o "$T/full.tsv" 2>/dev/null
        cmp -s "$T/s.tsv" "$T/full.tsv" || bad "the resumed output after SIG$sig differs"
    done
    "$exe" tag-all "$T/big.mvke" --top 5 --block-users 2048 --checkpoint-every 1000 -o "$T/f.tsv" 2>/dev/null &
    local pid=$!
    sleep 0.3
    kill -INT $pid
    wait $pid
    [ -f "$T/f.tsv.checkpoint" ] || bad "SIGINT left no checkpoint for the --force case"
    if [ -f "$T/f.tsv.checkpoint" ]; then
        expect "--force over a checkpoint" 0 "" -- "$exe" tag-all "$T/big.mvke" --top 5 --block-users 2048 -o "$T/f.tsv" --force
        cmp -s "$T/f.tsv" "$T/full.tsv" || bad "--force output differs"
    fi
}

sec_sigkill() {
    # A build of about half a second, killed at 20 random points over the old index.
    big || return
    local -a args=("${big_args[@]}")
    local t0 t1 i
    t0=$(date +%s%N)
    "$exe" build -o "$T/big.mvke" "${args[@]}" 2>/dev/null
    t1=$(date +%s%N)
    local ms=$(((t1 - t0) / 1000000))
    say "a build takes $ms ms"
    for i in $(seq 20); do
        "$exe" build -o "$T/big.mvke" "${args[@]}" 2>/dev/null &
        local pid=$!
        sleep "$(awk -v s=$RANDOM -v ms=$ms 'BEGIN {srand(s); printf "%.3f", rand() * ms / 1000}')"
        kill -KILL $pid 2>/dev/null
        wait $pid 2>/dev/null
        "$exe" verify "$T/big.mvke" >/dev/null 2>&1 || bad "after SIGKILL $i the index does not verify"
    done
    local left
    left=$(ls "$T" | grep -c '^big\.mvke\.tmp' || true)
    say "temporaries left after 20 SIGKILLs: $left"
    "$exe" build -o "$T/big.mvke" "${args[@]}" 2>/dev/null || bad "build after the kills"
    left=$(ls "$T" | grep -c '^big\.mvke\.tmp' || true)
    [ "$left" = 0 ] || bad "$left temporaries remain after the next build"
    [ "$left" = 0 ] && say "ok SIGKILL x20: the index verifies, no temporary remains"
}

sec_sigbus() {
    # An index cut short in place (as cp over it does) while verify reads it through its mapping:
    # exit 4 with the message, never a crash by SIGBUS (exit 135).
    big || return
    local sl rc caught=0 t0 t1 ms
    # Cut at fractions of verify's own time here: fixed delays miss it where processes start
    # slowly (a sanitizer build, a loaded machine).
    t0=$(date +%s%N)
    "$exe" verify "$T/big.mvke" >/dev/null 2>&1
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    say "a verify takes $ms ms"
    for sl in $(awk -v ms=$ms 'BEGIN {printf "%.3f %.3f %.3f %.3f", ms * 0.2 / 1000, ms * 0.4 / 1000, ms * 0.6 / 1000, ms * 0.8 / 1000}'); do
        cp "$T/big.mvke" "$T/live.mvke"
        "$exe" verify "$T/live.mvke" >/dev/null 2>"$T/bus_err" &
        local pid=$!
        sleep $sl
        truncate -s 8192 "$T/live.mvke"
        wait $pid
        rc=$?
        case $rc in
        4) grep -q "was truncated or replaced in place while in use" "$T/bus_err" && caught=$((caught + 1)) ;;
        0 | 3) ;;
        *) bad "truncated under the mapping after $sl s: exit $rc: $(head -c 300 "$T/bus_err")" ;;
        esac
    done
    [ $caught -gt 0 ] && say "ok an index truncated under its mapping: exit 4 with the message ($caught of 4 tries hit the mapping)" ||
        bad "no truncation hit the mapping (make the world larger)"
}

sec_idtext() {
    local ix=$T/a.mvke a=$T/allow.txt
    allow() { printf "$1" >"$a"; "$exe" audience "$ix" --task "$task" --tag $tag --top 100000 --allow "$a"; }
    local uid
    uid=$("$exe" tag-all "$T/a.mvke" --task "$task" --top 1 -o - 2>/dev/null | awk 'NR == 3 {print $1}')
    local u0=$uid zeros
    zeros=$(printf '0%.0s' $(seq $((295 - ${#uid}))))
    expect "a 295-character 000...0$uid line is id $uid" 0 "" -- allow "${zeros}$uid\n"
    [ "$(awk -F'\t' 'NR > 1 {print $4}' "$T/out" | sort -u)" = "$uid" ] || bad "the long line admitted other users: $(head -3 "$T/out")"
    expect "295 zeros then 1 is id 1, never user 0" 0 "" -- allow "$(printf '0%.0s' $(seq 294))1\n"
    awk -F'\t' 'NR > 1 {print $4}' "$T/out" | grep -qxv 1 && bad "the 000...0001 line admitted a user other than 1"
    expect "leading and trailing spaces" 0 "" -- allow "  $u0  \n"
    expect "CRLF" 0 "" -- allow "$u0\r\n"
    expect "a UTF-8 BOM" 0 "" -- allow "\xef\xbb\xbf$u0\n"
    expect "blank lines and comments" 0 "" -- allow "\n# x\n\n$u0\n\n"
    expect "a plus sign" 0 "" -- allow "+$u0\n"
    expect "past int64" 3 "outside the int64 range" -- allow "9223372036854775808\n"
    expect "hex" 3 "hexadecimal" -- allow "0x10\n"
    expect "junk after the number" 3 "characters after the number" -- allow "12abc\n"
    expect "a space inside" 3 "characters after the number" -- allow "1 2\n"
}

sec_names() {
    local tt=$T/ctl.tsv
    for c in '\x1b[31m' '\x07' '\x7f' '\xc2\x9b'; do
        awk -F'\t' -v OFS='\t' -v c="$(printf "$c")" 'NR == 2 {$3 = $3 c} {print}' "$T/w/tags.tsv" >"$tt"
        local -a args=("${build_args[@]}")
        local i
        for i in "${!args[@]}"; do [ "${args[$i]}" = "$T/w/tags.tsv" ] && args[$i]=$tt; done
        expect "a name with $c" 3 "line 2: the name contains the control character" -- "$exe" build -o "$T/ctl.mvke" "${args[@]}"
    done
}

sec_memory() {
    local size limit cmd rc t0 t1
    if ldd "$exe" 2>/dev/null | grep -q "libasan\|libtsan"; then
        say "skip memory: a sanitizer reserves terabytes of address space, so ulimit -v cannot apply"
        return
    fi
    size=$(stat -c %s "$T/a.mvke")
    for limit in 65536 131072 262144 524288; do
        for cmd in "info $T/a.mvke" "verify $T/a.mvke" "audience $T/a.mvke --task $task --tag $tag --top 5" \
            "tags $T/a.mvke --user $uid --top 3" "tag-all $T/a.mvke --top 3 -o - --block-users 256"; do
            t0=$(date +%s)
            timeout -s KILL 10 bash -c "ulimit -v $limit; exec '$exe' $cmd" >/dev/null 2>"$T/mem_err"
            rc=$?
            t1=$(date +%s)
            if [ $rc = 137 ]; then bad "ulimit -v $limit: $cmd did not end within 10 s"; continue; fi
            if [ $rc != 0 ] && ! grep -qi "memory\|NOMEM\|mmap" "$T/mem_err"; then
                bad "ulimit -v $limit: $cmd exit $rc without a message about memory: $(head -c 300 "$T/mem_err")"
                continue
            fi
            say "ok ulimit -v $limit (KiB): ${cmd%% *} exit $rc in $((t1 - t0)) s"
        done
    done
}

for s in $sections; do "sec_$s"; done
[ $fail = 0 ] && say "all passed" || say "some checks FAILED"
exit $fail
