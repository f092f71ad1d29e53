"""torch_baseline.py - the same MVKE scoring in plain PyTorch, timed on the same GPU and the same
shapes as bench/gpu_bench.c (read from its JSON), for the speed-up of the library over PyTorch.

Two ways to write it:
  naive  the way the model is usually served: materialise the tag-specific user vectors
         E = sum_k w_k e_k (einsum), then cosine with q and topk;
  block  the library's block formula, s = <x, z> / sqrt(<Gram(x), Gram(z)>), with the users'
         Gram triangles computed once ahead (as the library does when rows are added): two
         matmuls, a division and topk - the strongest plain PyTorch version.
Batch tagging streams the user rows from pinned host memory in blocks, as gpu_bench does, and
copies the top-m results back to the host.

Usage: python3 bench/torch_baseline.py --mvke gpu_bench.json --out torch.json [--device cpu]
Exits 77 (with the reason) when PyTorch or a CUDA device is missing. --device cpu runs the same
code on the CPU with small shapes, only to check the script where there is no GPU.
"""
import argparse
import json
import sys
import time

try:
    import torch
except ImportError as e:  # the check script reports this as skipped, never as a number
    print("SKIP: PyTorch is not importable: %s" % e)
    sys.exit(77)

K, D_EXP = 5, 30


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, reps):
    fn()
    sync()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def gram_tri(X):
    """Upper Gram triangles of rows X (n, K, d), off-diagonal entries doubled: (n, K(K+1)/2)."""
    G = torch.einsum("nkd,nld->nkl", X.float(), X.float())
    i, j = torch.triu_indices(K, K, device=X.device)
    return G[:, i, j] * (2.0 - (i == j).float())


def gram_tri_plain(X):
    G = torch.einsum("nkd,nld->nkl", X.float(), X.float())
    i, j = torch.triu_indices(K, K, device=X.device)
    return G[:, i, j]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mvke", required=True, help="JSON written by gpu_bench --out")
    ap.add_argument("--out", help="where to write this script's JSON")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("SKIP: PyTorch sees no CUDA device")
        sys.exit(77)
    with open(args.mvke) as f:
        mv = json.load(f)
    n, batch, ntags, tag_users, m = mv["users"], mv["batch"], mv["tags"], mv["tag_users"], mv["m"]
    block = mv.get("block", 262144)
    dev = torch.device(args.device)
    pin = args.device == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = False  # the library's float32 products are exact
    g = torch.Generator(device=dev).manual_seed(0)
    X = {"f32": torch.rand(n, K, D_EXP, device=dev, generator=g) * 2 - 1}
    X["f16"] = X["f32"].half() if pin else X["f32"]  # the CPU has no half matmul: a dry run only
    GX = gram_tri(X["f32"])  # computed once, as the library does at add time
    q = torch.rand(ntags, D_EXP, device=dev, generator=g) * 2 - 1
    tasks = [(0, 1, 2), (1, 2, 3, 4)]
    W = []
    for ex in tasks:
        w = torch.zeros(ntags, K, device=dev)
        w[:, list(ex)] = torch.softmax(torch.rand(ntags, len(ex), device=dev, generator=g) * 4 - 2, dim=1)
        W.append(w)
    Z = [(w[:, :, None] * q[:, None, :]).reshape(ntags, K * D_EXP) for w in W]  # gated rows
    GZ = [gram_tri_plain(z.view(ntags, K, D_EXP)) for z in Z]

    def naive_one(Xs, t):
        E = torch.einsum("nkd,k->nd", Xs, W[0][t].to(Xs.dtype))
        s = (E @ q[t].to(Xs.dtype)).float() / (E.float().norm(dim=1) * q[t].norm()).clamp_min(1e-30)
        return s.topk(100)

    def block_scores(Xs, zs, gz):
        num = Xs.view(Xs.shape[0], -1) @ zs.to(Xs.dtype).T
        den = GX @ gz.T
        return num.float() / den.clamp_min(1e-30).sqrt()

    def block_one(Xs, t):
        return block_scores(Xs, Z[0][t:t + 1], GZ[0][t:t + 1])[:, 0].topk(100)

    def block_batch(Xs):
        return block_scores(Xs, Z[0][:batch], GZ[0][:batch]).topk(100, dim=0)

    res = {}
    a, b = naive_one(X["f32"], 0), block_one(X["f32"], 0)  # the two write the same scores
    res["block_vs_naive_max_diff"] = (a.values - b.values).abs().max().item()
    print("pytorch: block formula vs naive, one tag top-100: max score difference %.2e" % res["block_vs_naive_max_diff"])
    for st in ("f32", "f16"):
        res["naive_" + st + "_one_tag_s"] = timed(lambda: naive_one(X[st], 0), 15)
        res["block_" + st + "_one_tag_s"] = timed(lambda: block_one(X[st], 0), 15)
        res["naive_" + st + "_batch_s"] = timed(lambda: [naive_one(X[st], t) for t in range(batch)], 2)
        res["block_" + st + "_batch_s"] = timed(lambda: block_batch(X[st]), 3)
        print("pytorch %s: one tag naive %.3f ms block %.3f ms; %d tags naive %.1f ms block %.1f ms" % (
            st, res["naive_" + st + "_one_tag_s"] * 1e3, res["block_" + st + "_one_tag_s"] * 1e3, batch,
            res["naive_" + st + "_batch_s"] * 1e3, res["block_" + st + "_batch_s"] * 1e3), flush=True)
    del X, GX
    torch.cuda.empty_cache()

    # Batch tagging, users streamed from pinned host memory, top m of both tasks per user.
    U = torch.empty(tag_users, K, D_EXP, pin_memory=pin)
    U.copy_(torch.rand(tag_users, K, D_EXP, device=dev, generator=g) * 2 - 1)

    def tagging_block(count):
        for a in range(0, count, block):
            Xb = U[a:a + block].to(dev, non_blocking=True)
            Gb = gram_tri(Xb)
            for t in range(len(tasks)):
                s = (Xb.view(Xb.shape[0], -1) @ Z[t].T) / (Gb @ GZ[t].T).clamp_min(1e-30).sqrt()
                top = s.topk(m, dim=1)
                top.values.cpu(), top.indices.cpu()

    def tagging_naive(count):
        chunk = 16384
        for a in range(0, count, chunk):
            Xb = U[a:a + chunk].to(dev, non_blocking=True)
            for t in range(len(tasks)):
                E = torch.einsum("ukd,tk->utd", Xb, W[t])  # users x tags x d
                s = (E * q).sum(-1) / (E.norm(dim=-1) * q.norm(dim=1)).clamp_min(1e-30)
                top = s.topk(m, dim=1)
                top.values.cpu(), top.indices.cpu()

    res["block_tagging_s"] = timed(lambda: tagging_block(tag_users), 2)
    res["block_tagging_users_per_s"] = tag_users / res["block_tagging_s"]
    naive_users = min(tag_users, 262144)
    res["naive_tagging_users"] = naive_users
    res["naive_tagging_s"] = timed(lambda: tagging_naive(naive_users), 1)
    res["naive_tagging_users_per_s"] = naive_users / res["naive_tagging_s"]
    print("pytorch tagging: block %.0f users/s, naive %.0f users/s" % (
        res["block_tagging_users_per_s"], res["naive_tagging_users_per_s"]), flush=True)
    name = torch.cuda.get_device_name(0) if pin else "cpu"
    out = {"torch_version": torch.__version__, "device": name, "torch": res}
    print(json.dumps(out))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
