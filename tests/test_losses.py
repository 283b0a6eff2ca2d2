"""nnplug.losses against float64 NumPy references: values, weights, every reduction, gradients, errors."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import losses
from nnplug.losses import Reduction

RNG = np.random.default_rng(42)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def run(t, feed=None):
    with tf.Session() as s:
        return s.run(t, feed)


# -- float64 references ----------------------------------------------------------------------
def ref_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def ref_reduce(per, w, reduction):
    w = np.asarray(w, np.float64)
    if 0 < w.ndim < per.ndim:
        w = w.reshape(w.shape + (1,) * (per.ndim - w.ndim))
    weighted = per * w
    spread = np.broadcast_to(w, per.shape)
    if reduction == Reduction.NONE:
        return weighted
    if reduction == Reduction.SUM:
        return weighted.sum()
    if reduction == Reduction.MEAN:
        return weighted.sum() / spread.sum() if spread.sum() != 0 else 0.0
    if reduction == Reduction.SUM_OVER_BATCH_SIZE:
        return weighted.sum() / per.size
    nz = np.count_nonzero(spread)
    return weighted.sum() / nz if nz else 0.0


LOGITS = RNG.normal(size=(6, 4)) * 3
SPARSE = RNG.integers(0, 4, size=6)
ONEHOT = np.eye(4)[SPARSE]
PRED = RNG.normal(size=(6, 3))
TARGET = RNG.normal(size=(6, 3))
BINARY = (RNG.random((6, 3)) > 0.5).astype(np.float64)
W_EXAMPLE = np.array([1.0, 0.0, 2.0, 0.5, 0.0, 3.0])


def ref_softmax_xent(labels, logits):
    return -(labels * ref_log_softmax(logits)).sum(-1)


def ref_sigmoid_xent(labels, logits):
    p = 1 / (1 + np.exp(-logits))
    return -(labels * np.log(p) + (1 - labels) * np.log(1 - p))


CASES = {
    "softmax": (lambda w, r: losses.softmax_cross_entropy(ONEHOT.astype(np.float32), LOGITS.astype(np.float32),
                                                          weights=w, reduction=r),
                lambda: ref_softmax_xent(ONEHOT, LOGITS)),
    "sparse": (lambda w, r: losses.sparse_softmax_cross_entropy(SPARSE.astype(np.int32),
                                                                LOGITS.astype(np.float32), weights=w, reduction=r),
               lambda: ref_softmax_xent(ONEHOT, LOGITS)),
    "sigmoid": (lambda w, r: losses.sigmoid_cross_entropy(BINARY.astype(np.float32), PRED.astype(np.float32),
                                                          weights=w, reduction=r),
                lambda: ref_sigmoid_xent(BINARY, PRED)),
    "mse": (lambda w, r: losses.mean_squared_error(TARGET.astype(np.float32), PRED.astype(np.float32),
                                                   weights=w, reduction=r),
            lambda: (PRED - TARGET) ** 2),
    "mae": (lambda w, r: losses.absolute_difference(TARGET.astype(np.float32), PRED.astype(np.float32),
                                                    weights=w, reduction=r),
            lambda: np.abs(PRED - TARGET)),
}


@pytest.mark.parametrize("reduction", Reduction.all())
@pytest.mark.parametrize("weights", [1.0, 0.5, "example"], ids=["w1", "w0.5", "per-example"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_matches_numpy(case, weights, reduction):
    build, ref = CASES[case]
    w = W_EXAMPLE if weights == "example" else weights
    got = run(build(w.astype(np.float32) if isinstance(w, np.ndarray) else w, reduction))
    np.testing.assert_allclose(got, ref_reduce(ref(), w, reduction), rtol=2e-5, atol=1e-6)


def test_default_reduction_is_mean_over_nonzero_weights_and_goes_into_losses_collection():
    loss = losses.mean_squared_error([[1.0], [2.0], [3.0], [4.0]], [[0.0], [0.0], [0.0], [0.0]],
                                     weights=[[1.0], [0.0], [1.0], [0.0]])
    assert run(loss) == pytest.approx((1 + 9) / 2)  # by hand: two non-zero weights
    plain = losses.absolute_difference([1.0, -1.0], [0.0, 0.0])
    assert run(plain) == pytest.approx(1.0)
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [loss, plain]
    assert losses.get_losses() == [loss, plain]
    assert run(losses.get_total_loss()) == pytest.approx(6.0)
    other = losses.mean_squared_error([1.0], [3.0], loss_collection=None)
    assert run(other) == pytest.approx(4.0) and len(tf.get_collection(tf.GraphKeys.LOSSES)) == 2


def test_all_zero_weights_give_zero_not_nan():
    for reduction in (Reduction.MEAN, Reduction.SUM_BY_NONZERO_WEIGHTS):
        assert run(losses.mean_squared_error([1.0, 2.0], [0.0, 0.0], weights=0.0, reduction=reduction)) == 0.0


def test_weights_placeholder_per_example():
    x = tf.placeholder(tf.float32, (None, 4))
    y = tf.placeholder(tf.int32, (None,))
    w = tf.placeholder(tf.float32, (None,))
    loss = losses.sparse_softmax_cross_entropy(y, x, weights=w)
    got = run(loss, {x: LOGITS, y: SPARSE, w: W_EXAMPLE})
    np.testing.assert_allclose(got, ref_reduce(ref_softmax_xent(ONEHOT, LOGITS), W_EXAMPLE,
                                               Reduction.SUM_BY_NONZERO_WEIGHTS), rtol=2e-5)


def test_label_smoothing():
    s = 0.2
    got = run(losses.softmax_cross_entropy(ONEHOT, LOGITS.astype(np.float32), label_smoothing=s))
    smoothed = ONEHOT * (1 - s) + s / 4
    np.testing.assert_allclose(got, ref_softmax_xent(smoothed, LOGITS).mean(), rtol=2e-5)
    got = run(losses.sigmoid_cross_entropy(BINARY, PRED.astype(np.float32), label_smoothing=s))
    np.testing.assert_allclose(got, ref_sigmoid_xent(BINARY * (1 - s) + s / 2, PRED).mean(), rtol=2e-5)


def test_sigmoid_cross_entropy_is_finite_for_large_logits():
    got = run(losses.sigmoid_cross_entropy([[1.0, 0.0]], [[-200.0, 200.0]], reduction=Reduction.NONE))
    np.testing.assert_allclose(got, [[200.0, 200.0]], rtol=1e-6)


def test_huber_and_log_loss():
    err = PRED - TARGET
    a = np.abs(err)
    huber = np.where(a <= 1.0, 0.5 * err ** 2, a - 0.5)
    np.testing.assert_allclose(run(losses.huber_loss(TARGET.astype(np.float32), PRED.astype(np.float32))),
                               huber.mean(), rtol=2e-5)
    p = 1 / (1 + np.exp(-PRED))
    ref = -(BINARY * np.log(p + 1e-7) + (1 - BINARY) * np.log(1 - p + 1e-7))
    np.testing.assert_allclose(run(losses.log_loss(BINARY, p.astype(np.float32))), ref.mean(), rtol=2e-5)


def test_softmax_cross_entropy_gradient_matches_numpy():
    """d(mean xent)/d(logits) = (softmax - y) / n, and no gradient flows into the labels."""
    logits = tf.Variable(LOGITS.astype(np.float32))
    labels = tf.constant(ONEHOT.astype(np.float32))
    loss = losses.softmax_cross_entropy(labels, logits)
    g_logits, g_labels = tf.gradients(loss, [logits, labels])
    assert g_labels is None
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got = s.run(g_logits)
    p = np.exp(ref_log_softmax(LOGITS))
    np.testing.assert_allclose(got, (p - ONEHOT) / len(LOGITS), rtol=1e-4, atol=1e-6)


def test_weighted_mse_gradient_matches_finite_differences():
    pred = tf.Variable(PRED.astype(np.float64))
    w = W_EXAMPLE
    loss = losses.mean_squared_error(TARGET, pred, weights=w)
    (g,) = tf.gradients(loss, [pred])
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        got = s.run(g)

    def f(p):
        return ref_reduce((p - TARGET) ** 2, w, Reduction.SUM_BY_NONZERO_WEIGHTS)

    num = np.zeros_like(PRED)
    eps = 1e-6
    for idx in np.ndindex(PRED.shape):
        d = np.zeros_like(PRED)
        d[idx] = eps
        num[idx] = (f(PRED + d) - f(PRED - d)) / (2 * eps)
    np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-8)


def test_errors_name_the_problem():
    with pytest.raises(Exception, match=r"onehot_labels of shape \(6, 3\).*logits of shape \(6, 4\)"):
        losses.softmax_cross_entropy(np.zeros((6, 3)), LOGITS.astype(np.float32))
    with pytest.raises(TypeError, match="integer class ids"):
        losses.sparse_softmax_cross_entropy(ONEHOT.astype(np.float32), LOGITS.astype(np.float32))
    with pytest.raises(Exception, match=r"labels of shape \(2,\).*predictions of shape \(3,\)"):
        losses.mean_squared_error([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(Exception, match=r"weights of shape \(4,\) cannot be broadcast.*\(6, 3\)"):
        losses.mean_squared_error(TARGET, PRED, weights=np.ones(4))
    with pytest.raises(ValueError, match="unknown loss reduction 'avg'.*weighted_mean"):
        losses.mean_squared_error(TARGET, PRED, reduction="avg")
    with pytest.raises(ValueError, match="no losses"):
        losses.get_total_loss()
