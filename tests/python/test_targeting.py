"""mvke.audience, mvke.audience_range, mvke.user_tags and mvke.tag_all against the float64
oracle, with FAISS's shapes and padding, and their bad input."""

import numpy as np
import pytest

import mvke
from reference import check_range, check_topk, scores


def test_audience_matches_oracle(world, index, tags):
    for task in world.tasks:
        tids = world.tag_ids[task][[0, 5, 17]]
        D, I = mvke.audience(index, tags, task, tids, 25)
        assert D.shape == I.shape == (3, 25) and D.dtype == np.float32 and I.dtype == np.int64
        s = world.scores(task)
        for r, col in enumerate([0, 5, 17]):
            check_topk(D[r], I[r], s[:, col], world.ids, 25)
        # The same as searching the packed rows directly.
        D2, I2 = index.search(mvke.pack_query(world.q[task][[0, 5, 17]], world.w[task][[0, 5, 17]]), 25)
        np.testing.assert_array_equal(I, I2)


def test_audience_allow_and_padding(world, index, tags):
    allowed = world.ids[10:14]
    D, I = mvke.audience(index, tags, "interest", world.tag_ids["interest"][:2], 6, allow=allowed)
    s = world.scores("interest")
    for r in range(2):
        check_topk(D[r], I[r], s[:, r], world.ids, 6, allowed=allowed)
    assert np.all(I[:, 4:] == -1) and np.all(np.isneginf(D[:, 4:]))
    mask = np.isin(np.arange(world.ids.max() + 1), allowed)
    D2, I2 = mvke.audience(index, tags, "interest", world.tag_ids["interest"][:2], 6, allow=mask)
    np.testing.assert_array_equal(I, I2)


def test_audience_range_matches_oracle(world, index, tags):
    tids = world.tag_ids["intention"][:4]
    lims, D, I = mvke.audience_range(index, tags, "intention", tids, 0.35)
    assert lims.shape == (5,) and lims[0] == 0 and lims[-1] == len(D) == len(I) > 0
    s = world.scores("intention")
    for r in range(4):
        check_range(D[lims[r]:lims[r + 1]], I[lims[r]:lims[r + 1]], s[:, r], world.ids, 0.35)
    allowed = world.ids[::2]
    lims, D, I = mvke.audience_range(index, tags, "intention", tids, 0.2, allow=allowed)
    for r in range(4):
        check_range(D[lims[r]:lims[r + 1]], I[lims[r]:lims[r + 1]], s[:, r], world.ids, 0.2, allowed=allowed)


def test_user_tags_matches_oracle(world, index, tags):
    users = [4, 0, 333, 3]  # positions; user 3 has zero experts: every score 0
    uids = world.ids[users]
    for task in world.tasks:
        D, I = mvke.user_tags(index, tags, uids, 7, task)
        assert D.shape == I.shape == (4, 7) and D.dtype == np.float32 and I.dtype == np.int64
        s = world.scores(task, world.x[users])
        for r in range(4):
            check_topk(D[r], I[r], s[r], world.tag_ids[task], 7)
    per_task = mvke.user_tags(index, tags, uids, 7)
    assert list(per_task) == ["interest", "intention"]
    for task, (D, I) in per_task.items():
        D1, I1 = mvke.user_tags(index, tags, uids, 7, task=task)
        np.testing.assert_array_equal(D, D1)
        np.testing.assert_array_equal(I, I1)
    # More tags asked than a task has: padded.
    n = len(world.tag_ids["interest"])
    D, I = mvke.user_tags(index, tags, uids[:1], n + 3, "interest")
    assert np.all(I[0, n:] == -1) and np.all(np.isneginf(D[0, n:])) and np.all(I[0, :n] >= 0)


@pytest.mark.parametrize("block", [1, 64, 300, 16384])
def test_tag_all_covers_every_user(world, index, tags, block):
    seen = []
    for user_ids, per_task in mvke.tag_all(index, tags, 5, block_users=block):
        assert user_ids.dtype == np.int64 and 0 < len(user_ids) <= block
        assert list(per_task) == ["interest", "intention"]
        if len(seen) < 2 or block == 16384:
            for task, (D, I) in per_task.items():
                assert D.shape == I.shape == (len(user_ids), 5)
                D1, I1 = mvke.user_tags(index, tags, user_ids, 5, task)
                np.testing.assert_array_equal(I, I1)
                np.testing.assert_array_equal(D, D1)
        seen.append(user_ids)
    seen = np.concatenate(seen)
    assert len(seen) == world.n
    np.testing.assert_array_equal(np.sort(seen), np.sort(world.ids))


def test_tag_all_one_task_against_oracle(world, index, tags):
    out = list(mvke.tag_all(index, tags, 4, block_users=256, task="intention"))
    assert len(out) == 3
    ids = np.concatenate([u for u, _ in out])
    D = np.concatenate([p["intention"][0] for _, p in out])
    I = np.concatenate([p["intention"][1] for _, p in out])
    assert all(list(p) == ["intention"] for _, p in out)
    pos = {u: i for i, u in enumerate(world.ids.tolist())}
    rows = [pos[u] for u in ids[:50].tolist()]
    s = world.scores("intention", world.x[rows])
    for r in range(50):
        check_topk(D[r], I[r], s[r], world.tag_ids["intention"], 4)


def test_tag_all_stops_when_the_index_changes(world, tags):
    ix = world.index(mvke)
    it = mvke.tag_all(ix, tags, 3, block_users=100)
    next(it)
    ix.remove([int(world.ids[0])])
    with pytest.raises(mvke.Error) as e:
        next(it)
    assert "changed" in e.value.message
    assert ix.ntotal == world.n - 1


def test_tag_all_stops_when_a_remove_and_an_add_keep_the_count(world, tags):
    # The last user moves into the hole of the removed one: a count cannot see the change, and a
    # walk by position would skip a user and meet another twice.
    ix = world.index(mvke)
    it = mvke.tag_all(ix, tags, 3, block_users=100)
    next(it)
    gone = int(world.ids[150])
    row = ix.reconstruct(gone)
    ix.remove([gone])
    ix.add(row[None], [10**12])
    assert ix.ntotal == world.n
    with pytest.raises(mvke.Error) as e:
        next(it)
    assert "changed" in e.value.message


def test_empty_index_and_table():
    ix = mvke.Index(2, 3)
    tg = mvke.Tags(2, 3)
    assert list(mvke.tag_all(ix, tg, 3)) == []
    tg.add_task("t", [0, 1])
    tg.add("t", [1], np.ones((1, 3)), np.array([[0.5, 0.5]]))
    D, I = mvke.audience(ix, tg, "t", [1], 4)
    assert np.all(I == -1) and np.all(np.isneginf(D))
    assert mvke.user_tags(ix, tg, [], 2, "t")[0].shape == (0, 2)


def test_bad_input(world, index, tags):
    snap_ids = index.ids()
    n_tags = tags.count()
    other = mvke.Tags(world.K, world.d + 1)
    cases = [
        (lambda: mvke.audience(index, tags, "nope", [1], 5), mvke.ERR_UNKNOWN_TASK, "nope"),
        (lambda: mvke.audience(index, tags, "interest", [1, 999999], 5), mvke.ERR_UNKNOWN_ID, "999999"),
        (lambda: mvke.audience(index, tags, "interest", [1], 0), mvke.ERR_BAD_K, None),
        (lambda: mvke.audience(index, tags, "interest", [1.5], 3), mvke.ERR_INVALID, "integers"),
        (lambda: mvke.audience(index, tags, "interest", [1], 3, allow=[0.5]), mvke.ERR_INVALID, "allow"),
        (lambda: mvke.audience(index, other, "interest", [1], 3), mvke.ERR_DIM, None),
        (lambda: mvke.audience_range(index, tags, "interest", [1], float("nan")), mvke.ERR_NONFINITE, None),
        (lambda: mvke.audience_range(index, tags, "nope", [1], 0.5), mvke.ERR_UNKNOWN_TASK, None),
        (lambda: mvke.audience_range(index, tags, "interest", [424242], 0.5), mvke.ERR_UNKNOWN_ID, "424242"),
        (lambda: mvke.user_tags(index, tags, [int(world.ids[0]), 7], 3), mvke.ERR_UNKNOWN_ID, "7"),
        (lambda: mvke.user_tags(index, tags, [int(world.ids[0])], 3, "nope"), mvke.ERR_UNKNOWN_TASK, "nope"),
        (lambda: mvke.user_tags(index, tags, [int(world.ids[0])], 0, "interest"), mvke.ERR_BAD_K, None),
        (lambda: mvke.user_tags(index, other, [int(world.ids[0])], 2), mvke.ERR_DIM, None),
        (lambda: mvke.tag_all(index, tags, 0), mvke.ERR_BAD_K, None),
        (lambda: mvke.tag_all(index, tags, 3, block_users=0), mvke.ERR_INVALID, None),
        (lambda: mvke.tag_all(index, tags, 3, task="nope"), mvke.ERR_UNKNOWN_TASK, "nope"),
        (lambda: mvke.tag_all(index, other, 3), mvke.ERR_DIM, None),
    ]
    for call, status, text in cases:
        with pytest.raises(mvke.Error) as e:
            call()
        assert e.value.status == status, (e.value.status_name, e.value.message)
        if text:
            assert text in e.value.message, e.value.message
    with pytest.raises(TypeError):
        mvke.audience(tags, index, "interest", [1], 3)
    with pytest.raises(TypeError):
        mvke.user_tags(index, index, [1], 3)
    np.testing.assert_array_equal(index.ids(), snap_ids)
    assert tags.count() == n_tags
