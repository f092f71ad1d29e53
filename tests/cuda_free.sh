#!/usr/bin/env bash
# cuda_free.sh - the CPU-only promise of DESIGN section 11, checked on the built files:
#   1. libmvke and the mvke binary need no CUDA library (their ELF NEEDED entries, and ldd);
#   2. with no CUDA library loadable at all (the dynamic loader run without its cache and with
#      LD_LIBRARY_PATH stripped of CUDA directories), `mvke --version` and a search work, and
#      `--gpu` fails with MVKE_ERR_UNSUPPORTED saying that the module cannot be loaded;
#   3. with the module hidden (MVKE_CUDA_MODULE pointing nowhere), `--gpu` on audience, tags and
#      tag-all fails with MVKE_ERR_UNSUPPORTED saying where the module was looked for.
# Usage: cuda_free.sh LIBMVKE MVKE_EXE [LIBMVKE_CUDA]   (the module path is empty when not built)
set -u
lib=$1 exe=$2 module=${3:-}
fail=0
say() { echo "cuda_free: $*"; }
bad() { echo "cuda_free: FAIL: $*"; fail=1; }
cuda_re='^lib(cuda|cudart|cublas|cublasLt|nvrtc|nvJitLink)\.'

# 1. Nothing of CUDA is needed by the library or the tool.
for f in "$lib" "$exe"; do
    needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    say "$(basename "$f") needs: $(echo $needed)"
    if echo "$needed" | grep -Eq "$cuda_re"; then bad "$f needs a CUDA library"; fi
    loaded=$(ldd "$f" | awk '{print $1}')
    if echo "$loaded" | grep -Eq "$cuda_re"; then bad "ldd $f lists a CUDA library: $(echo "$loaded" | grep -E "$cuda_re" | tr '\n' ' ')"; fi
done
if [ -n "$module" ]; then # the same check sees CUDA where it is: in the module
    needed=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    say "$(basename "$module") needs: $needed"
    echo "$needed" | grep -q libcudart || bad "the module does not need libcudart: the check above cannot see CUDA"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$exe" gen --out "$work/w" --users 500 --levels 3,6 >/dev/null 2>&1 || bad "mvke gen failed"
"$exe" build -o "$work/ix.mvke" --experts "$work/w/users.npy" --ids "$work/w/user_ids.npy" --tags "$work/w/tags.tsv" \
    --tag-emb "$work/w/tag_emb.npy" --gates "$work/w/gates.npy" --task interest=0-2 --task intention=1-4 \
    >/dev/null 2>&1 || bad "mvke build failed"
tag=$(awk -F'\t' 'NR == 2 && $2 == "interest" { print $1 }' "$work/w/tags.tsv")
tag=${tag:-1}

# Runs the tool; stdout to $work/out, stderr to $work/err, returns its exit code.
run() { "$@" >"$work/out" 2>"$work/err"; }
# expect_refusal WHAT TEXT... : the last run failed with MVKE_ERR_UNSUPPORTED and every TEXT.
expect_refusal() {
    local rc=$1 what=$2
    shift 2
    if [ "$rc" -eq 0 ]; then bad "$what: --gpu succeeded without a usable GPU"; return; fi
    grep -q MVKE_ERR_UNSUPPORTED "$work/err" || bad "$what: no MVKE_ERR_UNSUPPORTED in: $(cat "$work/err")"
    for t in "$@"; do grep -qF -- "$t" "$work/err" || bad "$what: the message does not say '$t': $(cat "$work/err")"; done
    say "$what: refused: $(cat "$work/err")"
}

# 2. No CUDA library can be loaded at all.
interp=$(readelf -l "$exe" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
# LD_LIBRARY_PATH without the directories that hold a CUDA library.
stripped=$(echo "${LD_LIBRARY_PATH:-}" | tr ':' '\n' | while read -r dir; do
    [ -n "$dir" ] && ! ls "$dir" 2>/dev/null | grep -Eq "$cuda_re" && echo "$dir"; done | paste -sd: -)
nocuda() { env -u LD_LIBRARY_PATH -u MVKE_CUDA_MODULE "$interp" --inhibit-cache ${stripped:+--library-path "$stripped"} "$@"; }
if [ -n "$module" ] && nocuda --list "$module" >/dev/null 2>&1; then
    say "SKIP part 2: the CUDA runtime is in a system directory, it cannot be hidden from the loader"
else
    run nocuda "$exe" --version && grep -q "mvke" "$work/out" || bad "mvke --version failed without CUDA: $(cat "$work/err")"
    say "without any CUDA library: $(cat "$work/out")"
    run nocuda "$exe" audience "$work/ix.mvke" --task interest --tag "$tag" --top 3
    rc=$?
    [ "$rc" -eq 0 ] && [ "$(wc -l <"$work/out")" -eq 4 ] || bad "audience failed without CUDA (rc $rc): $(cat "$work/err")"
    run nocuda "$exe" audience "$work/ix.mvke" --task interest --tag "$tag" --top 3 --gpu
    rc=$?
    if [ -n "$module" ]; then
        expect_refusal $rc "audience --gpu, no CUDA library" "cannot be loaded" "libcudart"
    else
        expect_refusal $rc "audience --gpu, no module built" "not found"
    fi
fi

# 3. The module hidden.
export MVKE_CUDA_MODULE=/nonexistent/dir/libmvke-cuda.so
run "$exe" tags "$work/ix.mvke" --user 3 --top 2
[ $? -eq 0 ] && grep -q interest "$work/out" || bad "tags failed with the module hidden: $(cat "$work/err")"
run "$exe" audience "$work/ix.mvke" --task interest --tag "$tag" --top 3 --gpu 0
expect_refusal $? "audience --gpu 0, module hidden" "not found" "$MVKE_CUDA_MODULE" "nothing was searched"
run "$exe" tags "$work/ix.mvke" --user 3 --top 2 --gpu
expect_refusal $? "tags --gpu, module hidden" "not found" "$MVKE_CUDA_MODULE" "nothing was searched"
run "$exe" tag-all "$work/ix.mvke" --top 2 -o "$work/all.tsv" --gpu -1
expect_refusal $? "tag-all --gpu -1, module hidden" "not found" "$MVKE_CUDA_MODULE"
[ -e "$work/all.tsv" ] && bad "tag-all --gpu wrote an output before refusing"

[ $fail -eq 0 ] && say "PASS" || say "FAILED"
exit $fail
