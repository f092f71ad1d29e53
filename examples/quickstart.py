#!/usr/bin/env python3
"""Quickstart of the mvke Python module (docs/python.md).

Loads a model export written by `mvke gen` with numpy, builds an index of the users and a tag
table, finds the audience of a named tag, a user's top tags, then saves everything to one index
file and reopens it.

    python3 examples/quickstart.py [WORLD_DIR] [--users N] [--out INDEX]

WORLD_DIR defaults to ./mvke-world; when it holds no export yet, `mvke gen --out WORLD_DIR`
makes one first (the `mvke` program is looked for in $MVKE_EXE, beside this Python, on PATH and
in build/tools/ of this checkout).
"""

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig

import numpy as np

import mvke


def find_mvke_program():
    here = os.path.dirname(os.path.abspath(__file__))
    for p in (os.environ.get("MVKE_EXE"), os.path.join(sysconfig.get_path("scripts"), "mvke"), shutil.which("mvke"),
              os.path.join(here, "..", "build", "tools", "mvke")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    sys.exit("quickstart: no `mvke` program to generate a world with (build it, or set MVKE_EXE)")


def read_tags_tsv(path):
    """tags.tsv: a header, then tag_id, task, name, parent_id per row (row i goes with row i of
    tag_emb.npy and gates.npy)."""
    with open(path, encoding="utf-8") as f:
        next(f)
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    ids = np.array([int(r[0]) for r in rows], dtype=np.int64)
    tasks = np.array([r[1] for r in rows])
    names = [r[2] for r in rows]
    parents = np.array([int(r[3]) for r in rows], dtype=np.int64)
    return ids, tasks, names, parents


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("world", nargs="?", default="mvke-world", help="folder of a `mvke gen` export")
    ap.add_argument("--users", type=int, default=20000, help="users of a generated world (default 20000)")
    ap.add_argument("--out", help="index file to write (default WORLD/quickstart.mvke)")
    args = ap.parse_args()
    world, out = args.world, args.out or os.path.join(args.world, "quickstart.mvke")

    if not os.path.exists(os.path.join(world, "users.npy")):
        exe = find_mvke_program()
        print(f"generating a world of {args.users} users in {world} with {exe} gen")
        r = subprocess.run([exe, "gen", "--out", world, "--users", str(args.users)], stdout=subprocess.DEVNULL)
        if r.returncode != 0:  # mvke printed why (a folder it cannot create, a full disk)
            sys.exit(f"quickstart: `{exe} gen --out {world}` failed (exit {r.returncode}); see its message above")

    # 1. The model export, read with numpy.
    users = np.load(os.path.join(world, "users.npy"))        # (n, K, d) float32
    user_ids = np.load(os.path.join(world, "user_ids.npy"))  # (n,) int64
    tag_ids, tag_tasks, tag_names, tag_parents = read_tags_tsv(os.path.join(world, "tags.tsv"))
    q = np.load(os.path.join(world, "tag_emb.npy"))          # (rows, d): row i of tags.tsv
    w = np.load(os.path.join(world, "gates.npy"))            # (rows, K), zero outside a task's experts
    vk = np.load(os.path.join(world, "vk.npy"))              # (K, d) virtual kernels
    n, K, d = users.shape
    print(f"export: {n} users of K = {K} experts, d = {d}; {len(tag_ids)} tag rows")

    # 2. The users, FAISS style: add, then search.
    index = mvke.Index(K, d)
    index.add(users, user_ids)

    # 3. The tag table. A task's experts are those its gates use (they are exactly 0 elsewhere).
    tags = mvke.Tags(K, d)
    tags.set_vk(vk)
    for task in dict.fromkeys(tag_tasks.tolist()):
        rows = np.flatnonzero(tag_tasks == task)
        experts = np.flatnonzero(np.any(w[rows] != 0, axis=0)).tolist()
        tags.add_task(task, experts)
        tags.add(task, tag_ids[rows], q[rows], w[rows], names=[tag_names[i] for i in rows], parents=tag_parents[rows])
        print(f"task {task}: experts {experts}, {len(rows)} tags")

    # 4. The audience of a named tag: the top users, and every user scoring at least 0.5.
    task, name = "interest", "Travel"
    if task not in tags.tasks or name not in tag_names:
        task, name = tag_tasks[0], tag_names[0]
    row = next(i for i in range(len(tag_ids)) if tag_tasks[i] == task and tag_names[i] == name)
    tid = int(tag_ids[row])
    D, I = mvke.audience(index, tags, task, [tid], 5)
    print(f"\naudience of {task} tag {tid} \"{name}\": top 5 users")
    for score, uid in zip(D[0], I[0]):
        print(f"  user {uid:>8}  score {score:.4f}")
    lims, _, _ = mvke.audience_range(index, tags, task, [tid], 0.5)
    print(f"  {lims[1]} users score >= 0.5")
    # The same search, as a FAISS query: the tag's gated row z = w (x) q.
    z = mvke.pack_query(q[row:row + 1], w[row:row + 1])
    D2, I2 = index.search(z, 5)
    assert (I2 == I).all()

    # 5. A user's top tags, per task, beside the topics the generator planted in that user.
    uid = int(user_ids[0])
    print(f"\ntop tags of user {uid}")
    for t, (D, I) in mvke.user_tags(index, tags, [uid], 3).items():
        planted = os.path.join(world, f"planted_{t}.npy")
        if os.path.exists(planted):
            topics = [tags.get(t, int(p))[0] for p in np.load(planted)[0] if p >= 0]
            print(f"  {t}: generated to prefer {', '.join(topics)}")
        for score, t_id in zip(D[0], I[0]):
            print(f"    {tags.get(t, int(t_id))[0]:<45} {score:.4f}")

    # 6. One index file holds users and tags; reopening maps it.
    mvke.save(out, index, tags)
    index2, tags2 = mvke.open(out)
    D3, I3 = mvke.audience(index2, tags2, task, [tid], 5)
    same = (I3 == mvke.audience(index, tags, task, [tid], 5)[1]).all()
    print(f"\nsaved {out} ({os.path.getsize(out) / 1e6:.1f} MB); reopened: {index2.ntotal} users, "
          f"{tags2.count()} tags, same audience: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
