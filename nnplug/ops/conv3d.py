"""3-D convolution and pooling (NDHWC) as compositions of the 2-D ops: the depth axis is cut into one
strided slice per filter tap, each folded into the batch, so conv3d is kd conv2d's summed and the pools
are a max (or sum) over the depth taps followed by the 2-D pool. Every backend runs them; gradients come
from the 2-D ops', and conv3d_transpose is conv3d's gradient with respect to its input.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Tensor, constant, convert_to_tensor, name_scope
from ..shapes import ShapeError, fmt
from . import elementwise as E
from .array_ops import reshape, transpose, zeros
from .conv_ops import conv2d, window_1d
from .manip_ops import pad
from .math_ops import add_n
from .pool_ops import avg_pool, max_pool
from .._types import TensorLike

NDHWC_TO_NCDHW, NCDHW_TO_NDHWC = (0, 4, 1, 2, 3), (0, 2, 3, 4, 1)


def _triple(value, what, fn, data_format, default=1):
    """An int, 3 ints, or TF's 5 ints (1 in the batch and channel places) -> (d, h, w)."""
    if value is None:
        value = default
    vals = [int(value)] if isinstance(value, (int, np.integer)) else [int(v) for v in value]
    if len(vals) == 1:
        vals *= 3
    elif len(vals) == 5:
        outer = (vals[0], vals[1]) if data_format == "NCDHW" else (vals[0], vals[4])
        if outer != (1, 1):
            raise ValueError(f"{fn}: {what} {value!r} must be 1 in the batch and channel dimensions")
        vals = vals[2:] if data_format == "NCDHW" else vals[1:4]
    if len(vals) != 3 or any(v < 1 for v in vals):
        raise ValueError(f"{fn}: {what} must be 1, 3 or 5 positive ints, got {value!r}")
    return tuple(vals)


def _layout(data_format, fn):
    fmt_ = "NDHWC" if data_format is None else data_format
    if fmt_ not in ("NDHWC", "NCDHW"):
        raise ValueError(f"{fn}: data_format must be 'NDHWC' or 'NCDHW', got {data_format!r}")
    return fmt_


def _padding(padding, fn):
    if not isinstance(padding, str) or padding.upper() not in ("SAME", "VALID"):
        raise ValueError(f"{fn}: padding must be 'SAME' or 'VALID', got {padding!r}")
    return padding.upper()


def _input(x, fn, data_format):
    x = convert_to_tensor(x)
    if data_format == "NCDHW":
        x = transpose(x, NCDHW_TO_NDHWC)
    if x.shape.ndims != 5 or any(d is None for d in list(x.shape)[1:]):
        raise ShapeError(f"{fn}: the input needs rank 5 (NDHWC) with depth, height, width and channels known, "
                         f"got {fmt(x.shape)}")
    return x


def _depth_taps(x, k, stride, dilation, padding, fill, fn):
    """One (n, out_depth, h, w, c) slice of x per depth tap of a window of k (after TF's padding of depth)."""
    d = int(x.shape[1])
    try:
        out, before, after = window_1d(d, k, stride, dilation, padding, "depth")
    except ShapeError as e:
        raise ShapeError(f"{fn}: {e}") from None
    if before or after:
        x = pad(x, [[0, 0], [before, after], [0, 0], [0, 0], [0, 0]], constant_values=fill)
    return [x[:, t * dilation: t * dilation + (out - 1) * stride + 1: stride] for t in range(k)], out, before


def _fold(t):
    """(n, d, h, w, c) -> (n * d, h, w, c)."""
    return reshape(t, [-1] + [int(v) for v in t.shape[2:]])


def _unfold(t, depth):
    return reshape(t, [-1, depth] + [int(v) for v in t.shape[1:]])


def conv3d(input: TensorLike, filter: TensorLike | None = None, strides: Any = None,  # noqa: A002
           padding: str | None = None, data_format: str = "NDHWC", dilations: Any = None,
           name: str | None = None, filters: TensorLike | None = None) -> Tensor:
    """3-D convolution (cross-correlation) of NDHWC `input` with a (depth, height, width, in, out) filter."""
    fn = "conv3d"
    layout = _layout(data_format, fn)
    w = convert_to_tensor(filter if filter is not None else filters)
    if w.shape.ndims != 5 or not w.shape.is_fully_defined():
        raise ShapeError(f"{fn}: the filter needs a known shape (depth, height, width, in, out), got {fmt(w.shape)}")
    sd, sh, sw = _triple(strides, "strides", fn, layout)
    dd, dh, dw = _triple(dilations, "dilations", fn, layout)
    pad_mode = _padding(padding, fn)
    with name_scope(name, "Conv3D"):
        x = _input(input, fn, layout)
        if int(x.shape[4]) != int(w.shape[3]):
            raise ShapeError(f"{fn}: the input has {int(x.shape[4])} channels, the filter takes {int(w.shape[3])}")
        taps, out, _ = _depth_taps(x, int(w.shape[0]), sd, dd, pad_mode, 0, fn)
        parts = [conv2d(_fold(t), w[i], [1, sh, sw, 1], pad_mode, dilations=[1, dh, dw, 1])
                 for i, t in enumerate(taps)]
        y = _unfold(add_n(parts) if len(parts) > 1 else parts[0], out)
        return y if layout == "NDHWC" else transpose(y, NDHWC_TO_NCDHW)


def _pool3d(x, ksize, strides, padding, data_format, name, kind):
    fn = f"{kind}_pool3d"
    layout = _layout(data_format, fn)
    kd, kh, kw = _triple(ksize, "ksize", fn, layout)
    sd, sh, sw = _triple(strides, "strides", fn, layout)
    pad_mode = _padding(padding, fn)
    with name_scope(name, "MaxPool3D" if kind == "max" else "AvgPool3D"):
        x = _input(x, fn, layout)
        fill = -np.inf if kind == "max" else 0
        taps, out, before = _depth_taps(x, kd, sd, 1, pad_mode, fill, fn)
        if kind == "max":
            y = taps[0]
            for t in taps[1:]:
                y = E.maximum(y, t)
            y = max_pool(_fold(y), [1, kh, kw, 1], [1, sh, sw, 1], pad_mode)
        else:
            y = add_n(taps) if len(taps) > 1 else taps[0]
            d = int(x.shape[1])
            starts = np.arange(out) * sd - before  # each window's taps inside [0, d)
            counts = np.minimum(starts + kd, d) - np.maximum(starts, 0)
            y = y * constant((1.0 / counts).reshape(1, out, 1, 1, 1).astype(x.dtype.np))
            y = avg_pool(_fold(y), [1, kh, kw, 1], [1, sh, sw, 1], pad_mode)
        y = _unfold(y, out)
        return y if layout == "NDHWC" else transpose(y, NDHWC_TO_NCDHW)


def max_pool3d(input: TensorLike, ksize: Any, strides: Any, padding: str, data_format: str = "NDHWC",  # noqa: A002
               name: str | None = None) -> Tensor:
    """The maximum of each (depth, height, width) window; SAME padding never wins."""
    return _pool3d(input, ksize, strides, padding, data_format, name, "max")


def avg_pool3d(input: TensorLike, ksize: Any, strides: Any, padding: str, data_format: str = "NDHWC",  # noqa: A002
               name: str | None = None) -> Tensor:
    """The mean of each window over the voxels inside the input (SAME padding is not counted)."""
    return _pool3d(input, ksize, strides, padding, data_format, name, "avg")


def conv3d_transpose(value: TensorLike, filter: TensorLike | None = None, output_shape: Any = None,  # noqa: A002
                     strides: Any = None, padding: str = "SAME", data_format: str = "NDHWC",
                     name: str | None = None, input: TensorLike | None = None,  # noqa: A002
                     filters: TensorLike | None = None, dilations: Any = None) -> Tensor:
    """The gradient of conv3d with respect to its input (of `output_shape`, known when the graph is
    built), given `value` as the output's gradient; filter is (depth, height, width, out, in)."""
    from ..autodiff import gradients
    from .shape_values import constant_value
    fn = "conv3d_transpose"
    v = convert_to_tensor(value if value is not None else input)
    shape = output_shape if not isinstance(output_shape, Tensor) else constant_value(output_shape)
    if shape is None:
        raise TypeError(f"{fn}: output_shape must be known when the graph is built")
    shape = [int(s) for s in np.asarray(shape).reshape(-1)]
    with name_scope(name, "conv3d_transpose"):
        x0 = zeros(shape, dtype=v.dtype)
        y = conv3d(x0, filter if filter is not None else filters, strides, padding, data_format, dilations)
        if list(y.shape) != [int(d) if d is not None else None for d in v.shape] and v.shape.is_fully_defined():
            raise ShapeError(f"{fn}: value of shape {fmt(v.shape)} is not what conv3d of output_shape {shape} "
                             f"gives ({fmt(y.shape)})")
        return gradients(y, x0, grad_ys=v)[0]



