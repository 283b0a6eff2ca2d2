"""NumPy kernel factories: the shared Array-API factories (nnplug.xp_kernels) on NumPy, with the ones NumPy
runs better replaced — kernels that write into a planned or dying buffer (`out=`, so a compiled step
allocates nothing after its first run) and the softmax family, whose sparse cross-entropy can afford to
check its labels on the host. Each kernel states its memory contract where it is registered."""
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


def _log_softmax(x, axis):
    shifted = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True))
    shifted -= np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


@kernel("Softmax", out=True)
def _softmax(spec):
    axis = spec.attrs["axis"]

    def softmax(x, out=None):
        e = np.subtract(x, np.maximum.reduce(x, axis=axis, keepdims=True), out=out)
        np.exp(e, out=e)
        e /= np.add.reduce(e, axis=axis, keepdims=True)
        return e
    return softmax


@kernel("LogSoftmax", fresh=True)
def _log_softmax_kernel(spec):
    axis = spec.attrs["axis"]
    return lambda x: _log_softmax(x, axis)


@kernel("SoftmaxCrossEntropyWithLogits", fresh=True)
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
        # with z = logits - max and s = sum(exp z): loss = sum(y) log s - sum(y z), gradient exp(z)/s sum(y) - y
        z = np.subtract(logits, np.maximum.reduce(logits, axis=-1, keepdims=True))
        e = np.exp(z)
        s = np.add.reduce(e, axis=-1, keepdims=True)
        y_sum = np.add.reduce(labels, axis=-1, keepdims=True)
        loss = np.log(s)
        loss *= y_sum
        loss = loss[..., 0]
        loss -= np.add.reduce(np.multiply(labels, z, out=z), axis=-1)
        e *= np.divide(y_sum, s, out=s)
        e -= labels
        return loss, e
    return xent


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
from . import conv, pool  # noqa: E402 - the convolution and pooling kernels, in tables of their own
KERNELS = Kernels(KERNELS, conv.KERNELS, pool.KERNELS)
