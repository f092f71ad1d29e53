#!/bin/bash
# gpu-check.sh - the one run on a GPU machine (one H200, 16 cores; nvcc, meson, ninja, python3,
# PyTorch; no FAISS, no Criterion needed): build with the CUDA module, check the GPU against the
# CPU backend, benchmark, and put the results in $OUT as gpu-check.json and gpu-check.md.
#
#   1. configure and build build-gpu/ with -Dcuda=enabled (-Dfaiss=disabled -Dtests=false: the GPU
#      test is a plain C program); record what libmvke, mvke and the module need (ldd);
#   2. test_cuda_backend: every backend op, the index and the tag table on the GPU against the
#      CPU backend (ids up to ties, scores to 1e-5 float32 / 1e-3 float16);
#   3. `mvke tag-all --gpu` against the CPU run on a generated world (100k users, 2 tasks);
#   4. gpu_bench: 1 tag over 1e7 resident users as a fraction of the HBM bandwidth, 256 tags,
#      batch tagging with the tag rows resident and 4M users streamed from host memory, and the
#      same searches on the CPU for equality;
#   5. bench/torch_baseline.py: the same shapes in PyTorch (naive and block formula);
#   6. bench/gpu_report.py: the JSON and the markdown table.
# Planned under 6 minutes on an H200 with 16 cores; each step has a timeout, and what a step
# could not measure is reported as such. Without a GPU every GPU step says why it skipped and
# the script exits 77; 0 when the test passed and the benchmark ran; 1 otherwise.
#
# OpenBLAS and pkgconf may be missing there: carry the Debian packages in .gpu-debs/ (see
# docs/gpu.md for the apt-get download line); they are unpacked under /tmp/gpu-root.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
B=${GPU_CHECK_BUILD:-build-gpu}
USERS=${GPU_CHECK_USERS:-10000000}
TAG_USERS=${GPU_CHECK_TAG_USERS:-4000000}
start=$(date +%s)
step() { echo "== [$(( $(date +%s) - start ))s] $*"; }
steps=()
record() { steps+=("\"$1\": {\"rc\": $2, \"s\": $3}"); } # name, exit code, seconds
timed() { # timed NAME TIMEOUT LOG CMD...: runs CMD with a timeout, output to the log and stdout
    local name=$1 limit=$2 log=$3 t0 rc
    shift 3
    t0=$(date +%s)
    timeout "$limit" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    record "$name" "$rc" $(( $(date +%s) - t0 ))
    [ "$rc" -eq 124 ] && echo "$name: stopped after its ${limit}s timeout"
    return "$rc"
}

export PATH=/usr/local/cuda/bin:$PATH
[ -d /usr/local/cuda/lib64 ] && export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
{ nvidia-smi -L || echo "nvidia-smi: no GPU listed"; nvcc --version | tail -1; } 2>&1 | tee "$OUT/machine.txt"

if ! pkg-config --exists openblas 2>/dev/null && ls .gpu-debs/*.deb >/dev/null 2>&1; then
    step "unpacking carried packages into /tmp/gpu-root"
    R=/tmp/gpu-root
    mkdir -p $R/pc
    for f in .gpu-debs/*.deb; do dpkg -x "$f" $R; done
    sed "s#/usr/#$R/usr/#g" $R/usr/lib/x86_64-linux-gnu/openblas-pthread/pkgconfig/openblas.pc > $R/pc/openblas.pc
    export PKG_CONFIG_PATH=$R/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export LD_LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu/openblas-pthread:$R/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LIBRARY_PATH=$R/usr/lib/x86_64-linux-gnu${LIBRARY_PATH:+:$LIBRARY_PATH}
    if ! command -v pkg-config >/dev/null; then
        ln -sf $R/usr/bin/pkgconf $R/usr/bin/pkg-config
        export PATH=$R/usr/bin:$PATH
    fi
fi

step "1. configure and build $B (cuda enabled, faiss and tests off)"
t0=$(date +%s)
if [ -f "$B/build.ninja" ]; then
    meson setup --reconfigure "$B" -Dfaiss=disabled -Dtests=false -Dcuda=enabled >"$OUT/setup.log" 2>&1
else
    meson setup "$B" -Dfaiss=disabled -Dtests=false -Dcuda=enabled >"$OUT/setup.log" 2>&1
fi
rc=$?
[ $rc -eq 0 ] && { ninja -C "$B" -j"$(nproc)" >"$OUT/build.log" 2>&1; rc=$?; }
record build $rc $(( $(date +%s) - t0 ))
tail -3 "$OUT/setup.log" "$OUT/build.log" 2>/dev/null
if [ $rc -ne 0 ] || [ ! -x "$B/test_cuda_backend" ] || [ ! -x "$B/gpu_bench" ] || [ ! -f "$B/libmvke-cuda.so" ]; then
    echo "build failed (see $OUT/setup.log, $OUT/build.log)"
    printf '{%s}\n' "$(IFS=,; echo "${steps[*]}")" >"$OUT/steps.json"
    python3 bench/gpu_report.py "$OUT"
    exit 1
fi
{ for f in "$B/libmvke.so" "$B/tools/mvke" "$B/libmvke-cuda.so"; do echo "ldd $f:"; ldd "$f"; done; } >"$OUT/ldd.txt" 2>&1
for f in "$B/libmvke.so" "$B/tools/mvke" "$B/libmvke-cuda.so"; do
    echo "$f needs $(ldd "$f" | grep -cE 'lib(cuda|cudart|cublas)') CUDA libraries"
done | tee -a "$OUT/ldd.txt"

step "2. test_cuda_backend (GPU vs CPU backend)"
timed test 240 "$OUT/test.log" "$B/test_cuda_backend"
test_rc=$?

step "3. mvke tag-all --gpu vs the CPU"
t0=$(date +%s)
W=$OUT/world
M=$B/tools/mvke
rm -rf "$W"
if "$M" gen --out "$W" --users 100000 >"$OUT/tag_all.log" 2>&1 &&
   "$M" build -o "$W/ix.mvke" --experts "$W/users.npy" --ids "$W/user_ids.npy" --tags "$W/tags.tsv" \
       --tag-emb "$W/tag_emb.npy" --gates "$W/gates.npy" --task interest=0-2 --task intention=1-4 >>"$OUT/tag_all.log" 2>&1 &&
   timeout 60 "$M" tag-all "$W/ix.mvke" --top 10 -o "$W/cpu.tsv" >>"$OUT/tag_all.log" 2>&1; then
    if timeout 60 "$M" tag-all "$W/ix.mvke" --top 10 -o "$W/gpu.tsv" --gpu 0 >>"$OUT/tag_all.log" 2>&1; then
        # Same lines, or a tie: the same user, task and rank with scores within 1e-5.
        paste "$W/cpu.tsv" "$W/gpu.tsv" | awk -F'\t' '
            NR == 1 { next }
            { n++; if ($1 != $6 || $2 != $7 || $3 != $8) { bad++; next }
              d = $5 - $10; if (d < 0) d = -d; if (d > maxd) maxd = d
              if (d > 1.1e-5) bad++; else if ($4 != $9) ties++ }
            END { printf "%s: %d lines, %d differ beyond 1e-5, %d tag ids differ at tied scores, largest score gap %.1e\n",
                  bad ? "differ" : "same", n, bad, ties, maxd }' >"$OUT/tag_all.txt"
        [ "$(wc -l <"$W/cpu.tsv")" = "$(wc -l <"$W/gpu.tsv")" ] || echo "differ: line counts $(wc -l <"$W/cpu.tsv") vs $(wc -l <"$W/gpu.tsv")" >"$OUT/tag_all.txt"
    else
        echo "not run: tag-all --gpu failed: $(tail -1 "$OUT/tag_all.log")" >"$OUT/tag_all.txt"
    fi
else
    echo "not run: the CPU tag-all failed (see tag_all.log)" >"$OUT/tag_all.txt"
fi
record tag_all 0 $(( $(date +%s) - t0 ))
cat "$OUT/tag_all.txt"
rm -rf "$W"

step "4. gpu_bench ($USERS users, $TAG_USERS streamed for tagging)"
timed bench 300 "$OUT/bench.log" "$B/gpu_bench" --users "$USERS" --batch 256 --tag-users "$TAG_USERS" \
    --block 262144 --out "$OUT/gpu_bench.json"
bench_rc=$?

step "5. PyTorch on the same shapes"
if [ -s "$OUT/gpu_bench.json" ]; then
    export PYTHONUNBUFFERED=1
    timed torch 240 "$OUT/torch.log" python3 bench/torch_baseline.py --mvke "$OUT/gpu_bench.json" --out "$OUT/torch.json"
else
    echo "skipped: gpu_bench wrote no measurements" | tee "$OUT/torch.log"
    record torch 77 0
fi

step "6. report"
printf '{%s}\n' "$(IFS=,; echo "${steps[*]}")" >"$OUT/steps.json"
python3 bench/gpu_report.py "$OUT"
step "done: $OUT/gpu-check.md, $OUT/gpu-check.json (test exit $test_rc, bench exit $bench_rc)"
if [ $test_rc -eq 77 ] && [ $bench_rc -eq 77 ]; then exit 77; fi
[ $test_rc -eq 0 ] && [ $bench_rc -eq 0 ] && exit 0
exit 1
