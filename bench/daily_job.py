#!/usr/bin/env python3
"""daily_job.py - the daily batch as a user runs it, timed as whole processes (bench/daily-job.sh).

gen writes a day's model export of N users (the demo world, docs/demo.md); `mvke build` makes the
index from it; `mvke tag-all` writes the top-10 tags of both tasks for every user, as npy and as
tsv. Each phase is one process, timed on the wall clock with its peak resident memory (wait4), and
set beside its limit measured in the same run:

  build     the read speed of its input files from the disk (cat of the same files to
            /dev/null; before each of the two the files are dropped from the page cache)
  tag-all   the scoring alone (mvke-tag-bench: the same calls with no output)

then projected to 1e9 users: on one host of C cores (scaling this machine's per-core speed, as
the scan and tagging split users over cores with nothing shared), and on H such hosts over MPI
(each rank builds and tags its shard; the parts are concatenated, not merged).

Usage: bench/daily-job.sh [N] [--mvke PATH] [--tag-bench PATH] [--dir DIR [--reuse]] [--cores C] [--hosts H]
Wrap it in flock on a shared machine; nothing else should run beside it.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def run(argv, stdout=subprocess.DEVNULL):
    """Runs one process; returns (seconds, peak resident MiB, its stdout when captured)."""
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
    out = p.stdout.read() if stdout == subprocess.PIPE else ""
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("daily-job: %s failed (exit %d): %s" % (" ".join(argv), p.returncode, err.strip()[-2000:]))
    return secs, ru.ru_maxrss / 1024.0, out


def evict(paths):
    """Drops the files' pages from the page cache (written back first), so that the next reader
    reads the disk: build is measured against the disk's read speed, as a day's fresh export is."""
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def size_of(paths):
    return sum(os.path.getsize(p) for p in paths)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("users", nargs="?", default="1e6", help="users N (default 1e6; 1e7 is the issue's size)")
    ap.add_argument("--mvke", default="build/tools/mvke")
    ap.add_argument("--tag-bench", default="build/bench/mvke-tag-bench")
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed at the end)")
    ap.add_argument("--reuse", action="store_true", help="keep DIR/world when it is there (no gen)")
    ap.add_argument("--cores", type=int, default=64, help="cores of the projected host (default 64)")
    ap.add_argument("--hosts", type=int, default=16, help="hosts of the projected MPI job (default 16)")
    a = ap.parse_args()
    n = int(float(a.users))
    for exe in (a.mvke, a.tag_bench):
        if not os.access(exe, os.X_OK):
            sys.exit("daily-job: %s is not an executable (build first: meson compile -C build)" % exe)
    work = a.dir or tempfile.mkdtemp(prefix="mvke-daily-job.")
    os.makedirs(work, exist_ok=True)
    w = os.path.join(work, "world")
    idx = os.path.join(work, "users.mvke")
    cores_here = os.cpu_count()
    rows = []

    if a.reuse and os.path.exists(os.path.join(w, "users.npy")):
        print("daily-job: reusing the export in %s" % w, file=sys.stderr)
    else:
        secs, rss, _ = run([a.mvke, "gen", "--out", w, "--users", str(n)])
        rows.append(("gen (the model's export, not part of the job)", secs, n / secs, rss, "", ""))

    inputs = [os.path.join(w, f) for f in ("users.npy", "user_ids.npy", "tag_emb.npy", "gates.npy", "tags.tsv")]
    evict(inputs)
    read_s, _, _ = run(["cat"] + inputs)
    nbytes = size_of(inputs)
    evict(inputs)
    secs, rss, _ = run([a.mvke, "build", "-o", idx, "--experts", inputs[0], "--ids", inputs[1], "--tags", inputs[4],
                        "--tag-emb", inputs[2], "--gates", inputs[3], "--task", "interest=0-2", "--task",
                        "intention=1-4"])
    build_s = secs
    rows.append(("build (%.0f MB in, %.0f MB out)" % (nbytes / 1e6, os.path.getsize(idx) / 1e6), secs, n / secs, rss,
                 "disk read %.0f MB/s" % (nbytes / read_s / 1e6), "%.0f%%" % (100 * read_s / secs)))

    # Every tagging phase starts with the index in the page cache, as right after build.
    run(["cat", idx])
    _, _, out = run([a.tag_bench, idx, "--top", "10"], stdout=subprocess.PIPE)
    kernel = float(out.split("users_per_s=")[1].split()[0])
    rows.append(("scoring alone (mvke-tag-bench)", n / kernel, kernel, 0, "", ""))
    tag_s = {}
    for fmt in ("npy", "tsv"):
        out_path = os.path.join(work, "tags." + fmt)
        run(["cat", idx])
        secs, rss, _ = run([a.mvke, "tag-all", idx, "--top", "10", "--format", fmt, "-o", out_path])
        tag_s[fmt] = secs
        size = size_of([os.path.join(out_path, f) for f in os.listdir(out_path)]) if fmt == "npy" else os.path.getsize(out_path)
        rows.append(("tag-all --format %s (%.0f MB out)" % (fmt, size / 1e6), secs, n / secs, rss,
                     "scoring %.1fk users/s" % (kernel / 1e3), "%.0f%%" % (100 * n / secs / kernel)))
        shutil.rmtree(out_path) if fmt == "npy" else os.remove(out_path)

    print("## The daily job: %d users, K 5, d 30, 1,786 tags x 2 tasks, top-10, %d cores\n" % (n, cores_here))
    print("| phase | seconds | users/s | peak RSS MB | limit | share of limit |")
    print("|---|---:|---:|---:|---|---:|")
    for name, secs, ups, rss, lim, share in rows:
        print("| %s | %.2f | %.1fk | %s | %s | %s |" % (name, secs, ups / 1e3, "%.0f" % rss if rss else "-", lim, share))
    scale = 1e9 / n
    for fmt in ("npy", "tsv"):
        one = (build_s + tag_s[fmt]) * scale * cores_here / a.cores
        print("\n1e9 users, %s: %.1f h on this machine; %.2f h on one host of %d cores; %.2f h on %d such hosts "
              "over MPI" % (fmt, (build_s + tag_s[fmt]) * scale / 3600, one / 3600, a.cores, one / a.hosts / 3600,
                            a.hosts), end="")
    print("\n(projection: per-core speed of this run times cores; build is assumed to scale with cores as well,\n"
          "which holds only while the disk keeps up: at %.0f MB/s of input per host of %d cores here)"
          % (nbytes / build_s / 1e6 * a.cores / cores_here, a.cores))
    if not a.dir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
