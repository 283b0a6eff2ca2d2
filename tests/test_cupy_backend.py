"""The CuPy backend against the numpy backend (float64 references where it matters).

Skips, with the reason printed by `pytest -ra`, where CuPy or a CUDA device is missing.
"""
import numpy as np
import pytest

import nnplug as tf
from nnplug import plugins

_cls = plugins.backend_classes().get("cupy", (None,))[0]
if _cls is None:
    pytest.skip("the cupy backend plugin is not installed (pip install -e .)", allow_module_level=True)
_ok, _why = _cls.is_available()
if not _ok:
    pytest.skip(f"cupy backend unavailable: {_why}", allow_module_level=True)

import cupy  # noqa: E402


def run_both(build, feeds_np, fetch_grads=True):
    """Build the graph twice, run on numpy (float64 inputs) and on cupy; return both results."""
    out = {}
    for name in ("numpy", "cupy"):
        g = tf.Graph()
        with g.as_default():
            fetches = build()
            feeds = {g.get_tensor_by_name(k): v for k, v in feeds_np.items()}
            with tf.Session(backend=name) as s:
                s.run(tf.global_variables_initializer())
                out[name] = s.run(fetches, feeds)
    return out["numpy"], out["cupy"]


def close(a, b, tol):
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(y, np.float64), np.asarray(x, np.float64), rtol=tol, atol=tol)


rs = np.random.RandomState(0)
X = rs.randn(7, 10)
Y = rs.randint(0, 10, 7)
W = rs.randn(10, 4)


@pytest.mark.parametrize("dtype,tol", [(tf.float64, 1e-12), (tf.float32, 2e-5)])
def test_elementwise_reductions_and_grads(dtype, tol):
    def build():
        x = tf.placeholder(dtype, [None, 10], name="x")
        w = tf.constant(W, dtype=dtype)
        h = tf.matmul(x, w)
        ys = [tf.tanh(h), tf.sigmoid(h), tf.nn.relu(h), tf.exp(-tf.square(h)), tf.reduce_sum(h, 0),
              tf.reduce_max(h, 1), tf.reduce_mean(h), tf.transpose(h), tf.concat([h, x], 1)[:, 2:9:2],
              tf.gather(h, [0, 2, 2], axis=0), tf.matmul(h, x, transpose_a=True)]
        loss = tf.add_n([tf.reduce_sum(y) for y in ys[:4]]) + tf.reduce_sum(tf.gather(h, [1, 1, 3]))
        return ys + tf.gradients(loss, [x])
    ref, got = run_both(build, {"x:0": X.astype(dtype.np)})
    close(ref, got, tol)


@pytest.mark.parametrize("dtype,tol", [(tf.float64, 1e-12), (tf.float32, 2e-5)])
def test_fused_softmax_family_matches_numpy(dtype, tol):
    def build():
        x = tf.placeholder(dtype, [None, 10], name="x")
        y = tf.placeholder(tf.int32, [None], name="y")
        sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
        dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, 10, dtype=dtype) * 0.7 + 0.03,
                                                           logits=x)
        return [tf.nn.softmax(x), tf.nn.log_softmax(x), sparse, dense,
                tf.gradients(tf.reduce_sum(sparse), x)[0], tf.gradients(tf.reduce_sum(dense), x)[0]]
    ref, got = run_both(build, {"x:0": X.astype(dtype.np), "y:0": Y.astype(np.int32)})
    close(ref, got, tol)
    p = np.exp(X - X.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)  # independent float64 reference for the softmax
    np.testing.assert_allclose(got[0], p, rtol=tol, atol=tol)


def test_out_of_range_sparse_label_gives_nan_without_sync():
    x = tf.placeholder(tf.float32, [None, 4])
    y = tf.placeholder(tf.int64, [None])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
    with tf.Session(backend="cupy") as s:
        out = s.run(loss, {x: np.zeros((3, 4), np.float32), y: np.array([0, 4, -1])})
    assert out[0] == pytest.approx(np.log(4)) and np.isnan(out[1]) and np.isnan(out[2])


def mlp(backend, steps=5):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, [None, 20])
        y = tf.placeholder(tf.int32, [None])
        w1 = tf.Variable(np.random.RandomState(1).randn(20, 16).astype(np.float32) * 0.3)
        b1 = tf.Variable(tf.zeros([16]))
        w2 = tf.Variable(np.random.RandomState(2).randn(16, 5).astype(np.float32) * 0.3)
        logits = tf.matmul(tf.tanh(tf.matmul(x, w1) + b1), w2)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        step = tf.train.AdamOptimizer(0.05).minimize(loss)
        data = np.random.RandomState(0)
        X, Y = data.randn(32, 20).astype(np.float32), data.randint(0, 5, 32)
        with tf.Session(backend=backend) as s:
            s.run(tf.global_variables_initializer())
            losses = [s.run([loss, step], {x: X, y: Y})[0] for _ in range(steps)]
            return np.array(losses), s.run(w1), s, (step, {x: X, y: Y})


def test_mlp_training_steps_match_numpy():
    ref, w_ref, _, _ = mlp("numpy")
    got, w_got, _, _ = mlp("cupy")
    np.testing.assert_allclose(got, ref, rtol=1e-4)
    np.testing.assert_allclose(w_got, w_ref, rtol=1e-3, atol=1e-4)
    assert got[-1] < got[0]


def test_training_step_never_waits_for_the_device():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 20])
        y = tf.placeholder(tf.int32, [None])
        w = tf.Variable(np.ones((20, 5), np.float32) * 0.1)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=tf.matmul(x, w)))
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session(backend="cupy") as s:
            s.run(tf.global_variables_initializer())
            feed = {x: np.ones((8, 20), np.float32), y: np.arange(8) % 5}
            plan = s.plan_for([loss, step], feed)
            args = [s.backend.to_device(v) for v in feed.values()]
            import cupyx
            if not hasattr(cupyx, "allow_synchronize"):
                pytest.skip("this CuPy has no cupyx.allow_synchronize to detect host syncs")
            with cupyx.allow_synchronize(False):  # raises DeviceSynchronized on any host sync
                for _ in range(3):
                    out = plan.fn(s._values, *args)
            assert isinstance(out[0], cupy.ndarray)


def test_random_ops_same_seed_same_numbers_on_device():
    def draw():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(7)
            ops = [tf.random_normal([1000], seed=1), tf.random_uniform([1000], seed=2),
                   tf.truncated_normal([20000], seed=3)]
            with tf.Session(backend="cupy") as s:
                return s.run(ops)
    a, b = draw(), draw()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    normal, uniform, trunc = a
    assert abs(normal.mean()) < 0.15 and 0.85 < normal.std() < 1.15
    assert uniform.min() >= 0 and uniform.max() < 1
    assert np.abs(trunc).max() <= 2 and 0.83 < trunc.std() < 0.93  # std of N(0,1) cut at 2 sigma: 0.880


def test_device_index_and_aliases():
    assert plugins.get_backend("gpu") is plugins.get_backend("cupy")
    assert plugins.get_backend("cuda:0").index == 0
    with pytest.raises(tf.errors.BackendError, match="CUDA device 99 does not exist"):
        plugins.get_backend("cuda:99")
