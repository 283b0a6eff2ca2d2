"""The softmax family on NumPy: softmax, log-softmax and the fused softmax cross-entropy (loss and the
gradient it hands back), whose sparse form checks its labels on the host and names the op when one is out
of range.

The cross-entropy of a training step is small (a batch of logits over a few classes), so its ~12 ufunc and
reduction calls cost far more than the arithmetic (~20 us for 64 x 10). With numba (nnplug_numpy/jit.py)
one compiled pass over the rows does it all for C-contiguous float32/float64 logits; the NumPy form runs
otherwise, and for large inputs (NUMPY_FROM). Row sums accumulate in float64 in the pass.
"""
import math

import numpy as np

from nnplug.kernels import Kernels

from . import jit

KERNELS = Kernels()  # merged into the backend's table by kernels.py
# Elements from which the NumPy form is used: numba's exp is libm's scalar one, so the compiled pass, 3x
# faster for a 64 x 10 batch, is 1.7x slower for chapter 16's 6400 x 65 logits (2.7 against 1.6 ms)
NUMPY_FROM = 1 << 15
kernel = KERNELS.register


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


# -- cross-entropy as NumPy calls -----------------------------------------------------------------------
def _sparse_labels_error(labels, classes, name):
    return ValueError(f"labels must be class ids in [0, {classes}), got {labels.min()}..{labels.max()} in '{name}'")


def _sparse_xent_numpy(spec):
    def sparse_xent(logits, labels):
        log_p = _log_softmax(logits, -1)
        idx = labels[..., None].astype(np.intp)
        if np.any(idx < 0) or np.any(idx >= logits.shape[-1]):
            raise _sparse_labels_error(labels, logits.shape[-1], spec.name)
        loss = -np.take_along_axis(log_p, idx, -1)[..., 0]
        backprop = np.exp(log_p)
        np.put_along_axis(backprop, idx, np.take_along_axis(backprop, idx, -1) - 1, -1)
        return loss, backprop
    return sparse_xent


def _xent_numpy(logits, labels):
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


# -- cross-entropy as one compiled pass over (rows, classes) ---------------------------------------------
def _row_exp(z, e):
    """e = exp(z - max z); returns (max z, sum e) with the sum in float64."""
    m = z[0]
    for j in range(1, z.size):
        if z[j] > m:
            m = z[j]
    s = 0.0
    for j in range(z.size):
        e[j] = np.exp(z[j] - m)
        s += e[j]
    return m, s


def _xent_rows(logits, labels, loss, backprop):
    for r in range(logits.shape[0]):
        z, y, e = logits[r], labels[r], backprop[r]
        m, s = _row_exp(z, e)
        y_sum, yz = 0.0, 0.0
        for j in range(z.size):
            y_sum += y[j]
            yz += y[j] * (z[j] - m)
        loss[r] = np.log(s) * y_sum - yz
        scale = y_sum / s
        for j in range(z.size):
            e[j] = e[j] * scale - y[j]
    return -1


def _sparse_xent_rows(logits, labels, loss, backprop):
    """Returns the first row whose label is out of range (nothing written from there on), or -1."""
    classes = logits.shape[1]
    for r in range(logits.shape[0]):
        k = labels[r]
        if k < 0 or k >= classes:
            return r
        z, e = logits[r], backprop[r]
        m, s = _row_exp(z, e)
        loss[r] = np.log(s) - (z[k] - m)
        for j in range(z.size):
            e[j] = e[j] / s
        e[k] -= 1
    return -1


def _compiled_xent(spec, rows_loop, numpy_form):
    """The cross-entropy through `rows_loop` (compiled), the NumPy form for inputs it cannot take."""
    shape = tuple(spec.in_shapes[0])
    dtype = np.dtype(spec.in_dtypes[0].np)
    rows, classes = math.prod(shape[:-1]), shape[-1]
    two_d = len(shape) == 2
    sparse = spec.attrs["sparse"]

    def xent(logits, labels):
        if not (logits.flags.c_contiguous and labels.flags.c_contiguous):
            return numpy_form(logits, labels)
        loss, backprop = np.empty(shape[:-1], dtype), np.empty(shape, dtype)
        if two_d:
            bad = rows_loop(logits, labels, loss, backprop)
        else:
            bad = rows_loop(logits.reshape(rows, classes), labels.reshape((rows,) if sparse else (rows, classes)),
                            loss.reshape(rows), backprop.reshape(rows, classes))
        if bad >= 0:
            raise _sparse_labels_error(labels, classes, spec.name)
        return loss, backprop
    return xent


@kernel("SoftmaxCrossEntropyWithLogits", fresh=True)
def _xent(spec):
    sparse = spec.attrs["sparse"]
    numpy_form = _sparse_xent_numpy(spec) if sparse else _xent_numpy
    shape = tuple(spec.in_shapes[0])
    if not (jit.usable(np.dtype(spec.in_dtypes[0].np)) and len(shape) >= 1 and shape[-1] > 0):
        return numpy_form
    if math.prod(shape) >= NUMPY_FROM:  # NumPy's vectorised exp wins once the calls' cost is small beside it
        return numpy_form
    loop = jit.compiled(_sparse_xent_rows if sparse else _xent_rows, helpers=(_row_exp,))
    return numpy_form if loop is None else _compiled_xent(spec, loop, numpy_form)
