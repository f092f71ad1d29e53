#!/usr/bin/env python3
"""Prints the one-line summary of a meson test log: `tests (NAME): N passed, N failed, N skipped`
(`tests: ...` for an empty NAME).

    python3 scripts/ci-summary.py NAME build/meson-logs/testlog.json [EXTRA_FAILED]

EXTRA_FAILED counts failures the log does not hold (sanitizer reports). A result other than OK,
FAIL or SKIP (a timeout, an error) counts as failed. CI's scripts print every pass this way.
"""
import json
import os
import sys

name, log = sys.argv[1], sys.argv[2]
extra = int(sys.argv[3]) if len(sys.argv) > 3 else 0
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
other = 0
if os.path.exists(log):
    for line in open(log):
        line = line.strip()
        if not line:
            continue
        result = json.loads(line).get("result", "")
        if result in counts:
            counts[result] += 1
        else:
            other += 1
label = f"tests ({name})" if name else "tests"
print(f"{label}: {counts['OK']} passed, {counts['FAIL'] + other + extra} failed, {counts['SKIP']} skipped")
