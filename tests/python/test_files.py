"""mvke.save and mvke.open: a round trip keeps every answer; broken files raise with the
library's message; a failed save leaves the old file."""

import os

import numpy as np
import pytest

import mvke


def test_round_trip(world, index, tags, tmp_path):
    path = tmp_path / "world.mvke"
    mvke.save(path, index, tags)  # os.PathLike
    ix, tg = mvke.open(str(path))
    assert isinstance(ix, mvke.Index) and isinstance(tg, mvke.Tags)
    assert (ix.K, ix.d, ix.ntotal, ix.storage) == (index.K, index.d, index.ntotal, "f32")
    assert tg.tasks == tags.tasks and tg.count() == tags.count() and (tg.K, tg.d) == (tags.K, tags.d)
    tid = int(world.tag_ids["interest"][3])
    assert tg.get("interest", tid)[:2] == tags.get("interest", tid)[:2]
    for task in world.tasks:
        a = mvke.audience(index, tags, task, world.tag_ids[task][:5], 20)
        b = mvke.audience(ix, tg, task, world.tag_ids[task][:5], 20)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    u = world.ids[:9]
    a, b = mvke.user_tags(index, tags, u, 6), mvke.user_tags(ix, tg, u, 6)
    for task in world.tasks:
        np.testing.assert_array_equal(a[task][1], b[task][1])
    # A mapped index can still change (its rows are copied then), and the file stays as it was.
    ix.add(np.ones((1, world.K, world.d), np.float32), ids=[7])
    assert ix.ntotal == world.n + 1
    again, _ = mvke.open(path, check_rows=False)
    assert again.ntotal == world.n and not again.contains(7)


def test_f16_and_no_tags(world, tmp_path):
    ix = world.index(mvke, storage="f16")
    path = os.fspath(tmp_path / "f16.mvke")
    mvke.save(path, ix)
    back, tg = mvke.open(path)
    assert back.storage == "f16" and tg.tasks == [] and tg.count() == 0
    z = mvke.pack_query(world.q["interest"][:3], world.w["interest"][:3])
    np.testing.assert_array_equal(ix.search(z, 5)[1], back.search(z, 5)[1])
    np.testing.assert_array_equal(back.reconstruct(int(world.ids[0])), ix.reconstruct(int(world.ids[0])))


def test_codec_round_trip(world, index, tmp_path):
    ix = mvke.Index(world.K, world.d, storage="sq8", refine=True)
    path = tmp_path / "sq8.mvke"
    with pytest.raises(mvke.Error) as e:  # a file holds a trained codec
        mvke.save(path, ix)
    assert e.value.status == mvke.ERR_UNTRAINED and not path.exists()
    ix.train(world.x)
    ix.add(world.x, world.ids)
    ix.refine_factor = 3
    mvke.save(path, ix)
    back, _ = mvke.open(path)
    assert (back.storage, back.refine, back.is_trained, back.ntotal) == ("sq8", True, True, world.n)
    # The search mode and R are settings of the open index, not of the file: the defaults come back.
    assert back.mode == "exact" and back.refine_factor == 4
    z = mvke.pack_query(world.q["intention"][:5], world.w["intention"][:5])
    answers = []
    for a in (ix, back, index):  # saved, reopened, and the f32 index of the same rows
        answers.append(a.search(z, 12) + a.range_search(z, 0.4))
        assert mvke.last_search_stats()["certified"]
    for got in answers[1:]:
        for u, v in zip(got, answers[0]):
            np.testing.assert_array_equal(u, v)
    # The reopened index takes more rows, encoded with the saved codec.
    back.add(world.x[:2], ids=[1, 2])
    assert back.ntotal == world.n + 2
    pq = mvke.Index(world.K, world.d, storage="pq:3")
    pq.train(world.x)
    pq.add(world.x, world.ids)
    mvke.save(path, pq)
    back, _ = mvke.open(path)
    assert (back.storage, back.refine, back.is_trained, back.mode) == ("pq:3", False, True, "approx")
    for u, v in zip(back.search(z, 7), pq.search(z, 7)):
        np.testing.assert_array_equal(u, v)


def test_broken_files(world, index, tags, tmp_path):
    path = tmp_path / "w.mvke"
    mvke.save(path, index, tags)
    data = path.read_bytes()
    with pytest.raises(mvke.Error) as e:
        mvke.open(tmp_path / "missing.mvke")
    assert e.value.status == mvke.ERR_IO and "missing.mvke" in e.value.message
    bad = tmp_path / "flipped.mvke"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    bad.write_bytes(bytes(flipped))
    # Opening reads only the small sections; the flipped user bytes are refused on first use.
    try:
        bidx, _ = mvke.open(bad)
    except mvke.Error as err:
        assert err.status == mvke.ERR_CHECKSUM, err.message
    else:
        z = np.zeros((1, bidx.K * bidx.d), np.float32)
        z[0, 0] = 1.0
        with pytest.raises(mvke.Error) as e:
            bidx.search(z, 5)
        assert e.value.status == mvke.ERR_CHECKSUM, e.value.message
    short = tmp_path / "short.mvke"
    short.write_bytes(data[: len(data) - 1000])
    with pytest.raises(mvke.Error) as e:
        mvke.open(short)
    assert e.value.status in (mvke.ERR_TRUNCATED, mvke.ERR_FORMAT), e.value.message
    junk = tmp_path / "junk.mvke"
    junk.write_bytes(b"not an index file" * 10)
    with pytest.raises(mvke.Error) as e:
        mvke.open(junk)
    assert e.value.status in (mvke.ERR_FORMAT, mvke.ERR_TRUNCATED)


def test_failed_save_changes_nothing(world, index, tags, tmp_path):
    with pytest.raises(mvke.Error) as e:
        mvke.save(tmp_path / "no" / "such" / "dir.mvke", index, tags)
    assert e.value.status == mvke.ERR_IO
    path = tmp_path / "kept.mvke"
    mvke.save(path, index, tags)
    before = path.read_bytes()
    other = mvke.Tags(world.K + 1, world.d)
    with pytest.raises(mvke.Error) as e:
        mvke.save(path, index, other)
    assert e.value.status == mvke.ERR_INVALID
    assert path.read_bytes() == before
    with pytest.raises(TypeError):
        mvke.save(path, tags, index)
    assert path.read_bytes() == before
