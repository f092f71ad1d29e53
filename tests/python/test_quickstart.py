"""examples/quickstart.py, run as a user would, on small worlds written by `mvke gen` (the
program named by MVKE_EXE); its printed audience is checked against the float64 oracle."""

import os
import re
import subprocess
import sys

import numpy as np

from reference import scores

HERE = os.path.dirname(os.path.abspath(__file__))
QUICKSTART = os.path.join(HERE, "..", "..", "examples", "quickstart.py")


def mvke_exe():
    exe = os.environ.get("MVKE_EXE")
    assert exe and os.access(exe, os.X_OK), "MVKE_EXE must name the built `mvke` program"
    return exe


def run_quickstart(*args):
    r = subprocess.run([sys.executable, QUICKSTART, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_quickstart_on_a_gen_world(tmp_path):
    world = tmp_path / "world"
    subprocess.run([mvke_exe(), "gen", "--out", str(world), "--users", "3000", "--seed", "5"], check=True,
                   capture_output=True)
    out = run_quickstart(str(world), "--out", str(tmp_path / "q.mvke"))
    assert "export: 3000 users of K = 5 experts, d = 30; 3572 tag rows" in out
    assert "task interest: experts [0, 1, 2]" in out and "task intention: experts [1, 2, 3, 4]" in out
    assert 'audience of interest tag 3 "Travel"' in out and "same audience: yes" in out
    assert (tmp_path / "q.mvke").exists() and "top tags of user 0" in out
    # The five users printed are the oracle's top five for Travel, with its scores.
    users = np.load(world / "users.npy")
    ids = np.load(world / "user_ids.npy")
    lines = (world / "tags.tsv").read_text().splitlines()[1:]
    row = next(i for i, ln in enumerate(lines) if ln.split("\t")[1:3] == ["interest", "Travel"])
    q = np.load(world / "tag_emb.npy")[row]
    w = np.load(world / "gates.npy")[row]
    s = scores(users, q, w)[:, 0]
    top = np.argsort(-s)[:5]
    printed = re.findall(r"user\s+(\d+)\s+score ([0-9.]+)", out)
    assert [int(u) for u, _ in printed] == ids[top].tolist()
    np.testing.assert_allclose([float(v) for _, v in printed], s[top], atol=1e-4)
    assert f"{int((s >= 0.5).sum())} users score >= 0.5" in out


def test_quickstart_generates_the_world_it_needs(tmp_path):
    env_exe = mvke_exe()
    world = tmp_path / "fresh"
    r = subprocess.run([sys.executable, QUICKSTART, str(world), "--users", "2000"], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "MVKE_EXE": env_exe})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "generating a world of 2000 users" in r.stdout and "same audience: yes" in r.stdout
    assert (world / "users.npy").exists() and (world / "quickstart.mvke").exists()


def test_a_folder_gen_cannot_create_is_a_message_not_a_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = subprocess.run([sys.executable, QUICKSTART, str(blocker / "world"), "--users", "100"], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, MVKE_EXE=mvke_exe()))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    assert "quickstart: `" in r.stderr and "gen --out" in r.stderr and "failed (exit 4)" in r.stderr, r.stderr
