#!/bin/bash
# gpu-check.sh - one run on a GPU machine (one H200; nvcc, CMake, ninja, meson, PyTorch; no
# FAISS, no Criterion, no package registry): build the library with the CUDA backend, run the
# GPU test (every result against the CPU backend), then the GPU benchmark and the PyTorch
# baseline. Prints everything; copies logs to $OUT when set. Budget: under 5 minutes.
#
# OpenBLAS and pkgconf may be missing there: carry the Debian packages in .gpu-debs/ (see
# docs/gpu.md for the apt-get download line); they are unpacked under /tmp/gpu-root.
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
B=build-gpu
start=$(date +%s)
step() { echo "== [$(( $(date +%s) - start ))s] $*"; }

export PATH=/usr/local/cuda/bin:$PATH
nvidia-smi -L || true
nvcc --version | tail -1

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

step "configure and build (faiss and tests off: the GPU test needs no Criterion)"
rm -rf $B
meson setup $B -Dfaiss=disabled -Dtests=false -Dcuda=enabled 2>&1 | tee "$OUT/setup.log" | tail -5 || exit 1
ninja -C $B -j16 test_cuda_backend gpu_bench 2>&1 | tee "$OUT/build.log" | tail -3
[ -x $B/test_cuda_backend ] && [ -x $B/gpu_bench ] || { echo "build failed"; exit 1; }

step "GPU test (CUDA backend vs CPU backend)"
timeout 150 $B/test_cuda_backend 2>&1 | tee "$OUT/test.log"
test_rc=${PIPESTATUS[0]}
echo "test_cuda_backend exit code: $test_rc"

step "GPU benchmark"
timeout 120 $B/gpu_bench --users 8000000 --batch 256 --tag-users 2000000 --out "$OUT/gpu_bench.json" 2>&1 | tee "$OUT/bench.log"

step "PyTorch baseline on the same shapes"
[ -s "$OUT/gpu_bench.json" ] && PYTHONUNBUFFERED=1 timeout 90 python3 bench/torch_baseline.py --mvke "$OUT/gpu_bench.json" 2>&1 | tee "$OUT/torch.log"

step "done (GPU test exit code $test_rc)"
exit $test_rc
