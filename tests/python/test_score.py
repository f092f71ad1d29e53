"""The two scores in Python: Index(score='dot') and Tags(score='dot') against the float64 dot
oracle (materialise E, then E . q), probabilities (prob=True) and thresholds (min_prob), and the
score kept by files and refused when an index and a table differ."""

import numpy as np
import pytest

import mvke

rng = np.random.default_rng(5)
K, D, N, T = 4, 6, 500, 12
X = (rng.standard_normal((N, K, D)) * rng.uniform(0.5, 3.0, (N, 1, 1))).astype(np.float32)
IDS = np.arange(N, dtype=np.int64) * 3 + 1
Q = rng.standard_normal((T, D)).astype(np.float32)
W = np.zeros((T, K), dtype=np.float32)
W[:, 1:4] = rng.dirichlet(np.ones(3), T)
EXPERTS = [1, 2, 3]


def dot_scores(x, q, w):
    """<E, q> in float64 for users x (n, K, d), tags q (t, d), w (t, K): (n, t)."""
    E = np.einsum("tk,nkd->ntd", w.astype(np.float64), x.astype(np.float64))
    return np.einsum("ntd,td->nt", E, q.astype(np.float64))


def sigmoid(s):
    return 1.0 / (1.0 + np.exp(-np.asarray(s, dtype=np.float64)))


def make(score="dot", storage="f32", refine=False):
    ix = mvke.Index(K, D, storage=storage, refine=refine, score=score)
    if storage in ("sq8", "pq"):
        ix.train(X)
    ix.add(X, IDS)
    tg = mvke.Tags(K, D, score=score)
    tg.add_task("ctr", EXPERTS)
    tg.add("ctr", np.arange(100, 100 + T), q=Q, w=W)
    return ix, tg


def test_dot_search_and_range_match_the_oracle():
    ix, _ = make()
    assert ix.score == "dot"
    z = np.stack([mvke.pack_query(Q[t], W[t]) for t in range(T)])
    ref = dot_scores(X, Q, W)
    D_, I_ = ix.search(z, 10)
    for t in range(T):
        order = np.lexsort((IDS, -ref[:, t]))[:10]
        scale = 1e-5 * (1 + np.abs(ref[:, t]).max())
        np.testing.assert_allclose(D_[t], ref[order, t], atol=scale)
        got = dict(zip(I_[t], D_[t]))
        for i, s in got.items():
            assert abs(ref[(i - 1) // 3, t] - s) <= scale
    assert D_.max() > 1.0, "dot scores are not clamped to [-1, 1]"
    lims, Dr, Ir = ix.range_search(z, 2.0)
    for t in range(T):
        want = set(IDS[ref[:, t] >= 2.0 + 1e-4])
        got = set(Ir[lims[t]:lims[t + 1]])
        assert want <= got and all(ref[(i - 1) // 3, t] >= 2.0 - 1e-4 for i in got)


def test_probabilities_and_min_prob():
    ix, tg = make()
    z = np.stack([mvke.pack_query(Q[t], W[t]) for t in range(T)])
    D_, I_ = ix.search(z, 7)
    P_, J_ = ix.search(z, 7, prob=True)
    assert (I_ == J_).all()
    np.testing.assert_allclose(P_, sigmoid(D_), rtol=1e-6)
    # min_prob: exactly the users of min_score at the library's threshold of p
    p = float(P_[0, 4])
    lims, Dp, Ip = ix.range_search(z[:1], min_prob=p, prob=True)
    assert len(Ip) >= 5 and (Dp >= np.float32(p)).all()
    s_at = float(D_[0, 4])
    lims2, Ds, Is = ix.range_search(z[:1], min_score=np.nextafter(np.float32(s_at), np.float32(-np.inf)))
    assert set(Ip) <= set(Is)
    with pytest.raises(mvke.Error, match="give one threshold"):
        ix.range_search(z[:1])
    with pytest.raises(mvke.Error, match="give one threshold"):
        ix.range_search(z[:1], 0.5, min_prob=0.5)
    with pytest.raises(mvke.Error, match=r"not in \(0, 1\)"):
        ix.range_search(z[:1], min_prob=1.5)
    # audience, audience_range, user_tags and tag_all take prob too
    Da, Ia = mvke.audience(ix, tg, "ctr", [100, 101], 5)
    Pa, Ja = mvke.audience(ix, tg, "ctr", [100, 101], 5, prob=True)
    assert (Ia == Ja).all()
    np.testing.assert_allclose(Pa, sigmoid(Da), rtol=1e-6)
    lims, Dq, Iq = mvke.audience_range(ix, tg, "ctr", [100], min_prob=float(Pa[0, 2]), prob=True)
    assert list(Iq[:3]) == list(Ia[0, :3])
    Du, Iu = mvke.user_tags(ix, tg, IDS[:3], 4, task="ctr")
    Pu, Ju = mvke.user_tags(ix, tg, IDS[:3], 4, task="ctr", prob=True)
    assert (Iu == Ju).all()
    np.testing.assert_allclose(Pu, sigmoid(Du), rtol=1e-6)
    ref = dot_scores(X[:3], Q, W)
    for u in range(3):
        np.testing.assert_allclose(np.sort(ref[u])[::-1][:4], Du[u], atol=1e-4)
    plain = list(mvke.tag_all(ix, tg, 4, block_users=200))
    for (ids, per), (ids0, per0) in zip(mvke.tag_all(ix, tg, 4, block_users=200, prob=True), plain):
        assert (ids == ids0).all() and (per["ctr"][1] == per0["ctr"][1]).all()
        np.testing.assert_allclose(per["ctr"][0], sigmoid(per0["ctr"][0]), rtol=1e-6)


def test_certified_codecs_answer_as_f32_in_dot():
    f, _ = make()
    z = np.stack([mvke.pack_query(Q[t], W[t]) for t in range(T)])
    Df, If = f.search(z, 10)
    for storage in ("sq8", "pq"):
        x, _ = make(storage=storage, refine=True)
        Dx, Ix = x.search(z, 10)
        assert (Ix == If).all() and (Dx == Df).all(), storage
        assert mvke.last_search_stats()["certified"]


def test_files_keep_the_score_and_scores_do_not_mix(tmp_path):
    ix, tg = make()
    path = str(tmp_path / "dot.mvke")
    mvke.save(path, ix, tg)
    ix2, tg2 = mvke.open(path)
    assert ix2.score == "dot" and tg2.score == "dot"
    z = mvke.pack_query(Q[2], W[2])[None]
    assert (ix2.search(z, 5)[1] == ix.search(z, 5)[1]).all()
    _, cos_tags = make(score="cosine")
    with pytest.raises(mvke.Error, match="scores by dot but the tag table by cosine"):
        mvke.audience(ix, cos_tags, "ctr", [100], 5)
    with pytest.raises(mvke.Error, match="a file keeps one score"):
        mvke.save(str(tmp_path / "mixed.mvke"), ix, cos_tags)
    with pytest.raises(mvke.Error, match="cosine, dot"):
        mvke.Index(K, D, score="ip")
