#!/bin/sh
# daily-job.sh - the daily batch (gen -> build -> tag-all, npy and tsv) timed as whole processes
# beside each phase's limit, and projected to 1e9 users: bench/daily_job.py says how.
#
#   bench/daily-job.sh [N] [--mvke PATH] [--tag-bench PATH] [--dir DIR [--reuse]] [--cores C] [--hosts H]
#
# N defaults to 1e6. Run it alone: flock /tmp/mvke-cpu.lock bench/daily-job.sh 1e7
exec python3 "$(dirname "$0")/daily_job.py" "$@"
