"""NumPy kernel factories: each takes a KernelSpec (concrete shapes) and returns a plain callable."""
import functools
import math

import numpy as np

from nnplug.backend import IDENTITY
from nnplug.ops.array_ops import spec_to_key

KERNELS = {}


def kernel(*names):
    def deco(factory):
        for n in names:
            KERNELS[n] = factory
        return factory
    return deco


def _fixed(fn):
    return lambda spec: fn


# -- elementwise ---------------------------------------------------------------------------
for _name, _fn in {
    "Neg": np.negative, "Abs": np.abs, "Exp": np.exp, "Log": np.log, "Log1p": np.log1p, "Sqrt": np.sqrt,
    "Square": np.square, "Reciprocal": np.reciprocal, "Tanh": np.tanh, "Sign": np.sign, "Floor": np.floor,
    "LogicalNot": np.logical_not, "Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
    "Pow": np.power, "Maximum": np.maximum, "Minimum": np.minimum, "Equal": np.equal, "NotEqual": np.not_equal,
    "Less": np.less, "LessEqual": np.less_equal, "Greater": np.greater, "GreaterEqual": np.greater_equal,
    "LogicalAnd": np.logical_and, "LogicalOr": np.logical_or, "Select": np.where,
}.items():
    KERNELS[_name] = _fixed(_fn)


@kernel("Div")
def _div(spec):
    # the API divides integers as floats (TF1's truediv); a raw integer Div keeps its dtype: floor division
    return np.true_divide if spec.out_dtype.is_floating else np.floor_divide


@kernel("Relu")
def _relu(spec):
    zero = spec.out_dtype.np.type(0)
    return lambda x, out=None: np.maximum(x, zero, out=out)


@kernel("Sigmoid")
def _sigmoid(spec):
    half = spec.out_dtype.np.type(0.5)

    def sigmoid(x, out=None):  # 0.5 * (1 + tanh(x/2)): exact and overflow-free
        y = np.tanh(np.multiply(x, half, out=out), out=out)
        return np.multiply(np.add(y, 1, out=out), half, out=out)  # out=None on 0-d: NumPy scalars
    return sigmoid


@kernel("Copy")
def _copy(spec):
    return np.array


@kernel("TanhGrad")
def _tanh_grad(spec):
    def tanh_grad(y, g):  # g * (1 - y*y), y and g share a shape
        d = np.multiply(y, y)
        if np.ndim(d) == 0:
            return g * (1 - d)
        np.subtract(1, d, out=d)
        d *= g
        return d
    return tanh_grad


@kernel("SigmoidGrad")
def _sigmoid_grad(spec):
    def sigmoid_grad(y, g):
        return g * (y * (1 - y))
    return sigmoid_grad


@kernel("ReluGrad")
def _relu_grad(spec):
    def relu_grad(g, x):
        return g * (x > 0)
    return relu_grad


@kernel("Cast")
def _cast(spec):
    dtype = spec.attrs["dtype"].np
    return lambda x: x.astype(dtype)


@kernel("FullLike")
def _full_like(spec):
    shape, dtype, value = spec.out_shape, spec.out_dtype.np, spec.attrs["value"]
    return lambda x: np.full(shape, value, dtype)


# -- reductions ----------------------------------------------------------------------------
def _axes(spec):
    axis = spec.attrs["axis"]
    rank = len(spec.in_shapes[0])
    if axis is None:
        return tuple(range(rank))
    return tuple(a % rank for a in ((axis,) if isinstance(axis, int) else axis))


def _reducer(fn):
    def factory(spec):
        axes, keep, dtype = _axes(spec), spec.attrs["keepdims"], spec.out_dtype.np
        if not axes:
            return IDENTITY
        return lambda x: np.asarray(fn(x, axis=axes, keepdims=keep), dtype=dtype)
    return factory


KERNELS["ReduceSum"] = _reducer(np.sum)
KERNELS["ReduceMax"] = _reducer(np.max)
KERNELS["ReduceMin"] = _reducer(np.min)
KERNELS["ReduceProd"] = _reducer(np.prod)


@kernel("ReduceMean")
def _mean(spec):
    axes, keep, dtype = _axes(spec), spec.attrs["keepdims"], spec.out_dtype.np
    if not axes:
        return IDENTITY
    if spec.out_dtype.is_integer:  # TF1: integer means truncate toward zero
        n = math.prod(spec.in_shapes[0][a] for a in axes)
        return lambda x: np.trunc(np.sum(x, axis=axes, keepdims=keep, dtype=np.float64) / n).astype(dtype)
    return lambda x: np.mean(x, axis=axes, keepdims=keep)


@kernel("ArgMax", "ArgMin")
def _arg(spec):
    fn = np.argmax if spec.op_type == "ArgMax" else np.argmin
    axis, dtype = spec.attrs["axis"], spec.out_dtype.np
    return lambda x: fn(x, axis=axis).astype(dtype, copy=False)


@kernel("SumTo")
def _sum_to(spec):
    g_shape, x_shape = spec.in_shapes
    lead = len(g_shape) - len(x_shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(x_shape) if d == 1 and g_shape[lead + i] != 1)
    if not axes:
        return IDENTITY
    return lambda g, x: np.sum(g, axis=axes).reshape(x_shape)


@kernel("ReduceGrad", "BroadcastLike")
def _spread(spec):
    g_shape, x_shape = spec.in_shapes
    axes = spec.attrs.get("axes", ())
    keep = spec.attrs.get("keepdims", True)
    shaped = tuple(1 if i in axes else d for i, d in enumerate(x_shape)) if axes and not keep else g_shape
    scale = 1.0 / math.prod(x_shape[a] for a in axes) if spec.attrs.get("kind") == "mean" and axes else None
    if scale is not None:
        scale = spec.out_dtype.np.type(scale)
        return lambda g, x: np.broadcast_to(g.reshape(shaped) * scale, x_shape)
    if tuple(g_shape) == tuple(x_shape):
        return IDENTITY
    return lambda g, x: np.broadcast_to(g.reshape(shaped), x_shape)


# -- matrix product ------------------------------------------------------------------------
@kernel("MatMul")
def _matmul(spec):
    ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
    if len(spec.in_shapes[0]) == 2 and len(spec.in_shapes[1]) == 2:
        return {(False, False): np.matmul, (True, False): lambda a, b: a.T @ b,
                (False, True): lambda a, b: a @ b.T, (True, True): lambda a, b: a.T @ b.T}[(ta, tb)]
    ma = (lambda a: np.swapaxes(a, -1, -2)) if ta else (lambda a: a)
    mb = (lambda b: np.swapaxes(b, -1, -2)) if tb else (lambda b: b)
    return lambda a, b: np.matmul(ma(a), mb(b))


# -- shapes --------------------------------------------------------------------------------
@kernel("Reshape", "ReshapeLike", "ExpandDims", "Squeeze")
def _reshape(spec):
    out = tuple(spec.out_shape)
    if tuple(spec.in_shapes[0]) == out:
        return IDENTITY
    return lambda x, *like: x.reshape(out)


@kernel("Transpose")
def _transpose(spec):
    perm = spec.attrs["perm"]
    return lambda x: np.transpose(x, perm)


@kernel("Concat")
def _concat(spec):
    axis = spec.attrs["axis"]
    return lambda *xs: np.concatenate(xs, axis=axis)


@kernel("ConcatGrad")
def _concat_grad(spec):
    rank = len(spec.in_shapes[0])
    axis = spec.attrs["axis"] % rank
    idx = spec.attrs["index"]
    start = sum(s[axis] for s in spec.in_shapes[1:1 + idx])
    key = (slice(None),) * axis + (slice(start, start + spec.in_shapes[1 + idx][axis]),)
    return lambda g, *xs: g[key]


@kernel("StridedSlice")
def _slice(spec):
    key = spec_to_key(spec.attrs["spec"], len(spec.in_shapes[0]))
    return lambda x: x[key]


@kernel("SliceGrad")
def _slice_grad(spec):
    key = spec_to_key(spec.attrs["spec"], len(spec.in_shapes[1]))
    shape, dtype = spec.out_shape, spec.out_dtype.np

    def slice_grad(g, x):
        z = np.zeros(shape, dtype)
        z[key] = g
        return z
    return slice_grad


@kernel("Gather")
def _gather(spec):
    axis = spec.attrs["axis"]
    return lambda p, i: np.take(p, i, axis=axis)


@kernel("GatherGrad")
def _gather_grad(spec):
    axis = spec.attrs["axis"] % len(spec.out_shape)
    shape, dtype = spec.out_shape, spec.out_dtype.np

    def gather_grad(g, idx, params):
        z = np.zeros(shape, dtype)
        np.add.at(z, (slice(None),) * axis + (idx,), g)
        return z
    return gather_grad


@kernel("OneHot")
def _one_hot(spec):
    a = spec.attrs
    classes = np.arange(a["depth"])
    dtype = a["dtype"].np
    on, off = dtype.type(a["on_value"]), dtype.type(a["off_value"])
    axis = a["axis"]

    def one_hot(i):
        out = np.where(i[..., None] == classes, on, off).astype(dtype, copy=False)
        return out if axis == -1 else np.moveaxis(out, -1, axis)
    return one_hot


@kernel("Shape")
def _shape(spec):
    value = np.array(spec.in_shapes[0], dtype=spec.out_dtype.np)
    return lambda x: value


# -- random --------------------------------------------------------------------------------
def _draw(spec, fn):
    shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
    native = dtype if dtype in (np.float32, np.float64) else np.float64
    return lambda *like: fn(rng, shape, native).astype(dtype, copy=False)


@kernel("RandomStandardNormal")
def _normal(spec):
    return _draw(spec, lambda rng, shape, dt: rng.standard_normal(shape, dtype=dt))


@kernel("RandomUniform")
def _uniform(spec):
    return _draw(spec, lambda rng, shape, dt: rng.random(shape, dtype=dt))


@kernel("TruncatedNormal")
def _truncated(spec):
    def draw(rng, shape, dt):
        x = rng.standard_normal(shape, dtype=dt)
        bad = np.abs(x) > 2
        while bad.any():
            x[bad] = rng.standard_normal(int(bad.sum()), dtype=dt)
            bad = np.abs(x) > 2
        return x
    return _draw(spec, draw)


@kernel("RandomUniformInt")
def _uniform_int(spec):
    shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
    lo, hi = spec.attrs["minval"], spec.attrs["maxval"]
    return lambda *like: rng.integers(lo, hi, shape, dtype=dtype)


# -- fused composites ----------------------------------------------------------------------
def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


@kernel("Softmax")
def _softmax(spec):
    axis = spec.attrs["axis"]

    def softmax(x):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        return e
    return softmax


@kernel("LogSoftmax")
def _log_softmax_kernel(spec):
    return functools.partial(_log_softmax, axis=spec.attrs["axis"])


@kernel("SoftmaxCrossEntropyWithLogits")
def _xent(spec):
    if spec.attrs["sparse"]:
        def sparse_xent(logits, labels):
            log_p = _log_softmax(logits, -1)
            idx = labels[..., None].astype(np.intp)
            if np.any(idx < 0) or np.any(idx >= logits.shape[-1]):
                raise ValueError(f"labels must be class ids in [0, {logits.shape[-1]}), got {labels.min()}.."
                                 f"{labels.max()} in '{spec.name}'")
            loss = -np.take_along_axis(log_p, idx, -1)[..., 0]
            backprop = np.exp(log_p)
            np.put_along_axis(backprop, idx, np.take_along_axis(backprop, idx, -1) - 1, -1)
            return loss, backprop
        return sparse_xent

    def xent(logits, labels):
        log_p = _log_softmax(logits, -1)
        loss = -np.einsum("...i,...i->...", labels, log_p)
        backprop = np.exp(log_p)
        backprop *= labels.sum(-1, keepdims=True)
        backprop -= labels
        return loss, backprop
    return xent


# Kernels that always return a new buffer, and those that take `out=` (an input buffer that dies there).
INPLACE = frozenset({
    "Neg", "Abs", "Exp", "Log", "Log1p", "Sqrt", "Square", "Reciprocal", "Tanh", "Sign", "Floor", "Add", "Sub",
    "Mul", "Div", "Pow", "Maximum", "Minimum", "Relu", "Sigmoid",
})
FRESH = INPLACE | frozenset({
    "LogicalNot", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr",
    "Select", "TanhGrad", "SigmoidGrad", "ReluGrad", "Cast", "MatMul", "ReduceSum", "ReduceMax", "ReduceMin",
    "ReduceProd", "ReduceMean", "ArgMax", "ArgMin", "SumTo", "Concat", "SliceGrad", "Gather", "GatherGrad",
    "OneHot", "Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits", "Copy", "RandomStandardNormal",
    "RandomUniform", "TruncatedNormal", "RandomUniformInt",
})
