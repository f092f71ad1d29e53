"""torch_baseline.py - the same MVKE scoring written the way a data scientist would in PyTorch
(einsum for the tag-specific user vector, matmul, norms, topk), timed on the same GPU and the
same shapes as bench/gpu_bench.c, printed beside its numbers as ratios (mvke speed / torch
speed; above 1 means the library is faster).

Usage: python3 bench/torch_baseline.py --mvke gpu_bench.json
"""
import argparse
import json
import time

import torch

K, D_EXP = 5, 30


def timed(fn, reps):
    fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mvke", required=True, help="JSON written by gpu_bench --out")
    args = ap.parse_args()
    with open(args.mvke) as f:
        mv = json.load(f)
    n, batch, ntags, tag_users, m = mv["users"], mv["batch"], mv["tags"], mv["tag_users"], mv["m"]
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    rows = {}
    rows["f32"] = torch.randn(n, K, D_EXP, device=dev, generator=g)
    rows["f16"] = rows["f32"].half()
    q = torch.randn(ntags, D_EXP, device=dev, generator=g)
    w = torch.zeros(ntags, K, device=dev)
    w[:, :3] = torch.softmax(torch.randn(ntags, 3, device=dev, generator=g), dim=1)

    def one_tag(X, t):
        E = torch.einsum("nkd,k->nd", X, w[t].to(X.dtype))          # tag-specific user vectors
        s = (E @ q[t].to(X.dtype)).float() / (E.float().norm(dim=1) * q[t].norm()).clamp_min(1e-30)
        return s.topk(100)

    def batch_tags(X):
        for t in range(batch):                                       # one tag at a time
            one_tag(X, t)

    res = {}
    for st in ("f32", "f16"):
        res[st + "_one_tag_s"] = timed(lambda: one_tag(rows[st], 0), 15)
        res[st + "_batch_s"] = timed(lambda: batch_tags(rows[st]), 2)

    U = rows["f32"][:tag_users]
    chunk = 16384

    def tagging():
        for a in range(0, U.shape[0], chunk):
            X = U[a:a + chunk]
            E = torch.einsum("ukd,tk->utd", X, w)                    # users x tags x d
            s = (E * q).sum(-1) / (E.norm(dim=-1) * q.norm(dim=1)).clamp_min(1e-30)
            s.topk(m, dim=1)

    res["tagging_s"] = timed(tagging, 2)

    print("%-34s %14s %14s %8s" % ("measure", "mvke", "pytorch", "ratio"))
    for key in ("f32_one_tag_s", "f16_one_tag_s", "f32_batch_s", "f16_batch_s", "tagging_s"):
        print("%-34s %14.6f %14.6f %8.2f" % (key, mv[key], res[key], res[key] / mv[key]))
    print("hbm fraction, one tag (f32 / f16): %.3f / %.3f of %.0f GB/s copy bandwidth"
          % (mv["f32_hbm_fraction"], mv["f16_hbm_fraction"], mv["hbm_copy_GBps"]))
    print("batched scoring (f32 / f16): %.2f / %.2f TFLOP/s" % (mv["f32_batch_TFLOPs"], mv["f16_batch_TFLOPs"]))
    print("batch tagging: %.0f users/s -> 1e9 users in %.0f s (pytorch: %.0f s)"
          % (mv["tagging_users_per_s"], mv["tagging_1e9_users_s"], res["tagging_s"] / tag_users * 1e9))
    print(json.dumps({"torch": res}))


if __name__ == "__main__":
    main()
