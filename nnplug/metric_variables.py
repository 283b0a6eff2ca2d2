"""What every `tf.metrics` function shares: its running totals as local variables, TF1's squeezing of
labels/predictions/weights, and the static shape checks that name the argument at fault."""
from __future__ import annotations

from . import dtypes as _dt
from .graph import GraphKeys, Tensor, add_to_collection, convert_to_tensor
from .ops import math_ops as M
from .ops.array_ops import squeeze, expand_dims, zeros
from .shapes import ShapeError, fmt
from .variables import Variable

METRIC_VARIABLES = "metric_variables"


def metric_variable(name, shape=(), dtype=_dt.float32):
    """A zero local variable named `scope/name` (LOCAL_VARIABLES and METRIC_VARIABLES, never trainable),
    so `tf.local_variables_initializer()` starts and resets it."""
    return Variable(zeros(list(shape), dtype=dtype), trainable=False, name=name,
                    collections=[GraphKeys.LOCAL_VARIABLES, METRIC_VARIABLES])


def collect(keys, value):
    for key in keys or ():
        add_to_collection(key, value)


def _rank(t):
    return None if t.shape.unknown_rank else len(t.shape)


def _squeeze_last(t, other):
    """`t` without its last axis when that axis is 1 and `t` has one axis more than `other`."""
    rt, ro = _rank(t), _rank(other)
    if rt is not None and ro is not None and rt == ro + 1 and t.shape[-1] in (1, None):
        return squeeze(t, [-1])
    return t


def squeeze_pair(predictions, labels):
    """TF1's remove_squeezable_dimensions: a trailing axis of 1 on one of the two goes."""
    predictions, labels = convert_to_tensor(predictions), convert_to_tensor(labels)
    return _squeeze_last(predictions, labels), _squeeze_last(labels, predictions)


def check_same_shape(fn, what_a, a, what_b, b):
    """Both ranks known: every known dimension must agree (the metric is defined element by element)."""
    ra, rb = _rank(a), _rank(b)
    if ra is None or rb is None:
        return
    if ra != rb or any(x is not None and y is not None and x != y for x, y in zip(a.shape, b.shape)):
        raise ShapeError(f"{fn}: {what_a} '{a.name}' of shape {fmt(a.shape)} and {what_b} '{b.name}' of shape "
                         f"{fmt(b.shape)} must have the same shape")


def prepare(fn, predictions, labels, weights=None):
    """(predictions, labels, weights) squeezed as TF1 does and checked: same shapes, weights that broadcast."""
    predictions, labels = squeeze_pair(predictions, labels)
    check_same_shape(fn, "labels", labels, "predictions", predictions)
    if weights is not None:
        weights = weights_for(fn, weights, predictions)
    return predictions, labels, weights


def weights_for(fn, weights, values):
    """`weights` as float32 that broadcasts to `values` by TF1's rule (a scalar, or the same rank with each
    dimension 1 or equal); a trailing axis of 1 too many goes, one too few is added."""
    weights = M.cast(convert_to_tensor(weights), _dt.float32)
    rw, rv = _rank(weights), _rank(values)
    if rw is None or rv is None or rw == 0:
        return weights
    if rw == rv + 1 and weights.shape[-1] in (1, None):
        weights, rw = squeeze(weights, [-1]), rw - 1
    elif rw == rv - 1:
        weights, rw = expand_dims(weights, -1), rw + 1
    if rw != rv or any(w is not None and v is not None and w not in (1, v)
                       for w, v in zip(weights.shape, values.shape)):
        raise ShapeError(f"{fn}: weights '{weights.name}' of shape {fmt(weights.shape)} do not broadcast to the "
                         f"shape {fmt(values.shape)} of '{values.name}' (a scalar, or each dimension 1 or equal)")
    return weights


def broadcast(weights, values):
    """`weights` (already `weights_for`) spread to the full shape of `values`."""
    return weights * M.ones_like(values, dtype=_dt.float32)


def safe_div(num: Tensor, den: Tensor) -> Tensor:
    """num / den, or 0 where den is 0 (TF1's div_no_nan: a metric with nothing counted yet is 0)."""
    nonzero = M.not_equal(den, 0.0)
    return M.where(nonzero, num / M.where(nonzero, den, M.ones_like(den)), M.zeros_like(num))
