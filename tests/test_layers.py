"""nnplug.layers (dense, dropout, flatten) and nnplug.initializers, checked against NumPy in float64."""
import math

import numpy as np
import pytest

import nnplug as tf
from nnplug import initializers, layers


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _init_and_run(fetches, feed=None):
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        return s.run(fetches, feed)


# -- dense ---------------------------------------------------------------------------------
def test_dense_names_shapes_and_values_match_numpy():
    x = tf.placeholder(tf.float32, (None, 4))
    h = layers.dense(x, 3, activation=tf.tanh, name="layer1")
    out = layers.dense(h, 2, name="layer2")
    names = [v.name for v in tf.global_variables()]
    assert names == ["layer1/kernel:0", "layer1/bias:0", "layer2/kernel:0", "layer2/bias:0"]
    assert [v.name for v in tf.trainable_variables()] == names
    assert tuple(out.shape) == (None, 2)
    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(4, 3)), rng.normal(size=3)
    w2, b2 = rng.normal(size=(3, 2)), rng.normal(size=2)
    xv = rng.normal(size=(5, 4))
    v = {n.name: n for n in tf.global_variables()}
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        for name, val in [("layer1/kernel:0", w1), ("layer1/bias:0", b1), ("layer2/kernel:0", w2),
                          ("layer2/bias:0", b2)]:
            v[name].load(val.astype(np.float32), s)
        got = s.run(out, {x: xv})
    expected = np.tanh(xv @ w1 + b1) @ w2 + b2
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_dense_default_names_are_unique_and_bias_starts_at_zero():
    x = tf.placeholder(tf.float32, (None, 3))
    layers.dense(x, 2)
    layers.dense(x, 2)
    names = [v.name for v in tf.global_variables()]
    assert names == ["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0"]
    bias = _init_and_run(tf.global_variables()[1])
    np.testing.assert_array_equal(bias, np.zeros(2, np.float32))


def test_dense_without_bias_and_custom_initializers():
    x = tf.placeholder(tf.float32, (None, 3))
    y = layers.dense(x, 2, use_bias=False, kernel_initializer=initializers.ones(), name="nb")
    assert [v.name for v in tf.global_variables()] == ["nb/kernel:0"]
    got = _init_and_run(y, {x: np.arange(6.0).reshape(2, 3)})
    np.testing.assert_allclose(got, [[3, 3], [12, 12]])
    z = layers.dense(x, 2, kernel_initializer="zeros", bias_initializer=tf.initializers.constant(0.5), name="c")
    np.testing.assert_allclose(_init_and_run(z, {x: np.ones((1, 3))}), [[0.5, 0.5]])


def test_dense_reuse_shares_variables_and_reports_misuse():
    x = tf.placeholder(tf.float32, (None, 3))
    a = layers.dense(x, 2, name="shared")
    b = layers.dense(x, 2, name="shared", reuse=True)
    assert len(tf.global_variables()) == 2
    va, vb = _init_and_run([a, b], {x: np.ones((2, 3))})
    np.testing.assert_array_equal(va, vb)
    with pytest.raises(ValueError, match="shared/kernel already exists"):
        layers.dense(x, 2, name="shared")
    with pytest.raises(ValueError, match="other/kernel does not exist"):
        layers.dense(x, 2, name="other", reuse=True)
    with pytest.raises(ValueError, match="shape"):
        layers.dense(x, 5, name="shared", reuse=True)
    c = layers.dense(x, 2, name="shared", reuse=tf.AUTO_REUSE)
    assert len(tf.global_variables()) == 2 and tuple(c.shape) == (None, 2)


def test_dense_rejects_bad_inputs_with_clear_errors():
    with pytest.raises(Exception, match="known last dimension"):
        layers.dense(tf.placeholder(tf.float32, (None, None)), 2, name="lay")
    with pytest.raises(Exception, match="rank >= 2"):
        layers.dense(tf.placeholder(tf.float32, (3,)), 2)
    with pytest.raises(TypeError, match="activation"):
        layers.dense(tf.placeholder(tf.float32, (None, 3)), 2, activation="tanh")
    with pytest.raises(ValueError, match="positive number of units"):
        layers.dense(tf.placeholder(tf.float32, (None, 3)), 0)


def test_dense_on_rank3_inputs_applies_along_last_axis():
    x = tf.placeholder(tf.float32, (None, 2, 3))
    y = layers.dense(x, 4, kernel_initializer=initializers.constant(0.1), name="seq")
    assert tuple(y.shape) == (None, 2, 4)
    xv = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_allclose(_init_and_run(y, {x: xv}), xv @ np.full((3, 4), 0.1), rtol=1e-6)


def test_dense_trains_with_gradient_descent():
    """A linear dense layer fitted by GD recovers the weights of a noiseless linear target."""
    rng = np.random.default_rng(1)
    xv = rng.normal(size=(64, 3)).astype(np.float32)
    w_true = np.array([[1.0], [-2.0], [0.5]], np.float32)
    yv = xv @ w_true + 0.3
    x = tf.placeholder(tf.float32, (None, 3))
    y = tf.placeholder(tf.float32, (None, 1))
    pred = layers.dense(x, 1, name="lin")
    loss = tf.losses.mean_squared_error(y, pred)
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        for _ in range(300):
            s.run(step, {x: xv, y: yv})
        kernel, bias = s.run(tf.global_variables())
    np.testing.assert_allclose(kernel, w_true, atol=1e-3)
    np.testing.assert_allclose(bias, [0.3], atol=1e-3)


# -- dropout -------------------------------------------------------------------------------
def test_dropout_python_bool():
    x = tf.placeholder(tf.float32, (None, 1000))
    xv = np.ones((4, 1000), np.float32)
    assert layers.dropout(x, 0.3, training=False) is x
    d = layers.dropout(x, 0.3, training=True, seed=1)
    got = _init_and_run(d, {x: xv})
    kept = got != 0
    np.testing.assert_allclose(got[kept], 1 / 0.7, rtol=1e-6)  # survivors are scaled up
    assert abs(kept.mean() - 0.7) < 0.03
    with pytest.raises(ValueError, match="rate"):
        layers.dropout(x, 1.0, training=True)


def test_dropout_training_placeholder_switches_at_run_time_and_gradient_follows_mask():
    x = tf.placeholder(tf.float32, (None, 500))
    training = tf.placeholder(tf.bool, ())
    d = layers.dropout(x, rate=0.5, training=training, seed=3)
    (g,) = tf.gradients(tf.reduce_sum(d * 2.0), [x])
    xv = np.full((2, 500), 3.0, np.float32)
    with tf.Session() as s:
        off = s.run(d, {x: xv, training: False})
        np.testing.assert_array_equal(off, xv)
        on, grad = s.run([d, g], {x: xv, training: True})
        kept = on != 0
        assert 0.4 < kept.mean() < 0.6
        np.testing.assert_allclose(on[kept], 6.0, rtol=1e-6)
        np.testing.assert_allclose(grad, np.where(kept, 4.0, 0.0), rtol=1e-6)  # same mask, d/dx = 2 * 2
        np.testing.assert_array_equal(s.run(g, {x: xv, training: False}), np.full_like(xv, 2.0))
    with pytest.raises(TypeError, match="bool"):
        layers.dropout(x, 0.5, training=tf.placeholder(tf.float32, ()))


# -- flatten -------------------------------------------------------------------------------
def test_flatten():
    x = tf.placeholder(tf.float32, (None, 2, 3, 4))
    f = layers.flatten(x)
    assert tuple(f.shape) == (None, 24)
    xv = np.arange(48.0).reshape(2, 2, 3, 4)
    np.testing.assert_array_equal(_init_and_run(f, {x: xv}), xv.reshape(2, 24))
    with pytest.raises(Exception, match="known"):
        layers.flatten(tf.placeholder(tf.float32, (None, None, 3)))


# -- initializers --------------------------------------------------------------------------
def _draw(init, shape):
    with tf.Session() as s:
        return s.run(init(shape, tf.float32)).astype(np.float64)


def test_glorot_uniform_limits_and_variance():
    fan_in, fan_out = 200, 300
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    w = _draw(initializers.glorot_uniform(seed=1), (fan_in, fan_out))
    assert w.shape == (fan_in, fan_out)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # fills the whole range
    assert abs(w.var() - limit ** 2 / 3) < 0.03 * limit ** 2 / 3
    assert abs(w.mean()) < 0.01 * limit


def test_he_normal_std_and_truncation():
    fan_in = 100
    std = math.sqrt(2.0 / fan_in)
    w = _draw(initializers.he_normal(seed=2), (fan_in, 500))
    assert abs(w.std() - std) < 0.02 * std
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-6  # truncated at two of its sigmas


def test_other_initializers_and_fans_for_conv_kernels():
    w = _draw(initializers.he_uniform(seed=3), (3, 3, 4, 8))  # fan_in = 3*3*4
    limit = math.sqrt(6.0 / 36)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    np.testing.assert_array_equal(_draw(initializers.zeros(), (2, 2)), np.zeros((2, 2)))
    np.testing.assert_array_equal(_draw(initializers.ones(), (3,)), np.ones(3))
    np.testing.assert_array_equal(_draw(initializers.constant(2.5), (2,)), [2.5, 2.5])
    n = _draw(initializers.random_normal(mean=1.0, stddev=0.5, seed=4), (200, 100))
    assert abs(n.mean() - 1.0) < 0.01 and abs(n.std() - 0.5) < 0.01
    u = _draw(initializers.random_uniform(-0.2, 0.4, seed=5), (200, 100))
    assert u.min() >= -0.2 and u.max() < 0.4 and abs(u.mean() - 0.1) < 0.01
    t = _draw(initializers.truncated_normal(stddev=1.0, seed=6), (200, 100))
    assert np.abs(t).max() <= 2.0


def test_seeded_initializers_repeat():
    a = _draw(initializers.glorot_uniform(seed=7), (5, 5))
    b = _draw(initializers.glorot_uniform(seed=7), (5, 5))
    np.testing.assert_array_equal(a, b)


def test_initializers_get_by_name_class_and_object():
    assert isinstance(initializers.get("glorot_uniform"), initializers.VarianceScaling)
    assert initializers.get("Glorot_Uniform").distribution == "uniform"
    assert isinstance(initializers.get(initializers.Zeros), initializers.Zeros)
    obj = initializers.he_normal()
    assert initializers.get(obj) is obj
    assert initializers.get(None) is None
    with pytest.raises(ValueError) as err:
        initializers.get("glorot_unifrom")
    msg = str(err.value)
    assert "glorot_unifrom" in msg and "did you mean 'glorot_uniform'" in msg
    for name in ("he_normal", "zeros", "random_uniform", "truncated_normal"):
        assert name in msg  # lists the valid names
    with pytest.raises(ValueError, match="initializer"):
        initializers.get(42)


def test_activations_example_values_and_pictures(tmp_path):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "activations.py"
    spec = importlib.util.spec_from_file_location("example_activations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    zs, values, p = module.compute()
    z = np.array([1.78, 0.76, 1.65])
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(), rtol=1e-6)  # the chapter: [0.447 0.161 0.392]
    zz = zs.astype(np.float64)
    np.testing.assert_allclose(values["logistic"], 1 / (1 + np.exp(-zz)), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(values["tanh"], np.tanh(zz), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(values["ReLU"], np.maximum(zs, 0))
    pytest.importorskip("matplotlib")
    module.main(["--out", str(tmp_path)])
    for name in ("activations.png", "softmax.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
