#!/usr/bin/env python3
"""tag_baselines.py - batch tagging (the top-M tags of every user, for each task) through the
library's Python API beside numpy and PyTorch scripts of the block formula, in one run, on the
CPU, with the subset-aware roofline measured in the same run (docs/benchmarks.md, "The daily job").

The block formula is the strongest plain version: for a task with experts A, the users' rows
X_A (n, |A| d) and the tags' gated rows Z_A (T, |A| d); s = X_A Z_A^T / sqrt(Gx Gz^T), with the
users' Gram triangles Gx computed ahead (as the library does when users are added) and the
tags' Gz with off-diagonal entries doubled; then top-M per user. Two matmuls, a division, a
square root and a top-M per block of users. The roofline: the products this needs, 2 (|A| d +
|A|(|A|+1)/2) flops per user, tag and task, at the sgemm rate numpy reaches in this run at the
shape of the products; a method's share is its users/s over the roofline's.

Usage: python3 bench/tag_baselines.py [--users N] [--threads T] [--top M] [--block B]
For the AVX2 figure on an AVX-512 machine: MVKE_CPU=avx2 OPENBLAS_CORETYPE=Haswell (numpy's
sgemm, hence the roofline, then uses AVX2 as well).
Run it alone (flock /tmp/mvke-cpu.lock ...). PyTorch is timed when it imports (Debian's
python3-torch); the library when its module imports (MVKE_PYTHON_DIR, default build/python).
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--users", default="1e6")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--top", type=int, default=10)
ap.add_argument("--block", type=int, default=16384, help="users per block, every method (default 16384, as tag-all)")
a = ap.parse_args()
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = str(a.threads)  # before numpy and torch load their thread pools
import numpy as np  # noqa: E402

sys.path.insert(0, os.environ.get("MVKE_PYTHON_DIR", "build/python"))
try:
    import mvke
except ImportError as e:
    if os.environ.get("MVKE_PYTHON_DIR"):  # named explicitly (the smoke test): it must import
        sys.exit("tag_baselines: the module in %s does not import: %s" % (os.environ["MVKE_PYTHON_DIR"], e))
    mvke = None
    print("library: not importable (%s)" % e, file=sys.stderr)
try:
    import torch
    torch.set_num_threads(a.threads)
except ImportError as e:
    torch = None
    print("PyTorch: not importable (%s)" % e, file=sys.stderr)

K, D, NTAGS, M = 5, 30, 1786, a.top
TASKS = {"interest": [0, 1, 2], "intention": [1, 2, 3, 4]}
n = int(float(a.users))
rng = np.random.default_rng(1)
x = rng.standard_normal((n, K, D), dtype=np.float32)
tag_q, tag_w = {}, {}
for t, A in TASKS.items():
    tag_q[t] = rng.standard_normal((NTAGS, D), dtype=np.float32)
    w = np.zeros((NTAGS, K), np.float32)
    w[:, A] = rng.random((NTAGS, len(A)), dtype=np.float32) + 0.1
    tag_w[t] = w / w.sum(1, keepdims=True)


def pairs(A):
    return [(i, j) for ii, i in enumerate(A) for j in A[ii:]]


def task_arrays(t):
    """(Z_A (T, |A| d), Gz (T, P_A)) of a task, float32."""
    A, q, w = TASKS[t], tag_q[t], tag_w[t]
    Z = (w[:, A, None] * q[:, None, :]).reshape(NTAGS, len(A) * D)
    qq = (q.astype(np.float64) ** 2).sum(1)
    Gz = np.stack([w[:, i] * w[:, j] * qq * (1 if i == j else 2) for i, j in pairs(A)], 1).astype(np.float32)
    return Z, Gz


def user_gram(A):
    """Gx (n, P_A) of the users, computed ahead as the library does at add."""
    return np.stack([np.einsum("nd,nd->n", x[:, i], x[:, j]) for i, j in pairs(A)], 1).astype(np.float32)


arrays = {t: task_arrays(t) for t in TASKS}
grams = {t: user_gram(A) for t, A in TASKS.items()}
flops_per_user = sum(2 * NTAGS * (len(A) * D + len(pairs(A))) for A in TASKS.values())


def run_numpy():
    for u0 in range(0, n, a.block):
        for t, A in TASKS.items():
            Z, Gz = arrays[t]
            XA = x[u0:u0 + a.block, A, :].reshape(-1, len(A) * D)
            s = (XA @ Z.T) / np.sqrt(np.maximum(grams[t][u0:u0 + a.block] @ Gz.T, 1e-30))
            top = np.argpartition(-s, M, axis=1)[:, :M]
            order = np.argsort(-np.take_along_axis(s, top, 1), axis=1)
            np.take_along_axis(top, order, 1)


def run_torch():
    tz = {t: (torch.from_numpy(Z), torch.from_numpy(Gz)) for t, (Z, Gz) in arrays.items()}
    tx = torch.from_numpy(x)
    tg = {t: torch.from_numpy(g) for t, g in grams.items()}
    with torch.no_grad():
        for u0 in range(0, n, a.block):
            for t, A in TASKS.items():
                Z, Gz = tz[t]
                XA = tx[u0:u0 + a.block, A, :].reshape(-1, len(A) * D)
                s = (XA @ Z.T) / torch.sqrt(torch.clamp(tg[t][u0:u0 + a.block] @ Gz.T, min=1e-30))
                torch.topk(s, M, dim=1)


def run_mvke():
    ix = mvke.Index(K, D, threads=a.threads)
    ix.add(x)
    tags = mvke.Tags(K, D, threads=a.threads)
    for t, A in TASKS.items():
        tags.add_task(t, A)
        tags.add(t, np.arange(NTAGS), tag_q[t], tag_w[t])
    t0 = time.perf_counter()
    for _ in mvke.tag_all(ix, tags, M, block_users=a.block):
        pass
    return time.perf_counter() - t0


def sgemm_rate():
    """GF/s of numpy's sgemm at the shape of one block's products (the largest task's)."""
    XA = x[:a.block, TASKS["intention"], :].reshape(-1, 4 * D).copy()
    Z = arrays["intention"][0]
    C = np.empty((XA.shape[0], NTAGS), np.float32)  # written in place: the product, not page faults
    np.matmul(XA, Z.T, out=C)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        np.matmul(XA, Z.T, out=C)
        best = max(best, 2.0 * XA.shape[0] * NTAGS * XA.shape[1] / (time.perf_counter() - t0) / 1e9)
    return best


gf = sgemm_rate()
roof = gf * 1e9 / flops_per_user
rows = []
if mvke:
    rows.append(("mvke (tag_all, Python API)", run_mvke()))
t0 = time.perf_counter()
run_numpy()
rows.append(("numpy block formula", time.perf_counter() - t0))
if torch:
    t0 = time.perf_counter()
    run_torch()
    rows.append(("PyTorch %s block formula" % torch.__version__, time.perf_counter() - t0))
isa = ", MVKE_CPU=%s" % os.environ["MVKE_CPU"] if os.environ.get("MVKE_CPU") else ""
isa += ", OPENBLAS_CORETYPE=%s" % os.environ["OPENBLAS_CORETYPE"] if os.environ.get("OPENBLAS_CORETYPE") else ""
print("## Batch tagging: %d users, %d tags x %d tasks, top-%d, %d threads, blocks of %d%s\n"
      % (n, NTAGS, len(TASKS), M, a.threads, a.block, isa))
print("sgemm (numpy, %dx%dx%d): %.1f GF/s; subset-aware roofline %.1fk users/s\n"
      % (a.block, NTAGS, 4 * D, gf, roof / 1e3))
print("| method | seconds | users/s | share of roofline | mvke / method |")
print("|---|---:|---:|---:|---:|")
base = rows[0][1] if mvke else None
for name, secs in rows:
    print("| %s | %.2f | %.1fk | %.0f%% | %s |" % (name, secs, n / secs / 1e3, 100 * n / secs / roof,
                                               "%.2fx" % (secs / base) if base else "-"))
