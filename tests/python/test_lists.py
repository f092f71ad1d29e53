"""Lists in Python: Index.build_lists, nprobe and lists(); a listed index answers as the flat
one (search, range_search, audiences), probes read fewer users, and the lists survive
mvke.save / mvke.open; bad requests raise and change nothing."""

import numpy as np
import pytest

import mvke


def queries(world, task="interest", n=8):
    return mvke.pack_query(world.q[task][:n], world.w[task][:n])


def test_listed_answers_as_flat(world, tmp_path):
    flat = world.index(mvke)
    listed = world.index(mvke)
    assert listed.lists()["nlists"] == 0
    listed.build_lists(12)
    info = listed.lists()
    assert info["nlists"] == 12 and info["listed"] == world.n and info["tail"] == 0
    assert info["min_size"] <= info["median_size"] <= info["max_size"]
    assert sorted(listed.ids()) == sorted(flat.ids())  # same users, stored list by list
    z = queries(world)
    D0, I0 = flat.search(z, 15)
    D1, I1 = listed.search(z, 15)
    assert np.array_equal(I0, I1) and np.array_equal(D0, D1)
    stats = mvke.last_search_stats()
    assert stats["certified"] and 0 < stats["lists_scanned"] <= 12 * len(z)
    r0, r1 = flat.range_search(z, float(D0[0, -1])), listed.range_search(z, float(D0[0, -1]))
    for a, b in zip(r0, r1):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # probes
    listed.nprobe = 2
    assert listed.nprobe == 2
    D2, I2 = listed.search(z, 15)
    stats = mvke.last_search_stats()
    assert stats["lists_scanned"] == 2 * len(z) and stats["users_scanned"] < world.n
    assert np.all(D2 <= D0[:, :1] + 1e-7)
    # saved and opened with the lists
    path = tmp_path / "listed.mvke"
    mvke.save(path, listed)
    back, _ = mvke.open(path)
    assert back.lists() == listed.lists()
    D3, I3 = back.search(z, 15)
    assert np.array_equal(I3, I0) and np.array_equal(D3, D0)
    back.nprobe = 2
    D4, I4 = back.search(z, 15)
    assert np.array_equal(I4, I2)


def test_users_added_after_go_to_the_tail(world):
    half = world.n // 2
    listed = mvke.Index(world.K, world.d)
    listed.add(world.x[:half], world.ids[:half])
    listed.build_lists(5)
    listed.add(world.x[half:], world.ids[half:])
    assert listed.lists()["tail"] == world.n - half
    flat = world.index(mvke)
    z = queries(world, "intention")
    assert np.array_equal(flat.search(z, 10)[1], listed.search(z, 10)[1])


def test_bad_requests_raise(world):
    ix = mvke.Index(world.K, world.d)
    with pytest.raises(mvke.Error, match="empty"):
        ix.build_lists(3)
    ix.add(world.x[:10], world.ids[:10])
    with pytest.raises(mvke.Error, match="11 lists for 10 users"):
        ix.build_lists(11)
    assert ix.lists()["nlists"] == 0
    with pytest.raises(mvke.Error):
        ix.nprobe = -1
    assert ix.nprobe == 0
