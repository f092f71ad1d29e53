"""gpu_report.py - the result of bench/gpu-check.sh: one JSON and one markdown table from what
its steps left in OUT (Python's standard library only).

Inputs in OUT (each may be missing: then its rows say so, never a number):
  steps.json       {step: {"rc": exit code, "s": seconds}} written by gpu-check.sh
  test.log         output of test_cuda_backend (its last line: PASS/FAIL: N checks, M failures)
  gpu_bench.json   gpu_bench's measurements
  torch.json       torch_baseline.py's measurements
  tag_all.txt      the comparison of `mvke tag-all --gpu` with the CPU run (one line)
Outputs: OUT/gpu-check.json and OUT/gpu-check.md.
Usage: python3 bench/gpu_report.py OUT
"""
import json
import os
import re
import sys

GOAL_HBM = 0.80
GOAL_USERS_PER_S = 1e9 / 600  # 1e9 users in 10 minutes
GOAL_TORCH = 3.0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def main():
    out = sys.argv[1]
    steps = load(os.path.join(out, "steps.json")) or {}
    bench = load(os.path.join(out, "gpu_bench.json"))
    torch = load(os.path.join(out, "torch.json"))
    test_log = read(os.path.join(out, "test.log")) or ""
    tag_all = (read(os.path.join(out, "tag_all.txt")) or "").strip()

    rows = []  # (measure, goal, measured, verdict)

    def add(measure, goal, value, verdict):
        rows.append((measure, goal, value, verdict))

    # GPU against CPU.
    m = re.search(r"^(PASS|FAIL): (\d+) checks, (\d+) failures", test_log, re.M)
    skip = re.search(r"^SKIP: .*", test_log, re.M)
    if m:
        add("test_cuda_backend: GPU results vs the CPU backend (ids up to ties, scores 1e-5 f32 / 1e-3 f16)",
            "0 failures", "%s checks, %s failures" % (m.group(2), m.group(3)), "met" if m.group(1) == "PASS" else "MISSED")
    else:
        add("test_cuda_backend: GPU results vs the CPU backend", "0 failures",
            skip.group(0) if skip else "did not finish (rc %s)" % steps.get("test", {}).get("rc"), "not measured")
    if bench:
        for key, label, tol in (("f32", "one tag / 16 tags top-100, f32", 1e-5), ("f16", "one tag / 16 tags top-100, f16", 1e-3),
                                ("tagging", "batch tagging, first users, 2 tasks", 1e-5)):
            bad, ranks, diff = bench["eq_%s_bad" % key], bench["eq_%s_ranks" % key], bench["eq_%s_max_diff" % key]
            add("gpu_bench vs CPU: %s (ranks differing beyond ties; largest score gap)" % label,
                "0; <= %g" % tol, "%d of %d; %.2e" % (bad, ranks, diff), "met" if bad == 0 and diff <= tol else "MISSED")
    if tag_all:
        add("mvke tag-all --gpu vs CPU (tsv, 6 decimals)", "identical up to ties", tag_all,
            "met" if tag_all.startswith("same") else "not measured" if tag_all.startswith("not run") else "MISSED")

    # Speed.
    if bench:
        add("1 tag over %d resident users, f32: fraction of measured copy bandwidth (%.0f GB/s)" % (bench["users"], bench["hbm_copy_GBps"]),
            ">= %.2f" % GOAL_HBM, "%.3f (%.0f GB/s, %.3f ms)" % (bench["f32_hbm_fraction"], bench["f32_one_tag_GBps"], bench["f32_one_tag_s"] * 1e3),
            "met" if bench["f32_hbm_fraction"] >= GOAL_HBM else "MISSED")
        add("1 tag, f32: fraction of nominal HBM bandwidth (%.0f GB/s)" % bench["hbm_peak_GBps"], "(for reference)",
            "%.3f" % bench["f32_peak_fraction"], "-")
        add("1 tag, f16: fraction of measured copy bandwidth", ">= %.2f" % GOAL_HBM,
            "%.3f (%.0f GB/s, %.3f ms)" % (bench["f16_hbm_fraction"], bench["f16_one_tag_GBps"], bench["f16_one_tag_s"] * 1e3),
            "met" if bench["f16_hbm_fraction"] >= GOAL_HBM else "MISSED")
        add("%d tags top-100, f32 / f16" % bench["batch"], "(for reference)",
            "%.1f / %.1f ms, %.2f / %.2f TFLOP/s" % (bench["f32_batch_s"] * 1e3, bench["f16_batch_s"] * 1e3,
                                                    bench["f32_batch_TFLOPs"], bench["f16_batch_TFLOPs"]), "-")
        ups = bench["tagging_users_per_s"]
        add("batch tagging, users/s (top-%d of %d tags x 2 tasks, tag rows resident, %d users streamed in blocks of %d)"
            % (bench["m"], bench["tags"], bench["tag_users"], bench["block"]),
            ">= %.2fM (1e9 in 10 min)" % (GOAL_USERS_PER_S / 1e6), "%.2fM (1e9 users in %.0f s)" % (ups / 1e6, bench["tagging_1e9_users_s"]),
            "met" if ups >= GOAL_USERS_PER_S else "MISSED")
        add("the fused kernel alone: one task, %d users in one call (device time without per-block host work)" % bench["tag_users"],
            "(for reference)", "%.2fM users/s" % (bench["fused_one_task_users_per_s"] / 1e6), "-")
    else:
        add("GPU benchmark", "-", "did not run (rc %s)" % steps.get("bench", {}).get("rc"), "not measured")
    if bench and torch:
        t = torch["torch"]
        pairs = [("1 tag, f32", "f32_one_tag_s", "one_tag_s", "f32"), ("1 tag, f16", "f16_one_tag_s", "one_tag_s", "f16"),
                 ("%d tags, f32" % bench["batch"], "f32_batch_s", "batch_s", "f32"),
                 ("%d tags, f16" % bench["batch"], "f16_batch_s", "batch_s", "f16")]
        for label, mk, tk, st in pairs:
            naive, block = t["naive_%s_%s" % (st, tk)], t["block_%s_%s" % (st, tk)]
            best = min(naive, block)
            add("speed-up over PyTorch, %s (naive einsum %.3f ms, block formula %.3f ms)" % (label, naive * 1e3, block * 1e3),
                ">= %.0fx the faster" % GOAL_TORCH, "%.2fx naive, %.2fx block" % (naive / bench[mk], block / bench[mk]),
                "met" if best / bench[mk] >= GOAL_TORCH else "MISSED")
        bt, nt = t["block_tagging_users_per_s"], t["naive_tagging_users_per_s"]
        ups = bench["tagging_users_per_s"]
        add("speed-up over PyTorch, batch tagging (naive %.3fM users/s, block formula %.2fM users/s, both streamed)" % (nt / 1e6, bt / 1e6),
            ">= %.0fx the faster" % GOAL_TORCH, "%.2fx naive, %.2fx block" % (ups / nt, ups / bt),
            "met" if ups / max(bt, nt) >= GOAL_TORCH else "MISSED")
    else:
        add("speed-up over PyTorch", ">= %.0fx" % GOAL_TORCH,
            "did not run (rc %s)" % steps.get("torch", {}).get("rc"), "not measured")

    result = {"device": bench["device"] if bench else None, "steps": steps, "gpu_bench": bench,
              "torch": torch, "test": {"summary": m.group(0) if m else (skip.group(0) if skip else None)},
              "tag_all": tag_all or None,
              "rows": [dict(zip(("measure", "goal", "measured", "verdict"), r)) for r in rows]}
    with open(os.path.join(out, "gpu-check.json"), "w") as f:
        json.dump(result, f, indent=1)
    lines = ["# GPU check: %s" % (result["device"] or "no GPU measured"), "",
             "Steps (exit code, seconds): " + ", ".join("%s %s %.0fs" % (k, v.get("rc"), v.get("s", 0)) for k, v in steps.items()),
             "", "| measure | goal | measured | |", "|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s |" % r for r in rows]
    with open(os.path.join(out, "gpu-check.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
