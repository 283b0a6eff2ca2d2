"""Keras activations by name, against float64 NumPy (the new elementwise rows included)."""
import math

import numpy as np
import pytest

import nnplug as tf
from nnplug import keras

SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
REFS = {
    "linear": lambda x: x, "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0), "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(x)), "softsign": lambda x: x / (1 + np.abs(x)),
    "selu": lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)), "exponential": np.exp,
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
}


@pytest.mark.parametrize("name", sorted(REFS))
def test_activation_by_name(name, backend):
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float64, (3, 4))
        y = keras.activations.get(name)(t)
        with tf.Session(backend=backend) as sess:
            got = sess.run(y, {t: x})
    np.testing.assert_allclose(got, REFS[name](x), rtol=1e-10, atol=1e-12)
    assert keras.activations.serialize(keras.activations.get(name)) == name


def test_relu_alpha_and_max_value():
    x = np.array([-2.0, -0.5, 0.5, 3.0, 9.0])
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float64, (5,))
        y = keras.activations.relu(t, alpha=0.1, max_value=6.0)
        with tf.Session() as sess:
            got = sess.run(y, {t: x})
    np.testing.assert_allclose(got, np.minimum(np.where(x > 0, x, 0.1 * x), 6.0))
    assert math.isclose(got[0], -0.2)
