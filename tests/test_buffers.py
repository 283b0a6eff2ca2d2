"""Static buffer planning (numpy backend): after its first run a training step allocates nothing in
proportion to its tensors, temporaries share buffers by liveness, and no planned buffer or in-place write
ever reaches the caller's arrays, a constant, or a variable it should not."""
import threading
import tracemalloc

import numpy as np
import pytest

import nnplug as tf


def _mlp(sizes, batch, optimizer, seed=0):
    rng = np.random.default_rng(seed)
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(seed)  # the same initial weights in every session
        x = tf.placeholder(tf.float32, (None, sizes[0]), name="x")
        y = tf.placeholder(tf.int32, (None,), name="y")
        h = x
        for i, units in enumerate(sizes[1:]):
            last = i == len(sizes) - 2
            h = tf.layers.dense(h, units, activation=None if last else tf.tanh, name=f"d{i}")
        loss = tf.losses.softmax_cross_entropy(tf.one_hot(y, sizes[-1]), h)
        train = optimizer.minimize(loss)
        init = tf.global_variables_initializer()
    xb = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    yb = rng.integers(0, sizes[-1], batch).astype(np.int32)
    return g, {x: xb, y: yb}, train, loss, init, h


def _peak_growth(fn):
    """Bytes a call allocates at its peak beyond what was live before (NumPy reports its buffers)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("optimizer", [lambda: tf.train.MomentumOptimizer(0.01, 0.9),
                                       lambda: tf.train.AdamOptimizer(1e-3)], ids=["momentum", "adam"])
def test_training_step_allocates_nothing_after_its_first_run(optimizer):
    g, feed, train, loss, init, _ = _mlp((300, 256, 256, 10), 128, optimizer())
    with tf.Session(graph=g, backend="numpy") as sess:
        sess.run(init)
        sess.run(train, feed)
        sess.run(train, feed)
        plan = sess.plan_for(train, feed)
        planned = sum(b.nbytes for b in plan.buffers.values())
        assert planned > 500_000  # the hidden activations and gradients: 128 x 256 float32 each, and W grads
        grown = _peak_growth(lambda: sess.run(train, feed))
    # what remains is NumPy's own iteration buffers (at most 8192 elements, e.g. in a broadcast bias add),
    # scalars and the cross-entropy's 128 x 10 rows: ~35 KB; without planning it is ~2 MB (3 MB with Adam)
    assert grown < 100_000, f"a training step allocated {grown} bytes at its peak after its first run"


def test_temporaries_share_buffers_by_liveness():
    g, feed, train, _, init, _ = _mlp((20, 16, 16, 16, 4), 8, tf.train.GradientDescentOptimizer(0.1))
    with tf.Session(graph=g, backend="numpy") as sess:
        plan = sess.plan_for(train, feed)
    uses = [line.split("out=")[1].split(")")[0] for line in plan.source.splitlines() if "out=b" in line]
    assert len(uses) > len(plan.buffers) >= 2, plan.source  # some buffer serves two temporaries in turn
    assert len(set(uses)) == len(plan.buffers)


def test_planned_training_matches_a_float64_reference():
    """Three steps of plain GD on a 2-layer tanh net, against the same arithmetic in float64 NumPy."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 6))
    t = rng.standard_normal((16, 3))
    w1, w2 = rng.standard_normal((6, 5)) * 0.5, rng.standard_normal((5, 3)) * 0.5
    g = tf.Graph()
    with g.as_default():
        xp = tf.placeholder(tf.float64, (None, 6))
        tp = tf.placeholder(tf.float64, (None, 3))
        v1, v2 = tf.Variable(w1), tf.Variable(w2)
        h = tf.tanh(tf.matmul(xp, v1))
        loss = tf.reduce_mean(tf.reduce_sum(tf.square(tf.matmul(h, v2) - tp), axis=1))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = tf.global_variables_initializer()
    with tf.Session(graph=g, backend="numpy") as sess:
        sess.run(init)
        for _ in range(3):
            sess.run(train, {xp: x, tp: t})
            hr = np.tanh(x @ w1)
            d = 2 * (hr @ w2 - t) / len(x)
            gw2 = hr.T @ d
            gw1 = x.T @ ((d @ w2.T) * (1 - hr * hr))
            w1, w2 = w1 - 0.1 * gw1, w2 - 0.1 * gw2
        got1, got2 = sess.run([v1, v2])
        assert sess.plan_for(train, {xp: x, tp: t}).buffers
    np.testing.assert_allclose(got1, w1, rtol=1e-12)
    np.testing.assert_allclose(got2, w2, rtol=1e-12)


def test_fetched_values_are_never_planned_buffers():
    """Results a caller holds stay as they were when later runs reuse the plan's buffers."""
    g, feed, _, _, init, logits = _mlp((12, 8, 4), 5, tf.train.GradientDescentOptimizer(0.1))
    x = next(t for t in feed if t.name.startswith("x"))
    with g.as_default():
        hidden = g.get_tensor_by_name("d0/Tanh:0")
        both = [hidden, tf.nn.softmax(logits)]
    with tf.Session(graph=g, backend="numpy") as sess:
        sess.run(init)
        first = sess.run(both, {x: feed[x]})
        kept = [a.copy() for a in first]
        for scale in (2.0, -3.0):
            sess.run(both, {x: feed[x] * scale})
        for a, b in zip(first, kept):
            np.testing.assert_array_equal(a, b)
        plan = sess.plan_for(both, {x: feed[x]})
        assert plan.buffers and all(not any(a is b for b in plan.buffers.values()) for a in first)


def test_threads_running_one_planned_plan_get_their_own_results():
    g, feed, _, _, init, logits = _mlp((32, 64, 10), 16, tf.train.GradientDescentOptimizer(0.1))
    x = next(t for t in feed if t.name.startswith("x"))
    with g.as_default():
        probs = tf.nn.softmax(logits)
    inputs = [feed[x] * s for s in np.linspace(-2, 2, 8, dtype=np.float32)]
    with tf.Session(graph=g, backend="numpy") as sess:
        sess.run(init)
        expected = [sess.run(probs, {x: a}) for a in inputs]
        assert sess.plan_for(probs, {x: inputs[0]}).lock is not None
        errors = []

        def worker(k):
            for _ in range(50):
                i = (k + _) % len(inputs)
                if not np.array_equal(sess.run(probs, {x: inputs[i]}), expected[i]):
                    errors.append(i)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors


def test_training_plans_of_one_session_share_their_buffer_memory(monkeypatch):
    """An epoch's full and short last batch compile two training plans; they run one at a time under the
    session lock, so the short one's temporaries live in the full one's memory, and training is unchanged."""
    g, feed, train, _, init, _ = _mlp((40, 32, 32, 5), 16, tf.train.MomentumOptimizer(0.1, 0.9))
    short = {t: a[:11] for t, a in feed.items()}
    with g.as_default():
        weights = tf.trainable_variables()

    def train_twice(sess):
        sess.run(init)
        for _ in range(3):
            sess.run(train, feed)
            sess.run(train, short)
        return sess.run(weights)

    with tf.Session(graph=g, backend="numpy") as sess:
        got = train_twice(sess)
        plans = [p for p in sess._plans.values() if p.buffers]
        assert len(plans) == 2
        full, part = sorted(plans, key=lambda p: -sum(b.nbytes for b in p.buffers.values()))
        blocks = {id(b.base): b.base for p in plans for b in p.buffers.values()}
        assert sum(b.nbytes for b in blocks.values()) == sum(b.nbytes for b in full.buffers.values())
        assert all(any(np.shares_memory(b, f) for f in full.buffers.values()) for b in part.buffers.values())
    monkeypatch.setattr(type(tf.get_backend("numpy")), "out_ops", frozenset())  # no planning at all
    with tf.Session(graph=g, backend="numpy") as plain:
        want = train_twice(plain)
        assert not any(p.buffers for p in plain._plans.values())
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_backend_without_copy_never_updates_an_assigned_constant_in_place():
    """Without a Copy kernel, `Assign(v, constant)` stores the constant's own buffer (and `Assign(v, feed)`
    the caller's array): in-place optimizer-style updates would then write into them."""
    from nnplug_numpy.backend import NumpyBackend
    from nnplug_numpy.kernels import KERNELS

    class NoCopyNumpy(NumpyBackend):
        name = "numpy-without-copy"
        kernels = {k: f for k, f in KERNELS.items() if k != "Copy"}

    g = tf.Graph()
    with g.as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        x = tf.placeholder(tf.float32, (2,), name="x")
        step = tf.assign_add(v, x)
        load = tf.assign(v, x)
        init = tf.global_variables_initializer()
    fed = np.array([5.0, 5.0], np.float32)
    with tf.Session(graph=g, backend=NoCopyNumpy()) as sess:
        for _ in range(2):
            sess.run(init)
            sess.run(step, {x: np.ones(2, np.float32)})
            np.testing.assert_array_equal(sess.run(v), [2.0, 3.0])  # re-initialised from an intact constant
        sess.run(load, {x: fed})
        sess.run(step, {x: np.ones(2, np.float32)})
        np.testing.assert_array_equal(fed, [5.0, 5.0])  # the caller's array is left alone
        np.testing.assert_array_equal(sess.run(v), [6.0, 6.0])
