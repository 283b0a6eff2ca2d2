"""Long runs and concurrency: the plan cache stays bounded and memory flat over thousands of runs with
varying batch sizes; closed sessions free their variables; one session can be run from several threads."""
import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest

import nnplug as tf
from nnplug import session as session_mod


def _mlp(graph):
    with graph.as_default():
        x = tf.placeholder(tf.float32, (None, 8), name="x")
        y = tf.placeholder(tf.float32, (None, 2), name="y")
        w = tf.Variable(np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2), name="w")
        b = tf.Variable(np.zeros(2, np.float32), name="b")
        out = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.square(out - y))
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
        init = tf.global_variables_initializer()
    return x, y, w, b, out, loss, train, init


def test_many_runs_with_varying_batches_keep_cache_bounded_and_memory_flat():
    graph = tf.Graph()
    x, y, w, b, out, loss, train, init = _mlp(graph)
    rng = np.random.default_rng(0)
    batches = {n: (rng.standard_normal((n, 8)).astype(np.float32), rng.standard_normal((n, 2)).astype(np.float32))
               for n in range(1, 3 * session_mod.PLAN_CACHE_SIZE)}
    with tf.Session(graph=graph) as sess:
        sess.run(init)

        def sweep():
            for n, (xb, yb) in batches.items():
                sess.run([train, loss], {x: xb, y: yb})

        sweep()  # warm: every plan compiled once, the cache full
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10):  # ~1,900 runs, each batch size recompiled as the LRU cache evicts it
            sweep()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(sess._plans) <= session_mod.PLAN_CACHE_SIZE
        assert after - before < 2_000_000, f"memory grew by {after - before} bytes over the long run"
        for _ in range(2000):  # the steady state: one batch size, no compile at all
            sess.run(train, {x: batches[64][0], y: batches[64][1]})
        assert len(sess._plans) <= session_mod.PLAN_CACHE_SIZE
        assert np.all(np.isfinite(sess.run(w)))


def test_closed_sessions_free_their_variables():
    graph = tf.Graph()
    with graph.as_default():
        v = tf.Variable(np.zeros((256, 256), np.float32), name="big")
        init = tf.global_variables_initializer()
    refs = []
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    for _ in range(100):  # 100 x 256 KiB would be 25 MiB if nothing were freed
        sess = tf.Session(graph=graph)
        sess.run(init)
        buf = sess._values[sess._slots[v]]
        refs.append(weakref.ref(sess))
        sess.close()
        with pytest.raises(RuntimeError, match="closed Session"):
            sess.run(v)
        del sess, buf
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    assert grown < 4_000_000, f"{grown} bytes still held after closing 100 sessions"
    assert sum(r() is not None for r in refs) <= 1  # sessions themselves are collectable


def test_threads_share_one_session():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float64, (None, 3), name="x")
        w = tf.Variable(np.arange(6, dtype=np.float64).reshape(3, 2), name="w")
        out = tf.nn.softmax(tf.matmul(x, w)) * 2.0 + tf.reduce_sum(x, axis=1, keepdims=True)
        init = tf.global_variables_initializer()
    wv = np.arange(6, dtype=np.float64).reshape(3, 2)

    def ref(xb):
        z = xb @ wv
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True) * 2 + xb.sum(1, keepdims=True)

    errors = []
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        barrier = threading.Barrier(6)

        def worker(seed):
            rng = np.random.default_rng(seed)
            try:
                barrier.wait()
                for i in range(300):
                    xb = rng.standard_normal((1 + (i + seed) % 17, 3))
                    got = sess.run(out, {x: xb})
                    np.testing.assert_allclose(got, ref(xb), rtol=1e-12, atol=1e-12)
            except Exception as e:  # noqa: BLE001 - collected and re-raised in the main thread
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[:3]


def test_threads_training_one_session_apply_every_update():
    """Concurrent assign_add from several threads: each update lands (none lost to a race)."""
    graph = tf.Graph()
    with graph.as_default():
        counter = tf.Variable(np.zeros(4, np.float64), name="counter")
        inc = tf.assign_add(counter, tf.ones(4, dtype=tf.float64))
        init = tf.global_variables_initializer()
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        threads = [threading.Thread(target=lambda: [sess.run(inc) for _ in range(500)]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sess.run(counter).tolist() == [2000.0] * 4


def _cupy_or_skip():
    from nnplug.plugins import describe_backends
    row = next((r for r in describe_backends() if r["name"] == "cupy"), None)
    if row is None or not row["available"]:
        pytest.skip(f"cupy backend unavailable: {row['reason'] if row else 'not installed'}")
    import cupy
    return cupy


def test_closed_cupy_sessions_free_device_memory():
    """On a GPU: 50 sessions each holding 4 MiB on the device give it all back to CuPy's pool when closed."""
    cupy = _cupy_or_skip()
    graph = tf.Graph()
    with graph.as_default():
        v = tf.Variable(np.ones((1024, 1024), np.float32), name="big")
        y = tf.reduce_sum(v * 2.0)
        init = tf.global_variables_initializer()
    pool = cupy.get_default_memory_pool()
    with tf.Session(graph=graph, backend="cupy") as sess:  # the backend's one-time state, held for the
        sess.run(init)  # process's life, is not a leak: its kernel tables and the 32 MiB cuBLAS workspace
    gc.collect()
    before = pool.used_bytes()
    for _ in range(50):  # 200 MiB if nothing were freed
        with tf.Session(graph=graph, backend="cupy") as sess:
            sess.run(init)
            assert sess.run(y) == 2 * 1024 * 1024
    gc.collect()
    held = pool.used_bytes() - before
    assert held < 16 * 2 ** 20, f"{held} bytes of device memory still used after closing 50 sessions"
