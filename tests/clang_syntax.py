#!/usr/bin/env python3
"""clang_syntax.py - every C file of the build compiles with clang (the fuzzing and sanitizer
builds use clang): a syntax pass with each file's own flags from compile_commands.json.

    clang_syntax.py BUILD_DIR

Exits 77 (skip) when clang is missing, 1 with the first error of each failing file.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys

build = sys.argv[1]
if not shutil.which("clang"):
    print("SKIP: clang is not installed")
    sys.exit(77)
commands = json.load(open(os.path.join(build, "compile_commands.json")))
bad, seen = [], 0
for c in commands:
    f = c["file"]
    # The project's own C files only: not FAISS's C API sources, not meson's probes.
    if not f.endswith(".c") or "/meson-" in f or "faiss" in f:
        continue
    args = shlex.split(c["command"]) if "command" in c else c["arguments"]
    keep, skip = ["clang", "-fsyntax-only", "-fno-color-diagnostics"], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MQ", "-MT"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD", "-fcolor-diagnostics", "-fdiagnostics-color=always") or a.startswith("-o"):
            continue
        keep.append(a)
    r = subprocess.run(keep, cwd=c["directory"], capture_output=True, text=True)
    seen += 1
    if r.returncode:
        lines = [l for l in r.stderr.splitlines() if "error" in l]
        bad.append(f"{os.path.relpath(os.path.join(c['directory'], f))}: {lines[0] if lines else 'error'}")
print(f"clang: {seen - len(bad)} of {seen} C files compile")
for b in bad:
    print(b)
sys.exit(1 if bad or seen == 0 else 0)
