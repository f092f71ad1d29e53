#!/usr/bin/env bash
# CI's check of the Python package as a user installs it (docs/python.md): a fresh virtual
# environment that sees Debian's numpy and meson-python, `pip install --no-build-isolation .`,
# then examples/quickstart.py run from outside the source tree, where only the installed module
# and the installed `mvke` program can be found. Prints one `tests (wheel): ...` line.
#
#   bash scripts/ci-wheel.sh
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() {
    /usr/bin/python3 -m venv --system-site-packages "$work/venv" || return 1
    "$work/venv/bin/python3" -m pip install --no-build-isolation "$src" >"$work/pip.log" 2>&1 ||
        { tail -n 40 "$work/pip.log" >&2; return 1; }
    cd "$work" || return 1
    # The wheel installs the module and `mvke`, nothing else of the build (docs/python.md).
    local extra
    extra=$(ls "$work/venv/bin" | grep -E '^mvke' | grep -vx mvke)
    [ -z "$extra" ] || { echo "ci-wheel: the wheel installed more than the module and mvke: $extra" >&2; return 1; }
    # The module and the program come from the environment, not from a build folder.
    env -u MVKE_EXE -u PYTHONPATH "$work/venv/bin/python3" -c '
import mvke, sys
assert mvke.__file__.startswith(sys.argv[1]), mvke.__file__
print("ci-wheel: mvke", mvke.__version__, "from", mvke.__file__)' "$work/venv" || return 1
    env -u MVKE_EXE -u PYTHONPATH "$work/venv/bin/python3" "$src/examples/quickstart.py" >"$work/quickstart.log" 2>&1 ||
        { cat "$work/quickstart.log" >&2; return 1; }
    grep -q "with $work/venv/bin/mvke gen" "$work/quickstart.log" && grep -q "same audience: yes" "$work/quickstart.log" ||
        { cat "$work/quickstart.log" >&2; return 1; }
    tail -n 1 "$work/quickstart.log"
}

if check; then
    echo "tests (wheel): 1 passed, 0 failed, 0 skipped"
else
    echo "tests (wheel): 0 passed, 1 failed, 0 skipped"
    exit 1
fi
