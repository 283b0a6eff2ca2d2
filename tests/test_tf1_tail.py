"""TF1 long-tail functions built from existing ops (nnplug/ops/math_extra_ops.py and the composite rows of
nnplug/ops/elementwise.py): values against float64 NumPy, gradients against finite differences."""
import math

import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import assert_close, check_gradient, run


def _x(shape, lo=-2.0, hi=2.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


# -- trigonometry and fused chains --------------------------------------------------------------
def test_asin_acos_values_and_gradients(backend):
    x = _x((3, 4), -0.95, 0.95)
    a, c = run(lambda t: [tf.asin(t), tf.acos(t)], [x], backend)
    assert_close(a, np.arcsin(x), "float64", rtol=1e-12, atol=1e-12)
    assert_close(c, np.arccos(x), "float64", rtol=1e-12, atol=1e-12)
    check_gradient(tf.asin, [x], backend)
    check_gradient(tf.acos, [x], backend)
    outside = run(tf.asin, [np.array([1.5, -1.0, 1.0])], backend)
    assert np.isnan(outside[0]) and np.allclose(outside[1:], [-math.pi / 2, math.pi / 2])


def test_floormod_in_a_fused_chain_matches_numpy(backend):
    """floormod after other elementwise ops (one fused kernel on OpenCL) has the divisor's sign."""
    x = np.array([[-7.5, 7.5, -3.0, 4.25], [0.5, -0.5, 9.0, -9.0]], np.float32)
    y = np.array([2.0, -2.0, 3.0, -1.5], np.float32)
    got = run(lambda a, b: tf.floormod(a * 2.0 - 1.0, b) + tf.squared_difference(a, b), [x, y], backend)
    X, Y = x.astype(np.float64), y.astype(np.float64)
    assert_close(got, np.remainder(X * 2 - 1, Y) + (X - Y) ** 2, "float32")
    i, j = np.array([-7, 7, -7, 7, 0, -1], np.int32), np.array([3, -3, -3, 3, -2, 5], np.int32)
    m, q = run(lambda a, b: [tf.mod(a + 0, b), tf.truncatediv(a * 1, b)], [i, j], backend)
    assert_close(m, np.remainder(i, j), "int32")
    assert_close(q, np.trunc(i / j).astype(np.int32), "int32")


# -- casts and small nn functions ----------------------------------------------------------------
def test_to_casts_and_scalar_mul(backend):
    x = np.array([1.7, -2.5, 0.0])
    f, d, i, l, s = run(lambda t: [tf.to_float(t), tf.to_double(tf.to_float(t)), tf.to_int32(t), tf.to_int64(t),
                                   tf.scalar_mul(3.0, t)], [x], backend)
    assert_close(f, x.astype(np.float32), "float32")
    assert_close(d, x.astype(np.float32).astype(np.float64), "float64")
    assert_close(i, np.array([1, -2, 0]), "int32")
    assert_close(l, np.array([1, -2, 0]), "int64")
    assert_close(s, 3 * x, "float64")
    with tf.Graph().as_default(), pytest.raises(Exception, match="scalar_mul.*shape"):
        tf.scalar_mul(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0]))


def test_swish_crelu_xw_plus_b(backend):
    x, w, b = _x((3, 4)), _x((4, 2), seed=1), _x((2,), seed=2)
    s, c, y = run(lambda t, u, v: [tf.nn.swish(t), tf.nn.crelu(t), tf.nn.xw_plus_b(t, u, v)], [x, w, b], backend)
    assert_close(s, x / (1 + np.exp(-x)), "float64")
    assert_close(c, np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], -1), "float64")
    assert_close(y, x @ w + b, "float64")
    check_gradient(tf.nn.swish, [x], backend)


def test_zero_fraction(backend):
    x = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]])
    assert_close(run(tf.nn.zero_fraction, [x], backend), np.float32(4 / 6), "float32")


def test_weighted_cross_entropy_matches_the_definition(backend):
    x, z = _x((4, 3), -30, 30), np.random.default_rng(1).uniform(0, 1, (4, 3))
    got = run(lambda a, b: tf.nn.weighted_cross_entropy_with_logits(targets=b, logits=a, pos_weight=2.5), [x, z],
              backend)
    log_sig, log_one_minus_sig = -np.logaddexp(0, -x), -np.logaddexp(0, x)  # exact for large |x|
    want = -(2.5 * z * log_sig + (1 - z) * log_one_minus_sig)
    assert_close(got, want, "float64", rtol=1e-9, atol=1e-9)
    check_gradient(lambda a: tf.nn.weighted_cross_entropy_with_logits(z, a, 2.5), [x / 10], backend)


def test_log_poisson_loss(backend):
    c, z = _x((5,)), np.array([0.0, 1.0, 2.0, 3.5, 10.0])
    plain, full = run(lambda a, b: [tf.nn.log_poisson_loss(b, a), tf.nn.log_poisson_loss(b, a, True)], [c, z],
                      backend)
    assert_close(plain, np.exp(c) - z * c, "float64")
    stirling = np.where(z > 1, z * np.log(np.maximum(z, 1)) - z + 0.5 * np.log(2 * np.pi * np.maximum(z, 1)), 0)
    assert_close(full, np.exp(c) - z * c + stirling, "float64")


# -- cumulative, grids, diagonals, segments, einsum ------------------------------------------------
def _np_cum(x, axis, exclusive, reverse, f, neutral):
    if reverse:
        x = np.flip(x, axis)
    out = f(x, axis=axis)
    if exclusive:
        pad = np.full_like(np.take(x, [0], axis=axis), neutral)
        out = np.concatenate([pad, np.delete(out, -1, axis=axis)], axis)
    return np.flip(out, axis) if reverse else out


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("exclusive,reverse", [(False, False), (True, False), (False, True), (True, True)])
def test_cumsum_cumprod(backend, axis, exclusive, reverse):
    x = _x((3, 4, 2), 0.5, 1.5)
    s, p = run(lambda t: [tf.cumsum(t, axis, exclusive, reverse), tf.cumprod(t, axis, exclusive, reverse)], [x],
               backend)
    assert_close(s, _np_cum(x, axis, exclusive, reverse, np.cumsum, 0), "float64")
    assert_close(p, _np_cum(x, axis, exclusive, reverse, np.cumprod, 1), "float64")


def test_cumsum_ints_gradients_and_errors(backend):
    i = np.array([[3, -1, 4], [1, 5, -9]], np.int32)
    assert_close(run(lambda t: tf.cumsum(t, 1), [i], backend), np.cumsum(i, 1), "int32")
    x = _x((2, 3), 0.5, 1.5)
    check_gradient(lambda t: tf.cumsum(t, 1, exclusive=True), [x], backend)
    check_gradient(lambda t: tf.cumprod(t, 0, reverse=True), [x], backend)
    with tf.Graph().as_default(), pytest.raises(Exception, match="cumsum.*axis 1.*known"):
        tf.cumsum(tf.placeholder(tf.float32, (2, None)), axis=1)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
def test_meshgrid(backend, indexing):
    a, b, c = np.array([1, 2, 3], np.int32), np.array([4.0, 5.0]), np.array([7.0, 8.0, 9.0, 10.0])
    got = run(lambda p, q: tf.meshgrid(p, q, indexing=indexing), [a, b], backend)
    for g, w in zip(got, np.meshgrid(a, b, indexing=indexing)):
        assert_close(g, w, w.dtype)
    got3 = run(lambda q, r, s: tf.meshgrid(q, r, s, indexing=indexing), [b, c, b * 2], backend)
    for g, w in zip(got3, np.meshgrid(b, c, b * 2, indexing=indexing)):
        assert_close(g, w, "float64")


def test_diagonals(backend):
    v, m, batch = _x((3,)), _x((3, 5)), _x((2, 4, 3))
    d, d2, md, p, pt, pb = run(lambda a, b, c: [tf.diag(a), tf.diag(b[:2, :2]), tf.matrix_diag(c),
                                                tf.matrix_diag_part(b), tf.matrix_diag_part(tf.transpose(b)),
                                                tf.matrix_diag_part(c)], [v, m, batch], backend)
    assert_close(d, np.diag(v), "float64")
    assert_close(d2, np.einsum("ij,kl,ik,jl->ijkl", m[:2, :2], np.ones((2, 2)), np.eye(2), np.eye(2)), "float64")
    assert_close(md, batch[..., None] * np.eye(3), "float64")
    assert_close(p, np.diagonal(m), "float64")
    assert_close(pt, np.diagonal(m.T), "float64")
    assert_close(pb, np.diagonal(batch, axis1=-2, axis2=-1), "float64")
    check_gradient(tf.matrix_diag_part, [m], backend)


def test_segment_sums(backend):
    x = _x((5, 2))
    ids = np.array([0, 0, 1, 3, 3], np.int32)
    u_ids = np.array([2, -1, 0, 2, 1], np.int32)  # a negative id is dropped, as TF1
    seg, uns = run(lambda t, i: [tf.segment_sum(t, tf.constant(ids)), tf.unsorted_segment_sum(t, i, 3)],
                   [x, u_ids], backend)
    want = np.zeros((4, 2))
    np.add.at(want, ids, x)
    assert_close(seg, want, "float64")
    want_u = np.zeros((3, 2))
    for k, row in zip(u_ids, x):
        if k >= 0:
            want_u[k] += row
    assert_close(uns, want_u, "float64")
    check_gradient(lambda t: tf.unsorted_segment_sum(t, u_ids, 3), [x], backend)
    with tf.Graph().as_default(), pytest.raises(TypeError, match="segment_sum.*constant"):
        tf.segment_sum(tf.constant(x), tf.placeholder(tf.int32, (5,)))
    with tf.Graph().as_default(), pytest.raises(ValueError, match="sorted"):
        tf.segment_sum(tf.constant(x), tf.constant([1, 0, 0, 0, 0]))


@pytest.mark.parametrize("eq,sa,sb", [("ij,jk->ik", (2, 3), (3, 4)), ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
                                      ("i,i->", (4,), (4,)), ("i,j->ij", (3,), (2,)), ("ij,kj->ki", (2, 3), (4, 3)),
                                      ("bi,bi->b", (3, 4), (3, 4))])
def test_einsum(backend, eq, sa, sb):
    a, b = _x(sa, seed=1), _x(sb, seed=2)
    assert_close(run(lambda p, q: tf.einsum(eq, p, q), [a, b], backend), np.einsum(eq, a, b), "float64")


def test_einsum_refuses_what_it_does_not_do():
    with tf.Graph().as_default():
        a = tf.constant(np.ones((2, 2)))
        with pytest.raises(ValueError, match="einsum"):
            tf.einsum("ii->i", a)
        with pytest.raises(ValueError, match="einsum"):
            tf.einsum("ij,jk->ik", a, tf.constant(np.ones(3)))


# -- unrolled higher-order functions --------------------------------------------------------------
def test_map_fn_foldl_foldr_scan(backend):
    x = _x((4, 3), seed=3)
    m, pair, fl, fr, sc, sc_init, sc_rev = run(lambda t: [
        tf.map_fn(lambda r: tf.reduce_sum(r * r), t),
        tf.map_fn(lambda rs: (rs[0] + rs[1], rs[0] * 2.0), (t, t * 3.0)),
        tf.foldl(lambda a, r: a * 0.5 + r, t),
        tf.foldr(lambda a, r: a - r, t, initializer=tf.zeros((3,), tf.float64)),
        tf.scan(lambda a, r: a + r, t),
        tf.scan(lambda a, r: a * r, t, initializer=tf.ones((3,), tf.float64)),
        tf.scan(lambda a, r: a + r, t, reverse=True)], [x], backend)
    assert_close(m, (x * x).sum(1), "float64")
    assert_close(pair[0], 4 * x, "float64")
    assert_close(pair[1], 2 * x, "float64")
    acc = x[0]
    for r in x[1:]:
        acc = acc * 0.5 + r
    assert_close(fl, acc, "float64")
    assert_close(fr, -x.sum(0), "float64")
    assert_close(sc, np.cumsum(x, 0), "float64")
    assert_close(sc_init, np.cumprod(x, 0), "float64")
    assert_close(sc_rev, np.cumsum(x[::-1], 0)[::-1], "float64")
    check_gradient(lambda t: tf.map_fn(lambda r: tf.tanh(r) * r, t), [x], backend)


def test_map_fn_over_an_unknown_leading_size():  # a while_loop (tests/test_control_flow_fn.py has more)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        with tf.Session() as sess:
            assert_close(sess.run(tf.map_fn(lambda r: r * 2.0, x), {x: np.ones((2, 3), np.float32)}),
                         np.full((2, 3), 2.0, np.float32))


def test_py_func_errors_name_the_op(backend):
    from nnplug.errors import InvalidArgumentError
    with pytest.raises(InvalidArgumentError, match="py_func 'PyFunc'.*returned 2 values.*1"):
        run(lambda t: tf.py_func(lambda a: (a, a), [t], tf.float32), [np.zeros(2, np.float32)], backend)
    with pytest.raises(InvalidArgumentError, match="py_func 'PyFunc'.*float64.*int32"):
        run(lambda t: tf.py_func(lambda a: a * 0.5, [t], tf.int32), [np.zeros(2)], backend)
    with tf.Graph().as_default():  # not differentiable, as TF1: no gradient flows back through it
        x = tf.constant(1.0)
        assert tf.gradients(tf.py_func(np.sin, [x], tf.float32), x) == [None]


@pytest.mark.parametrize("axis,keep", [(None, False), (1, False), (0, True), ((0, 1), False)])
def test_reduce_logsumexp(backend, axis, keep):
    x = _x((3, 4), -3, 3) + np.array([0.0, 800.0, -800.0, 0.0])  # large values: no overflow
    x[2] = -np.inf  # an all -inf row
    got = run(lambda t: tf.reduce_logsumexp(t, axis=axis, keepdims=keep), [x], backend)
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    with np.errstate(divide="ignore"):
        want = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    assert_close(got, want if keep else np.squeeze(want, axis=axis), "float64")
    check_gradient(lambda t: tf.reduce_logsumexp(t, axis=1), [_x((3, 4))], backend)


def test_log_sigmoid(backend):
    x = np.array([-800.0, -3.0, 0.0, 2.0, 800.0])
    assert_close(run(tf.log_sigmoid, [x], backend), -np.logaddexp(0, -x), "float64")
