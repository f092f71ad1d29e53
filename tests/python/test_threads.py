"""Python threads: searches from 4 threads at once give the serial answers, also while another
thread changes users outside their allow-lists, and every long call releases the GIL (another
Python thread runs during it), and mvke.last_search_stats() is each thread's own. The speed-up of 4 threads is measured by bench/python_threads.py,
not asserted here."""

import threading
import time

import numpy as np

import mvke


def big_world(n=30000, K=5, d=30, seed=11):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, K, d)).astype(np.float32)
    ix = mvke.Index(K, d, threads=1)
    ix.add(x)
    tg = mvke.Tags(K, d)
    tg.set_vk(rng.standard_normal((K, d)).astype(np.float32))
    tg.add_task("interest", [0, 1, 2])
    tg.add_task("intention", [1, 2, 3, 4])
    for task in tg.tasks:
        tg.add(task, np.arange(1, 201), rng.standard_normal((200, d)).astype(np.float32))
    return rng, ix, tg


def run_threads(fns):
    out = [None] * len(fns)
    errors = []

    def wrap(i, f):
        try:
            out[i] = f()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(i, f)) for i, f in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    return out


def test_four_threads_give_the_serial_results():
    rng, ix, tg = big_world()
    zs = [mvke.pack_query(rng.standard_normal((16, 30)), rng.random((16, 5))) for _ in range(4)]
    every = np.ones(30000, dtype=bool)  # the users added here, not the writer's
    some = rng.choice(30000, 5000, replace=False)

    def searches(z):
        return (ix.search(z, 50, allow=every), ix.search(z, 20, allow=some), ix.range_search(z, 0.4, allow=every))

    serial = [searches(z) for z in zs]
    aud = mvke.audience(ix, tg, "interest", np.arange(1, 17), 30, allow=every)
    ut = mvke.user_tags(ix, tg, np.arange(0, 30000, 97), 10)

    def work(i):
        res = [searches(zs[i]) for _ in range(3)]
        return res, mvke.audience(ix, tg, "interest", np.arange(1, 17), 30, allow=every), mvke.user_tags(
            ix, tg, np.arange(0, 30000, 97), 10)

    # A writer changes users that no search here may see (ids from 10**6 on, outside the allow-lists).
    stop = threading.Event()
    writes = [0]

    def writer():
        new = rng.standard_normal((200, 5, 30)).astype(np.float32)
        ids = np.arange(10**6, 10**6 + 200)
        while not stop.is_set():
            ix.add(new, ids)
            ix.remove(ids)
            writes[0] += 1

    w = threading.Thread(target=writer)
    w.start()
    try:
        got = run_threads([lambda i=i: work(i) for i in range(4)])
    finally:
        stop.set()
        w.join()
    assert writes[0] > 0
    for i, (res, a, u) in enumerate(got):
        for (s1, s2, s3) in res:
            ser = serial[i]
            for got_arr, want_arr in zip(s1 + s2 + s3, ser[0] + ser[1] + ser[2]):
                np.testing.assert_array_equal(got_arr, want_arr)
        np.testing.assert_array_equal(a[1], aud[1])
        np.testing.assert_array_equal(a[0], aud[0])
        for task in u:
            np.testing.assert_array_equal(u[task][1], ut[task][1])
    assert ix.ntotal == 30000


def progress_during(call, margin=0.02):
    """Runs call() while another Python thread wakes every millisecond; returns how often that
    thread ran inside the call (away from its edges) and the call's duration. Holding the GIL
    for the whole call would make the count 0."""
    stamps = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            time.sleep(0.001)
            stamps.append(time.perf_counter())

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    t0 = time.perf_counter()
    call()
    t1 = time.perf_counter()
    stop.set()
    t.join()
    inside = sum(1 for s in stamps if t0 + margin < s < t1 - margin)
    return inside, t1 - t0


def long_enough(make, start, limit):
    """Grows a call's size until it takes at least 0.15 s (or the size limit). The faster of two
    runs counts: a first run pays for fresh pages that the allocator hands back reused to the
    next one, which made a call timed once as long enough last 0.03 s when measured."""
    n = start
    while True:
        call = make(n)
        took = []
        for _ in range(2):
            t = time.perf_counter()
            call()
            took.append(time.perf_counter() - t)
        if min(took) >= 0.15 or n >= limit:
            return call
        n *= 2


def test_long_calls_release_the_gil():
    rng, ix, tg = big_world()
    d, K = 30, 5

    def search(n):
        z = mvke.pack_query(rng.standard_normal((n, d)), rng.random((n, K)))
        return lambda: ix.search(z, 10)

    def range_search(n):
        z = mvke.pack_query(rng.standard_normal((n, d)), rng.random((n, K)))
        return lambda: ix.range_search(z, 0.5)

    def audience(n):
        ids = np.resize(np.arange(1, 201), n)
        return lambda: mvke.audience(ix, tg, "intention", ids, 10)

    def user_tags(n):
        ids = np.resize(np.arange(30000), n)
        return lambda: mvke.user_tags(ix, tg, ids, 10)

    def add(n):
        x = rng.standard_normal((n, K, d)).astype(np.float32)
        return lambda: mvke.Index(K, d).add(x)

    def train(n):
        x = rng.standard_normal((n, K, d)).astype(np.float32)
        return lambda: mvke.Index(K, d, storage="pq").train(x)

    def tag_all_block(n):
        # Blocks of up to every user; past that, more blocks one after another (each releases the
        # GIL while it is scored), so the call lasts long enough however fast the scan is.
        block, reps = min(n, 30000), max(1, n // 30000)

        def call():
            for _ in range(reps):
                next(mvke.tag_all(ix, tg, 10, block_users=block))
        return call

    makers = [(search, 16, 4096), (range_search, 16, 4096), (audience, 16, 4096), (user_tags, 256, 30000),
              (add, 20000, 160000), (train, 1000, 65536), (tag_all_block, 256, 30000 * 64)]
    for make, start, limit in makers:
        call = long_enough(make, start, limit)
        inside, took = progress_during(call)
        assert inside >= 3, f"{make.__name__}: another thread ran {inside} times during {took:.3f} s"


def test_one_tag_all_generator_is_not_shared_by_two_threads():
    # Like a Python generator, one that is busy scoring a block (0.2 s here on 2 cores) in
    # another thread refuses to run a second block at once over the same buffers.
    rng, ix, tg = big_world()
    gen = mvke.tag_all(ix, tg, 10, block_users=30000)
    t = threading.Thread(target=lambda: next(gen))
    t.start()
    time.sleep(0.03)
    try:
        next(gen)
        second = "no error"
    except ValueError as e:
        second = str(e)
    t.join()
    assert "already executing" in second


def test_search_stats_belong_to_the_searching_thread():
    rng = np.random.default_rng(12)
    K, d, n = 3, 8, 2000
    x = rng.standard_normal((n, K, d)).astype(np.float32)
    sq8 = mvke.Index(K, d, storage="sq8", refine=True, threads=1)
    sq8.train(x)
    sq8.add(x)
    sq8.mode, sq8.refine_factor = "approx", 1
    f32 = mvke.Index(K, d, threads=1)
    f32.add(x)
    z = mvke.pack_query(rng.standard_normal((4, d)), rng.random((4, K)))

    def approx():  # not certified, 4 x 10 users re-scored
        out = []
        for _ in range(200):
            sq8.search(z, 10)
            out.append(mvke.last_search_stats())
        return out

    def exact():  # f32: certified, nothing re-scored
        out = []
        for _ in range(200):
            f32.search(z, 10)
            out.append(mvke.last_search_stats())
        return out

    a, b = run_threads([approx, exact])
    assert all(s == {"users_scanned": n, "users_refined": 40, "certified": False, "lists_scanned": 0} for s in a)
    assert all(s == {"users_scanned": n, "users_refined": 0, "certified": True, "lists_scanned": 0} for s in b)
