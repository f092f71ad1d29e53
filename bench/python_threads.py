#!/usr/bin/env python3
"""Searches from several Python threads at once: the speed-up the released GIL gives.

    PYTHONPATH=build/python python3 bench/python_threads.py [--users N] [--batch B] [--searches S]

One index (K = 5, d = 30, standard normal users), each search one OpenMP thread
(Index(threads=1)), S searches of B gated tag rows each. The same searches run from 1 Python
thread, then split over 2 and 4 threads; every run's answers must equal the serial ones. Prints
one line per thread count and the speed-up over one thread. On a machine with C cores the
speed-up is bounded by min(threads, C). Not a test: machines are shared, times are noisy.
"""

import argparse
import os
import threading
import time

import numpy as np

import mvke


def run(ix, zs, k, nthreads):
    out = [None] * len(zs)

    def work(part):
        for i in part:
            out[i] = ix.search(zs[i], k)

    parts = [range(t, len(zs), nthreads) for t in range(nthreads)]
    ts = [threading.Thread(target=work, args=(p,)) for p in parts]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--searches", type=int, default=32)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--threads", default="1,2,4", help="Python thread counts (default 1,2,4)")
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    K, d = 5, 30
    ix = mvke.Index(K, d, threads=1)
    ix.add(rng.standard_normal((args.users, K, d)).astype(np.float32))
    zs = [mvke.pack_query(rng.standard_normal((args.batch, d)), rng.random((args.batch, K)))
          for _ in range(args.searches)]
    run(ix, zs[:2], args.k, 1)  # warm-up
    base, want = None, None
    print(f"python threads: {args.users} users, {args.searches} searches of {args.batch} tags, top-{args.k}, "
          f"1 OpenMP thread per search, {os.cpu_count()} CPUs")
    for n in [int(t) for t in args.threads.split(",")]:
        took, got = run(ix, zs, args.k, n)
        if want is None:
            want = got
        same = all((g[0] == w[0]).all() and (g[1] == w[1]).all() for g, w in zip(got, want))
        base = base or took
        print(f"  {n} thread{'s' if n > 1 else ' '}: {took:7.3f} s, {args.searches / took:7.1f} searches/s, "
              f"speed-up {base / took:4.2f}x, answers {'identical' if same else 'DIFFERENT'}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
