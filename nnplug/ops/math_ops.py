"""Reductions, the matrix product, casts and the gradient plumbing ops (SumTo, ReduceGrad, BroadcastLike),
with their TF1 functions. The elementwise ops are rows in `elementwise.py`; their functions are re-exported
here so `math_ops` stays the one place TF1's math functions come from."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make
from ..shapes import ShapeError, TensorShape, broadcast, fmt, normalize_axis
from .elementwise import (  # noqa: F401 - the TF1 math functions
    _check_same_dtype, _div, cast, _float_grad, _leaky_relu, abs, add, ceil, cos, elu, equal, erf, exp, expm1, floor,
    greater, greater_equal, leaky_relu, less, less_equal, log, log1p, logical_and, logical_not, logical_or, maximum,
    minimum, multiply, negative, not_equal, pair as _pair, pow, reciprocal, relu, round, rsqrt, selu, sigmoid,
    sign, sin, softplus, softsign, sqrt, square, subtract, sum_to, tanh,
)
from ..simplify import arg_of_softmax
from .registry import register
from .._types import Axis, DTypeLike, Reducer, TensorLike


def reduce_grad(g: Tensor, x: Tensor, axes: Sequence[int], keepdims: bool, kind: str = "sum") -> Tensor:
    """Broadcast a value reduced over `axes` back over `x`; kind 'mean' also divides by the reduced count."""
    return make("ReduceGrad", [g, x], {"axes": tuple(axes), "keepdims": bool(keepdims), "kind": kind})


def _sum_to_rule(shapes, dtypes, attrs):
    return [(shapes[1], dtypes[0])]


def _reduce_grad_rule(shapes, dtypes, attrs):
    return [(shapes[1], dtypes[0])]


register("SumTo", _sum_to_rule, grad=lambda op, g: [_broadcast_like(g, op.inputs[0]), None], shape_inputs={1})


def _grad_reduce_grad(op, gg):
    reducer = reduce_mean if op.attrs["kind"] == "mean" else reduce_sum
    return [reducer(gg, op.attrs["axes"], keepdims=op.attrs["keepdims"]), None]


register("ReduceGrad", _reduce_grad_rule, grad=_grad_reduce_grad, shape_inputs={1})


def _broadcast_like(g, like):
    return make("BroadcastLike", [g, like])


register("BroadcastLike", lambda s, d, a: [(s[1], d[0])], grad=lambda op, g: [sum_to(g, op.inputs[0]), None],
         shape_inputs={1})





# -- reductions ----------------------------------------------------------------------------
def _reduce_rule(shapes, dtypes, attrs, extreme=False):
    shape = shapes[0]
    axes = attrs["axis"]
    axes = tuple(range(len(shape))) if axes is None else normalize_axis(axes, len(shape))
    if extreme and any(shape[a] == 0 for a in axes):
        raise ShapeError(f"the max/min over axes {list(axes)} of shape {fmt(shape)} is empty: it has no value")
    if attrs["keepdims"]:
        out = [1 if i in axes else d for i, d in enumerate(shape)]
    else:
        out = [d for i, d in enumerate(shape) if i not in axes]
    return [(TensorShape(out), dtypes[0])]


def _reduce_axes(op):
    axis = op.attrs["axis"]
    if op.inputs[0].shape.unknown_rank:
        raise NotImplementedError(f"the gradient of {op.type} '{op.name}' needs the rank of its input "
                                  f"'{op.inputs[0].name}'; give its placeholder a shape")
    rank = len(op.inputs[0].shape)
    return tuple(range(rank)) if axis is None else normalize_axis(axis, rank)


def _spread(op, value, kind="sum"):
    """Broadcast `value` (shaped like this reduction's output) back over the reduction's input."""
    x = op.inputs[0]
    if op.attrs["axis"] is None and x.shape.unknown_rank:  # over everything: no rank needed
        if kind == "mean":
            from .array_ops import size
            value = value / cast(size(x), value.dtype)
        return _broadcast_like(value, x)
    return reduce_grad(value, x, _reduce_axes(op), op.attrs["keepdims"], kind)


def _grad_sum(op, g):
    return [_spread(op, g)]


def _grad_mean(op, g):
    return [_spread(op, g, "mean")]


def _grad_extreme(op, g):
    x = op.inputs[0]
    mask = cast(equal(x, _spread(op, op.outputs[0])), g.dtype)
    axes = None if op.attrs["axis"] is None else _reduce_axes(op)
    ties = reduce_sum(mask, axes, keepdims=op.attrs["keepdims"])
    return [_spread(op, g / ties) * mask]


def _grad_prod(op, g):
    return [_spread(op, g * op.outputs[0]) / op.inputs[0]]


for _name, _grad in {"ReduceSum": _grad_sum, "ReduceMean": _grad_mean, "ReduceProd": _grad_prod}.items():
    register(_name, _reduce_rule, grad=_float_grad(_grad))
for _name in ("ReduceMax", "ReduceMin"):
    register(_name, lambda s, d, a: _reduce_rule(s, d, a, extreme=True), grad=_float_grad(_grad_extreme))


def _arg_rule(shapes, dtypes, attrs):
    (axis,) = normalize_axis(attrs["axis"], len(shapes[0]))
    if shapes[0][axis] == 0:
        raise ShapeError(f"argmax/argmin along axis {axis} of shape {fmt(shapes[0])}: the axis is empty")
    return [(TensorShape(d for i, d in enumerate(shapes[0]) if i != axis), attrs["output_type"])]


register("ArgMax", _arg_rule, simplify=arg_of_softmax)
register("ArgMin", _arg_rule, simplify=arg_of_softmax)


# -- matrix product ------------------------------------------------------------------------
def _matmul_rule(shapes, dtypes, attrs):
    a, b = shapes
    _check_same_dtype(dtypes)
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(f"matmul needs tensors of rank >= 2, got shapes {fmt(a)} and {fmt(b)}")
    m, k1 = (a[-1], a[-2]) if attrs["transpose_a"] else (a[-2], a[-1])
    k2, n = (b[-1], b[-2]) if attrs["transpose_b"] else (b[-2], b[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise ShapeError(f"matmul inner dimensions differ: {fmt(a)} @ {fmt(b)} "
                         f"(transpose_a={attrs['transpose_a']}, transpose_b={attrs['transpose_b']})")
    batch = broadcast(a[:-2], b[:-2])
    return [(TensorShape(tuple(batch) + (m, n)), dtypes[0])]


def _grad_matmul(op, g):
    a, b = op.inputs
    ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
    if not ta and not tb:
        ga, gb = matmul(g, b, transpose_b=True), matmul(a, g, transpose_a=True)
    elif ta and not tb:
        ga, gb = matmul(b, g, transpose_b=True), matmul(a, g)
    elif not ta and tb:
        ga, gb = matmul(g, b), matmul(g, a, transpose_a=True)
    else:
        ga, gb = matmul(b, g, transpose_a=True, transpose_b=True), matmul(g, a, transpose_a=True, transpose_b=True)
    return [sum_to(ga, a), sum_to(gb, b)]


register("MatMul", _matmul_rule, grad=_float_grad(_grad_matmul))


# -- the TF1 functions ---------------------------------------------------------------------
sub = subtract
mul = multiply


def divide(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """True division; integer operands are divided as float64, as TF1's `/` does."""
    x, y = _pair(x, y)
    if not x.dtype.is_floating:
        x, y = cast(x, _dt.float64), cast(y, _dt.float64)
    return make("Div", [x, y], name=name)


truediv = divide


def floordiv(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """Floor division; integers stay integers (the integer Div op floors, exactly, in 64 bits)."""
    x, y = _pair(x, y)
    return floor(make("Div", [x, y]), name=name) if x.dtype.is_floating else make("Div", [x, y], name=name)


def div(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """TF1's `tf.div`: floor division for integers (Python 2's `/`), true division for floats."""
    x, y = _pair(x, y)
    return make("Div", [x, y], name=name)


def where(condition: TensorLike, x: TensorLike | None = None, y: TensorLike | None = None,
          name: str | None = None) -> Tensor:
    """Elementwise choice between x and y (op type 'Select'). As TF1's `where`, a vector condition picks
    whole rows of higher-rank x and y, and a condition whose rank is known only at run time (a
    `placeholder(tf.bool)`: a scalar, a row vector or x's shape) leaves the result with x and y's shape."""
    if x is None or y is None:
        raise NotImplementedError("where(condition) without x and y (index lookup) is not supported")
    condition = convert_to_tensor(condition)
    x, y = _pair(x, y)
    both = broadcast(x.shape, y.shape)
    if both.unknown_rank or (not condition.shape.unknown_rank and (len(condition.shape) != 1 or len(both) < 2)):
        return make("Select", [condition, x, y], name=name)
    if len(both) >= 2:
        condition = _rows_condition(condition, len(both))
    out = make("Select", [condition, x, y], name=name)
    out.set_shape(both if out.shape.unknown_rank else broadcast(out.shape, both))
    return out


def _rows_condition(condition: Tensor, rank: int) -> Tensor:
    """`condition` reshaped to broadcast as TF1's `where` reads it against rank-`rank` values: its own
    shape followed by ones (a vector of n becomes (n, 1, ..., 1); a scalar or a full mask stays as it is)."""
    from .array_ops import concat, fill, reshape, shape
    from .array_ops import rank as rank_of
    if not condition.shape.unknown_rank:
        return reshape(condition, [-1] + [1] * (rank - 1))
    pad = fill(reshape(convert_to_tensor(rank) - rank_of(condition), [1]), 1)
    return reshape(condition, concat([shape(condition), pad], 0))


def clip_by_value(t: TensorLike, clip_value_min: TensorLike, clip_value_max: TensorLike,
                  name: str | None = None) -> Tensor:
    return minimum(maximum(t, clip_value_min), clip_value_max, name=name)


def add_n(inputs: Sequence[TensorLike], name: str | None = None) -> Tensor:
    inputs = [convert_to_tensor(t) for t in inputs]
    out = inputs[0]
    for t in inputs[1:]:
        out = add(out, t)
    return out  # type: ignore[return-value]  # inputs are tensors by now


def _norm_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple, np.ndarray)):
        return tuple(int(a) for a in axis)
    return int(axis)


def _reducer(op_type: str) -> Reducer:
    def fn(input_tensor: TensorLike, axis: Axis = None, keepdims: bool | None = None, name: str | None = None,
           reduction_indices: Axis = None, keep_dims: bool | None = None) -> Tensor:
        if axis is None:
            axis = reduction_indices
        keep = bool(keepdims if keepdims is not None else keep_dims)
        x = convert_to_tensor(input_tensor)
        if op_type == "ReduceMean" and not x.dtype.is_floating and not x.dtype.is_integer:
            raise TypeError(f"reduce_mean of '{x.name}' needs a numeric tensor, got {x.dtype.name}")
        return make(op_type, [x], {"axis": _norm_axis(axis), "keepdims": keep}, name=name)
    fn.__name__ = "reduce_" + op_type[6:].lower()
    return fn


reduce_sum = _reducer("ReduceSum")
reduce_mean = _reducer("ReduceMean")
reduce_max = _reducer("ReduceMax")
reduce_min = _reducer("ReduceMin")
reduce_prod = _reducer("ReduceProd")


def reduce_any(input_tensor: TensorLike, axis: Axis = None, keepdims: bool = False,
               name: str | None = None) -> Tensor:
    return greater(reduce_max(cast(input_tensor, _dt.int32), axis, keepdims), 0, name=name)


def reduce_all(input_tensor: TensorLike, axis: Axis = None, keepdims: bool = False,
               name: str | None = None) -> Tensor:
    return greater(reduce_min(cast(input_tensor, _dt.int32), axis, keepdims), 0, name=name)


def _arg(op_type: str) -> Callable[..., Tensor]:
    def fn(input: TensorLike, axis: int | None = None, name: str | None = None,  # noqa: A002
           dimension: int | None = None, output_type: DTypeLike = _dt.int64) -> Tensor:
        if axis is None:
            axis = dimension if dimension is not None else 0
        return make(op_type, [convert_to_tensor(input)], {"axis": int(axis), "output_type": _dt.as_dtype(output_type)},
                    name=name)
    fn.__name__ = op_type.lower()
    return fn


argmax = _arg("ArgMax")
argmin = _arg("ArgMin")


def matmul(a: TensorLike, b: TensorLike, transpose_a: bool = False, transpose_b: bool = False,
           name: str | None = None) -> Tensor:
    a, b = _pair(a, b)
    return make("MatMul", [a, b], {"transpose_a": bool(transpose_a), "transpose_b": bool(transpose_b)}, name=name)


def zeros_like(x: TensorLike, dtype: DTypeLike | None = None, name: str | None = None) -> Tensor:
    x = convert_to_tensor(x)
    return make("FullLike", [x], {"value": 0, "dtype": _dt.as_dtype(dtype or x.dtype)}, name=name)


def ones_like(x: TensorLike, dtype: DTypeLike | None = None, name: str | None = None) -> Tensor:
    x = convert_to_tensor(x)
    return make("FullLike", [x], {"value": 1, "dtype": _dt.as_dtype(dtype or x.dtype)}, name=name)


register("FullLike", lambda s, d, a: [(s[0], a["dtype"])], grad=lambda op, g: [None], shape_inputs={0})
