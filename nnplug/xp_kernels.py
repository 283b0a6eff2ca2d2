"""Kernel factories written once against an array namespace `xp` (the Array API standard).

The CuPy backend and the `nnplug-arrayapi` plugin share these: each calls `make_kernels(xp, ...)` and then
replaces the few kernels its device does better (fused CUDA kernels, scatter-add). Only standard calls are
used, with fallbacks for the older spellings CuPy still has (`concatenate`, `transpose`, `power`), so the same
code runs on array-api-strict, NumPy 2 and CuPy. Nothing here branches on array *values*: a GPU step never
waits for the device (out-of-range sparse labels give NaN, as TF does on GPUs, instead of raising).
"""
import math

import numpy as np

from .backend import IDENTITY
from .ops.array_ops import spec_to_key


def _fn(xp, *names):
    for n in names:
        f = getattr(xp, n, None)
        if f is not None:
            return f
    raise AttributeError(f"array namespace {getattr(xp, '__name__', xp)} has none of {names}")


def dtype_of(xp):
    """nnplug DType -> the namespace's dtype object (xp.float32, xp.bool, ...)."""
    def convert(d):
        np_dtype = d.np if hasattr(d, "np") else np.dtype(d)
        name = "bool" if np_dtype.kind == "b" else np_dtype.name
        return getattr(xp, name, None) or getattr(xp, name + "_", None) or np_dtype
    return convert


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


def make_kernels(xp, from_host=None, dtype=None):
    """{op type: factory(spec) -> callable} for every primitive and the fused composites, on namespace `xp`.

    from_host(np_array) moves host data (random draws) to the device; it defaults to `xp.asarray`.
    """
    K = {}
    dt = dtype or dtype_of(xp)
    from_host = from_host or xp.asarray

    def kernel(*names):
        def deco(factory):
            for n in names:
                K[n] = factory
            return factory
        return deco

    def fixed(fn):
        return lambda spec: fn

    names = {
        "Neg": ("negative",), "Abs": ("abs",), "Exp": ("exp",), "Log": ("log",), "Log1p": ("log1p",),
        "Sqrt": ("sqrt",), "Square": ("square",), "Reciprocal": ("reciprocal",), "Tanh": ("tanh",),
        "Sign": ("sign",), "Floor": ("floor",), "LogicalNot": ("logical_not",), "Add": ("add",),
        "Sub": ("subtract",), "Mul": ("multiply",), "Pow": ("pow", "power"), "Maximum": ("maximum",),
        "Minimum": ("minimum",), "Equal": ("equal",), "NotEqual": ("not_equal",), "Less": ("less",),
        "LessEqual": ("less_equal",), "Greater": ("greater",), "GreaterEqual": ("greater_equal",),
        "LogicalAnd": ("logical_and",), "LogicalOr": ("logical_or",), "Select": ("where",),
    }
    for op, candidates in names.items():
        K[op] = fixed(_fn(xp, *candidates))

    divide, floor_divide = _fn(xp, "divide"), _fn(xp, "floor_divide")
    _astype = getattr(xp, "astype", None)

    def astype(x, to, copy=True):
        return _astype(x, to, copy=copy) if _astype is not None else x.astype(to, copy=copy)

    @kernel("Div")
    def _div(spec):  # integer division keeps the integer dtype the op declares (TF1: floor division)
        return floor_divide if spec.out_dtype.is_integer else divide

    @kernel("Relu")
    def _relu(spec):
        zero = xp.zeros((), dtype=dt(spec.out_dtype))
        return lambda x: xp.maximum(x, zero)

    @kernel("Sigmoid")
    def _sigmoid(spec):
        return lambda x: (xp.tanh(x * 0.5) + 1.0) * 0.5  # exact and overflow-free

    @kernel("TanhGrad")
    def _tanh_grad(spec):
        return lambda y, g: g * (1.0 - y * y)

    @kernel("SigmoidGrad")
    def _sigmoid_grad(spec):
        return lambda y, g: g * (y * (1.0 - y))

    @kernel("ReluGrad")
    def _relu_grad(spec):
        zero = xp.zeros((), dtype=dt(spec.out_dtype))
        return lambda g, x: xp.where(x > 0, g, zero)

    @kernel("Cast")
    def _cast(spec):
        to = dt(spec.attrs["dtype"])
        return lambda x: astype(x, to)

    @kernel("FullLike")
    def _full_like(spec):
        shape, to, value = tuple(spec.out_shape), dt(spec.out_dtype), spec.attrs["value"]
        return lambda x: xp.full(shape, value, dtype=to)

    # -- reductions --------------------------------------------------------------------------
    def reducer(fn):
        def factory(spec):
            axes, keep, to = reduction_axes(spec), spec.attrs["keepdims"], dt(spec.out_dtype)
            if not axes:
                return IDENTITY
            return lambda x: astype(fn(x, axis=axes, keepdims=keep), to, copy=False)
        return factory

    K["ReduceSum"] = reducer(xp.sum)
    K["ReduceMax"] = reducer(xp.max)
    K["ReduceMin"] = reducer(xp.min)
    K["ReduceProd"] = reducer(xp.prod)

    @kernel("ReduceMean")
    def _mean(spec):
        axes, keep, to = reduction_axes(spec), spec.attrs["keepdims"], dt(spec.out_dtype)
        if not axes:
            return IDENTITY
        if spec.out_dtype.is_integer:  # TF1: integer mean truncates toward zero
            n = math.prod(spec.in_shapes[0][a] for a in axes)
            f64 = dt(np.dtype(np.float64))
            return lambda x: astype(xp.trunc(xp.sum(astype(x, f64), axis=axes, keepdims=keep) / n), to)
        return lambda x: xp.mean(x, axis=axes, keepdims=keep)

    @kernel("ArgMax", "ArgMin")
    def _arg(spec):
        fn = xp.argmax if spec.op_type == "ArgMax" else xp.argmin
        axis, to = spec.attrs["axis"] % len(spec.in_shapes[0]), dt(spec.out_dtype)
        return lambda x: astype(fn(x, axis=axis), to, copy=False)

    @kernel("SumTo")
    def _sum_to(spec):
        x_shape = tuple(spec.in_shapes[1])
        axes = sum_to_axes(spec)
        if not axes:
            return IDENTITY
        return lambda g, x: xp.reshape(xp.sum(g, axis=axes), x_shape)

    @kernel("ReduceGrad", "BroadcastLike")
    def _spread(spec):
        g_shape, x_shape = (tuple(s) for s in spec.in_shapes)
        axes = spec.attrs.get("axes", ())
        keep = spec.attrs.get("keepdims", True)
        shaped = tuple(1 if i in axes else d for i, d in enumerate(x_shape)) if axes and not keep else g_shape
        if spec.attrs.get("kind") == "mean" and axes:
            scale = 1.0 / math.prod(x_shape[a] for a in axes)
            return lambda g, x: xp.broadcast_to(xp.reshape(g, shaped) * scale, x_shape)
        if g_shape == x_shape:
            return IDENTITY
        return lambda g, x: xp.broadcast_to(xp.reshape(g, shaped), x_shape)

    # -- matrix product (cuBLAS on CuPy) -----------------------------------------------------
    permute = _fn(xp, "permute_dims", "transpose")

    def swap_last(a):
        perm = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
        return permute(a, perm)

    K["MatMul"] = lambda spec: matmul_kernel(spec, xp.matmul, swap_last)

    # -- shapes ------------------------------------------------------------------------------
    @kernel("Reshape", "ReshapeLike", "ExpandDims", "Squeeze")
    def _reshape(spec):
        out = tuple(spec.out_shape)
        if tuple(spec.in_shapes[0]) == out:
            return IDENTITY
        return lambda x, *like: xp.reshape(x, out)

    @kernel("Transpose")
    def _transpose(spec):
        perm = spec.attrs["perm"]
        perm = tuple(range(len(spec.in_shapes[0]) - 1, -1, -1)) if perm is None else tuple(perm)
        return lambda x: permute(x, perm)

    concat = _fn(xp, "concat", "concatenate")

    @kernel("Concat")
    def _concat(spec):
        axis = spec.attrs["axis"]
        return lambda *xs: concat(xs, axis=axis)

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
        key = spec_to_key(spec.attrs["spec"], len(spec.in_shapes[0])) + (Ellipsis,)  # the standard wants every axis
        return lambda x: x[key]

    @kernel("SliceGrad")
    def _slice_grad(spec):
        key = spec_to_key(spec.attrs["spec"], len(spec.in_shapes[1])) + (Ellipsis,)
        shape, to = tuple(spec.out_shape), dt(spec.out_dtype)

        def slice_grad(g, x):
            z = xp.zeros(shape, dtype=to)
            z[key] = g
            return z
        return slice_grad

    @kernel("Gather")
    def _gather(spec):
        axis = spec.attrs["axis"] % len(spec.in_shapes[0])
        out = tuple(spec.out_shape)
        if len(spec.in_shapes[1]) == 1:
            return lambda p, i: xp.take(p, i, axis=axis)
        return lambda p, i: xp.reshape(xp.take(p, xp.reshape(i, (-1,)), axis=axis), out)

    @kernel("GatherGrad")
    def _gather_grad(spec):
        # scatter-add as a one-hot matrix product: the standard has no scatter, and this stays on device
        shape = tuple(spec.out_shape)
        axis = spec.attrs["axis"] % len(shape)
        pre, n, post = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
        m = math.prod(spec.in_shapes[1])
        to = dt(spec.out_dtype)
        rows = xp.reshape(xp.arange(n), (n, 1))

        def gather_grad(g, idx, params):
            hot = astype(rows == xp.reshape(astype(idx, rows.dtype), (1, m)), to)
            return xp.reshape(xp.matmul(hot, xp.reshape(g, (pre, m, post))), shape)
        return gather_grad

    @kernel("OneHot")
    def _one_hot(spec):
        a = spec.attrs
        to = dt(a["dtype"])
        classes = xp.arange(a["depth"])
        on, off = xp.full((), a["on_value"], dtype=to), xp.full((), a["off_value"], dtype=to)
        axis = a["axis"]
        move = _fn(xp, "moveaxis")

        def one_hot(i):
            out = xp.where(astype(i, classes.dtype)[..., None] == classes, on, off)
            return out if axis == -1 else move(out, -1, axis)
        return one_hot

    @kernel("Shape")
    def _shape(spec):
        value = xp.asarray(list(spec.in_shapes[0]), dtype=dt(spec.out_dtype))
        return lambda x: value

    # -- random: drawn on the host with the session's NumPy stream, so numbers match numpy's ---
    def draw(spec, fn):
        shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
        native = dtype if dtype in (np.float32, np.float64) else np.float64
        return lambda *like: from_host(fn(rng, shape, native).astype(dtype, copy=False))

    K["RandomStandardNormal"] = lambda spec: draw(spec, lambda r, s, d: r.standard_normal(s, dtype=d))
    K["RandomUniform"] = lambda spec: draw(spec, lambda r, s, d: r.random(s, dtype=d))

    def truncated(r, shape, d):
        x = r.standard_normal(shape, dtype=d)
        bad = np.abs(x) > 2
        while bad.any():
            x[bad] = r.standard_normal(int(bad.sum()), dtype=d)
            bad = np.abs(x) > 2
        return x
    K["TruncatedNormal"] = lambda spec: draw(spec, truncated)

    @kernel("RandomUniformInt")
    def _uniform_int(spec):
        shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
        lo, hi = spec.attrs["minval"], spec.attrs["maxval"]
        return lambda *like: from_host(rng.integers(lo, hi, shape, dtype=dtype))

    # -- fused composites --------------------------------------------------------------------
    def log_softmax(x, axis):
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))

    @kernel("Softmax")
    def _softmax(spec):
        axis = spec.attrs["axis"]

        def softmax(x):
            e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
            return e / xp.sum(e, axis=axis, keepdims=True)
        return softmax

    @kernel("LogSoftmax")
    def _log_softmax(spec):
        axis = spec.attrs["axis"]
        return lambda x: log_softmax(x, axis)

    @kernel("SoftmaxCrossEntropyWithLogits")
    def _xent(spec):
        to = dt(spec.out_dtype)
        if spec.attrs["sparse"]:
            depth = spec.in_shapes[0][-1]
            classes = xp.arange(depth)
            nan = xp.full((), float("nan"), dtype=to)

            def sparse_xent(logits, labels):
                log_p = log_softmax(logits, -1)
                lab = astype(labels, classes.dtype)[..., None]
                hot = astype(lab == classes, to)
                valid = (lab >= 0) & (lab < depth)  # out-of-range labels give NaN (no device sync)
                loss = xp.where(valid[..., 0], -xp.sum(hot * log_p, axis=-1), nan)
                return loss, xp.where(valid, xp.exp(log_p) - hot, nan)
            return sparse_xent

        def xent(logits, labels):
            log_p = log_softmax(logits, -1)
            loss = -xp.sum(labels * log_p, axis=-1)
            return loss, xp.exp(log_p) * xp.sum(labels, axis=-1, keepdims=True) - labels
        return xent

    return K
