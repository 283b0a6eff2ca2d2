"""NumPy kernel factories: the shared Array-API factories (nnplug.xp_kernels) on NumPy, with the ones NumPy
runs better replaced — kernels that write into a planned or dying buffer (`out=`, so a compiled step
allocates nothing after its first run). Each kernel states its memory contract where it is registered. The
softmax family, convolutions, pooling, the fused optimizer updates and LSTM steps have modules of their own."""
import math

import numpy as np

from nnplug.backend import IDENTITY
from nnplug.kernels import Kernels
from nnplug.ops.elementwise import ROWS
from nnplug.threads import blas_threads, gemm_flops
from nnplug.xp_kernels import XP_KERNELS, matmul_kernel, reduction_axes, sum_to_axes

KERNELS = Kernels(XP_KERNELS)
kernel = KERNELS.register


def _ufunc(spec):
    return getattr(np, ROWS[spec.op_type].ufunc)


# rows computed by one NumPy ufunc run it with `out=`: in place when input and output share a dtype
kernel(*(n for n, r in ROWS.items() if r.ufunc and n != "Div" and not r.bool_out), inplace=True)(_ufunc)
kernel(*(n for n, r in ROWS.items() if r.ufunc and r.bool_out), out=True)(_ufunc)


@kernel("Div", inplace=True)
def _div(spec):  # integer division keeps the integer dtype the op declares (TF1: floor division)
    if not spec.out_dtype.is_integer:
        return np.true_divide
    from nnplug.errors import InvalidArgumentError

    def floor_divide(x, y, out=None):
        if not np.all(y):  # NumPy would give 0 with a warning; TF1 refuses
            raise InvalidArgumentError(f"Integer division by zero in Div op '{spec.name}'")
        return np.floor_divide(x, y, out=out)
    return floor_divide


@kernel("Relu", inplace=True)
def _relu(spec):
    zero = spec.out_dtype.np.type(0)
    return lambda x, out=None: np.maximum(x, zero, out=out)


@kernel("Sigmoid", inplace=True)
def _sigmoid(spec):
    half = spec.out_dtype.np.type(0.5)

    def sigmoid(x, out=None):  # 0.5 * (1 + tanh(x/2)): exact and overflow-free
        y = np.tanh(np.multiply(x, half, out=out), out=out)
        return np.multiply(np.add(y, 1, out=out), half, out=out)  # out=None on 0-d: NumPy scalars
    return sigmoid


@kernel("TanhGrad", out=True)
def _tanh_grad(spec):
    if not spec.out_shape:
        return lambda y, g, out=None: g * (1 - y * y)

    def tanh_grad(y, g, out=None):  # g * (1 - y*y), y and g share a shape
        d = np.multiply(y, y, out=out)
        np.subtract(1, d, out=d)
        return np.multiply(d, g, out=d)
    return tanh_grad


@kernel("SigmoidGrad", out=True)
def _sigmoid_grad(spec):
    if not spec.out_shape:
        return lambda y, g, out=None: g * (y * (1 - y))

    def sigmoid_grad(y, g, out=None):  # g * y * (1 - y)
        d = np.subtract(1, y, out=out)
        np.multiply(d, y, out=d)
        return np.multiply(d, g, out=d)
    return sigmoid_grad


@kernel("ReluGrad", out=True)
def _relu_grad(spec):
    zero = spec.out_dtype.np.type(0)
    if not spec.out_shape:
        return lambda g, x, out=None: g * (x > 0)

    def relu_grad(g, x, out=None):  # g * (x > 0), the mask written as 0/1 floats into the output
        mask = np.greater(x, zero, out=out if out is not None else np.empty_like(g))
        return np.multiply(mask, g, out=mask)
    return relu_grad


# transposed operands as views: BLAS reads them as they are, nothing is copied; the BLAS thread count is
# chosen for the GEMM's size and the cores free now (nnplug/threads.py)
@kernel("MatMul", out=True)
def _matmul(spec):
    gemm = matmul_kernel(spec, np.matmul, lambda a: a.swapaxes(-1, -2))
    return blas_threads().wrap(gemm, gemm_flops(spec.in_shapes[0], spec.out_shape, spec.attrs["transpose_a"]))


def _reducer(fn):
    def factory(spec):
        axes, keep, to = reduction_axes(spec), spec.attrs["keepdims"], spec.out_dtype.np
        if not axes:
            return IDENTITY
        if spec.op_type == "ReduceMean" and spec.out_dtype.is_integer:  # TF1: integer mean truncates
            n = math.prod(spec.in_shapes[0][a] for a in axes)

            def int_mean(x, out=None):
                r = np.trunc(np.sum(x, axis=axes, keepdims=keep, dtype=np.float64) / n).astype(to)
                return r if out is None else _into(out, r)
            return int_mean
        if spec.op_type == "ReduceMean" and to in (np.float32, np.float64):
            # np.mean's own arithmetic (the sum, then one true division by the count) without its ~2.5 us of
            # Python; float16 keeps np.mean, which sums in float32
            n = math.prod(spec.in_shapes[0][a] for a in axes)

            def mean(x, out=None):
                r = np.add.reduce(x, axis=axes, keepdims=keep, out=out)
                return r / n if np.ndim(r) == 0 else np.true_divide(r, n, out=r)  # out= r, when given
            return mean

        def reduce(x, out=None):
            r = fn(x, axis=axes, keepdims=keep, out=out)
            return r if out is not None or r.dtype == to else np.asarray(r, to)
        return reduce
    return factory


def _into(out, value):
    np.copyto(out, value, casting="unsafe")
    return out


# the ufuncs' own reduce: np.sum and friends add ~2 us of Python per call, a lot for a bias gradient
kernel("ReduceSum", out=True)(_reducer(np.add.reduce))
kernel("ReduceMax", out=True)(_reducer(np.maximum.reduce))
kernel("ReduceMin", out=True)(_reducer(np.minimum.reduce))
kernel("ReduceProd", out=True)(_reducer(np.multiply.reduce))
kernel("ReduceMean", out=True)(_reducer(np.mean))


@kernel("SumTo", out=True)
def _sum_to(spec):
    g_shape, x_shape = (tuple(s) for s in spec.in_shapes)
    axes = sum_to_axes(spec)
    if not axes:
        return IDENTITY
    reduced = tuple(d for i, d in enumerate(g_shape) if i not in axes)

    def sum_to(g, x, out=None):
        if out is None:
            return np.add.reduce(g, axis=axes).reshape(x_shape)
        np.add.reduce(g, axis=axes, out=out.reshape(reduced))
        return out
    return sum_to


@kernel("Cast", out=True)
def _cast(spec):
    to = spec.attrs["dtype"].np
    return lambda x, out=None: x.astype(to) if out is None else _into(out, x)


@kernel("OneHot", out=True)
def _one_hot(spec):
    a = spec.attrs
    classes = np.arange(a["depth"])
    on, off, axis, to = a["on_value"], a["off_value"], a["axis"], a["dtype"].np

    def one_hot(i, out=None):  # ids outside [0, depth) give a row of off_value, as in TF
        if out is not None and axis == -1:
            hot = np.equal(i[..., None], classes, out=out)
        else:
            hot = (i[..., None] == classes).astype(to)
        if (on, off) != (1, 0):
            hot *= to.type(on - off)
            hot += to.type(off)
        if axis != -1:
            hot = np.moveaxis(hot, -1, axis)
            return hot if out is None else _into(out, hot)
        return hot
    return one_hot


@kernel("Concat", out=True)
def _concat(spec):
    axis = spec.attrs["axis"]
    return lambda *xs, out=None: np.concatenate(xs, axis=axis, out=out)


@kernel("Copy", fresh=True)
def _copy(spec):
    return np.array


@kernel("Gather", fresh=True)
def _gather(spec):
    """np.take, with an index out of range reported as TF1 does (naming the op), not as a bare IndexError."""
    from nnplug.errors import InvalidArgumentError
    axis = spec.attrs["axis"] % len(spec.in_shapes[0])
    n = spec.in_shapes[0][axis]

    def gather(params, indices):
        try:
            return np.take(params, indices, axis=axis)
        except IndexError:
            bad = indices[(indices >= n) | (indices < -n)].reshape(-1)[0]
            raise InvalidArgumentError(f"Gather '{spec.name}': index {bad} is out of range for axis {axis} of "
                                       f"size {n} (valid: {-n}..{n - 1})") from None
    return gather
from . import arrays, conv, pool, softmax  # noqa: E402 - index, convolution, pooling, softmax kernels
from . import jit, lstm, optimizers  # noqa: E402 - fused updates and LSTM steps, with numba only (see jit.py)
KERNELS = Kernels(KERNELS, arrays.KERNELS, conv.KERNELS, pool.KERNELS, softmax.KERNELS,
                  *([optimizers.KERNELS, lstm.KERNELS] if jit.HAVE_NUMBA else []))
