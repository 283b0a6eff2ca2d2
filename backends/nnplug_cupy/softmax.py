"""CuPy softmax, log-softmax and softmax cross-entropy (dense and sparse labels) over the last axis: one
launch per call, a thread per row, giving the loss and the `p - y` gradient together. Out-of-range sparse
labels give NaN instead of raising, so no host synchronisation is needed. Rows longer than ROW_KERNEL_MAX,
other axes and other dtypes use the shared Array-API kernels."""
import functools
import math
from types import SimpleNamespace

import numpy as np

from nnplug.kernels import Kernels
from nnplug.xp_kernels import XP_KERNELS

KERNELS = Kernels()
register = KERNELS.register
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
ROW_KERNEL_MAX = 4096  # a thread per row beats three reductions while rows are this short


@functools.cache
def row_kernels(cupy):
    """The row-wise ElementwiseKernels, made once."""
    ew = cupy.ElementwiseKernel
    row_max_sum = """
        const ptrdiff_t base = (ptrdiff_t)i * C;
        T m = x[base];
        for (int j = 1; j < C; ++j) { const T v = x[base + j]; m = v > m ? v : m; }
        T s = 0;
        for (int j = 0; j < C; ++j) s += exp(x[base + j] - m);
        const T ls = log(s);
    """
    softmax_rows = ew("raw T x, int32 C, bool take_log", "raw T y", row_max_sum + """
        for (int j = 0; j < C; ++j) {
            const T lp = x[base + j] - m - ls;
            y[base + j] = take_log ? lp : exp(lp);
        }""", "nnplug_softmax_rows")
    sparse_xent_rows = ew("raw T x, raw L labels, int32 C, T nanv", "raw T loss, raw T grad", row_max_sum + """
        const long long lab = (long long)labels[i];
        const bool ok = lab >= 0 && lab < C;
        loss[i] = ok ? ls - (x[base + lab] - m) : nanv;
        for (int j = 0; j < C; ++j) {
            const T p = exp(x[base + j] - m - ls);
            grad[base + j] = ok ? p - (j == lab ? (T)1 : (T)0) : nanv;
        }""", "nnplug_sparse_xent_rows")
    dense_xent_rows = ew("raw T x, raw T labels, int32 C", "raw T loss, raw T grad", row_max_sum + """
        T total = 0, l = 0;
        for (int j = 0; j < C; ++j) { total += labels[base + j]; l -= labels[base + j] * (x[base + j] - m - ls); }
        loss[i] = l;
        for (int j = 0; j < C; ++j) grad[base + j] = exp(x[base + j] - m - ls) * total - labels[base + j];
        """, "nnplug_dense_xent_rows")
    return SimpleNamespace(softmax_rows=softmax_rows, sparse_xent_rows=sparse_xent_rows,
                           dense_xent_rows=dense_xent_rows)


def rows_of(spec, axis=-1):
    """(rows, C) when a row kernel applies: float32/64, last axis, short rows, no empty dims."""
    shape = tuple(spec.in_shapes[0])
    if not shape or spec.in_dtypes[0].np not in _FLOATS or axis not in (-1, len(shape) - 1):
        return None
    c = shape[-1]
    rows = math.prod(shape[:-1])
    return (rows, c) if 0 < c <= ROW_KERNEL_MAX and rows > 0 else None


@register("Softmax", "LogSoftmax", fresh=True)
def softmax(spec):
    rc = rows_of(spec, spec.attrs["axis"])
    if rc is None:
        return XP_KERNELS[spec.op_type](spec)
    rows, c = rc
    cupy = spec.backend.cupy
    softmax_rows = row_kernels(cupy).softmax_rows
    take_log = spec.op_type == "LogSoftmax"

    def run(x):
        x = cupy.ascontiguousarray(x)
        y = cupy.empty_like(x)
        softmax_rows(x, c, take_log, y, size=rows)
        return y
    return run


@register("SoftmaxCrossEntropyWithLogits", fresh=True)
def softmax_cross_entropy(spec):
    rc = rows_of(spec)
    if rc is None:
        return XP_KERNELS[spec.op_type](spec)
    rows, c = rc
    cupy = spec.backend.cupy
    rk = row_kernels(cupy)
    shape = tuple(spec.in_shapes[0])
    dtype = spec.out_dtype.np

    if spec.attrs["sparse"]:
        nan = dtype.type("nan")

        def sparse_xent(logits, labels):
            logits, labels = cupy.ascontiguousarray(logits), cupy.ascontiguousarray(labels)
            loss, grad = cupy.empty(shape[:-1], dtype), cupy.empty(shape, dtype)
            rk.sparse_xent_rows(logits, labels, c, nan, loss, grad, size=rows)
            return loss, grad
        return sparse_xent

    def xent(logits, labels):
        logits, labels = cupy.ascontiguousarray(logits), cupy.ascontiguousarray(labels)
        loss, grad = cupy.empty(shape[:-1], dtype), cupy.empty(shape, dtype)
        rk.dense_xent_rows(logits, labels, c, loss, grad, size=rows)
        return loss, grad
    return xent
