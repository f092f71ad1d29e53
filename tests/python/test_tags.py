"""mvke.Tags: tasks, virtual kernels, tags with given or computed gates, and bad input that
raises and changes nothing."""

import numpy as np
import pytest

import mvke
from reference import softmax_gates


def test_tasks_counts_and_get(world, tags):
    assert tags.K == world.K and tags.d == world.d
    assert tags.tasks == ["interest", "intention"]
    assert tags.experts("interest") == [0, 1, 2] and tags.experts("intention") == [1, 2, 3, 4]
    n = len(world.tag_ids["interest"])
    assert tags.count("interest") == n and tags.count("intention") == n
    assert tags.count() == 2 * n == len(tags)
    tid = int(world.tag_ids["intention"][7])
    name, parent, q, w = tags.get("intention", tid)
    assert name == "intention tag 7" and parent == world.parents["intention"][7]
    assert q.shape == (world.d,) and w.shape == (world.K,) and q.dtype == w.dtype == np.float32
    np.testing.assert_array_equal(q, world.q["intention"][7])
    np.testing.assert_array_equal(w, world.w["intention"][7])
    assert "interest" in repr(tags)


def test_gates_from_virtual_kernels(world):
    tg = world.tags(mvke, gates="vk")
    for task, experts in world.tasks.items():
        want = softmax_gates(world.q[task], world.vk, experts)
        for i, tid in enumerate(world.tag_ids[task].tolist()):
            _, _, _, w = tg.get(task, tid)
            np.testing.assert_allclose(w, want[i], atol=1e-6)
            assert np.all(w[[k for k in range(world.K) if k not in experts]] == 0)
    # A temperature sharpens the softmax.
    tg.set_vk(world.vk.reshape(-1), temperature=0.5)
    tg.add("interest", [9001], world.q["interest"][:1])
    _, _, _, w = tg.get("interest", 9001)
    np.testing.assert_allclose(w, softmax_gates(world.q["interest"][:1], world.vk, [0, 1, 2], 0.5)[0], atol=1e-6)


def test_names_and_parents_are_optional(world):
    tg = mvke.Tags(world.K, world.d)
    tg.add_task("t", [0, 1])
    w = np.zeros((2, world.K), np.float32)
    w[:, :2] = 0.5
    tg.add("t", np.array([4, 2]), world.q["interest"][:2].astype(np.float64), w)
    assert tg.get("t", 4)[:2] == ("", 0)
    tg.add("t", [8], world.q["interest"][2:3], w[:1], names=["caf\u00e9"], parents=[4])
    assert tg.get("t", 8)[:2] == ("caf\u00e9", 4)
    tg.add("t", [], np.zeros((0, world.d), np.float32))  # nothing to add (no gates needed)
    assert tg.count("t") == 3


def state(tg):
    return [(t, tg.count(t), tg.experts(t)) for t in tg.tasks]


def test_bad_input_raises_and_changes_nothing(world):
    tg = world.tags(mvke)
    before = state(tg)
    d, K = world.d, world.K
    q = world.q["interest"][:2]
    w = world.w["interest"][:2]
    qnan = q.copy()
    qnan[1, 0] = np.nan
    wbad = w.copy()
    wbad[0, 4] = 0.1  # expert 4 is not an interest expert
    cases = [
        (lambda: tg.add("nope", [1, 2], q, w), mvke.ERR_UNKNOWN_TASK, "nope"),
        (lambda: tg.add("interest", [5000, 5001], qnan, w), mvke.ERR_NONFINITE, None),
        (lambda: tg.add("interest", [5000, 5001], q, wbad), mvke.ERR_GATE, "expert 4"),
        (lambda: tg.add("interest", [5000, 5000], q, w), mvke.ERR_DUPLICATE, "5000"),
        (lambda: tg.add("interest", [5000, int(world.tag_ids["interest"][0])], q, w), mvke.ERR_DUPLICATE, None),
        (lambda: tg.add("interest", [5000, 5001], q[:, :-1], w), mvke.ERR_DIM, "q has shape (2, 11)"),
        (lambda: tg.add("interest", [5000, 5001, 5002], q, w), mvke.ERR_DIM, "expected (3, 12)"),
        (lambda: tg.add("interest", [5000, 5001], q, w[:, :3]), mvke.ERR_DIM, "w has shape"),
        (lambda: tg.add("interest", [5000, 5001], q.astype(np.int16), w), mvke.ERR_INVALID, "int16"),
        (lambda: tg.add("interest", [5000, 5001], q, w, names=["a"]), mvke.ERR_DIM, "names"),
        (lambda: tg.add("interest", [5000, 5001], q, w, parents=[1]), mvke.ERR_DIM, "parents"),
        (lambda: tg.add("interest", [5000, 5001], q, w, names=["a", "b\tc"]), mvke.ERR_INVALID, None),
        (lambda: tg.add_task("interest", [0]), mvke.ERR_DUPLICATE, "interest"),
        (lambda: tg.add_task("x", [0, 0]), mvke.ERR_INVALID, None),
        (lambda: tg.add_task("x", [K]), mvke.ERR_INVALID, None),
        (lambda: tg.add_task("x", []), mvke.ERR_INVALID, None),
        (lambda: tg.add_task("", [0]), mvke.ERR_INVALID, None),
        (lambda: tg.add_task("a\tb", [0]), mvke.ERR_INVALID, None),
        (lambda: tg.set_vk(np.ones((K, d + 1))), mvke.ERR_DIM, None),
        (lambda: tg.set_vk(np.full((K, d), np.inf)), mvke.ERR_NONFINITE, None),
        (lambda: tg.set_vk(np.ones((K, d)), temperature=0), mvke.ERR_INVALID, None),
        (lambda: tg.count("nope"), mvke.ERR_UNKNOWN_TASK, "nope"),
        (lambda: tg.experts("nope"), mvke.ERR_UNKNOWN_TASK, "nope"),
        (lambda: tg.get("interest", 123456), mvke.ERR_UNKNOWN_ID, "123456"),
        (lambda: tg.get("nope", 1), mvke.ERR_UNKNOWN_TASK, None),
    ]
    for call, status, text in cases:
        with pytest.raises(mvke.Error) as e:
            call()
        assert e.value.status == status, (e.value.status_name, e.value.message)
        assert e.value.message
        if text:
            assert text in e.value.message, e.value.message
        assert state(tg) == before
    # Without virtual kernels, gates cannot be computed.
    bare = mvke.Tags(K, d)
    bare.add_task("t", [0])
    with pytest.raises(mvke.Error) as e:
        bare.add("t", [1], q[:1])
    assert e.value.status == mvke.ERR_INVALID and bare.count("t") == 0
    with pytest.raises(TypeError):
        tg.add("interest", [5000], q[:1], w[:1], names="a")
    with pytest.raises(TypeError):
        tg.add("interest", [5000], q[:1], w[:1], names=[3])
    assert state(tg) == before
