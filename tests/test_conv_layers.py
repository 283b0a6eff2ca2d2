"""nnplug.layers' convolution, pooling and batch-normalisation layers (and the dropout training flag), against
float64 NumPy references: variable names and shapes as TF1 makes them, values, TF1's transposed-convolution
output sizes, and batch normalisation's moving averages updated through GraphKeys.UPDATE_OPS."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import layers
from nnplug.testing.conformance_conv import ref_conv2d, ref_pool


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _variables():
    return {v.name: v for v in tf.global_variables()}


def _load(sess, values):
    for var, value in values.items():
        var.load(np.asarray(value, np.float32), sess)


# -- conv2d / pooling ---------------------------------------------------------------------------
def test_conv2d_layer_names_shapes_and_values():
    x = tf.placeholder(tf.float32, (None, 9, 8, 3))
    y = layers.conv2d(x, 4, (3, 2), strides=(2, 1), padding="same", activation=tf.nn.relu, name="c1")
    z = layers.conv2d(y, 2, 3, dilation_rate=2)
    v = _variables()
    assert list(v) == ["c1/kernel:0", "c1/bias:0", "conv2d/kernel:0", "conv2d/bias:0"]
    assert tuple(v["c1/kernel:0"].shape) == (3, 2, 3, 4) and tuple(v["conv2d/kernel:0"].shape) == (3, 3, 4, 2)
    assert tuple(y.shape) == (None, 5, 8, 4) and tuple(z.shape) == (None, 1, 4, 2)
    rng = np.random.default_rng(0)
    vals = {v[n]: rng.normal(size=v[n].shape) for n in v}
    xv = rng.normal(size=(2, 9, 8, 3))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        _load(s, vals)
        got_y, got_z = s.run([y, z], {x: xv})
    w1, b1, w2, b2 = (vals[v[n]] for n in v)
    want_y = np.maximum(ref_conv2d(xv, w1, (2, 1), "SAME") + b1, 0)
    np.testing.assert_allclose(got_y, want_y, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got_z, ref_conv2d(want_y, w2, (1, 1), "VALID", (2, 2)) + b2, rtol=1e-4, atol=1e-4)


def test_conv2d_channels_first_and_reuse():
    x = tf.placeholder(tf.float32, (None, 3, 6, 6))
    a = layers.conv2d(x, 2, 3, padding="same", data_format="channels_first", name="shared")
    b = layers.conv2d(x, 2, 3, padding="same", data_format="channels_first", name="shared", reuse=True)
    assert len(tf.global_variables()) == 2 and tuple(a.shape) == (None, 2, 6, 6)
    xv = np.random.default_rng(1).normal(size=(2, 3, 6, 6)).astype(np.float32)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        w, bias, ga, gb = s.run(tf.global_variables() + [a, b], {x: xv})
    want = ref_conv2d(xv.transpose(0, 2, 3, 1), w, (1, 1), "SAME").transpose(0, 3, 1, 2) + bias[:, None, None]
    np.testing.assert_allclose(ga, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("padding,size,stride,k,want", [("valid", 5, 2, 3, 11), ("same", 5, 2, 3, 10),
                                                         ("valid", 4, 1, 3, 6), ("valid", 4, 3, 2, 12)])
def test_conv2d_transpose_layer_output_size_and_adjoint(padding, size, stride, k, want):
    """TF1: 'valid' gives in*stride + max(k - stride, 0), 'same' in*stride; the layer is conv2d's adjoint."""
    x = tf.placeholder(tf.float32, (None, size, size, 3))
    y = layers.conv2d_transpose(x, 2, k, strides=stride, padding=padding, use_bias=False)
    assert tuple(y.shape) == (None, want, want, 2)
    (kernel,) = tf.global_variables()
    assert tuple(kernel.shape) == (k, k, 2, 3)
    rng = np.random.default_rng(2)
    xv = rng.normal(size=(2, size, size, 3))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        w, got = s.run([kernel, y], {x: xv})
    probe = rng.normal(size=got.shape)  # <conv2d(probe, w), x> == <probe, conv2d_transpose(x, w)>
    forward = ref_conv2d(probe, w, (stride, stride), padding.upper())
    np.testing.assert_allclose(np.sum(forward * xv), np.sum(probe * got), rtol=1e-4)


def test_pooling_layers():
    x = tf.placeholder(tf.float32, (None, 7, 7, 2))
    mx = layers.max_pooling2d(x, 2, 2)
    av = layers.average_pooling2d(x, (3, 3), (2, 2), padding="same", name="avg")
    assert tuple(mx.shape) == (None, 3, 3, 2) and tuple(av.shape) == (None, 4, 4, 2)
    assert mx.op.name.startswith("max_pooling2d/") and av.op.name.startswith("avg/")
    xv = np.random.default_rng(3).normal(size=(2, 7, 7, 2)).astype(np.float32)
    with tf.Session() as s:
        got_mx, got_av = s.run([mx, av], {x: xv})
    np.testing.assert_allclose(got_mx, ref_pool(xv, (2, 2), (2, 2), "VALID", "max"), rtol=1e-6)
    np.testing.assert_allclose(got_av, ref_pool(xv, (3, 3), (2, 2), "SAME", "avg"), rtol=1e-5, atol=1e-6)


# -- batch normalisation --------------------------------------------------------------------------
def _bn_graph(training):
    x = tf.placeholder(tf.float32, (None, 3, 3, 4))
    y = layers.batch_normalization(x, momentum=0.9, epsilon=1e-3, training=training)
    loss = tf.reduce_sum(y * tf.constant(np.arange(1.0, 5.0, dtype=np.float32)))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return x, y, train


def test_batch_normalization_variables_and_update_ops():
    x, y, train = _bn_graph(training=True)
    v = _variables()
    assert list(v) == ["batch_normalization/gamma:0", "batch_normalization/beta:0",
                       "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]
    assert [t.name for t in tf.trainable_variables()] == list(v)[:2]  # the moving averages are not trained
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    xv = np.random.default_rng(4).normal(2.0, 3.0, size=(5, 3, 3, 4))
    mean, var = xv.mean(axis=(0, 1, 2)), xv.var(axis=(0, 1, 2))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got, _ = s.run([y, train], {x: xv})
        moving_mean, moving_var = s.run([v["batch_normalization/moving_mean:0"],
                                         v["batch_normalization/moving_variance:0"]])
    np.testing.assert_allclose(got, (xv - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)
    # moving = moving - (moving - batch) * (1 - momentum), with the biased batch variance (TF1's layers)
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * var, rtol=1e-5)


def test_batch_normalization_training_tensor():
    training = tf.placeholder(tf.bool, ())
    x, y, train = _bn_graph(training=training)
    v = _variables()
    gamma, beta = v["batch_normalization/gamma:0"], v["batch_normalization/beta:0"]
    stats = [v["batch_normalization/moving_mean:0"], v["batch_normalization/moving_variance:0"]]
    rng = np.random.default_rng(5)
    xv = rng.normal(1.0, 2.0, size=(6, 3, 3, 4))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        _load(s, {stats[0]: [0.5, -1.0, 2.0, 0.0], stats[1]: [4.0, 1.0, 0.25, 2.0]})
        before = s.run(stats)
        inference, _ = s.run([y, train], {x: xv, training: False})
        after_inference = s.run(stats)
        g, b = s.run([gamma, beta])
        trained, _ = s.run([y, train], {x: xv, training: True})
        after_training = s.run(stats)
    np.testing.assert_allclose(inference, (xv - before[0]) / np.sqrt(before[1] + 1e-3), rtol=1e-4, atol=1e-4)
    for a, b_ in zip(before, after_inference):  # training False: the update ops leave the averages alone
        np.testing.assert_array_equal(a, b_)
    mean, var = xv.mean(axis=(0, 1, 2)), xv.var(axis=(0, 1, 2))
    np.testing.assert_allclose(trained, (xv - mean) / np.sqrt(var + 1e-3) * g + b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(after_training[0], before[0] + 0.1 * (mean - before[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after_training[1], before[1] + 0.1 * (var - before[1]), rtol=1e-5)


def test_batch_normalization_inference_uses_moving_averages_and_axis():
    x = tf.placeholder(tf.float32, (None, 3, 4, 4))
    y = layers.batch_normalization(x, axis=1, center=False, scale=False, training=False)
    assert [t.name for t in tf.global_variables()] == ["batch_normalization/moving_mean:0",
                                                       "batch_normalization/moving_variance:0"]
    assert tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []
    xv = np.random.default_rng(6).normal(size=(2, 3, 4, 4))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        np.testing.assert_allclose(s.run(y, {x: xv}), xv / np.sqrt(1 + 1e-3), rtol=1e-5, atol=1e-6)


def test_batch_normalization_with_adam_under_update_ops():
    """Adam's slots made under control_dependencies(UPDATE_OPS) initialise without a feed (TF1's init_scope)."""
    x = tf.placeholder(tf.float32, (None, 2, 2, 3))
    y = layers.batch_normalization(x, training=True)
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train = tf.train.AdamOptimizer(1e-3).minimize(tf.reduce_sum(y * y))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        s.run(train, {x: np.ones((2, 2, 2, 3), np.float32)})


# -- dropout ---------------------------------------------------------------------------------------
def test_dropout_training_flag_and_tf1_scaling():
    """TF1: kept units are scaled by 1/keep_prob; the layer is the identity unless training."""
    x = tf.ones((200, 50))
    training = tf.placeholder(tf.bool, ())
    layer = layers.dropout(x, rate=0.75, training=training, seed=1)
    keep = tf.placeholder(tf.float32, ())
    nn = tf.nn.dropout(x, keep_prob=keep, seed=2)
    with tf.Session() as s:
        off, on = s.run(layer, {training: False}), s.run(layer, {training: True})
        half, full = s.run(nn, {keep: 0.5}), s.run(nn, {keep: 1.0})
    np.testing.assert_array_equal(off, np.ones((200, 50)))
    assert set(np.unique(on)) == {0.0, 4.0} and abs((on > 0).mean() - 0.25) < 0.03
    assert set(np.unique(half)) == {0.0, 2.0} and abs((half > 0).mean() - 0.5) < 0.03
    np.testing.assert_array_equal(full, np.ones((200, 50)))
