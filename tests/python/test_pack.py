"""mvke.pack_query and the module's constants."""

import numpy as np
import pytest

import mvke
from reference import scores


def test_one_row_is_w_kron_q():
    rng = np.random.default_rng(1)
    q, w = rng.standard_normal(7), rng.random(4)
    z = mvke.pack_query(q, w)
    assert z.shape == (28,) and z.dtype == np.float32
    np.testing.assert_allclose(z, np.kron(w, q).astype(np.float32), rtol=1e-6)


def test_many_rows():
    rng = np.random.default_rng(2)
    q, w = rng.standard_normal((9, 7)).astype(np.float32), rng.random((9, 4)).astype(np.float32)
    z = mvke.pack_query(q, w)
    assert z.shape == (9, 28) and z.dtype == np.float32
    want = np.einsum("nk,nd->nkd", w, q).reshape(9, 28)
    np.testing.assert_array_equal(z, want)


def test_packed_row_scores_as_the_oracle():
    # <x, z> / sqrt(<Gram x, Gram z>) is the cosine of sum_k w_k e_k and q: one user, one tag.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 5, 30)).astype(np.float32)
    q, w = rng.standard_normal(30).astype(np.float32), rng.random(5).astype(np.float32)
    ix = mvke.Index(5, 30)
    ix.add(x)
    D, I = ix.search(mvke.pack_query(q, w)[None], 1)
    np.testing.assert_allclose(D[0, 0], scores(x, q, w)[0, 0], atol=1e-5)
    assert I[0, 0] == 0


def test_bad_shapes_and_values():
    with pytest.raises(mvke.Error) as e:
        mvke.pack_query(np.ones((3, 7)), np.ones((2, 4)))
    assert e.value.status == mvke.ERR_DIM and "different n" in str(e.value)
    with pytest.raises(mvke.Error) as e:
        mvke.pack_query(np.ones(7), np.ones((1, 4)))
    assert e.value.status == mvke.ERR_DIM
    q = np.ones((3, 7))
    q[2, 5] = np.nan
    with pytest.raises(mvke.Error) as e:
        mvke.pack_query(q, np.ones((3, 4)))
    assert e.value.status == mvke.ERR_NONFINITE and "row 2" in e.value.message and "NaN" in e.value.message
    with pytest.raises(mvke.Error) as e:
        mvke.pack_query(np.ones(7, dtype=np.int64), np.ones(4))
    assert e.value.status == mvke.ERR_INVALID and "int64" in str(e.value)
    with pytest.raises(mvke.Error):
        mvke.pack_query(np.ones(0), np.ones(4))


def test_constants_come_from_the_library():
    assert mvke.__version__.count(".") == 2
    assert mvke.OK == 0 and mvke.ERR_INVALID == -1 and mvke.ERR_UNSUPPORTED == -15
    assert "f32" in mvke.storages and "f16" in mvke.storages
    for s in mvke.storages:  # pq is shown with its M (ceil(3 / 3) = 1 here)
        assert mvke.Index(2, 3, storage=s).storage == (s + ":1" if s == "pq" else s)
    with pytest.raises(mvke.Error) as e:
        mvke.Index(2, 3, storage="int3")
    assert e.value.status == mvke.ERR_INVALID
    for s in mvke.storages:  # the library's message lists what it knows
        assert s in str(e.value)
    assert issubclass(mvke.Error, RuntimeError)


def test_every_public_name_has_a_docstring():
    names = ["Index", "Tags", "Error", "pack_query", "audience", "audience_range", "user_tags", "open", "save",
             "tag_all", "last_search_stats"]
    for n in names:
        assert getattr(mvke, n).__doc__, n
    for cls in (mvke.Index, mvke.Tags):
        for n, v in vars(cls).items():
            if not n.startswith("_"):
                assert v.__doc__, f"{cls.__name__}.{n}"
    doc = mvke.Index.search.__doc__
    assert "(nq, k)" in doc and "-inf" in doc and "-1" in doc
    assert mvke.__doc__
