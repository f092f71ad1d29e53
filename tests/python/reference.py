"""The Python tests' oracle: MVKE scores computed the direct way, in float64 with numpy, by
materialising the tag-specific user vector E(u,t) = sum_k w[k] e[u][k] and taking its cosine with
q (0 when either norm is 0), plus the checks of search results against the oracle's ranking.
It mirrors tests/reference.c, the oracle of the C tests."""

import numpy as np

TOL = 2e-5  # float32 products against float64, softmax gates (README: within 1e-5)


def scores(x, q, w):
    """s[u, t] for users x (n, K, d) and tags q (t, d), w (t, K), in float64: (n, t)."""
    x = np.asarray(x, dtype=np.float64)
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    out = np.zeros((x.shape[0], q.shape[0]))
    for t in range(q.shape[0]):
        E = np.einsum("k,nkd->nd", w[t], x)  # the tag-specific user vectors, materialised
        num = E @ q[t]
        den = np.linalg.norm(E, axis=1) * np.linalg.norm(q[t])
        out[:, t] = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return np.clip(out, -1.0, 1.0)


def softmax_gates(q, vk, experts, temperature=1.0):
    """The gates of tags q (t, d) from virtual kernels vk (K, d) over a task's experts: (t, K)."""
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    vk = np.asarray(vk, dtype=np.float64)
    logits = q @ vk.T / temperature
    w = np.zeros_like(logits)
    sub = logits[:, experts]
    sub = np.exp(sub - sub.max(axis=1, keepdims=True))
    w[:, experts] = sub / sub.sum(axis=1, keepdims=True)
    return w


def rank(s, ids):
    """Order of one query's scores s (n,) over ids (n,): score descending, then id ascending."""
    return np.lexsort((ids, -s))


def check_topk(D, I, s, ids, k, tol=TOL, allowed=None):
    """One row (D, I) of a top-k search against the oracle scores s of users ids: the eligible
    users' top min(k, n) scores in order, every score the oracle's score of its id, ids agreeing
    with the oracle except within ties, and the rest padded with -inf / -1."""
    s = np.asarray(s, dtype=np.float64)
    ids = np.asarray(ids)
    if allowed is not None:
        keep = np.isin(ids, allowed)
        s, ids = s[keep], ids[keep]
    assert D.shape == (k,) and I.shape == (k,)
    order = rank(s, ids)
    m = min(k, len(ids))
    np.testing.assert_allclose(D[:m], s[order[:m]], atol=tol, rtol=0)
    assert np.all(np.diff(D[:m]) <= 0), "scores must not increase"
    by_id = dict(zip(ids.tolist(), s.tolist()))
    got = [by_id[i] for i in I[:m].tolist()]  # KeyError: an id that is not an eligible user
    np.testing.assert_allclose(D[:m], got, atol=tol, rtol=0)
    assert len(set(I[:m].tolist())) == m, "an id returned twice"
    for r in range(m):  # the ids themselves, where the oracle has no near-tie at that rank
        near = np.abs(s[order] - s[order[r]]) <= 2 * tol
        if near.sum() == 1:
            assert I[r] == ids[order[r]], f"rank {r}: id {I[r]}, oracle {ids[order[r]]}"
    assert np.all(I[m:] == -1) and np.all(np.isneginf(D[m:])), "padding must be -1 / -inf"


def check_range(D, I, s, ids, min_score, tol=TOL, allowed=None):
    """One list of a threshold search: exactly the oracle's users with score >= min_score (those
    within tol of it may fall either side), sorted, with their oracle scores."""
    s = np.asarray(s, dtype=np.float64)
    ids = np.asarray(ids)
    if allowed is not None:
        keep = np.isin(ids, allowed)
        s, ids = s[keep], ids[keep]
    by_id = dict(zip(ids.tolist(), s.tolist()))
    sure = set(ids[s >= min_score + tol].tolist())
    maybe = set(ids[s >= min_score - tol].tolist())
    got = set(I.tolist())
    assert len(got) == len(I), "an id returned twice"
    assert sure <= got <= maybe, f"missing {sorted(sure - got)[:5]}, extra {sorted(got - maybe)[:5]}"
    np.testing.assert_allclose(D, [by_id[i] for i in I.tolist()], atol=tol, rtol=0)
    assert np.all(np.diff(D) <= 0)
    assert np.all(D >= min_score)


class World:
    """A small random MVKE world: users (n, K, d) with shuffled ids, two tasks of tags with
    embeddings, gates from virtual kernels, names and parents."""

    def __init__(self, n=700, K=5, d=12, ntags=40, seed=7):
        rng = np.random.default_rng(seed)
        self.K, self.d, self.n = K, d, n
        self.x = rng.standard_normal((n, K, d)).astype(np.float32)
        self.x[3] = 0  # a user with zero experts scores 0
        self.ids = rng.permutation(np.arange(1000, 1000 + 3 * n))[:n].astype(np.int64)
        self.vk = (2 * rng.standard_normal((K, d))).astype(np.float32)
        self.tasks = {"interest": [0, 1, 2], "intention": list(range(1, K))}
        self.tag_ids, self.q, self.w, self.names, self.parents = {}, {}, {}, {}, {}
        for t, (task, experts) in enumerate(self.tasks.items()):
            q = rng.standard_normal((ntags, d)).astype(np.float32)
            self.q[task] = q
            self.w[task] = softmax_gates(q, self.vk, experts).astype(np.float32)
            self.tag_ids[task] = (np.arange(ntags) * 3 + 1 + t).astype(np.int64)
            self.names[task] = [f"{task} tag {i}" for i in range(ntags)]
            self.parents[task] = np.where(np.arange(ntags) < 5, 0, self.tag_ids[task][np.arange(ntags) % 5])

    def index(self, mvke, **kw):
        ix = mvke.Index(self.K, self.d, **kw)
        ix.add(self.x, self.ids)
        return ix

    def tags(self, mvke, gates="given"):
        tg = mvke.Tags(self.K, self.d)
        tg.set_vk(self.vk)
        for task, experts in self.tasks.items():
            tg.add_task(task, experts)
            tg.add(task, self.tag_ids[task], self.q[task], self.w[task] if gates == "given" else None,
                   names=self.names[task], parents=self.parents[task])
        return tg

    def scores(self, task, x=None):
        """Oracle scores of users (default: all) for every tag of task: (n, ntags)."""
        return scores(self.x if x is None else x, self.q[task], self.w[task])
