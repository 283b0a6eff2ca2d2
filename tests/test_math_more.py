"""tf.math's remaining functions (nnplug/ops/math_more.py): float64 NumPy and math-module references,
TF's documented values, gradients by finite differences."""
import math

import numpy as np
import pytest

import nnplug as tf
from nnplug.ops.math_more import bessel_ie_np, erfinv_np, ndtri_np
from nnplug.testing import assert_close, check_gradient, run

HOST = "numpy"  # host-op and composition checks that need not repeat per backend


def _x(shape, lo=-2.0, hi=2.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def _eval(t):
    with tf.Session() as s:
        return s.run(t)


def test_inverse_hyperbolics_values_and_gradients(backend):
    x = np.array([-1e3, -2.5, -1e-9, 0.0, 0.3, 4.0])
    y = np.array([1.0, 1.0 + 1e-9, 2.0, 50.0, 1e200])
    z = np.array([-0.999, -0.5, 0.0, 1e-10, 0.7])
    a, c, t = run(lambda p, q, r: [tf.asinh(p), tf.math.acosh(q), tf.atanh(r)], [x, y, z], backend)
    assert_close(a, np.arcsinh(x), "float64", rtol=1e-14, atol=1e-300)
    assert_close(c, np.arccosh(y), "float64", rtol=1e-7, atol=1e-12)
    assert_close(t, np.arctanh(z), "float64", rtol=1e-12, atol=1e-300)
    check_gradient(tf.asinh, [_x((4,))], backend)
    check_gradient(tf.acosh, [_x((4,), 1.5, 3.0)], backend)
    check_gradient(tf.atanh, [_x((4,), -0.8, 0.8)], backend)
    grad = run(lambda p: tf.gradients(tf.asinh(p), p)[0], [np.zeros(1)], backend)
    assert grad.tolist() == [1.0]  # no sign() kink at 0


def test_reductions_against_numpy():
    x = _x((3, 4))
    std, var, norm = run(lambda t: [tf.math.reduce_std(t, 1), tf.math.reduce_variance(t, [0], keepdims=True),
                                    tf.math.reduce_euclidean_norm(t)], [x], HOST)
    assert_close(std, x.std(1), "float64")
    assert_close(var, x.var(0, keepdims=True), "float64")
    assert_close(norm, np.sqrt((x ** 2).sum()), "float64")
    check_gradient(lambda t: tf.math.reduce_std(t, 0), [x], HOST)
    with pytest.raises(TypeError, match="floating"):
        tf.math.reduce_variance(tf.constant([1, 2]))


def test_safe_products_and_quotients():
    x = np.array([0.0, 0.0, 2.0, -1.5, 0.0])
    y = np.array([0.0, np.inf, 3.0, 0.5, -1.0])
    xl, xd, x1, mn, dn, rn = run(lambda a, b: [tf.math.xlogy(a, b), tf.math.xdivy(a, b), tf.math.xlog1py(a, b),
                                               tf.math.multiply_no_nan(b, a), tf.math.divide_no_nan(b, a),
                                               tf.math.reciprocal_no_nan(a)], [x, y], HOST)
    with np.errstate(all="ignore"):
        assert_close(xl, np.where(x == 0, 0, x * np.log(y)), "float64")
        assert_close(xd, np.where(x == 0, 0, x / y), "float64")
        assert_close(x1, np.where(x == 0, 0, x * np.log1p(y)), "float64")
        assert_close(mn, np.where(x == 0, 0, x * y), "float64")  # 0 even for inf * 0
        assert_close(dn, np.where(x == 0, 0, y / np.where(x == 0, 1, x)), "float64")
        assert_close(rn, np.where(x == 0, 0, 1 / np.where(x == 0, 1, x)), "float64")
    wide = _eval(tf.math.xlogy(np.array([0.0, 2.0]), np.full((3, 2), np.e)))
    assert wide.tolist() == [[0.0, 2.0]] * 3
    pos = _x((4,), 0.5, 2.0, seed=1)
    check_gradient(tf.math.xlogy, [_x((4,)), pos], HOST)
    check_gradient(tf.math.xdivy, [_x((4,)), pos], HOST)


def test_erfinv_and_ndtri_invert_erf_and_the_normal_cdf():
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 401), [1e-20, -1e-300, 1 - 1e-15]])
    x = erfinv_np(y)
    erf = np.vectorize(math.erf)(x)
    erfc = np.vectorize(math.erfc)(np.abs(x))
    # erf(erfinv(y)) == y; near 1 compared through erfc (1 - y is exact there)
    assert np.allclose(np.where(np.abs(y) < 0.5, erf, np.sign(y) * (1 - erfc)), y, rtol=1e-14, atol=1e-300)
    assert np.allclose(erfc[-1], 1e-15, rtol=1e-10)
    p = np.array([1e-300, 1e-10, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-12])
    q = ndtri_np(p)
    cdf = 0.5 * np.vectorize(math.erfc)(-q / math.sqrt(2))
    assert np.allclose(np.where(p < 0.5, cdf, 1 - 0.5 * np.vectorize(math.erfc)(q / math.sqrt(2))), p, rtol=1e-12)
    edges = _eval([tf.math.erfinv(tf.constant([-1.0, 0.0, 1.0, 2.0])), tf.math.ndtri(tf.constant([0.0, 0.5, 1.0]))])
    assert edges[0][:3].tolist() == [-np.inf, 0.0, np.inf] and np.isnan(edges[0][3])
    assert edges[1].tolist() == [-np.inf, 0.0, np.inf]
    check_gradient(tf.math.erfinv, [_x((5,), -0.9, 0.9)], "numpy")
    check_gradient(tf.math.ndtri, [_x((5,), 0.05, 0.95)], "numpy")


def test_scaled_bessel_functions_against_their_series():
    def series(x, order):  # exp(-|x|) I_order(x) from the power series in exact-ish float64 (x moderate)
        return sum((x / 2) ** (2 * k + order) / (math.factorial(k) * math.factorial(k + order))
                   for k in range(80)) * math.exp(-abs(x))
    xs = [-20.0, -3.0, -0.1, 0.0, 0.5, 7.0, 25.0]
    assert np.allclose(bessel_ie_np(np.array(xs), 0), [series(v, 0) for v in xs], rtol=1e-13)
    assert np.allclose(bessel_ie_np(np.array(xs), 1), [series(v, 1) for v in xs], rtol=1e-13, atol=1e-300)
    big = np.array([40.0, 400.0, 4e4])  # the asymptotic branch: exp(-x) I_v(x) ~ 1 / sqrt(2 pi x) (1 - (4v^2 - 1) / 8x)
    assert np.allclose(bessel_ie_np(big, 0), (1 + 1 / (8 * big) + 9 / (128 * big ** 2)) / np.sqrt(2 * np.pi * big),
                       rtol=1e-5)
    assert np.allclose(bessel_ie_np(big, 1), (1 - 3 / (8 * big)) / np.sqrt(2 * np.pi * big), rtol=1e-4)
    one = tf.constant([1.0], tf.float64)
    i0, i1 = _eval([tf.math.bessel_i0(one), tf.math.bessel_i1(one)])
    assert abs(i0[0] - 1.2660658777520082) < 1e-14 and abs(i1[0] - 0.5651591039924851) < 1e-14
    check_gradient(tf.math.bessel_i0e, [_x((5,), -3, 3)], "numpy")
    check_gradient(tf.math.bessel_i1e, [np.array([-2.0, -0.3, 0.0, 0.4, 5.0])], "numpy")


def test_polyval_scans_order_checks_and_lbeta():
    x = _x((5,))
    p, lse, lse_ex = run(lambda t: [tf.math.polyval([2.0, -1.0, 0.5], t), tf.math.cumulative_logsumexp(t * 300),
                                    tf.math.cumulative_logsumexp(t, exclusive=True, reverse=True)], [x], HOST)
    assert_close(p, 2 * x ** 2 - x + 0.5, "float64")
    assert_close(lse, np.logaddexp.accumulate(x * 300), "float64")
    with np.errstate(divide="ignore"):
        ref = np.concatenate([np.logaddexp.accumulate(x[::-1])[::-1][1:], [-np.inf]])
    assert_close(lse_ex, ref, "float64")
    check_gradient(lambda t: tf.math.cumulative_logsumexp(t), [x], HOST)
    check_gradient(lambda t: tf.math.polyval([tf.constant(1.5, tf.float64), t[0], 2.0], t), [x], HOST)
    checks = _eval([tf.math.is_non_decreasing([1, 1, 2]), tf.math.is_strictly_increasing([1, 1, 2]),
                    tf.math.is_strictly_increasing([[1, 2], [3, 4]]), tf.math.is_non_decreasing([3]),
                    tf.math.is_non_decreasing([[1, 5], [2, 6]])])
    assert [bool(c) for c in checks] == [True, False, True, True, False]
    a = _x((2, 3), 0.5, 3.0)
    lb = run(tf.math.lbeta, [a], HOST)
    ref = np.array([sum(math.lgamma(v) for v in row) - math.lgamma(sum(row)) for row in a])
    assert_close(lb, ref, "float64")


def test_nextafter_and_aliases():
    got = _eval(tf.math.nextafter(tf.constant([1.0, 1.0, 0.0], tf.float64), tf.constant([2.0, 0.0, -1.0], tf.float64)))
    assert got.tolist() == [np.nextafter(1.0, 2.0), np.nextafter(1.0, 0.0), np.nextafter(0.0, -1.0)]
    logits = tf.constant([[1.0, 2.0, 3.0]], tf.float64)
    sm, lsm = _eval([tf.math.softmax(logits), tf.math.log_softmax(logits)])
    e = np.exp([1.0, 2.0, 3.0])
    assert np.allclose(sm, e / e.sum()) and np.allclose(lsm, np.log(e / e.sum()))
    assert _eval(tf.math.invert_permutation([1, 2, 0])).tolist() == [2, 0, 1]


def test_erfcinv_inverts_erfc_near_zero():
    x = np.array([1e-20, 1e-5, 0.5, 1.0, 1.5, 2.0 - 1e-9])
    got = _eval(tf.math.erfcinv(tf.constant(x)))
    assert np.allclose(np.vectorize(math.erfc)(got), x, rtol=1e-9)
    assert _eval(tf.math.accumulate_n([tf.constant([1.0]), tf.constant([2.5])])).tolist() == [3.5]
