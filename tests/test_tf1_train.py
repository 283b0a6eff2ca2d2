"""tf.metrics (local variables), the learning-rate schedules, tf.contrib.layers and the TF1 details of
tf.losses, against hand-computed values and NumPy."""
import math

import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import FailedPreconditionError
from nnplug.testing import assert_close


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


# -- tf.metrics ------------------------------------------------------------------------------
def test_accuracy_streams_over_batches_in_local_variables(backend):
    labels = tf.placeholder(tf.int64, (None,))
    logits = tf.placeholder(tf.float32, (None, 3))
    acc, update = tf.metrics.accuracy(labels, tf.argmax(logits, 1))
    local = tf.local_variables()
    assert [v.name for v in local] == ["accuracy/total:0", "accuracy/count:0"]
    assert not tf.trainable_variables() and not tf.global_variables()
    batches = [(np.array([0, 1, 2]), np.eye(3)[[0, 1, 1]]), (np.array([2, 2]), np.eye(3)[[2, 2]]),
               (np.array([1, 0, 0, 0]), np.eye(3)[[0, 0, 0, 1]])]
    with tf.Session(backend=backend) as s:
        s.run(tf.local_variables_initializer())
        assert_close(s.run(acc), 0.0, "float32")  # nothing counted yet: 0, not NaN
        right = seen = 0
        for y, p in batches:
            right += int((p.argmax(1) == y).sum())
            seen += len(y)
            got = s.run(update, {labels: y, logits: p.astype(np.float32)})
            assert_close(got, right / seen, "float32")
            assert_close(s.run(acc), right / seen, "float32")
        s.run(tf.local_variables_initializer())  # starts the count again
        assert_close(s.run(acc), 0.0, "float32")


def test_metric_variables_must_be_initialised(backend):
    acc, _ = tf.metrics.accuracy(tf.constant([1, 2]), tf.constant([1, 1]))
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())  # does not start local variables
        with pytest.raises(FailedPreconditionError, match="accuracy/total"):
            s.run(acc)


def test_weighted_accuracy_and_mean(backend):
    _, acc_up = tf.metrics.accuracy([1, 2, 3, 4], [1, 0, 3, 0], weights=[1.0, 2.0, 0.0, 1.0])
    mean, mean_up = tf.metrics.mean(tf.constant([[1.0, 2.0], [3.0, 6.0]]), weights=[[1.0], [3.0]], name="avg")
    assert {v.name for v in tf.local_variables()} >= {"avg/total:0", "avg/count:0"}
    with tf.Session(backend=backend) as s:
        s.run(tf.local_variables_initializer())
        assert_close(s.run(acc_up), 1.0 / 4.0, "float32")  # correct weights 1 (+0 for the third) of 1+2+0+1
        assert_close(s.run(mean_up), (1 + 2 + 3 * 3 + 3 * 6) / 8.0, "float32")
        assert_close(s.run(mean_up), (1 + 2 + 3 * 3 + 3 * 6) / 8.0, "float32")  # the same batch again
        assert_close(s.run(mean), (1 + 2 + 3 * 3 + 3 * 6) / 8.0, "float32")


def test_accuracy_shape_mismatch_is_named():
    with pytest.raises(ValueError, match=r"accuracy: labels .* of shape \(3,\) and predictions .* of shape \(2,\)"):
        tf.metrics.accuracy(tf.constant([1, 2, 3]), tf.constant([1, 2]))


# -- learning-rate schedules ------------------------------------------------------------------
def _at_steps(rate, step_var, steps, backend):
    out = []
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())
        for n in steps:
            step_var.load(n, s)
            out.append(float(s.run(rate)))
    return np.array(out)


STEPS = [0, 1, 5, 10, 15, 30]
SCHEDULES = {
    "exponential": (lambda g: tf.train.exponential_decay(0.1, g, 10, 0.5), lambda n: 0.1 * 0.5 ** (n / 10)),
    "exponential-staircase": (lambda g: tf.train.exponential_decay(0.1, g, 10, 0.5, staircase=True),
                              lambda n: 0.1 * 0.5 ** (n // 10)),
    "natural_exp": (lambda g: tf.train.natural_exp_decay(0.1, g, 10, 0.5), lambda n: 0.1 * math.exp(-0.5 * n / 10)),
    "inverse_time": (lambda g: tf.train.inverse_time_decay(0.1, g, 10, 0.5, staircase=True),
                     lambda n: 0.1 / (1 + 0.5 * (n // 10))),
    "polynomial": (lambda g: tf.train.polynomial_decay(0.1, g, 10, 0.01, power=2.0),
                   lambda n: (0.1 - 0.01) * (1 - min(n, 10) / 10) ** 2 + 0.01),
    "polynomial-cycle": (lambda g: tf.train.polynomial_decay(0.1, g, 10, 0.01, cycle=True),
                         lambda n: (0.1 - 0.01) * (1 - n / (10 * max(1, math.ceil(n / 10)))) + 0.01),
    "cosine": (lambda g: tf.train.cosine_decay(0.1, g, 20, alpha=0.1),
               lambda n: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(n, 20) / 20)) + 0.1)),
    "piecewise": (lambda g: tf.train.piecewise_constant(g, [5, 10], [1.0, 0.5, 0.1]),
                  lambda n: 1.0 if n <= 5 else 0.5 if n <= 10 else 0.1),
}


@pytest.mark.parametrize("kind", sorted(SCHEDULES))
def test_schedules(backend, kind):
    build, ref = SCHEDULES[kind]
    step = tf.train.get_or_create_global_step()
    rate = build(step)
    assert rate.dtype == tf.float32
    np.testing.assert_allclose(_at_steps(rate, step, STEPS, backend), [ref(n) for n in STEPS], rtol=1e-6)


def test_decayed_rate_drives_training(backend):
    """Each minimize step uses the rate of the global step it starts from, then counts the step."""
    w = tf.Variable(0.0, name="w")
    step = tf.train.get_or_create_global_step()
    assert tf.train.get_global_step() is step
    rate = tf.train.exponential_decay(1.0, step, 1, 0.5)
    train = tf.train.GradientDescentOptimizer(rate).minimize(w, global_step=step)  # d w / d w = 1
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())
        for _ in range(3):
            s.run(train)
        assert_close(s.run(w), -(1.0 + 0.5 + 0.25), "float32")
        assert s.run(step) == 3


def test_schedule_errors():
    with pytest.raises(ValueError, match="exponential_decay requires a global_step"):
        tf.train.exponential_decay(0.1, None, 10, 0.5)
    with pytest.raises(ValueError, match="decay_steps must be positive"):
        tf.train.cosine_decay(0.1, tf.constant(1), 0)
    with pytest.raises(ValueError, match="exactly one more value than boundaries"):
        tf.train.piecewise_constant(tf.constant(1), [1, 2], [0.1, 0.2])


# -- tf.contrib.layers ------------------------------------------------------------------------
def test_contrib_flatten_and_keras(backend):
    assert tf.contrib.keras is tf.keras
    x = tf.placeholder(tf.float32, (None, 2, 3))
    y = tf.contrib.layers.flatten(x)
    assert tuple(y.shape) == (None, 6)
    v = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    with tf.Session(backend=backend) as s:
        assert_close(s.run(y, {x: v}), v.reshape(2, 6), "float32")


@pytest.mark.parametrize("uniform", [True, False])
def test_xavier_initializer_spread(backend, uniform):
    fan_in, fan_out = 300, 200
    init = tf.contrib.layers.xavier_initializer(uniform=uniform, seed=3)
    w = tf.get_variable("w", shape=(fan_in, fan_out), initializer=init)
    conv = tf.get_variable("k", shape=(3, 3, 16, 32), initializer=tf.contrib.layers.xavier_initializer_conv2d())
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())
        v, k = s.run([w, conv])
    if uniform:
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(v).max() <= limit and np.abs(v).max() > 0.99 * limit
        assert abs(v.var() - limit ** 2 / 3) < 0.03 * limit ** 2 / 3
        conv_limit = math.sqrt(6.0 / (9 * 16 + 9 * 32))  # fans count the receptive field
        assert np.abs(k).max() <= conv_limit and np.abs(k).max() > 0.95 * conv_limit
    else:  # a normal of stddev sqrt(1.3 * 2 / (fan_in + fan_out)) truncated at two standard deviations
        stddev = math.sqrt(1.3 * 2.0 / (fan_in + fan_out))
        assert np.abs(v).max() <= 2 * stddev
        assert abs(v.std() - 0.8796 * stddev) < 0.02 * stddev


def test_l2_and_l1_regularizers_reach_the_regularization_loss(backend):
    init = np.array([[1.0, -2.0], [3.0, 0.5]], np.float32)
    for name, reg in (("a", tf.contrib.layers.l2_regularizer(0.1)), ("b", tf.contrib.layers.l1_regularizer(0.5)),
                      ("c", tf.contrib.layers.l2_regularizer(0.0))):  # scale 0 adds nothing
        tf.get_variable(name, shape=init.shape, initializer=tf.initializers.constant(init), regularizer=reg)
    assert len(tf.losses.get_regularization_losses()) == 2
    total = tf.losses.get_regularization_loss()
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())
        want = 0.1 * (init.astype(np.float64) ** 2).sum() / 2 + 0.5 * np.abs(init).sum()
        assert_close(s.run(total), want, "float32")


def test_regularizer_errors():
    with pytest.raises(ValueError, match="scale must be >= 0"):
        tf.contrib.layers.l2_regularizer(-1.0)
    with pytest.raises(TypeError, match="scale must be a number"):
        tf.contrib.layers.l1_regularizer("0.1")


# -- tf.losses: TF1's details ------------------------------------------------------------------
def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_softmax_cross_entropy_with_labels_of_unknown_rank_trains(backend):
    """The corpus's pattern: int labels of unknown shape, one-hot encoded, against (batch, 10) logits."""
    y = tf.placeholder(tf.int32, shape=None)
    x = tf.placeholder(tf.float32, (None, 4))
    w = tf.Variable(np.zeros((4, 10), np.float32))
    logits = tf.matmul(x, w)
    cost = tf.losses.softmax_cross_entropy(onehot_labels=tf.one_hot(y, 10), logits=logits, label_smoothing=0.1)
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [cost]
    train = tf.train.GradientDescentOptimizer(0.5).minimize(cost)
    xv = np.random.default_rng(0).uniform(-1, 1, (6, 4)).astype(np.float32)
    yv = np.array([0, 3, 9, 1, 3, 2], np.int32)
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())
        first = s.run(cost, {x: xv, y: yv})
        smooth = np.eye(10)[yv] * 0.9 + 0.01
        assert_close(first, -(smooth * _log_softmax(np.zeros((6, 10)))).sum(-1).mean(), "float32")
        for _ in range(5):
            s.run(train, {x: xv, y: yv})
        wv = s.run(w)
        assert_close(s.run(cost, {x: xv, y: yv}), -(smooth * _log_softmax(xv.astype(np.float64) @ wv)).sum(-1).mean(),
                     "float32", rtol=1e-5)
        assert s.run(cost, {x: xv, y: yv}) < first


def test_weights_against_losses_of_unknown_rank(backend):
    labels = tf.placeholder(tf.float32, shape=None)
    preds = tf.placeholder(tf.float32, shape=None)
    loss = tf.losses.mean_squared_error(labels, preds, weights=tf.constant([[1.0], [0.0]]))
    lv, pv = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[2.0, 2.0], [0.0, 0.0]])
    with tf.Session(backend=backend) as s:
        got = s.run(loss, {labels: lv.astype(np.float32), preds: pv.astype(np.float32)})
    assert_close(got, ((pv - lv) ** 2 * [[1.0], [0.0]]).sum() / 2, "float32")


def test_hinge_and_cosine_distance(backend):
    labels = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    logits = np.array([[0.3, -2.0], [1.5, 0.2]], np.float32)
    a = np.array([[0.6, 0.8], [1.0, 0.0]], np.float32)
    b = np.array([[0.0, 1.0], [0.6, 0.8]], np.float32)
    hinge = tf.losses.hinge_loss(labels, logits, reduction=tf.losses.Reduction.NONE)
    cos = tf.losses.cosine_distance(a, b, axis=1, reduction=tf.losses.Reduction.SUM)
    with tf.Session(backend=backend) as s:
        h, c = s.run([hinge, cos])
    assert_close(h, np.maximum(0, 1 - (2 * labels.astype(np.float64) - 1) * logits), "float32")
    assert_close(c, (1 - (a.astype(np.float64) * b).sum(1)).sum(), "float32")
    assert tf.losses.Reduction.SUM_OVER_NONZERO_WEIGHTS == tf.losses.Reduction.SUM_BY_NONZERO_WEIGHTS


def test_regularization_loss_without_any_is_zero(backend):
    with tf.Session(backend=backend) as s:
        assert_close(s.run(tf.losses.get_regularization_loss()), 0.0, "float32")
