"""tf.nn's remaining layers and statistics, each a composition of existing ops: pooling and convolution
dispatchers by rank (pool, max_pool_v2, avg_pool_v2, convolution), relu_layer, silu, the TF1 moments
helpers (sufficient_statistics, normalize_moments, weighted_moments) and the native-named aliases.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..graph import Tensor, convert_to_tensor, name_scope
from ..shapes import ShapeError, fmt
from . import elementwise as E
from . import math_ops as M
from .array_ops import expand_dims, squeeze
from .conv3d import avg_pool3d, conv3d, max_pool3d
from .conv_ops import conv1d, conv2d, depthwise_conv2d
from .math_extra_ops import xw_plus_b
from .pool_ops import avg_pool, max_pool
from .._types import TensorLike


def relu_layer(x: TensorLike, weights: TensorLike, biases: TensorLike, name: str | None = None) -> Tensor:
    """relu(x @ weights + biases)."""
    with name_scope(name, "relu_layer"):
        return E.relu(xw_plus_b(x, weights, biases))


def silu(features: TensorLike, beta: float = 1.0, name: str | None = None) -> Tensor:
    """x * sigmoid(beta * x) (the SiLU, or swish)."""
    x = convert_to_tensor(features)
    with name_scope(name, "silu"):
        return x * E.sigmoid(x * beta) if beta != 1.0 else x * E.sigmoid(x)


def depthwise_conv2d_native(input: TensorLike, filter: TensorLike, strides: Any, padding: Any,  # noqa: A002
                            data_format: str = "NHWC", dilations: Any = None, name: str | None = None) -> Tensor:
    """depthwise_conv2d under the name of TF's kernel (strides and dilations as 4 ints)."""
    return depthwise_conv2d(input, filter, strides, padding, name=name, data_format=data_format, dilations=dilations)


def _rank(x, fn):
    x = convert_to_tensor(x)
    if x.shape.ndims is None or x.shape.ndims not in (3, 4, 5):
        raise ShapeError(f"{fn}: the input needs rank 3, 4 or 5 (1, 2 or 3 spatial axes), got {fmt(x.shape)}")
    return x, x.shape.ndims - 2


def _spatial(value, n, what, fn, default=1):
    """An int or n ints for the spatial axes, or n + 2 with 1 for batch and channels -> n ints."""
    if value is None:
        value = default
    vals = [int(value)] * n if isinstance(value, int) else [int(v) for v in value]
    if len(vals) == 1:
        vals *= n
    if len(vals) == n + 2:
        if vals[0] != 1 or vals[-1] != 1:
            raise ValueError(f"{fn}: {what} {value!r} must be 1 in the batch and channel dimensions")
        vals = vals[1:-1]
    if len(vals) != n or any(v < 1 for v in vals):
        raise ValueError(f"{fn}: {what} must be 1 or {n} positive ints (or {n + 2}), got {value!r}")
    return vals


def _pool_nd(x, ksize, strides, padding, kind, fn, name):
    x, n = _rank(x, fn)
    k, s = _spatial(ksize, n, "ksize", fn), _spatial(strides, n, "strides", fn)
    if n == 3:
        return (max_pool3d if kind == "MAX" else avg_pool3d)(x, k, s, padding, name=name)
    pool2 = max_pool if kind == "MAX" else avg_pool
    if n == 2:
        return pool2(x, [1] + k + [1], [1] + s + [1], padding, name=name)
    with name_scope(name, f"{kind.lower()}_pool1d"):
        return squeeze(pool2(expand_dims(x, 1), [1, 1] + k + [1], [1, 1] + s + [1], padding), [1])


def max_pool_v2(input: TensorLike, ksize: Any, strides: Any, padding: str, data_format: str | None = None,  # noqa: A002
                name: str | None = None) -> Tensor:
    """max pooling over 1, 2 or 3 spatial axes, by the input's rank (channels last)."""
    _channels_last(data_format, "max_pool_v2")
    return _pool_nd(input, ksize, strides, padding, "MAX", "max_pool_v2", name)


def avg_pool_v2(input: TensorLike, ksize: Any, strides: Any, padding: str, data_format: str | None = None,  # noqa: A002
                name: str | None = None) -> Tensor:
    """average pooling over 1, 2 or 3 spatial axes, by the input's rank (channels last)."""
    _channels_last(data_format, "avg_pool_v2")
    return _pool_nd(input, ksize, strides, padding, "AVG", "avg_pool_v2", name)


def max_pool1d(input: TensorLike, ksize: Any, strides: Any, padding: str, data_format: str = "NWC",  # noqa: A002
               name: str | None = None) -> Tensor:
    """max pooling of (batch, width, channels)."""
    _channels_last(data_format, "max_pool1d")
    return _pool_nd(input, ksize, strides, padding, "MAX", "max_pool1d", name)


def avg_pool1d(input: TensorLike, ksize: Any, strides: Any, padding: str, data_format: str = "NWC",  # noqa: A002
               name: str | None = None) -> Tensor:
    """average pooling of (batch, width, channels)."""
    _channels_last(data_format, "avg_pool1d")
    return _pool_nd(input, ksize, strides, padding, "AVG", "avg_pool1d", name)


def _channels_last(data_format, fn):
    if data_format not in (None, "NWC", "NHWC", "NDHWC"):
        raise ValueError(f"{fn}: only channels-last data formats (NWC, NHWC, NDHWC) are supported, got {data_format!r}")


def pool(input: TensorLike, window_shape: Sequence[int], pooling_type: str, padding: str,  # noqa: A002
         dilation_rate: Sequence[int] | None = None, strides: Sequence[int] | None = None, name: str | None = None,
         data_format: str | None = None, dilations: Sequence[int] | None = None) -> Tensor:
    """tf.nn.pool: 'MAX' or 'AVG' pooling over N spatial axes (N = len(window_shape)), strides default 1."""
    kind = str(pooling_type).upper()
    if kind not in ("MAX", "AVG"):
        raise ValueError(f"pool: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    rate = dilations if dilations is not None else dilation_rate
    if rate is not None and any(int(r) != 1 for r in rate):
        raise NotImplementedError(f"pool: dilation_rate {list(rate)} is not supported (only 1)")
    _channels_last(data_format, "pool")
    x, n = _rank(input, "pool")
    if len(window_shape) != n:
        raise ValueError(f"pool: window_shape {list(window_shape)} must have one entry per spatial axis ({n})")
    return _pool_nd(x, list(window_shape), list(strides) if strides is not None else 1, padding, kind, "pool", name)


def convolution(input: TensorLike, filter: TensorLike | None = None, padding: str | None = None,  # noqa: A002
                strides: Any = None, dilation_rate: Any = None, name: str | None = None,
                data_format: str | None = None, filters: TensorLike | None = None, dilations: Any = None) -> Tensor:
    """N-d convolution (N = 1, 2, 3 by the input's rank), channels last."""
    w = filter if filter is not None else filters
    rate = dilations if dilations is not None else dilation_rate
    _channels_last(data_format, "convolution")
    x, n = _rank(input, "convolution")
    s, d = _spatial(strides, n, "strides", "convolution"), _spatial(rate, n, "dilation_rate", "convolution")
    if n == 1:
        return conv1d(x, w, s[0], padding, dilations=d[0], name=name)
    if n == 2:
        return conv2d(x, w, [1] + s + [1], padding, dilations=[1] + d + [1], name=name)
    return conv3d(x, w, [1] + s + [1], padding, dilations=[1] + d + [1], name=name)


# -- moments helpers ---------------------------------------------------------------------------------
def sufficient_statistics(x: TensorLike, axes: Sequence[int], shift: TensorLike | None = None,
                          keep_dims: bool | None = None, name: str | None = None,
                          keepdims: bool | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """(count, sum(x - shift), sum((x - shift)^2), shift) over `axes`; the axes' sizes must be known."""
    x = convert_to_tensor(x)
    keep = bool(keepdims if keepdims is not None else keep_dims)
    if x.shape.ndims is None:
        raise ShapeError(f"sufficient_statistics: the rank of '{x.name}' must be known")
    axes = [a % x.shape.ndims for a in axes]
    sizes = [x.shape[a] for a in axes]
    if any(s is None for s in sizes):
        raise ShapeError(f"sufficient_statistics: the sizes of axes {axes} of '{x.name}' {fmt(x.shape)} must be known")
    with name_scope(name, "sufficient_statistics"):
        count = 1
        for s in sizes:
            count *= int(s)
        counts = convert_to_tensor(float(count), dtype=x.dtype)
        if shift is not None:
            shift = convert_to_tensor(shift, dtype=x.dtype)
            d = x - shift
        else:
            d = x
        return counts, M.reduce_sum(d, axes, keepdims=keep), M.reduce_sum(E.square(d), axes, keepdims=keep), shift


def normalize_moments(counts: TensorLike, mean_ss: TensorLike, variance_ss: TensorLike, shift: TensorLike | None,
                      name: str | None = None) -> tuple[Tensor, Tensor]:
    """(mean, variance) from sufficient_statistics' sums."""
    with name_scope(name, "normalize"):
        ss = convert_to_tensor(mean_ss)
        divisor = 1.0 / convert_to_tensor(counts, dtype=ss.dtype)
        shifted_mean = ss * divisor
        variance = convert_to_tensor(variance_ss, dtype=ss.dtype) * divisor - E.square(shifted_mean)
        mean = shifted_mean + convert_to_tensor(shift, dtype=ss.dtype) if shift is not None else shifted_mean
        return mean, variance


def weighted_moments(x: TensorLike, axes: Sequence[int], frequency_weights: TensorLike, name: str | None = None,
                     keep_dims: bool | None = None, keepdims: bool | None = None) -> tuple[Tensor, Tensor]:
    """The frequency-weighted (mean, variance) over `axes` (weights broadcast against x)."""
    x = convert_to_tensor(x)
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with name_scope(name, "weighted_moments"):
        w = convert_to_tensor(frequency_weights, dtype=x.dtype)
        w = w + M.zeros_like(x)
        total = M.reduce_sum(w, axes, keepdims=True)
        mean = M.reduce_sum(w * x, axes, keepdims=True) / total
        variance = M.reduce_sum(w * E.square(x - mean), axes, keepdims=True) / total
        if not keep:
            mean, variance = squeeze(mean, axes), squeeze(variance, axes)
        return mean, variance


# -- the distribution helpers TF1.15 programs meet (one replica here) ---------------------------------
def compute_average_loss(per_example_loss: TensorLike, sample_weight: TensorLike | None = None,
                         global_batch_size: int | None = None) -> Tensor:
    """sum(per_example_loss * sample_weight) / global_batch_size (default: the batch size, one replica)."""
    loss = convert_to_tensor(per_example_loss)
    with name_scope(None, "compute_average_loss"):
        if sample_weight is not None:
            loss = loss * convert_to_tensor(sample_weight, dtype=loss.dtype)
        if global_batch_size is None:
            from .array_ops import shape
            size = E.cast(shape(loss)[0], loss.dtype) if loss.shape.ndims else convert_to_tensor(1.0, dtype=loss.dtype)
        else:
            size = convert_to_tensor(float(global_batch_size), dtype=loss.dtype)
        return M.reduce_sum(loss) / size


def scale_regularization_loss(regularization_loss: TensorLike) -> Tensor:
    """The regularization loss divided by the number of replicas: itself, with one replica."""
    losses = list(regularization_loss) if isinstance(regularization_loss, (list, tuple)) else [regularization_loss]
    return M.add_n([convert_to_tensor(v) for v in losses])


def conv1d_transpose(input: TensorLike, filters: TensorLike, output_shape: Any, strides: Any,  # noqa: A002
                     padding: str = "SAME", data_format: str = "NWC", dilations: Any = None,
                     name: str | None = None) -> Tensor:
    """The gradient of conv1d with respect to its input, as a height-1 conv2d_transpose."""
    from .conv_ops import conv2d_transpose
    from .shape_values import constant_value
    _channels_last(data_format, "conv1d_transpose")
    shape = output_shape if not isinstance(output_shape, Tensor) else constant_value(output_shape)
    if shape is None:
        raise TypeError("conv1d_transpose: output_shape must be known when the graph is built")
    n, w, c = [int(v) for v in np.asarray(shape).reshape(-1)]
    (s,) = _spatial(strides, 1, "strides", "conv1d_transpose")
    (d,) = _spatial(dilations, 1, "dilations", "conv1d_transpose")
    with name_scope(name, "conv1d_transpose"):
        y = conv2d_transpose(expand_dims(input, 1), expand_dims(filters, 0), [n, 1, w, c], [1, 1, s, 1], padding,
                             dilations=[1, 1, d, 1])
        return squeeze(y, [1])
