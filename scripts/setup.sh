#!/usr/bin/env bash
# Installs what the build needs on Debian 12 (as root, idempotent), fetches the FAISS C API
# sources that Debian does not ship compiled, and configures the build directory.
#
#   bash scripts/setup.sh [BUILD_DIR] [meson options...]
#
# BUILD_DIR defaults to `build`. Re-running is cheap: installed packages, a fetched source tree
# and a configured build directory are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true

packages=(meson ninja-build pkg-config gcc g++ libopenblas-openmp-dev libcriterion-dev
          libfaiss-dev dpkg-dev gnuplot-nox)
# The Python module (python/, docs/python.md): headers, numpy, pytest for its tests, and
# meson-python for `pip install --no-build-isolation .`.
packages+=(python3-dev python3-numpy python3-pytest python3-mesonpy python3-venv python3-pip)
# MPI for the distributed commands (mpirun -np R mvke audience|tags|tag-all; -Dmpi=auto).
packages+=(libopenmpi-dev openmpi-bin)
# The fuzzing build (scripts/ci-sanitize.sh fuzz): clang, libFuzzer and its sanitizer runtimes,
# LLVM's OpenMP.
packages+=(clang libclang-rt-14-dev libomp-14-dev)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing packages and not root; run as root or install: ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# FAISS's C API sources (Debian ships only the C++ library): see scripts/fetch-faiss-src.sh.
if [ -x scripts/fetch-faiss-src.sh ] || [ -f scripts/fetch-faiss-src.sh ]; then
    bash scripts/fetch-faiss-src.sh
fi

# meson's own messages go to a log, shown in full when configuring fails.
log=$(mktemp)
if [ -f "$build_dir/build.ninja" ]; then
    meson setup --reconfigure "$build_dir" "$@" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
else
    meson setup "$build_dir" "$@" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
fi
rm -f "$log"
echo "setup: configured $build_dir" >&2
