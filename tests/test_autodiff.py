"""nnplug.gradients as a graph transform: hand-derived gradients, None where there is no path, grad_ys,
stop_gradient, unknown batch sizes, stable losses, composite expansions, and the checker itself.
(Every op's gradient against finite differences is in the conformance suite, test_conformance.py.)"""
import numpy as np
import pytest

import nnplug as tf
from nnplug.ops import registry
from nnplug.testing import check_gradient
from nnplug_numpy.backend import NumpyBackend


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def test_hand_derived_gradient(g):
    x = tf.placeholder(tf.float64, (3,))
    y = tf.reduce_sum(x * x * 3.0 + tf.exp(x))
    (dx,) = tf.gradients(y, [x])
    xv = np.array([0.5, -1.0, 2.0])
    with tf.Session() as s:
        np.testing.assert_allclose(s.run(dx, {x: xv}), 6 * xv + np.exp(xv), rtol=1e-12)


def test_no_path_gives_none_and_variables_work(g):
    w = tf.Variable(np.array([1.0, 2.0]), name="w")
    b = tf.Variable(3.0, dtype=tf.float64, name="b")
    unrelated = tf.Variable(1.0, name="u")
    loss = tf.reduce_sum(w * w) + b * 2.0
    gw, gb, gu = tf.gradients(loss, [w, b, unrelated])
    assert gu is None
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        np.testing.assert_allclose(s.run(gw), [2.0, 4.0])
        assert s.run(gb) == 2.0


def test_grad_ys_and_several_ys(g):
    x = tf.placeholder(tf.float64, (2,))
    y1, y2 = x * 2.0, x * x
    (d,) = tf.gradients([y1, y2], x, grad_ys=[np.array([1.0, 10.0]), np.array([0.5, 0.5])])
    with tf.Session() as s:
        np.testing.assert_allclose(s.run(d, {x: [1.0, 3.0]}), [2 * 1 + 0.5 * 2, 2 * 10 + 0.5 * 6])


def test_stop_gradient_and_shared_subexpressions(g):
    x = tf.placeholder(tf.float64, ())
    y = x * x
    z = y + tf.stop_gradient(y) * x  # d/dx = 2x + y (the stopped y is a constant)
    (d,) = tf.gradients(z, x)
    with tf.Session() as s:
        assert s.run(d, {x: 3.0}) == pytest.approx(2 * 3 + 9)


def test_broadcast_gradient_with_unknown_batch(g):
    x = tf.placeholder(tf.float32, (None, 3))
    b = tf.Variable(np.zeros(3, np.float32))
    loss = tf.reduce_mean(tf.square(x + b))
    (gb,) = tf.gradients(loss, [b])
    with tf.Session() as s:
        s.run(b.initializer)
        for n in (1, 5):
            xv = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
            np.testing.assert_allclose(s.run(gb, {x: xv}), 2 * xv.sum(0) / xv.size, rtol=1e-6)


def test_integer_targets_are_refused(g):
    k = tf.placeholder(tf.int32, (2,))
    with pytest.raises(TypeError, match="int32"):
        tf.gradients(k * 2, k)


def test_sigmoid_cross_entropy_is_stable(g):
    logits = tf.placeholder(tf.float32, (4,))
    labels = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    (d,) = tf.gradients(tf.reduce_sum(loss), logits)
    lv = np.array([-500.0, 500.0, 500.0, 0.0], np.float32)
    with tf.Session() as s:
        lo, dl = s.run([loss, d], {logits: lv})
    x = lv.astype(np.float64)
    np.testing.assert_allclose(lo, np.maximum(x, 0) - x * labels + np.log1p(np.exp(-np.abs(x))), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(dl, 1 / (1 + np.exp(-x)) - labels, atol=1e-6)


class _NoFusedKernels(NumpyBackend):
    """The numpy backend without its composite kernels: the compiler must expand them into primitives."""
    name = "numpy-expanded"
    kernels = {k: v for k, v in NumpyBackend.kernels.items() if not registry.get(k).composite}


def test_composite_expansions_match_fused_kernels(g):
    logits = tf.placeholder(tf.float64, (4, 5))
    labels = tf.placeholder(tf.int32, (4,))
    dense = tf.placeholder(tf.float64, (4, 5))
    outs = [tf.nn.softmax(logits), tf.nn.log_softmax(logits, axis=0),
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
            tf.nn.softmax_cross_entropy_with_logits_v2(labels=dense, logits=logits)]
    loss = tf.reduce_sum(tf.tanh(logits) * tf.sigmoid(logits) * tf.nn.relu(logits)) + tf.reduce_sum(outs[2])
    outs.append(tf.gradients(loss, logits)[0])
    rng = np.random.default_rng(0)
    feed = {logits: rng.normal(size=(4, 5)) * 3, labels: [0, 4, 2, 1], dense: rng.dirichlet(np.ones(5), 4)}
    with tf.Session() as fused:
        want = fused.run(outs, feed)
    expanded = tf.Session(backend=_NoFusedKernels())
    ran = {spec.op_type for _, spec in expanded.plan_for(outs, feed).kernels}
    assert "ReduceMax" in ran and not any(registry.get(t).composite for t in ran)
    for got, ref in zip(expanded.run(outs, feed), want):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_check_gradient_catches_a_wrong_rule(monkeypatch):
    """The finite-difference checker used by the conformance suite fails on a wrong gradient rule."""
    check_gradient(tf.tanh, [np.linspace(-1, 1, 5)], "numpy")
    opdef = registry.get("Tanh")
    monkeypatch.setattr(opdef, "grad", lambda op, grad: [grad * 1.0])  # forgets the (1 - y^2) factor
    with pytest.raises(AssertionError, match="gradient for input 0"):
        check_gradient(tf.tanh, [np.linspace(-1, 1, 5)], "numpy")


def test_softplus_gradient_at_zero_is_one_half(g):
    x = tf.placeholder(tf.float64, (3,))
    (d,) = tf.gradients(tf.reduce_sum(tf.nn.softplus(x)), x)
    xv = np.array([0.0, -800.0, 800.0])
    with tf.Session() as s:
        y, dv = s.run([tf.nn.softplus(x), d], {x: xv})
    np.testing.assert_allclose(y, [np.log(2.0), 0.0, 800.0], rtol=1e-12)
    np.testing.assert_allclose(dv, [0.5, 0.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("fn,ref", [(tf.reduce_sum, lambda x: np.ones_like(x)),
                                    (tf.reduce_mean, lambda x: np.full_like(x, 1.0 / x.size)),
                                    (tf.reduce_max, lambda x: (x == x.max()).astype(float))])
def test_full_reduction_gradient_of_unknown_rank_tensor(g, fn, ref):
    """The chapter's `y = tf.placeholder(tf.float32, shape=(None))`: a reduction over everything of a tensor
    whose rank is only known when fed still has a gradient."""
    y = tf.placeholder(tf.float64, shape=None)
    (d,) = tf.gradients(fn(y * 1.0), y)
    with tf.Session() as s:
        for value in (np.array([1.0, 3.0, 2.0]), np.arange(6.0).reshape(2, 3)):
            np.testing.assert_allclose(s.run(d, {y: value}), ref(value), rtol=1e-12)
