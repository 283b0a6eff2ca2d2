"""Adamax and Nadam against NumPy recurrences of Keras 2's update rules over several steps, their defaults,
configs, and names."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import keras


def _steps(opt, w0, c, n):
    """w after each of n steps on loss sum(c * w) + sum(w^2) / 2, whose gradient is c + w."""
    with tf.Graph().as_default():
        w = tf.Variable(w0.astype(np.float32))
        loss = tf.reduce_sum(tf.constant(c.astype(np.float32)) * w) + 0.5 * tf.reduce_sum(tf.square(w))
        updates = opt.get_updates(loss, [w])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            out = []
            for _ in range(n):
                sess.run(updates)
                out.append(sess.run(w))
    return np.array(out)


def _adamax(w, c, n, lr=0.002, b1=0.9, b2=0.999, eps=1e-7):
    m, u, out = np.zeros_like(w), np.zeros_like(w), []
    for t in range(1, n + 1):
        g = c + w
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr / (1 - b1 ** t) * m / (u + eps)
        out.append(w)
    return np.array(out)


def _nadam(w, c, n, lr=0.002, b1=0.9, b2=0.999, eps=1e-7, schedule_decay=0.004):
    m, v, schedule, out = np.zeros_like(w), np.zeros_like(w), 1.0, []
    for t in range(1, n + 1):
        g = c + w
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * schedule_decay))
        schedule_new = schedule * mu_t
        schedule_next = schedule_new * mu_next
        schedule = schedule_new
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_bar = (1 - mu_t) * g / (1 - schedule_new) + mu_next * m / (1 - schedule_next)
        w = w - lr * m_bar / (np.sqrt(v / (1 - b2 ** t)) + eps)
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("make,reference", [
    (lambda: keras.optimizers.Adamax(), _adamax),
    (lambda: keras.optimizers.Adamax(lr=0.05, beta_1=0.8, beta_2=0.9), lambda w, c, n: _adamax(w, c, n, 0.05, 0.8, 0.9)),
    (lambda: keras.optimizers.Nadam(), _nadam),
    (lambda: keras.optimizers.Nadam(learning_rate=0.05, schedule_decay=0.01),
     lambda w, c, n: _nadam(w, c, n, 0.05, schedule_decay=0.01))])
def test_steps_match_the_numpy_recurrence(make, reference):
    w0, c = np.array([0.5, -1.5, 2.0, 0.0]), np.array([1.0, 0.3, -2.0, 0.7])
    np.testing.assert_allclose(_steps(make(), w0, c, 6), reference(w0, c, 6), rtol=1e-5, atol=1e-6)


def test_names_defaults_and_configs():
    assert isinstance(keras.optimizers.get("adamax"), keras.optimizers.Adamax)
    nadam = keras.optimizers.get("Nadam")
    assert nadam.learning_rate == 0.002 and nadam.get_config()["schedule_decay"] == 0.004
    again = keras.optimizers.deserialize(keras.optimizers.serialize(nadam))
    assert type(again) is keras.optimizers.Nadam and again.get_config() == nadam.get_config()
    assert keras.optimizers.Adamax().get_config()["learning_rate"] == 0.002
    with pytest.raises(ValueError, match="Nadam: schedule_decay"):
        keras.optimizers.Nadam(schedule_decay=-1)


def test_a_model_trains_with_each():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    for opt in (keras.optimizers.Adamax(0.05), keras.optimizers.Nadam(0.05)):
        m = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
        m.compile(optimizer=opt, loss="mse")
        before = m.evaluate(x, y, verbose=0)
        m.fit(x, y, epochs=10, batch_size=16, verbose=0)
        assert m.evaluate(x, y, verbose=0) < 0.3 * before, type(opt).__name__
