"""tf.math's remaining functions. Most are compositions (reductions, safe divisions, Horner's rule,
log-sum-exp scans) so every backend runs them and autodiff differentiates them; the inverse hyperbolic
functions are composites whose expansions stay accurate across the range and whose gradients are the
exact ones; erfinv, ndtri and the scaled Bessel functions are float64 host ops (no C library has them)
with their closed-form gradients; nextafter is a host op TF gives no gradient.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, broadcast
from . import elementwise as E
from .array_ops import reshape, stop_gradient
from .math_extra_ops import cumsum
from .math_ops import reduce_max, reduce_mean, reduce_sum
from .misc_ops import div_no_nan
from .registry import register
from .._types import Axis, TensorLike


def _float_rule(fn):
    def rule(shapes, dtypes, attrs):
        if not all(d.is_floating for d in dtypes) or len({d.name for d in dtypes}) > 1:
            raise ShapeError(f"{fn} needs floating-point inputs of one dtype, got {', '.join(d.name for d in dtypes)}")
        return [(shapes[0], dtypes[0])]
    return rule


# -- inverse hyperbolic functions: composites ----------------------------------------------------------
def _expand_asinh(b, ins, attrs):
    """sign(x) * log1p(|x| + x^2 / (1 + sqrt(1 + x^2))): no cancellation near 0, none for negative x."""
    x = ins[0]
    one = b.scalar(1.0, x)
    a = b.emit("Abs", [x])
    a2 = b.emit("Mul", [a, a])
    root = b.emit("Add", [one, b.emit("Sqrt", [b.emit("Add", [one, a2])])])
    return [b.emit("Mul", [b.emit("Sign", [x]), b.emit("Log1p", [b.emit("Add", [a, b.emit("Div", [a2, root])])])])]


def _expand_acosh(b, ins, attrs):
    """log(x) + log1p(sqrt(1 - 1/x^2)): no overflow of x^2 for large x; NaN below 1."""
    x = ins[0]
    one = b.scalar(1.0, x)
    inv = b.emit("Div", [one, x])
    root = b.emit("Sqrt", [b.emit("Sub", [one, b.emit("Mul", [inv, inv])])])
    return [b.emit("Add", [b.emit("Log", [x]), b.emit("Log1p", [root])])]


def _expand_atanh(b, ins, attrs):
    """log1p(2x / (1 - x)) / 2."""
    x = ins[0]
    ratio = b.emit("Div", [b.emit("Add", [x, x]), b.emit("Sub", [b.scalar(1.0, x), x])])
    return [b.emit("Mul", [b.emit("Log1p", [ratio]), b.scalar(0.5, x)])]


register("Asinh", _float_rule("asinh"), expand=_expand_asinh,
         grad=lambda op, g: [g * E.rsqrt(1.0 + E.square(op.inputs[0]))])
register("Acosh", _float_rule("acosh"), expand=_expand_acosh,
         grad=lambda op, g: [g * E.rsqrt(E.square(op.inputs[0]) - 1.0)])
register("Atanh", _float_rule("atanh"), expand=_expand_atanh,
         grad=lambda op, g: [g / (1.0 - E.square(op.inputs[0]))])


def asinh(x: TensorLike, name: str | None = None) -> Tensor:
    """The inverse hyperbolic sine, elementwise."""
    return make("Asinh", [convert_to_tensor(x)], name=name)


def acosh(x: TensorLike, name: str | None = None) -> Tensor:
    """The inverse hyperbolic cosine, elementwise (NaN below 1)."""
    return make("Acosh", [convert_to_tensor(x)], name=name)


def atanh(x: TensorLike, name: str | None = None) -> Tensor:
    """The inverse hyperbolic tangent, elementwise (+-inf at +-1, NaN beyond)."""
    return make("Atanh", [convert_to_tensor(x)], name=name)


# -- reductions -----------------------------------------------------------------------------------------
def reduce_variance(input_tensor: TensorLike, axis: Axis = None, keepdims: bool = False,
                    name: str | None = None) -> Tensor:
    """The mean squared deviation from the mean over `axis` (the population variance)."""
    x = convert_to_tensor(input_tensor)
    if not x.dtype.is_floating:
        raise TypeError(f"reduce_variance: '{x.name}' must be floating-point, got {x.dtype.name}")
    with name_scope(name, "reduce_variance"):
        mean = reduce_mean(x, axis, keepdims=True)
        return reduce_mean(E.square(x - mean), axis, keepdims=keepdims)


def reduce_std(input_tensor: TensorLike, axis: Axis = None, keepdims: bool = False,
               name: str | None = None) -> Tensor:
    """The square root of reduce_variance."""
    with name_scope(name, "reduce_std"):
        return E.sqrt(reduce_variance(input_tensor, axis, keepdims))


def reduce_euclidean_norm(input_tensor: TensorLike, axis: Axis = None, keepdims: bool = False,
                          name: str | None = None) -> Tensor:
    """sqrt(sum(x^2)) over `axis`."""
    x = convert_to_tensor(input_tensor)
    with name_scope(name, "reduce_euclidean_norm"):
        return E.sqrt(reduce_sum(E.square(x), axis, keepdims=keepdims))


# -- safe products and quotients -----------------------------------------------------------------------
def _zero_where_x_zero(x, y, fn, name, default):
    x, y = E.pair(x, y)
    with name_scope(name, default):
        zero = E.equal(x, E._full_like(x, 0))
        safe_y = E._where(zero, E._full_like(y, 1), y)  # (broadcast) so the unused branch has no NaN gradient
        return E._where(zero, E._full_like(x, 0), fn(x, safe_y))


def xlogy(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """x * log(y), and 0 where x is 0 (whatever y)."""
    return _zero_where_x_zero(x, y, lambda a, b: a * E.log(b), name, "xlogy")


def xlog1py(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """x * log1p(y), and 0 where x is 0."""
    return _zero_where_x_zero(x, y, lambda a, b: a * E.log1p(b), name, "xlog1py")


def xdivy(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """x / y, and 0 where x is 0."""
    return _zero_where_x_zero(x, y, lambda a, b: a / b, name, "xdivy")


def multiply_no_nan(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """x * y, and 0 where y is 0 (even where x is NaN or inf)."""
    x, y = E.pair(x, y)
    with name_scope(name, "multiply_no_nan"):
        zero = E.equal(y, E._full_like(y, 0))
        safe_x = E._where(zero, E._full_like(x, 0), x)
        return E._where(zero, E._full_like(y, 0), safe_x * y)


divide_no_nan = div_no_nan


def reciprocal_no_nan(x: TensorLike, name: str | None = None) -> Tensor:
    """1 / x, and 0 where x is 0."""
    x = convert_to_tensor(x)
    with name_scope(name, "reciprocal_no_nan"):
        return div_no_nan(E._full_like(x, 1), x)


# -- polynomials, scans, order checks, lbeta -------------------------------------------------------------
def polyval(coeffs: Sequence[TensorLike], x: TensorLike, name: str | None = None) -> Tensor:
    """coeffs[0] * x^(n-1) + ... + coeffs[n-1], by Horner's rule (0 for no coefficients)."""
    x = convert_to_tensor(x)
    if not isinstance(coeffs, (list, tuple)):
        raise ValueError(f"polyval: coeffs must be a list of tensors or numbers, got {type(coeffs).__name__}")
    with name_scope(name, "polyval"):
        if not coeffs:
            return E._full_like(x, 0)
        p = convert_to_tensor(coeffs[0], dtype=x.dtype) + x * 0
        for c in coeffs[1:]:
            p = p * x + convert_to_tensor(c, dtype=x.dtype)
        return p


def cumulative_logsumexp(x: TensorLike, axis: int = 0, exclusive: bool = False, reverse: bool = False,
                         name: str | None = None) -> Tensor:
    """log(cumsum(exp(x))) along `axis`, shifted by the maximum so it neither overflows nor underflows."""
    x = convert_to_tensor(x)
    with name_scope(name, "CumulativeLogsumexp"):
        m = stop_gradient(reduce_max(x, axis, keepdims=True))
        m = E._where(E.is_finite(m), m, E._full_like(m, 0))
        return E.log(cumsum(E.exp(x - m), axis, exclusive=exclusive, reverse=reverse)) + m


def _ordered(x, compare, name, default):
    x = convert_to_tensor(x)
    with name_scope(name, default):
        flat = reshape(x, [-1])
        broken = E.cast(E.logical_not(compare(flat[1:], flat[:-1])), _dt.int32)
        return E.equal(reduce_sum(broken), 0)  # a count, so fewer than two elements give True


def is_non_decreasing(x: TensorLike, name: str | None = None) -> Tensor:
    """True when every element (in row-major order) is >= the one before; True for fewer than two."""
    return _ordered(x, E.greater_equal, name, "is_non_decreasing")


def is_strictly_increasing(x: TensorLike, name: str | None = None) -> Tensor:
    """True when every element (in row-major order) is > the one before; True for fewer than two."""
    return _ordered(x, E.greater, name, "is_strictly_increasing")


def lbeta(x: TensorLike, name: str | None = None) -> Tensor:
    """log|Beta(x)| over the last axis: sum(lgamma(x)) - lgamma(sum(x))."""
    from .linalg_ops import lgamma
    x = convert_to_tensor(x)
    with name_scope(name, "lbeta"):
        return reduce_sum(lgamma(x), -1) - lgamma(reduce_sum(x, -1))


# -- erfinv, ndtri: float64 host ops -----------------------------------------------------------------------
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
      -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
      -1.328068155288572e+01, 1.0)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
      4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00, 1.0)
_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _horner(cs, t):
    out = np.zeros_like(t)
    for c in cs:
        out = out * t + c
    return out


def _ndtri_low(p):
    """The standard normal quantile for p in (0, 1/2]: Acklam's rational start, then two Newton steps on
    Phi(x) = erfc(-x / sqrt 2) / 2, which is accurate in relative terms there."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.sqrt(-2 * np.log(p))
        tail = _horner(_C, q) / _horner(_D, q)
        r = (p - 0.5) ** 2
        mid = _horner(_A, r) * (p - 0.5) / _horner(_B, r)
        x = np.where(p < 0.02425, tail, mid)
        for _ in range(2):
            err = 0.5 * _erfc(-x / math.sqrt(2)) - p
            x = x - err * math.sqrt(2 * math.pi) * np.exp(0.5 * x * x)
    return x


def ndtri_np(p: np.ndarray) -> np.ndarray:
    """The inverse of the standard normal CDF in float64: -inf at 0, inf at 1, NaN outside [0, 1]."""
    p = np.asarray(p, np.float64)
    low = np.where(p <= 0.5, p, 1 - p)
    inner = np.where((low > 0) & (low <= 0.5), low, 0.25)
    x = _ndtri_low(inner)
    x = np.where(p <= 0.5, x, -x)
    x = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, x))
    return np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, x)


def erfinv_np(y: np.ndarray) -> np.ndarray:
    """The inverse error function in float64: from ndtri, then Newton steps on erf itself for |y| < 1/2
    (where (1 + y) / 2 would round small y away)."""
    y = np.asarray(y, np.float64)
    a = np.abs(y)
    x = -ndtri_np((1 - a) / 2) / math.sqrt(2)  # erfc(x) = 1 - a, accurate for a near 1
    small = a < 0.5
    xs = np.where(small, x, 0.0)
    for _ in range(3):
        xs = xs - (_erf(xs) - np.where(small, a, 0.0)) * (math.sqrt(math.pi) / 2) * np.exp(xs * xs)
    return np.sign(y) * np.where(small, xs, x) * np.where(np.isnan(y), np.nan, 1)


def _host(fn):
    def host(spec):
        dtype = spec.out_dtype.np
        return lambda *arrays: np.asarray(fn(*arrays)).astype(dtype)
    return host


register("Erfinv", _float_rule("erfinv"), host=_host(erfinv_np),
         grad=lambda op, g: [g * (math.sqrt(math.pi) / 2) * E.exp(E.square(op.outputs[0]))])
register("Ndtri", _float_rule("ndtri"), host=_host(ndtri_np),
         grad=lambda op, g: [g * math.sqrt(2 * math.pi) * E.exp(0.5 * E.square(op.outputs[0]))])


def erfinv(x: TensorLike, name: str | None = None) -> Tensor:
    """The inverse of erf on (-1, 1) (+-inf at +-1)."""
    return make("Erfinv", [convert_to_tensor(x)], name=name)


def ndtri(x: TensorLike, name: str | None = None) -> Tensor:
    """The inverse of the standard normal CDF on (0, 1) (the probit)."""
    return make("Ndtri", [convert_to_tensor(x)], name=name)


# -- exponentially scaled modified Bessel functions: float64 host ops --------------------------------------
_SERIES_BELOW = 30.0  # the power series below, the asymptotic series above (both double-accurate there)


def bessel_ie_np(x: np.ndarray, order: int) -> np.ndarray:
    """exp(-|x|) I_order(x) for order 0 or 1, in float64."""
    x = np.asarray(x, np.float64)
    a = np.abs(x)
    s = np.minimum(a, _SERIES_BELOW)
    q = s * s / 4
    term = np.ones_like(s) if order == 0 else s / 2
    total = term.copy()
    for k in range(1, 120):
        term = term * q / (k * (k + order))
        total += term
    series = total * np.exp(-s)
    big = np.maximum(a, _SERIES_BELOW)
    mu, term, asym = 4.0 * order * order, np.ones_like(big), np.ones_like(big)
    for k in range(1, 30):
        term = -term * (mu - (2 * k - 1) ** 2) / (k * 8 * big)
        asym += term
    asym = asym / np.sqrt(2 * math.pi * big)
    out = np.where(a < _SERIES_BELOW, series, asym)
    return out if order == 0 else np.sign(x) * out


register("BesselI0e", _float_rule("bessel_i0e"), host=_host(lambda x: bessel_ie_np(x, 0)),
         grad=lambda op, g: [g * (bessel_i1e(op.inputs[0]) - E.sign(op.inputs[0]) * op.outputs[0])])


def _grad_i1e(op, g):
    x, y = op.inputs[0], op.outputs[0]
    zero = E.equal(x, E._full_like(x, 0))
    ratio = E._where(zero, E._full_like(x, 0.5), y / E._where(zero, E._full_like(x, 1), x))  # I1e(x)/x -> 1/2 at 0
    return [g * (bessel_i0e(x) - E.sign(x) * y - ratio)]


register("BesselI1e", _float_rule("bessel_i1e"), host=_host(lambda x: bessel_ie_np(x, 1)), grad=_grad_i1e)


def bessel_i0e(x: TensorLike, name: str | None = None) -> Tensor:
    """exp(-|x|) I0(x): the modified Bessel function of order 0, scaled so it cannot overflow."""
    return make("BesselI0e", [convert_to_tensor(x)], name=name)


def bessel_i1e(x: TensorLike, name: str | None = None) -> Tensor:
    """exp(-|x|) I1(x): the modified Bessel function of order 1, scaled so it cannot overflow."""
    return make("BesselI1e", [convert_to_tensor(x)], name=name)


def bessel_i0(x: TensorLike, name: str | None = None) -> Tensor:
    """The modified Bessel function of order 0 (bessel_i0e * exp(|x|))."""
    x = convert_to_tensor(x)
    with name_scope(name, "bessel_i0"):
        return bessel_i0e(x) * E.exp(E.abs(x))


def bessel_i1(x: TensorLike, name: str | None = None) -> Tensor:
    """The modified Bessel function of order 1 (bessel_i1e * exp(|x|))."""
    x = convert_to_tensor(x)
    with name_scope(name, "bessel_i1"):
        return bessel_i1e(x) * E.exp(E.abs(x))


# -- nextafter -------------------------------------------------------------------------------------
def _nextafter_rule(shapes, dtypes, attrs):
    _float_rule("nextafter")(shapes, dtypes, attrs)
    return [(broadcast(shapes[0], shapes[1]), dtypes[0])]


register("NextAfter", _nextafter_rule, host=lambda spec: lambda a, b: np.nextafter(a, b).astype(spec.out_dtype.np))


def nextafter(x1: TensorLike, x2: TensorLike, name: str | None = None) -> Tensor:
    """The next representable value after x1 in the direction of x2 (not differentiable, as in TF)."""
    a = convert_to_tensor(x1)
    return make("NextAfter", [a, convert_to_tensor(x2, dtype=a.dtype)], name=name)


def erfcinv(x: TensorLike, name: str | None = None) -> Tensor:
    """The inverse of erfc on (0, 2): -ndtri(x / 2) / sqrt(2), accurate for x near 0 (where 1 - x is not)."""
    x = convert_to_tensor(x)
    with name_scope(name, "erfcinv"):
        return ndtri(x * 0.5) * (-1 / math.sqrt(2))
