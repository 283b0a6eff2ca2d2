"""Kernels written once against an array namespace (the Array API standard), as plain module-level factories.

`XP_KERNELS` serves every backend whose arrays follow the standard: the numpy backend builds on it, as do
CuPy and the `nnplug-arrayapi` plugin, each replacing the few kernels its device does better. A factory finds
the namespace as `spec.backend.xp` and moves host data (random draws) with `spec.backend.to_device`. Only
standard calls are used, with fallbacks for the older spellings CuPy still has (`concatenate`, `transpose`,
`power`), so the same code runs on array-api-strict, NumPy 2 and CuPy. Nothing here branches on array
*values*: a GPU step never waits for the device (out-of-range sparse labels give NaN, as TF does on GPUs).
The elementwise kernels come from the rows in nnplug/ops/elementwise.py.
"""
import math

import numpy as np

from .backend import IDENTITY
from .kernels import Kernels
from .ops.array_ops import spec_to_key
from .ops.elementwise import ROWS
from . import host_random

XP_KERNELS = Kernels()
register = XP_KERNELS.register


def fn(xp, *names):
    """The first of `names` the namespace has."""
    for n in names:
        f = getattr(xp, n, None)
        if f is not None:
            return f
    raise AttributeError(f"array namespace {getattr(xp, '__name__', xp)} has none of {names}")


def xp_dtype(xp, d):
    """nnplug DType (or NumPy dtype) -> the namespace's dtype object (xp.float32, xp.bool, ...)."""
    np_dtype = d.np if hasattr(d, "np") else np.dtype(d)
    name = "bool" if np_dtype.kind == "b" else np_dtype.name
    return getattr(xp, name, None) or getattr(xp, name + "_", None) or np_dtype


def astype(xp, x, to, copy=True):
    f = getattr(xp, "astype", None)
    return f(x, to, copy=copy) if f is not None else x.astype(to, copy=copy)


def reduction_axes(spec):
    axis = spec.attrs["axis"]
    rank = len(spec.in_shapes[0])
    if axis is None:
        return tuple(range(rank))
    return tuple(a % rank for a in ((axis,) if isinstance(axis, int) else axis))


def sum_to_axes(spec):
    """The axes SumTo(g, x) sums over to bring g back to x's shape: g's extra leading axes and every axis
    where x has 1 and g does not (undoing a broadcast)."""
    g_shape, x_shape = (tuple(s) for s in spec.in_shapes)
    lead = len(g_shape) - len(x_shape)
    return tuple(range(lead)) + tuple(lead + i for i, d in enumerate(x_shape) if d == 1 and g_shape[lead + i] != 1)


def matmul_kernel(spec, matmul, swap_last):
    """MatMul with its transpose flags applied as `swap_last` views of the operands; keyword arguments
    (NumPy's `out=`) pass through to `matmul`."""
    ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
    if not ta and not tb:
        return matmul
    if ta and not tb:
        return lambda a, b, **kw: matmul(swap_last(a), b, **kw)
    if tb and not ta:
        return lambda a, b, **kw: matmul(a, swap_last(b), **kw)
    return lambda a, b, **kw: matmul(swap_last(a), swap_last(b), **kw)


def row_attrs(row, spec):
    """The row's float attributes as this op set them."""
    return {k: spec.attrs.get(k, default) for k, default in row.attrs.items()}


# -- elementwise: one factory for every row ---------------------------------------------------------
@register(*(name for name in ROWS if name != "Cast"), fresh=True)
def elementwise(spec):
    row, xp = ROWS[spec.op_type], spec.backend.xp
    if row.ufunc is not None:
        return row.resolve(xp)
    f, attrs = row.xp, row_attrs(row, spec)
    return (lambda *a: f(xp, *a, **attrs)) if attrs else (lambda *a: f(xp, *a))


@register("Div", fresh=True)
def div(spec):  # integer division keeps the integer dtype the op declares (TF1: floor division)
    return fn(spec.backend.xp, "floor_divide" if spec.out_dtype.is_integer else "divide")


@register("Cast", fresh=True)
def cast(spec):
    xp = spec.backend.xp
    to = xp_dtype(xp, spec.attrs["dtype"])
    return lambda x: astype(xp, x, to)


@register("FullLike", fresh=True)
def full_like(spec):
    xp = spec.backend.xp
    shape, to, value = tuple(spec.out_shape), xp_dtype(xp, spec.out_dtype), spec.attrs["value"]
    return lambda x: xp.full(shape, value, dtype=to)


# -- reductions -------------------------------------------------------------------------------------
def _reducer(name):
    def factory(spec):
        xp = spec.backend.xp
        axes, keep, to = reduction_axes(spec), spec.attrs["keepdims"], xp_dtype(xp, spec.out_dtype)
        if not axes:
            return IDENTITY
        f = getattr(xp, name)
        return lambda x: astype(xp, f(x, axis=axes, keepdims=keep), to, copy=False)
    return factory


for _op, _name in {"ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod"}.items():
    register(_op)(_reducer(_name))


@register("ReduceMean")
def reduce_mean(spec):
    xp = spec.backend.xp
    axes, keep, to = reduction_axes(spec), spec.attrs["keepdims"], xp_dtype(xp, spec.out_dtype)
    if not axes:
        return IDENTITY
    if spec.out_dtype.is_integer:  # TF1: integer mean truncates toward zero
        n = math.prod(spec.in_shapes[0][a] for a in axes)
        f64 = xp_dtype(xp, np.float64)
        return lambda x: astype(xp, xp.trunc(xp.sum(astype(xp, x, f64), axis=axes, keepdims=keep) / n), to)
    return lambda x: xp.mean(x, axis=axes, keepdims=keep)


@register("ArgMax", "ArgMin", fresh=True)
def arg_extreme(spec):
    xp = spec.backend.xp
    f = xp.argmax if spec.op_type == "ArgMax" else xp.argmin
    axis, to = spec.attrs["axis"] % len(spec.in_shapes[0]), xp_dtype(xp, spec.out_dtype)
    return lambda x: astype(xp, f(x, axis=axis), to, copy=False)


@register("SumTo")
def sum_to(spec):
    xp = spec.backend.xp
    x_shape = tuple(spec.in_shapes[1])
    axes = sum_to_axes(spec)
    if not axes:
        return IDENTITY
    return lambda g, x: xp.reshape(xp.sum(g, axis=axes), x_shape)


@register("ReduceGrad", "BroadcastLike")
def spread(spec):
    xp = spec.backend.xp
    g_shape, x_shape = (tuple(s) for s in spec.in_shapes)
    axes = spec.attrs.get("axes", ())
    keep = spec.attrs.get("keepdims", True)
    shaped = tuple(1 if i in axes else d for i, d in enumerate(x_shape)) if axes and not keep else g_shape
    if spec.attrs.get("kind") == "mean" and axes:
        scale = 1.0 / (math.prod(x_shape[a] for a in axes) or 1)  # an empty axis: no gradient to spread
        return lambda g, x: xp.broadcast_to(xp.reshape(g, shaped) * scale, x_shape)
    if g_shape == x_shape:
        return IDENTITY
    return lambda g, x: xp.broadcast_to(xp.reshape(g, shaped), x_shape)


# -- matrix product (cuBLAS on CuPy) ------------------------------------------------------------------
def swap_last(xp):
    permute = fn(xp, "permute_dims", "transpose")

    def swap(a):
        return permute(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))
    return swap


@register("MatMul", fresh=True)
def matmul(spec):
    xp = spec.backend.xp
    return matmul_kernel(spec, xp.matmul, swap_last(xp))


# -- shapes -------------------------------------------------------------------------------------------
@register("Reshape", "ReshapeLike", "ExpandDims", "Squeeze")
def reshape(spec):
    xp = spec.backend.xp
    out = tuple(spec.out_shape)
    if tuple(spec.in_shapes[0]) == out:
        return IDENTITY
    return lambda x, *like: xp.reshape(x, out)


@register("Transpose")
def transpose(spec):
    permute = fn(spec.backend.xp, "permute_dims", "transpose")
    perm = spec.attrs["perm"]
    perm = tuple(range(len(spec.in_shapes[0]) - 1, -1, -1)) if perm is None else tuple(perm)
    return lambda x: permute(x, perm)


@register("Concat", fresh=True)
def concat(spec):
    join = fn(spec.backend.xp, "concat", "concatenate")
    axis = spec.attrs["axis"]
    return lambda *xs: join(xs, axis=axis)


@register("ConcatGrad")
def concat_grad(spec):
    rank = len(spec.in_shapes[0])
    axis = spec.attrs["axis"] % rank
    idx = spec.attrs["index"]
    start = sum(s[axis] for s in spec.in_shapes[1:1 + idx])
    key = standard_key((slice(None),) * axis + (slice(start, start + spec.in_shapes[1 + idx][axis]),),
                       tuple(spec.in_shapes[0]))
    return lambda g, *xs: g[key]


def standard_key(key, shape):
    """A NumPy basic index as the Array API standard specifies indices: one entry per axis, in-bounds ints
    and slice bounds, no new axes (None; the caller reshapes)."""
    out, axis = [], 0
    for k in key:
        if k is None:
            continue
        n = shape[axis]
        if isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step < 0 and stop < 0:
                stop = None  # "before the first element": -1 would mean the last
            k = slice(start, stop, step)
        else:
            k = k % n if n else k
        out.append(k)
        axis += 1
    return tuple(out) + tuple(slice(None) for _ in shape[axis:])


@register("StridedSlice")
def strided_slice(spec):
    key = spec_to_key(spec.attrs["spec"], len(spec.in_shapes[0]))
    plain = standard_key(key, tuple(spec.in_shapes[0]))
    if None not in key:
        return lambda x: x[plain]
    xp, out = spec.backend.xp, tuple(spec.out_shape)
    return lambda x: xp.reshape(x[plain], out)


@register("SliceGrad", fresh=True)
def slice_grad(spec):
    xp = spec.backend.xp
    key = spec_to_key(spec.attrs["spec"], len(spec.in_shapes[1]))
    plain = standard_key(key, tuple(spec.in_shapes[1]))
    shape, to = tuple(spec.out_shape), xp_dtype(xp, spec.out_dtype)
    g_shape = _sliced_shape(plain, shape)

    def scatter(g, x):
        z = xp.zeros(shape, dtype=to)
        z[plain] = xp.reshape(g, g_shape)  # g may carry new axes (None) of the slice: drop them
        return z
    return scatter


def _sliced_shape(plain, shape):
    """The shape x[plain] has (ints drop their axis)."""
    return tuple(len(range(*k.indices(d))) for k, d in zip(plain, shape) if isinstance(k, slice))


@register("Gather", fresh=True)
def gather(spec):
    xp = spec.backend.xp
    axis = spec.attrs["axis"] % len(spec.in_shapes[0])
    out = tuple(spec.out_shape)
    if len(spec.in_shapes[1]) == 1:
        return lambda p, i: xp.take(p, i, axis=axis)
    return lambda p, i: xp.reshape(xp.take(p, xp.reshape(i, (-1,)), axis=axis), out)


@register("GatherGrad", fresh=True)
def gather_grad(spec):
    # scatter-add as a one-hot matrix product: the standard has no scatter, and this stays on device
    xp = spec.backend.xp
    shape = tuple(spec.out_shape)
    axis = spec.attrs["axis"] % len(shape)
    pre, n, post = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    m = math.prod(spec.in_shapes[1])
    to = xp_dtype(xp, spec.out_dtype)
    rows = xp.reshape(xp.arange(n), (n, 1))

    def scatter_add(g, idx, params):
        hot = astype(xp, rows == xp.reshape(astype(xp, idx, rows.dtype), (1, m)), to)
        return xp.reshape(xp.matmul(hot, xp.reshape(g, (pre, m, post))), shape)
    return scatter_add


@register("OneHot", fresh=True)
def one_hot(spec):
    xp = spec.backend.xp
    a = spec.attrs
    to = xp_dtype(xp, a["dtype"])
    classes = xp.arange(a["depth"])
    on, off = xp.full((), a["on_value"], dtype=to), xp.full((), a["off_value"], dtype=to)
    axis = a["axis"]
    move = fn(xp, "moveaxis")

    def hot(i):
        out = xp.where(astype(xp, i, classes.dtype)[..., None] == classes, on, off)
        return out if axis == -1 else move(out, -1, axis)
    return hot


@register("Shape")
def shape(spec):
    xp = spec.backend.xp
    value = xp.asarray(list(spec.in_shapes[0]), dtype=xp_dtype(xp, spec.out_dtype))
    return lambda x: value


# -- random: drawn on the host with the session's NumPy stream, so numbers match numpy's -----------------
@register(*host_random.OPS, fresh=True)
def random(spec):
    draw, to_device = host_random.sampler(spec), spec.backend.to_device
    return lambda *like: to_device(draw())


# -- fused composites ---------------------------------------------------------------------------------
def log_softmax_of(xp, x, axis):
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


@register("Softmax", fresh=True)
def softmax(spec):
    xp, axis = spec.backend.xp, spec.attrs["axis"]

    def run(x):
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        return e / xp.sum(e, axis=axis, keepdims=True)
    return run


@register("LogSoftmax", fresh=True)
def log_softmax(spec):
    xp, axis = spec.backend.xp, spec.attrs["axis"]
    return lambda x: log_softmax_of(xp, x, axis)


@register("SoftmaxCrossEntropyWithLogits", fresh=True)
def softmax_cross_entropy(spec):
    xp = spec.backend.xp
    to = xp_dtype(xp, spec.out_dtype)
    if spec.attrs["sparse"]:
        depth = spec.in_shapes[0][-1]
        classes = xp.arange(depth)
        nan = xp.full((), float("nan"), dtype=to)

        def sparse_xent(logits, labels):
            log_p = log_softmax_of(xp, logits, -1)
            lab = astype(xp, labels, classes.dtype)[..., None]
            hot = astype(xp, lab == classes, to)
            valid = (lab >= 0) & (lab < depth)  # out-of-range labels give NaN (no device sync)
            loss = xp.where(valid[..., 0], -xp.sum(hot * log_p, axis=-1), nan)
            return loss, xp.where(valid, xp.exp(log_p) - hot, nan)
        return sparse_xent

    def xent(logits, labels):
        log_p = log_softmax_of(xp, logits, -1)
        loss = -xp.sum(labels * log_p, axis=-1)
        return loss, xp.exp(log_p) * xp.sum(labels, axis=-1, keepdims=True) - labels
    return xent


def make_kernels(xp=None, from_host=None, dtype=None):
    """The shared table (for plugins written against the old factory-building API: the namespace now
    comes from `spec.backend.xp`)."""
    return XP_KERNELS
