"""Optimizers against hand-computed NumPy updates (TF1's formulas), the global step, and Saver round trips."""
import os

import numpy as np
import pytest

import nnplug as tf

A = np.array([0.5, 1.0, 2.0])  # loss = sum(A * w^2 + w): gradient 2*A*w + 1
W0 = np.array([1.0, -2.0, 0.5])
STEPS = 5


def grad(w):
    return 2 * A * w + 1


def np_gd(lr):
    w = W0.copy()
    for _ in range(STEPS):
        w = w - lr * grad(w)
    return w


def np_momentum(lr, m, nesterov):
    w, acc = W0.copy(), np.zeros(3)
    for _ in range(STEPS):
        g = grad(w)
        acc = m * acc + g
        w = w - lr * (g + m * acc if nesterov else acc)
    return w


def np_adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    for t in range(1, STEPS + 1):
        g = grad(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return w


def np_rmsprop(lr, decay=0.9, momentum=0.0, eps=1e-10):
    w, ms, mom = W0.copy(), np.ones(3), np.zeros(3)  # TF1 starts the mean square at one
    for _ in range(STEPS):
        g = grad(w)
        ms = decay * ms + (1 - decay) * g * g
        mom = momentum * mom + lr * g / np.sqrt(ms + eps)
        w = w - mom
    return w


def np_adagrad(lr, init=0.1):
    w, acc = W0.copy(), np.full(3, init)
    for _ in range(STEPS):
        g = grad(w)
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc)
    return w


CASES = {
    "gd": (lambda: tf.train.GradientDescentOptimizer(0.1), np_gd(0.1)),
    "momentum": (lambda: tf.train.MomentumOptimizer(0.05, 0.9), np_momentum(0.05, 0.9, False)),
    "nesterov": (lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True), np_momentum(0.05, 0.9, True)),
    "adam": (lambda: tf.train.AdamOptimizer(0.1), np_adam(0.1)),
    "adam-betas": (lambda: tf.train.AdamOptimizer(0.05, beta1=0.5, beta2=0.9, epsilon=1e-3),
                   np_adam(0.05, 0.5, 0.9, 1e-3)),
    "rmsprop": (lambda: tf.train.RMSPropOptimizer(0.01), np_rmsprop(0.01)),
    "rmsprop-momentum": (lambda: tf.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5),
                         np_rmsprop(0.01, 0.8, 0.5)),
    "adagrad": (lambda: tf.train.AdagradOptimizer(0.3), np_adagrad(0.3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_optimizer_matches_hand_computed_updates(name, dtype):
    make_opt, want = CASES[name]
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(W0.astype(dtype), name="w")
        loss = tf.reduce_sum(tf.constant(A.astype(dtype)) * w * w + w)
        step = tf.train.create_global_step()
        train = make_opt().minimize(loss, global_step=step)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for _ in range(STEPS):
                s.run(train)
            got, n = s.run([w, step])
    assert got.dtype == np.dtype(dtype)
    # float32: beta2=0.999 itself is off by 1e-8, so 1 - beta2**t (and Adam's step) is off by ~1e-5 relative
    tol = {"rtol": 1e-12, "atol": 0} if dtype == "float64" else {"rtol": 1e-4, "atol": 2e-5}
    np.testing.assert_allclose(got, want, **tol)
    assert n == STEPS and tf.train.get_global_step(g) is step


def test_var_list_and_compute_apply_gradients():
    g = tf.Graph()
    with g.as_default():
        a = tf.Variable(1.0, dtype=tf.float64, name="a")
        b = tf.Variable(1.0, dtype=tf.float64, name="b")
        loss = a * a + 3.0 * b
        opt = tf.train.GradientDescentOptimizer(0.5)
        pairs = opt.compute_gradients(loss, var_list=[b])
        assert [v for _, v in pairs] == [b]
        train = opt.apply_gradients(pairs)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            s.run(train)
            assert s.run(a) == 1.0 and s.run(b) == pytest.approx(1.0 - 0.5 * 3.0)
        with pytest.raises(ValueError, match="no gradients.*'?c:0"):
            c = tf.Variable(0.0, name="c")
            opt.minimize(a * 2.0, var_list=[c])


def test_learning_rate_may_be_a_tensor():
    g = tf.Graph()
    with g.as_default():
        lr = tf.placeholder(tf.float32, ())
        w = tf.Variable(2.0)
        train = tf.train.GradientDescentOptimizer(lr).minimize(w * w)
        with tf.Session() as s:
            s.run(w.initializer)
            s.run(train, {lr: 0.25})  # w -= 0.25 * 2w
            assert s.run(w) == pytest.approx(1.0)
            s.run(train, {lr: 0.0})
            assert s.run(w) == pytest.approx(1.0)


# -- Saver ---------------------------------------------------------------------------------
def _model():
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    b = tf.Variable(np.float64(0.5), name="b")
    return w, b


def test_saver_round_trip(tmp_path):
    g = tf.Graph()
    with g.as_default():
        w, b = _model()
        saver = tf.train.Saver()
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            s.run([w.assign(w * 2.0), b.assign(3.25)])
            path = saver.save(s, str(tmp_path / "model"))
        assert os.path.exists(path + ".npz")
        assert tf.train.latest_checkpoint(str(tmp_path)) == path
        with tf.Session() as s2:
            saver.restore(s2, path)
            np.testing.assert_array_equal(s2.run(w), np.arange(6).reshape(2, 3) * 2.0)
            assert s2.run(b) == 3.25 and s2.run(b).dtype == np.float64
    with np.load(path + ".npz", allow_pickle=False) as data:  # plain data, readable without pickle
        assert any("w" in k for k in data.files)


def test_restore_into_a_fresh_graph_by_name(tmp_path):
    g1 = tf.Graph()
    with g1.as_default():
        w, b = _model()
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            s.run(w.assign_add(tf.ones((2, 3))))
            path = tf.train.Saver().save(s, str(tmp_path / "ckpt"), global_step=7)
    assert path.endswith("-7")  # the TF1 prefix
    g2 = tf.Graph()
    with g2.as_default():
        w2, _ = _model()
        with tf.Session() as s:
            tf.train.Saver().restore(s, path)
            np.testing.assert_array_equal(s.run(w2), np.arange(6).reshape(2, 3) + 1.0)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "missing"])
def test_bad_checkpoint_leaves_variables_unchanged(tmp_path, damage):
    g = tf.Graph()
    with g.as_default():
        w, b = _model()
        saver = tf.train.Saver()
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            good = saver.save(s, str(tmp_path / "good")) + ".npz"
            bad = str(tmp_path / "bad.npz")
            raw = open(good, "rb").read()
            if damage == "truncated":
                open(bad, "wb").write(raw[: len(raw) // 2])
            elif damage == "garbage":
                open(bad, "wb").write(b"not a checkpoint at all" * 10)
            elif damage == "empty":
                open(bad, "wb").write(b"")
            s.run([w.assign(tf.zeros((2, 3))), b.assign(-1.0)])
            with pytest.raises((ValueError, OSError)) as e:
                saver.restore(s, bad)
            assert "bad" in str(e.value)  # names the file
            np.testing.assert_array_equal(s.run(w), np.zeros((2, 3)))
            assert s.run(b) == -1.0


def test_checkpoint_with_wrong_shape_changes_nothing(tmp_path):
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.zeros((2, 3), np.float32), name="w")
        b = tf.Variable(np.float64(0.5), name="b")
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            path = tf.train.Saver().save(s, str(tmp_path / "m"))
    g2 = tf.Graph()
    with g2.as_default():
        w = tf.Variable(np.ones((3, 2), np.float32), name="w")
        b = tf.Variable(np.float64(9.0), name="b")
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            with pytest.raises(ValueError, match=r"'w:0'.*\(2, 3\).*\(3, 2\)"):
                tf.train.Saver().restore(s, path)
            assert s.run(b) == 9.0  # checked before anything was loaded
