"""mvke.Index: add, upsert, remove, the accessors, search and range_search against the float64
oracle, FAISS's output shapes and padding, and bad input that raises and changes nothing."""

import tracemalloc

import numpy as np
import pytest

import mvke
from reference import TOL, check_range, check_topk, scores, softmax_gates


def queries(world, task="interest", n=6):
    q, w = world.q[task][:n], world.w[task][:n]
    return q, w, mvke.pack_query(q, w)


def snapshot(ix):
    """What a failed call must leave alone: the ids, in storage order, and every row."""
    ids = ix.ids()
    return ids, [ix.reconstruct(i) for i in ids.tolist()]


def assert_unchanged(ix, snap):
    ids, rows = snap
    np.testing.assert_array_equal(ix.ids(), ids)
    assert ix.ntotal == len(ids)
    for i, r in zip(ids.tolist(), rows):
        np.testing.assert_array_equal(ix.reconstruct(i), r)


def test_accessors(world, index):
    assert index.K == world.K and index.d == world.d
    assert index.ntotal == len(index) == world.n
    assert index.storage == "f32" and index.backend == "cpu" and index.threads == 0
    assert index.contains(int(world.ids[5])) and int(world.ids[5]) in index
    assert not index.contains(1) and 1 not in index
    r = index.reconstruct(int(world.ids[7]))
    assert r.shape == (world.K, world.d) and r.dtype == np.float32
    np.testing.assert_array_equal(r, world.x[7])
    np.testing.assert_array_equal(np.sort(index.ids()), np.sort(world.ids))
    assert "ntotal=700" in repr(index)


def test_add_numbers_from_ntotal_like_faiss():
    rng = np.random.default_rng(4)
    ix = mvke.Index(3, 4)
    ix.add(rng.standard_normal((5, 3, 4)))           # float64, (n, K, d): ids 0..4
    ix.add(rng.standard_normal((2, 12)).astype(np.float16))  # float16, (n, K*d): ids 5, 6
    np.testing.assert_array_equal(np.sort(ix.ids()), np.arange(7))
    ix.add(np.zeros((0, 12), np.float32))
    assert ix.ntotal == 7


def test_search_matches_oracle(world, index):
    q, w, z = queries(world)
    D, I = index.search(z, 10)
    assert D.shape == (6, 10) and D.dtype == np.float32 and I.shape == (6, 10) and I.dtype == np.int64
    s = scores(world.x, q, w)
    for i in range(6):
        check_topk(D[i], I[i], s[:, i], world.ids, 10)


def test_search_takes_3d_and_float64_queries(world, index):
    q, w, z = queries(world, "intention", 3)
    D1, I1 = index.search(z, 5)
    D2, I2 = index.search(z.astype(np.float64).reshape(3, world.K, world.d), 5)
    np.testing.assert_array_equal(I1, I2)
    np.testing.assert_array_equal(D1, D2)


def test_padding_when_k_exceeds_ntotal():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    ix = mvke.Index(2, 4)
    ix.add(x, ids=[10, 20, 30])
    q, w = rng.standard_normal((2, 4)), rng.random((2, 2))
    D, I = ix.search(mvke.pack_query(q, w), 5)
    assert D.shape == (2, 5) and I.shape == (2, 5)
    s = scores(x, q, w)
    for i in range(2):
        check_topk(D[i], I[i], s[:, i], [10, 20, 30], 5)
        assert list(I[i, 3:]) == [-1, -1] and np.all(np.isneginf(D[i, 3:]))
    empty = mvke.Index(2, 4)
    D, I = empty.search(mvke.pack_query(q, w), 2)
    assert np.all(I == -1) and np.all(np.isneginf(D))
    D, I = ix.search(np.zeros((0, 8), np.float32), 4)
    assert D.shape == (0, 4) and I.shape == (0, 4)


def test_allow_ids_and_mask(world, index):
    q, w, z = queries(world, n=3)
    s = scores(world.x, q, w)
    rng = np.random.default_rng(6)
    allowed = rng.choice(world.ids, 40, replace=False)
    shuffled_with_repeats = np.concatenate([allowed, allowed[:5], [5, 7]])  # 5, 7: not users
    D, I = index.search(z, 8, allow=shuffled_with_repeats)
    for i in range(3):
        check_topk(D[i], I[i], s[:, i], world.ids, 8, allowed=allowed)
    mask = np.zeros(world.ids.max() + 1, dtype=bool)
    mask[allowed] = True
    D2, I2 = index.search(z, 8, allow=mask)
    np.testing.assert_array_equal(I, I2)
    np.testing.assert_array_equal(D, D2)
    # Fewer allowed than k: padded.
    D, I = index.search(z, 8, allow=allowed[:3])
    assert np.all(I[:, 3:] == -1) and np.all(np.isneginf(D[:, 3:]))
    D, I = index.search(z, 8, allow=np.array([], dtype=np.int64))
    assert np.all(I == -1)


def test_range_search_matches_oracle(world, index):
    q, w, z = queries(world)
    lims, D, I = index.range_search(z, 0.3)
    assert lims.shape == (7,) and lims.dtype == np.int64 and lims[0] == 0 and lims[-1] == len(D) == len(I)
    assert D.dtype == np.float32 and I.dtype == np.int64
    s = scores(world.x, q, w)
    assert len(D) > 0
    for i in range(6):
        check_range(D[lims[i]:lims[i + 1]], I[lims[i]:lims[i + 1]], s[:, i], world.ids, 0.3)
    allowed = world.ids[::3]
    lims, D, I = index.range_search(z, 0.2, allow=allowed)
    for i in range(6):
        check_range(D[lims[i]:lims[i + 1]], I[lims[i]:lims[i + 1]], s[:, i], world.ids, 0.2, allowed=allowed)
    lims, D, I = index.range_search(z, 1.5)
    assert list(lims) == [0] * 7 and D.shape == (0,) and I.shape == (0,)


def test_float16_storage_scores_the_rounded_rows(world):
    ix = world.index(mvke, storage="f16")
    assert ix.storage == "f16"
    q, w, z = queries(world)
    D, I = ix.search(z, 10)
    rounded = world.x.astype(np.float16)
    np.testing.assert_array_equal(ix.reconstruct(int(world.ids[2])), rounded[2].astype(np.float32))
    s = scores(rounded, q, w)
    for i in range(6):
        check_topk(D[i], I[i], s[:, i], world.ids, 10, tol=1e-4)


def sq8_refine(world):
    """An sq8 index with its float32 rows, trained on every row, holding the world's users."""
    ix = mvke.Index(world.K, world.d, storage="sq8", refine=True)
    ix.train(world.x)
    ix.add(world.x, world.ids)
    return ix


def assert_same_range(a, b):
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_codec_must_be_trained_first(world):
    ix = mvke.Index(world.K, world.d, storage="sq8", refine=True)
    assert not ix.is_trained and ix.refine and ix.storage == "sq8" and ix.mode == "exact"
    assert "storage='sq8'" in repr(ix) and "trained=False" in repr(ix)
    with pytest.raises(mvke.Error) as e:
        ix.add(world.x, world.ids)
    assert e.value.status == mvke.ERR_UNTRAINED and "call index.train(sample) first" in e.value.message
    with pytest.raises(mvke.Error) as e:
        ix.search(queries(world)[2], 5)
    assert e.value.status == mvke.ERR_UNTRAINED
    assert ix.ntotal == 0 and not ix.is_trained
    ix.train(world.x[:300].reshape(300, -1))  # (n, K*d) as add takes it
    assert ix.is_trained and "trained=True" in repr(ix)
    ix.add(world.x, world.ids)
    assert ix.ntotal == world.n
    with pytest.raises(mvke.Error) as e:  # a trained codec is never replaced under stored codes
        ix.train(world.x)
    assert e.value.status == mvke.ERR_INVALID
    with pytest.raises(mvke.Error) as e:
        mvke.Index(world.K, world.d, storage="sq8").train(np.zeros((0, world.K, world.d), np.float32))
    assert e.value.status == mvke.ERR_INVALID
    f = mvke.Index(world.K, world.d)  # no codec: trained from the start, train does nothing
    assert f.is_trained and not f.refine
    f.train(world.x[:5])
    assert f.ntotal == 0 and "trained=True" in repr(f)


def test_sq8_refine_answers_as_f32(world, index):
    ix = sq8_refine(world)
    q, w, z = queries(world)
    for k in (1, 10, 50):
        D, I = ix.search(z, k)
        stats = mvke.last_search_stats()
        D0, I0 = index.search(z, k)
        np.testing.assert_array_equal(I, I0)
        np.testing.assert_array_equal(D, D0)
        assert stats["certified"] is True and stats["users_scanned"] == world.n
        assert 0 < stats["users_refined"] < world.n * len(z)
    for t in (0.0, 0.3, 0.6):
        r = ix.range_search(z, t)
        stats = mvke.last_search_stats()
        assert_same_range(r, index.range_search(z, t))
        assert stats["certified"] is True
    allowed = world.ids[::4]
    D, I = ix.search(z, 9, allow=allowed)
    assert mvke.last_search_stats()["certified"]
    D0, I0 = index.search(z, 9, allow=allowed)
    f32 = mvke.last_search_stats()  # the f32 search's: certified, nothing refined
    assert f32["certified"] is True and f32["users_refined"] == 0
    np.testing.assert_array_equal(I, I0)
    np.testing.assert_array_equal(D, D0)


def test_approx_mode_and_refine_factor(world, index):
    ix = sq8_refine(world)
    q, w, z = queries(world)
    assert ix.refine_factor == 4
    ix.mode, ix.refine_factor = "approx", 2
    assert ix.mode == "approx" and ix.refine_factor == 2
    D, I = ix.search(z, 10)
    stats = mvke.last_search_stats()
    assert not stats["certified"] and stats["users_refined"] == 2 * 10 * len(z)
    s = scores(world.x, q, w)
    for i in range(len(z)):  # re-scored: exact scores of whichever users were found
        by_id = dict(zip(world.ids.tolist(), s[:, i].tolist()))
        np.testing.assert_allclose(D[i], [by_id[u] for u in I[i].tolist()], atol=TOL, rtol=0)
    ix.refine_factor = 100  # R*k covers every user: certified again
    D, I = ix.search(z, 10)
    assert mvke.last_search_stats()["certified"]
    D0, I0 = index.search(z, 10)
    np.testing.assert_array_equal(I, I0)
    np.testing.assert_array_equal(D, D0)
    ix.mode = "exact"
    assert ix.mode == "exact"
    for bad in ("fast", ""):
        with pytest.raises(mvke.Error) as e:
            ix.mode = bad
        assert e.value.status == mvke.ERR_INVALID and "exact" in e.value.message
    with pytest.raises(TypeError):
        ix.mode = 1
    with pytest.raises(mvke.Error) as e:
        ix.refine_factor = 0
    assert e.value.status == mvke.ERR_INVALID and "R = 0" in e.value.message
    assert ix.refine_factor == 100 and ix.mode == "exact"
    with pytest.raises(AttributeError):
        ix.refine = False
    with pytest.raises(mvke.Error) as e:  # no float32 rows: no R, no exact mode
        mvke.Index(world.K, world.d, storage="sq8").refine_factor = 2
    assert e.value.status == mvke.ERR_INVALID
    plain = mvke.Index(world.K, world.d, storage="sq8")
    assert plain.mode == "approx"
    with pytest.raises(mvke.Error) as e:
        plain.mode = "exact"
    assert e.value.status == mvke.ERR_INVALID and "refine" in e.value.message


def test_pq(world, index):
    ix = mvke.Index(world.K, world.d, storage="pq:4")
    assert ix.storage == "pq:4" and not ix.refine and ix.mode == "approx"
    assert mvke.Index(world.K, world.d, storage="pq").storage == "pq:4"  # ceil(d / 3)
    assert mvke.Index(world.K, world.d, storage="pq:6").storage == "pq:6"
    ix.train(world.x)
    ix.add(world.x, world.ids)
    q, w, z = queries(world)
    D, I = ix.search(z, 10)
    stats = mvke.last_search_stats()
    assert not stats["certified"] and stats["users_refined"] == 0 and stats["users_scanned"] == world.n
    assert np.all(I >= 0) and np.all(np.diff(D, axis=1) <= 0)
    assert np.isin(I, world.ids).all()
    assert mvke.Index(world.K, world.d, storage=ix.storage).storage == ix.storage
    # With its float32 rows pq answers exactly too.
    ex = mvke.Index(world.K, world.d, storage="pq:4", refine=True)
    ex.train(world.x)
    ex.add(world.x, world.ids)
    assert "refine=True" in repr(ex)
    D, I = ex.search(z, 10)
    assert mvke.last_search_stats()["certified"]
    D0, I0 = index.search(z, 10)
    np.testing.assert_array_equal(I, I0)
    np.testing.assert_array_equal(D, D0)


def test_bad_storages_are_refused(world):
    for name in ("pq:0", "xyz", "pq:", "pq:x", "sq8,refine"):
        with pytest.raises(mvke.Error) as e:
            mvke.Index(world.K, world.d, storage=name)
        assert e.value.status == mvke.ERR_INVALID and name in e.value.message
    with pytest.raises(mvke.Error) as e:
        mvke.Index(world.K, world.d, storage="xyz")
    assert "pq:M" in e.value.message and "sq8" in e.value.message  # the known names
    with pytest.raises(mvke.Error) as e:
        mvke.Index(world.K, world.d, storage="pq:13")  # M > d
    assert e.value.status == mvke.ERR_INVALID
    with pytest.raises(mvke.Error) as e:
        mvke.Index(world.K, world.d, refine=True)  # refine needs a codec
    assert e.value.status == mvke.ERR_INVALID and "codec" in e.value.message


def test_uint64_ids_beyond_int64_are_named_not_wrapped(world):
    ix = mvke.Index(world.K, world.d)
    with pytest.raises(mvke.Error) as e:
        ix.add(world.x[:2], np.array([4, 2**63 + 5], dtype=np.uint64))
    assert e.value.status == mvke.ERR_INVALID, e.value.message
    assert "row 1: id 9223372036854775813 is beyond int64's range" in e.value.message
    assert ix.ntotal == 0
    ix.add(world.x[:2], np.array([4, 2**63 - 1], dtype=np.uint64))
    assert ix.ntotal == 2


def test_import_without_numpy_names_the_interpreter_it_was_built_for():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-c", "import sys; sys.modules['numpy'] = None; import mvke"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "ImportError: mvke was built for " in r.stderr and "cannot load numpy's C API" in r.stderr, r.stderr


def test_upsert_and_remove(world):
    ix = world.index(mvke)
    rng = np.random.default_rng(8)
    new = rng.standard_normal((3, world.K, world.d)).astype(np.float32)
    ids = np.array([world.ids[0], world.ids[1], 99999], dtype=np.int64)
    ix.upsert(new, ids)
    assert ix.ntotal == world.n + 1
    for r, i in enumerate(ids.tolist()):
        np.testing.assert_array_equal(ix.reconstruct(i), new[r])
    assert ix.remove([99999, int(world.ids[0])]) == 2
    assert ix.ntotal == world.n - 1 and not ix.contains(99999) and not ix.contains(int(world.ids[0]))
    assert ix.remove(np.int64(world.ids[1])) == 1  # one id
    x_now = np.stack([ix.reconstruct(i) for i in ix.ids().tolist()])
    q, w, z = queries(world, n=2)
    D, I = ix.search(z, 7)
    s = scores(x_now, q, w)
    for i in range(2):
        check_topk(D[i], I[i], s[:, i], ix.ids(), 7)
    ix.reset()
    assert ix.ntotal == 0 and ix.ids().shape == (0,)


def test_threads_option(world):
    ix = world.index(mvke, threads=1)
    assert ix.threads == 1
    q, w, z = queries(world)
    D1, I1 = ix.search(z, 9)
    ix.threads = 2
    D2, I2 = ix.search(z, 9)
    np.testing.assert_array_equal(I1, I2)  # results do not depend on threads
    np.testing.assert_array_equal(D1, D2)
    with pytest.raises(mvke.Error):
        ix.threads = -1
    assert ix.threads == 2


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_bad_input_raises_and_changes_nothing(world):
    ix = world.index(mvke)
    snap = snapshot(ix)
    K, d = world.K, world.d
    good = np.ones((2, K, d), np.float32)
    cases = [
        (lambda: ix.add(np.ones((2, K, d + 1), np.float32)), mvke.ERR_DIM, "shape (2, 5, 13)"),
        (lambda: ix.add(np.ones((2, K * d - 1), np.float32)), mvke.ERR_DIM, "expected (n, 5, 12) or (n, 60)"),
        (lambda: ix.add(np.ones(K * d, np.float32)), mvke.ERR_DIM, "shape (60,)"),
        (lambda: ix.add(np.ones((2, K, d), np.int32)), mvke.ERR_INVALID, "int32"),
        (lambda: ix.add(np.array([["a"] * (K * d)])), mvke.ERR_INVALID, "dtype"),
        (lambda: ix.add([[1.0, 2.0], [3.0]]), mvke.ERR_INVALID, "cannot be read as an array"),
        (lambda: ix.add(good, ids=[1, 2, 3]), mvke.ERR_DIM, "ids has 3 entries; expected 2"),
        (lambda: ix.add(good, ids=[1.0, 2.0]), mvke.ERR_INVALID, "integers"),
        (lambda: ix.add(good, ids=[5, 5]), mvke.ERR_DUPLICATE, "5"),
        (lambda: ix.add(good, ids=[5, int(world.ids[9])]), mvke.ERR_DUPLICATE, str(world.ids[9])),
        (lambda: ix.add(good, ids=[-4, 6]), mvke.ERR_INVALID, "-4"),
        (lambda: ix.upsert(good, [5, 5]), mvke.ERR_DUPLICATE, None),
        (lambda: ix.upsert(good, None), mvke.ERR_INVALID, "ids"),
        (lambda: ix.remove([int(world.ids[0]), 12345678]), mvke.ERR_UNKNOWN_ID, "12345678"),
        (lambda: ix.remove([int(world.ids[0])] * 2), mvke.ERR_DUPLICATE, None),
        (lambda: ix.remove(np.ones((2, 2), np.int64)), mvke.ERR_DIM, None),
        (lambda: ix.reconstruct(12345678), mvke.ERR_UNKNOWN_ID, "12345678"),
    ]
    nan = good.copy()
    nan[1, 2, 3] = np.nan
    inf = good.copy()
    inf[0, 0, 0] = np.inf
    big = np.full((2, K, d), 1e300)  # float64 beyond float32: Inf after conversion
    cases += [
        (lambda: ix.add(nan, ids=[1, 2]), mvke.ERR_NONFINITE, "row 1"),
        (lambda: ix.upsert(inf, [int(world.ids[0]), 2]), mvke.ERR_NONFINITE, "row 0"),
        (lambda: ix.add(big, ids=[1, 2]), mvke.ERR_NONFINITE, None),
    ]
    z = mvke.pack_query(world.q["interest"][:2], world.w["interest"][:2])
    znan = z.copy()
    znan[1, 4] = np.nan
    cases += [
        (lambda: ix.search(z, 0), mvke.ERR_BAD_K, "k = 0"),
        (lambda: ix.search(z, -3), mvke.ERR_BAD_K, "k = -3"),
        (lambda: ix.search(znan, 3), mvke.ERR_NONFINITE, "1"),
        (lambda: ix.search(z[:, :-1], 3), mvke.ERR_DIM, None),
        (lambda: ix.search(z, 3, allow=np.ones(4, np.float32)), mvke.ERR_INVALID, "allow"),
        (lambda: ix.search(z, 3, allow=np.ones((2, 2), bool)), mvke.ERR_DIM, "allow"),
        (lambda: ix.range_search(znan, 0.5), mvke.ERR_NONFINITE, None),
        (lambda: ix.range_search(z, float("nan")), mvke.ERR_NONFINITE, None),
        (lambda: ix.range_search(z.astype(np.int64), 0.5), mvke.ERR_INVALID, "int64"),
        (lambda: ix.use_gpu(-5), mvke.ERR_INVALID, None),
    ]
    name_of = {getattr(mvke, n): n for n in dir(mvke) if n == "OK" or n.startswith("ERR_")}
    for call, status, text in cases:
        with pytest.raises(mvke.Error) as e:
            call()
        assert e.value.status == status, (e.value.status_name, e.value.message)
        assert e.value.status_name == "MVKE_" + name_of[status]
        assert str(e.value) == e.value.message and e.value.message
        if text:
            assert text in e.value.message, e.value.message
        assert_unchanged(ix, snap)
    # Arguments of the wrong Python type are Python's own errors.
    with pytest.raises(TypeError):
        ix.search(z, "3")
    with pytest.raises(TypeError):
        mvke.Index("5", 3)
    with pytest.raises(mvke.Error) as e:
        mvke.Index(0, 3)
    assert e.value.status == mvke.ERR_DIM
    with pytest.raises(mvke.Error):
        ix.__init__(world.K, world.d)  # initialised once: a running search keeps its handle
    assert_unchanged(ix, snap)
    assert not np.isnan(good).any() and np.isnan(nan[1, 2, 3])  # inputs untouched


def test_use_gpu_without_a_gpu_build(world):
    ix = world.index(mvke)
    try:
        ix.use_gpu(0)
    except mvke.Error as e:
        assert e.status == mvke.ERR_UNSUPPORTED and e.message
        assert ix.backend == "cpu"
    else:  # a CUDA build on a machine with a GPU: the same answers
        q, w, z = queries(world)
        D, I = ix.search(z, 10)
        s = scores(world.x, q, w)
        for i in range(6):
            check_topk(D[i], I[i], s[:, i], world.ids, 10, tol=1e-5 + TOL)
        ix.use_cpu()
    assert ix.backend == "cpu"


def test_contiguous_float32_and_int64_are_not_copied():
    # numpy reports its allocations to tracemalloc: a copy of x would show as a peak of its size.
    rng = np.random.default_rng(9)
    K, d, n = 4, 64, 20000  # x: 20 MB
    x = rng.standard_normal((n, K, d)).astype(np.float32)
    ids = np.arange(n, dtype=np.int64) * 2
    z = mvke.pack_query(rng.standard_normal((64, d)), rng.random((64, K)))  # 64 KB of queries
    ix = mvke.Index(K, d)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ix.add(x, ids)
        peak_add = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        allow = ids[:10000]  # 80 KB, contiguous
        ix.search(z, 10, allow=allow)
        peak_search = tracemalloc.get_traced_memory()[1] - base
        # And the measurement can fail: float64 rows are converted, and the copy shows.
        ix2 = mvke.Index(K, d)
        x64 = x[:2000].astype(np.float64)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ix2.add(x64)
        peak_conv = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak_add < x.nbytes / 20, peak_add
    assert peak_search < z.nbytes / 4, peak_search  # the outputs D and I: 7.5 KB
    assert peak_conv >= x64.nbytes // 2, peak_conv


def test_non_contiguous_and_other_orders_are_converted(world):
    ix = mvke.Index(world.K, world.d)
    xt = np.asfortranarray(world.x[:50])
    ix.add(xt, ids=world.ids[:100:2])  # Fortran order, strided ids
    np.testing.assert_array_equal(ix.reconstruct(int(world.ids[2])), world.x[1])
    big_endian = world.x[50:60].astype(">f4")
    ix.add(big_endian, ids=world.ids[200:210].astype(np.uint32))
    np.testing.assert_array_equal(ix.reconstruct(int(world.ids[205])), world.x[55])


def test_gates_from_vk_reference_matches(world):
    # The oracle's softmax gates are the ones the tags of the world carry.
    w = softmax_gates(world.q["interest"], world.vk, [0, 1, 2])
    assert np.all(w[:, 3:] == 0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
