"""Elementwise, reduction and matrix ops: definitions (shape + gradient rules) and the TF1 functions."""
import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, broadcast, fmt, normalize_axis
from .registry import register


# -- shape rules ---------------------------------------------------------------------------
def same_as_input(shapes, dtypes, attrs):
    return [(shapes[0], dtypes[0])]


def _check_same_dtype(dtypes):
    if len(set(d.name for d in dtypes)) > 1:
        raise ShapeError("inputs have different dtypes " + " and ".join(d.name for d in dtypes))


def broadcast_rule(out_dtype=None):
    def rule(shapes, dtypes, attrs):
        _check_same_dtype(dtypes)
        out = shapes[0]
        for s in shapes[1:]:
            out = broadcast(out, s)
        return [(out, out_dtype or dtypes[0])]
    return rule


def _float_only(rule, name):
    def checked(shapes, dtypes, attrs):
        if not dtypes[0].is_floating:
            raise ShapeError(f"{name} needs a floating-point input, got {dtypes[0].name}")
        return rule(shapes, dtypes, attrs)
    return checked


# -- gradient helpers ----------------------------------------------------------------------
def sum_to(g, x):
    """Reduce a broadcast gradient back to the shape of `x` (a no-op when shapes match at run time)."""
    if g.shape.is_fully_defined() and tuple(g.shape) == tuple(x.shape):
        return g
    return make("SumTo", [g, x])


def reduce_grad(g, x, axes, keepdims, kind="sum"):
    """Broadcast a value reduced over `axes` back over `x`; kind 'mean' also divides by the reduced count."""
    return make("ReduceGrad", [g, x], {"axes": tuple(axes), "keepdims": bool(keepdims), "kind": kind})


def _float_grad(fn):
    def grad(op, g):
        if not op.inputs[0].dtype.is_floating:
            return [None] * len(op.inputs)
        return fn(op, g)
    return grad


# -- unary elementwise ---------------------------------------------------------------------
_UNARY_GRADS = {
    "Neg": lambda op, g: [-g],
    "Abs": lambda op, g: [g * sign(op.inputs[0])],
    "Exp": lambda op, g: [g * op.outputs[0]],
    "Log": lambda op, g: [g / op.inputs[0]],
    "Log1p": lambda op, g: [g / (1.0 + op.inputs[0])],
    "Sqrt": lambda op, g: [g / (2.0 * op.outputs[0])],
    "Square": lambda op, g: [g * (2.0 * op.inputs[0])],
    "Reciprocal": lambda op, g: [-g * op.outputs[0] * op.outputs[0]],
    "Tanh": lambda op, g: [make("TanhGrad", [op.outputs[0], g])],
    "Sigmoid": lambda op, g: [make("SigmoidGrad", [op.outputs[0], g])],
    "Relu": lambda op, g: [make("ReluGrad", [g, op.inputs[0]])],
    "Sign": lambda op, g: [None],
    "Floor": lambda op, g: [None],
}
for _name, _grad in _UNARY_GRADS.items():
    _rule = same_as_input if _name in ("Neg", "Abs", "Square", "Sign", "Relu") else _float_only(same_as_input, _name)
    register(_name, _rule, grad=_float_grad(_grad))
register("LogicalNot", lambda s, d, a: [(s[0], _dt.bool_)])


# Fused backward kernels; a backend without them gets the expansion into primitives.
def _expand_tanh_grad(b, ins, attrs):
    y, g = ins
    return [b.emit("Mul", [g, b.emit("Sub", [b.scalar(1, y), b.emit("Mul", [y, y])])])]


def _expand_sigmoid_grad(b, ins, attrs):
    y, g = ins
    return [b.emit("Mul", [g, b.emit("Mul", [y, b.emit("Sub", [b.scalar(1, y), y])])])]


def _expand_relu_grad(b, ins, attrs):
    g, x = ins
    mask = b.emit("Cast", [b.emit("Greater", [x, b.scalar(0, x)])], {"dtype": g.dtype})
    return [b.emit("Mul", [g, mask])]


register("TanhGrad", broadcast_rule(), expand=_expand_tanh_grad,
         grad=lambda op, gg: [gg * -2.0 * op.inputs[0] * op.inputs[1], make("TanhGrad", [op.inputs[0], gg])])
register("SigmoidGrad", broadcast_rule(), expand=_expand_sigmoid_grad,
         grad=lambda op, gg: [gg * op.inputs[1] * (1.0 - 2.0 * op.inputs[0]),
                              make("SigmoidGrad", [op.inputs[0], gg])])
register("ReluGrad", broadcast_rule(), expand=_expand_relu_grad,
         grad=lambda op, gg: [make("ReluGrad", [gg, op.inputs[1]]), None])


# -- binary elementwise --------------------------------------------------------------------
def _grad_add(op, g):
    x, y = op.inputs
    return [sum_to(g, x), sum_to(g, y)]


def _grad_sub(op, g):
    x, y = op.inputs
    return [sum_to(g, x), sum_to(-g, y)]


def _grad_mul(op, g):
    x, y = op.inputs
    return [sum_to(g * y, x), sum_to(g * x, y)]


def _grad_div(op, g):
    x, y = op.inputs
    return [sum_to(g / y, x), sum_to(-g * op.outputs[0] / y, y)]


def _grad_pow(op, g):
    x, y = op.inputs
    z = op.outputs[0]
    gx = g * y * pow(x, y - 1.0)
    safe_log = where(greater(x, 0.0), log(where(greater(x, 0.0), x, ones_like(x))), zeros_like(x))
    gy = g * z * safe_log
    return [sum_to(gx, x), sum_to(gy, y)]


def _minmax_grad(cmp):
    def grad(op, g):
        x, y = op.inputs
        mask = cast(cmp(x, y), g.dtype)
        return [sum_to(g * mask, x), sum_to(g * (1.0 - mask), y)]
    return grad


for _name, _grad in {"Add": _grad_add, "Sub": _grad_sub, "Mul": _grad_mul, "Div": _grad_div,
                     "Pow": _grad_pow, "Maximum": _minmax_grad(lambda a, b: greater_equal(a, b)),
                     "Minimum": _minmax_grad(lambda a, b: less_equal(a, b))}.items():
    register(_name, broadcast_rule(), grad=_float_grad(_grad))
for _name in ("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr"):
    register(_name, broadcast_rule(_dt.bool_))


def _where_rule(shapes, dtypes, attrs):
    if dtypes[0] != _dt.bool_:
        raise ShapeError(f"condition must be bool, got {dtypes[0].name}")
    _check_same_dtype(dtypes[1:])
    return [(broadcast(broadcast(shapes[0], shapes[1]), shapes[2]), dtypes[1])]


def _grad_where(op, g):
    c, x, y = op.inputs
    zero = zeros_like(g)
    return [None, sum_to(where(c, g, zero), x), sum_to(where(c, zero, g), y)]


register("Select", _where_rule, grad=_grad_where)  # inputs[0] is the bool condition: no float check


def _sum_to_rule(shapes, dtypes, attrs):
    return [(shapes[1], dtypes[0])]


def _reduce_grad_rule(shapes, dtypes, attrs):
    return [(shapes[1], dtypes[0])]


register("SumTo", _sum_to_rule, grad=lambda op, g: [_broadcast_like(g, op.inputs[0]), None])
def _grad_reduce_grad(op, gg):
    reducer = reduce_mean if op.attrs["kind"] == "mean" else reduce_sum
    return [reducer(gg, op.attrs["axes"], keepdims=op.attrs["keepdims"]), None]


register("ReduceGrad", _reduce_grad_rule, grad=_grad_reduce_grad)


def _broadcast_like(g, like):
    return make("BroadcastLike", [g, like])


register("BroadcastLike", lambda s, d, a: [(s[1], d[0])], grad=lambda op, g: [sum_to(g, op.inputs[0]), None])


def _cast_rule(shapes, dtypes, attrs):
    return [(shapes[0], attrs["dtype"])]


def _grad_cast(op, g):
    src = op.inputs[0].dtype
    return [cast(g, src) if src.is_floating and g.dtype.is_floating else None]


register("Cast", _cast_rule, grad=_grad_cast)


# -- reductions ----------------------------------------------------------------------------
def _reduce_rule(shapes, dtypes, attrs):
    shape = shapes[0]
    axes = attrs["axis"]
    axes = tuple(range(len(shape))) if axes is None else normalize_axis(axes, len(shape))
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


for _name, _grad in {"ReduceSum": _grad_sum, "ReduceMean": _grad_mean, "ReduceMax": _grad_extreme,
                     "ReduceMin": _grad_extreme, "ReduceProd": _grad_prod}.items():
    register(_name, _reduce_rule, grad=_float_grad(_grad))


def _arg_rule(shapes, dtypes, attrs):
    (axis,) = normalize_axis(attrs["axis"], len(shapes[0]))
    return [(TensorShape(d for i, d in enumerate(shapes[0]) if i != axis), attrs["output_type"])]


register("ArgMax", _arg_rule)
register("ArgMin", _arg_rule)


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
def _pair(x, y):
    """Convert two operands; a non-tensor takes the tensor's dtype, two tensors must agree."""
    x_is = isinstance(x, Tensor) or hasattr(x, "_as_tensor")
    y_is = isinstance(y, Tensor) or hasattr(y, "_as_tensor")
    if x_is:
        x = convert_to_tensor(x)
        y = convert_to_tensor(y) if y_is else convert_to_tensor(y, dtype=x.dtype)
    elif y_is:
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype=y.dtype)
    else:
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=x.dtype)
    if x.dtype != y.dtype:
        raise TypeError(f"operands '{x.name}' ({x.dtype.name}) and '{y.name}' ({y.dtype.name}) have different "
                        f"dtypes; cast one with nnplug.cast")
    return x, y


def _binary(op_type):
    def fn(x, y, name=None):
        x, y = _pair(x, y)
        return make(op_type, [x, y], name=name)
    fn.__name__ = op_type.lower()
    return fn


def _unary(op_type):
    def fn(x, name=None):
        return make(op_type, [convert_to_tensor(x)], name=name)
    fn.__name__ = op_type.lower()
    return fn


add = _binary("Add")
subtract = _binary("Sub")
multiply = _binary("Mul")
maximum = _binary("Maximum")
minimum = _binary("Minimum")
equal = _binary("Equal")
not_equal = _binary("NotEqual")
less = _binary("Less")
less_equal = _binary("LessEqual")
greater = _binary("Greater")
greater_equal = _binary("GreaterEqual")
logical_and = _binary("LogicalAnd")
logical_or = _binary("LogicalOr")
negative = _unary("Neg")
abs = _unary("Abs")  # noqa: A001 - the TF1 name
exp = _unary("Exp")
log = _unary("Log")
log1p = _unary("Log1p")
sqrt = _unary("Sqrt")
square = _unary("Square")
reciprocal = _unary("Reciprocal")
tanh = _unary("Tanh")
sigmoid = _unary("Sigmoid")
relu = _unary("Relu")
sign = _unary("Sign")
floor = _unary("Floor")
logical_not = _unary("LogicalNot")
sub = subtract
mul = multiply


def divide(x, y, name=None):
    """True division; integer operands are divided as float64, as TF1's `/` does."""
    x, y = _pair(x, y)
    if not x.dtype.is_floating:
        x, y = cast(x, _dt.float64), cast(y, _dt.float64)
    return make("Div", [x, y], name=name)


truediv = div = divide


def floordiv(x, y, name=None):
    x, y = _pair(x, y)
    return floor(divide(x, y)) if x.dtype.is_floating else cast(floor(divide(x, y)), x.dtype)


def pow(x, y, name=None):  # noqa: A001 - the TF1 name
    x, y = _pair(x, y)
    return make("Pow", [x, y], name=name)


def rsqrt(x, name=None):
    return reciprocal(sqrt(x), name=name)


def where(condition, x=None, y=None, name=None):
    if x is None or y is None:
        raise NotImplementedError("where(condition) without x and y (index lookup) is not supported")
    condition = convert_to_tensor(condition)
    x, y = _pair(x, y)
    return make("Select", [condition, x, y], name=name)


def cast(x, dtype, name=None):
    x = convert_to_tensor(x)
    dtype = _dt.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return make("Cast", [x], {"dtype": dtype}, name=name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return minimum(maximum(t, clip_value_min), clip_value_max, name=name)


def add_n(inputs, name=None):
    inputs = [convert_to_tensor(t) for t in inputs]
    out = inputs[0]
    for t in inputs[1:]:
        out = add(out, t)
    return out


def _norm_axis(axis):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple, np.ndarray)):
        return tuple(int(a) for a in axis)
    return int(axis)


def _reducer(op_type):
    def fn(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
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


def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    return greater(reduce_max(cast(input_tensor, _dt.int32), axis, keepdims), 0, name=name)


def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    return greater(reduce_min(cast(input_tensor, _dt.int32), axis, keepdims), 0, name=name)


def _arg(op_type):
    def fn(input, axis=None, name=None, dimension=None, output_type=_dt.int64):  # noqa: A002
        if axis is None:
            axis = dimension if dimension is not None else 0
        return make(op_type, [convert_to_tensor(input)], {"axis": int(axis), "output_type": _dt.as_dtype(output_type)},
                    name=name)
    fn.__name__ = op_type.lower()
    return fn


argmax = _arg("ArgMax")
argmin = _arg("ArgMin")


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    a, b = _pair(a, b)
    return make("MatMul", [a, b], {"transpose_a": bool(transpose_a), "transpose_b": bool(transpose_b)}, name=name)


def zeros_like(x, dtype=None, name=None):
    x = convert_to_tensor(x)
    return make("FullLike", [x], {"value": 0, "dtype": _dt.as_dtype(dtype or x.dtype)}, name=name)


def ones_like(x, dtype=None, name=None):
    x = convert_to_tensor(x)
    return make("FullLike", [x], {"value": 1, "dtype": _dt.as_dtype(dtype or x.dtype)}, name=name)


register("FullLike", lambda s, d, a: [(s[0], a["dtype"])], grad=lambda op, g: [None])
