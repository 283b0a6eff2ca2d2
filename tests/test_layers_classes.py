"""The tf.layers classes: the same variables (names, scopes, sharing) and numbers as the functional forms,
and both against float64 NumPy references."""
import numpy as np
import pytest

import nnplug as tf

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 5))
IMG = rng.standard_normal((2, 6, 6, 3))
SEQ = rng.standard_normal((2, 9, 3))


def _run(fetches, backend, feed=None):
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())
        return s.run(fetches, feed)


def _init(arr):
    return tf.constant_initializer(arr)


def conv2d_valid(x, k, stride):
    kh, kw, _, f = k.shape
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[:, i, j, :] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_dense_matches_numpy_and_the_functional_form_and_shares_its_variables(backend):
    kernel, bias = rng.standard_normal((5, 3)), rng.standard_normal(3)
    with tf.Graph().as_default():
        x = tf.constant(X)
        layer = tf.layers.Dense(3, activation=tf.nn.relu, kernel_initializer=_init(kernel),
                                bias_initializer=_init(bias))
        y1, y2 = layer(x), layer(x * 2.0)  # the second call reuses the weights
        y_fn = tf.layers.dense(x, 3, activation=tf.nn.relu, kernel_initializer=_init(kernel),
                               bias_initializer=_init(bias))
        assert [v.name for v in tf.global_variables()] == ["dense/kernel:0", "dense/bias:0",
                                                           "dense_1/kernel:0", "dense_1/bias:0"]
        assert layer.kernel.name == "dense/kernel:0" and layer.bias.name == "dense/bias:0"
        assert layer.variables == layer.weights == layer.trainable_variables == [layer.kernel, layer.bias]
        assert layer.units == 3 and layer.activation is tf.nn.relu and layer.name == "dense"
        got1, got2, got_fn = _run([y1, y2, y_fn], backend)
    np.testing.assert_allclose(got1, np.maximum(X @ kernel + bias, 0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got2, np.maximum(2 * X @ kernel + bias, 0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_fn, got1, rtol=0, atol=0)


def test_a_named_layer_keeps_its_scope_when_called_elsewhere():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 5])
        layer = tf.layers.Dense(2, name="fc", use_bias=False)
        with tf.variable_scope("tower"):
            layer(x)
        with tf.variable_scope("other"):
            layer(x)
        assert [v.name for v in tf.global_variables()] == ["tower/fc/kernel:0"]
        assert layer.bias is None and layer.name == "fc" and layer.scope_name == "tower/fc"
        with tf.variable_scope("tower", reuse=True):  # and the functional form finds the same variable
            tf.layers.dense(x, 2, name="fc", use_bias=False)
        assert len(tf.global_variables()) == 1


def test_conv2d_matches_numpy_and_the_functional_form(backend):
    kernel, bias = rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    with tf.Graph().as_default():
        x = tf.constant(IMG)
        layer = tf.layers.Conv2D(4, 3, strides=2, kernel_initializer=_init(kernel), bias_initializer=_init(bias))
        y = layer(x)
        y_fn = tf.layers.conv2d(x, 4, 3, strides=2, kernel_initializer=_init(kernel), bias_initializer=_init(bias))
        assert layer.kernel.name == "conv2d/kernel:0" and tuple(layer.kernel.shape) == (3, 3, 3, 4)
        got, got_fn = _run([y, y_fn], backend)
    np.testing.assert_allclose(got, conv2d_valid(IMG, kernel, 2) + bias, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_fn, got, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv1d_matches_numpy(backend, padding):
    kernel, bias = rng.standard_normal((3, 3, 2)), rng.standard_normal(2)
    with tf.Graph().as_default():
        layer = tf.layers.Conv1D(2, 3, padding=padding, kernel_initializer=_init(kernel),
                                 bias_initializer=_init(bias))
        y = layer(tf.constant(SEQ))
        assert layer.kernel.name == "conv1d/kernel:0" and tuple(layer.kernel.shape) == (3, 3, 2)
        got = _run(y, backend)
    x = np.pad(SEQ, ((0, 0), (1, 1), (0, 0))) if padding == "same" else SEQ
    want = np.stack([np.tensordot(x[:, i:i + 3, :], kernel, axes=([1, 2], [0, 1]))
                     for i in range(x.shape[1] - 2)], axis=1) + bias
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_pooling_flatten_and_dropout(backend):
    with tf.Graph().as_default():
        x = tf.constant(IMG)
        maxed = tf.layers.MaxPooling2D(2, 2)(x)
        averaged = tf.layers.AveragePooling2D(pool_size=3, strides=3)(x)
        flat = tf.layers.Flatten()(x)
        drop = tf.layers.Dropout(0.5)
        kept, dropped = drop(x), drop(x, training=True)
        got = _run([maxed, averaged, flat, kept, dropped], backend)
    blocks = IMG.reshape(2, 3, 2, 3, 2, 3)
    np.testing.assert_allclose(got[0], blocks.max(axis=(2, 4)), rtol=0)
    np.testing.assert_allclose(got[1], IMG.reshape(2, 2, 3, 2, 3, 3).mean(axis=(2, 4)), rtol=1e-12)
    np.testing.assert_allclose(got[2], IMG.reshape(2, -1), rtol=0)
    np.testing.assert_allclose(got[3], IMG, rtol=0)
    survived = got[4] != 0
    np.testing.assert_allclose(got[4][survived], 2 * IMG[survived], rtol=1e-12)  # scaled by 1 / (1 - rate)
    assert 0.3 < survived.mean() < 0.7


def test_batch_normalization_normalises_updates_its_averages_and_evaluates_with_them(backend):
    with tf.Graph().as_default():
        x = tf.constant(X)
        bn = tf.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
        training = tf.placeholder(tf.bool, [])
        y = bn(x, training=training)
        assert [v.name for v in bn.variables] == ["batch_normalization/gamma:0", "batch_normalization/beta:0",
                                                  "batch_normalization/moving_mean:0",
                                                  "batch_normalization/moving_variance:0"]
        assert bn.trainable_variables == [bn.gamma, bn.beta]
        assert bn.non_trainable_variables == [bn.moving_mean, bn.moving_variance]
        assert len(bn.updates) == 2 and set(bn.updates) <= set(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
        with tf.Session(backend=backend) as s:
            s.run(tf.global_variables_initializer())
            trained, _ = s.run([y, bn.updates], {training: True})
            moving = s.run([bn.moving_mean, bn.moving_variance])
            evaluated = s.run(y, {training: False})
    mean, var = X.mean(axis=0), X.var(axis=0)
    np.testing.assert_allclose(trained, (X - mean) / np.sqrt(var + 1e-3), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(moving[0], 0.1 * mean, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(moving[1], 0.9 + 0.1 * var, rtol=1e-10)
    np.testing.assert_allclose(evaluated, (X - moving[0]) / np.sqrt(moving[1] + 1e-3), rtol=1e-10, atol=1e-12)


def test_untrainable_layers_and_a_user_layer_with_build_and_call(backend):
    class Scale(tf.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), dtype=tf.float64,
                                     initializer=tf.constant_initializer(3.0))
            super().build(input_shape)

        def call(self, inputs):
            return inputs * self.w

    with tf.Graph().as_default():
        x = tf.constant(X)
        frozen = tf.layers.Dense(2, trainable=False)
        frozen(x)
        assert frozen.trainable_variables == [] and len(frozen.non_trainable_variables) == 2
        scale = Scale()
        y1, y2 = scale(x), scale(x + 1.0)
        assert [v.name for v in scale.variables] == ["scale/w:0"] and scale.trainable_variables == [scale.w]
        got1, got2 = _run([y1, y2], backend)
    np.testing.assert_allclose(got1, 3 * X, rtol=1e-12)
    np.testing.assert_allclose(got2, 3 * (X + 1), rtol=1e-12)


def test_bad_arguments_name_the_layer():
    with pytest.raises(TypeError, match="Dense: .*bogus"):
        tf.layers.Dense(3, bogus=1)
    with pytest.raises(TypeError, match="Dropout: 'training' is not a constructor argument"):
        tf.layers.Dropout(0.5, training=True)
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="Flatten got unexpected call arguments"):
            tf.layers.Flatten()(tf.constant(X), training=True)
        with pytest.raises(ValueError, match="dense layer 'dense' needs a positive number of units"):
            tf.layers.Dense(0)(tf.constant(X))
