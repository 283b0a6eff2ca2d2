"""tf.contrib.layers.batch_norm against a float64 NumPy batch norm: variables and collections, the moving
averages (in UPDATE_OPS, or in place with updates_collections=None), is_training as a bool or a bool
placeholder, NCHW, and the gradient against finite differences."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import assert_close

bn = tf.contrib.layers.batch_norm


def _x(shape=(6, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 2 + 1


def _normalise(x, mean, var, eps=1e-3, gamma=1.0, beta=0.0):
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_variables_collections_and_defaults():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        bn(x)
        bn(x, scale=True, scope="named")
        names = [v.name for v in tf.global_variables()]
        assert names == ["BatchNorm/beta:0", "BatchNorm/moving_mean:0", "BatchNorm/moving_variance:0",
                         "named/gamma:0", "named/beta:0", "named/moving_mean:0", "named/moving_variance:0"]
        assert {v.name for v in tf.trainable_variables()} == {"BatchNorm/beta:0", "named/gamma:0", "named/beta:0"}
        assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 4
        with tf.variable_scope("named", reuse=True):
            assert tf.get_variable("moving_mean").name == "named/moving_mean:0"
        bn(x, scale=True, scope="named", reuse=True)
        assert len(tf.global_variables()) == 7


def test_training_uses_batch_statistics_and_update_ops_move_the_averages(backend):
    x = _x()
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        xp = tf.placeholder(tf.float32, [None, 4])
        y = bn(xp, decay=0.9, scale=True, param_initializers={"gamma": tf.constant_initializer(2.0),
                                                                "beta": tf.constant_initializer(0.5)})
        updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        s.run(tf.global_variables_initializer())
        got = s.run(y, {xp: x})
        assert_close(got, _normalise(x.astype(np.float64), x.mean(0), x.var(0), gamma=2.0, beta=0.5), "float32")
        mm, mv = np.zeros(4), np.ones(4)
        for step in range(3):
            batch = _x(seed=step + 1)
            s.run(updates, {xp: batch})
            mm = 0.9 * mm + 0.1 * batch.mean(0)
            mv = 0.9 * mv + 0.1 * batch.var(0)
        assert_close(s.run("BatchNorm/moving_mean:0"), mm, "float32")
        assert_close(s.run("BatchNorm/moving_variance:0"), mv, "float32")
        s.run(y, {xp: x})  # the output alone does not update
        assert_close(s.run("BatchNorm/moving_mean:0"), mm, "float32")


def test_updates_collections_none_updates_in_place(backend):
    x = _x((5, 3, 2, 3))
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        y = bn(tf.constant(x), decay=0.8, updates_collections=None)
        assert tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []
        s.run(tf.global_variables_initializer())
        got = s.run(y)
        s.run(y)
        mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
        assert_close(got, _normalise(x.astype(np.float64), mean, var), "float32")
        assert_close(s.run("BatchNorm/moving_mean:0"), mean * (1 - 0.8 ** 2), "float32")
        assert_close(s.run("BatchNorm/moving_variance:0"), 0.8 ** 2 + var * (1 - 0.8 ** 2), "float32")


def test_is_training_placeholder_and_custom_collection(backend):
    x = _x()
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        xp, training = tf.placeholder(tf.float32, [None, 4]), tf.placeholder(tf.bool, [])
        y = bn(xp, decay=0.5, is_training=training, updates_collections=None)
        z = bn(xp, is_training=training, updates_collections="my_updates", scope="other")
        assert len(tf.get_collection("my_updates")) == 2 and tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []
        s.run(tf.global_variables_initializer())
        inference = s.run(y, {xp: x, training: False})  # the initial averages: mean 0, variance 1
        assert_close(inference, _normalise(x.astype(np.float64), 0.0, 1.0), "float32")
        assert_close(s.run("BatchNorm/moving_mean:0"), np.zeros(4), "float32")
        train = s.run(y, {xp: x, training: True})
        assert_close(train, _normalise(x.astype(np.float64), x.mean(0), x.var(0)), "float32")
        assert_close(s.run("BatchNorm/moving_mean:0"), 0.5 * x.mean(0), "float32")
        s.run(z, {xp: x, training: True})
        assert_close(s.run("other/moving_mean:0"), np.zeros(4), "float32")


def test_inference_and_nchw_and_activation():
    x = _x((2, 3, 4, 4))
    with tf.Graph().as_default(), tf.Session() as s:
        y = bn(tf.constant(x), is_training=False, data_format="NCHW", activation_fn=tf.nn.relu, center=False)
        assert [v.name for v in tf.global_variables()] == ["BatchNorm/moving_mean:0", "BatchNorm/moving_variance:0"]
        assert tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []
        s.run(tf.global_variables_initializer())
        mean, var = np.array([1.0, -1.0, 0.5]), np.array([4.0, 0.25, 1.0])
        tf.get_default_graph().get_collection(tf.GraphKeys.GLOBAL_VARIABLES)[0].load(mean, s)
        tf.get_default_graph().get_collection(tf.GraphKeys.GLOBAL_VARIABLES)[1].load(var, s)
        got = s.run(y)
    want = np.maximum(_normalise(x.astype(np.float64), mean.reshape(1, 3, 1, 1), var.reshape(1, 3, 1, 1)), 0)
    assert_close(got, want, "float32")


def test_gradient_against_finite_differences():
    x0 = np.random.default_rng(3).standard_normal((5, 3))
    w = np.random.default_rng(4).uniform(0.5, 1.5, (5, 3))
    with tf.Graph().as_default(), tf.Session() as s:
        x = tf.placeholder(tf.float64, [5, 3])
        loss = tf.reduce_sum(bn(x, scale=True) * w)
        grads = tf.gradients(loss, [x] + tf.trainable_variables())
        s.run(tf.global_variables_initializer())
        got = s.run(grads, {x: x0})
        eps, numeric = 1e-6, np.zeros_like(x0)
        for i in np.ndindex(*x0.shape):
            hi, lo = x0.copy(), x0.copy()
            hi[i] += eps
            lo[i] -= eps
            numeric[i] = (s.run(loss, {x: hi}) - s.run(loss, {x: lo})) / (2 * eps)
    np.testing.assert_allclose(got[0], numeric, rtol=1e-5, atol=1e-6)
    xhat = _normalise(x0, x0.mean(0), x0.var(0))
    np.testing.assert_allclose(got[1], (xhat * w).sum(0), rtol=1e-6)  # gamma
    np.testing.assert_allclose(got[2], w.sum(0), rtol=1e-6)  # beta


def test_bad_arguments_are_named():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        with pytest.raises(ValueError, match="unknown parameter names.*'mean'"):
            bn(x, param_initializers={"mean": tf.zeros_initializer()})
        with pytest.raises(TypeError, match="bool tensor.*int32"):
            bn(x, is_training=tf.placeholder(tf.int32, []))
        with pytest.raises(NotImplementedError, match="renorm"):
            bn(x, renorm=True)
        with pytest.raises(Exception, match="needs a known size"):
            bn(tf.placeholder(tf.float32, [2, None]))
