"""Normalisation, composed from elementwise ops, reductions and one small matrix product (no op types of its
own, so every backend runs it and autodiff differentiates it): `batch_normalization`,
`fused_batch_norm` (TF1's contract: batch statistics while training, the variance returned with Bessel's
correction, epsilon at least 1.001e-5) and `local_response_normalization` (the windowed sum of squares
over channels as a product with a band matrix)."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, fmt
from . import math_ops as M
from .array_ops import reshape, shape as shape_of
from .conv_ops import data_format_of
from .stats_ops import moments
from .._types import TensorLike

FUSED_MIN_EPSILON = 1.001e-5  # TF1's fused_batch_norm raises smaller epsilons to this (a cuDNN limit)


def batch_normalization(x: TensorLike, mean: TensorLike, variance: TensorLike, offset: TensorLike | None,
                        scale: TensorLike | None, variance_epsilon: float, name: str | None = None) -> Tensor:
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, computed as TF1 does: x * inv + (offset -
    mean * inv) with inv = scale * rsqrt(variance + epsilon); `offset` and `scale` may be None."""
    x = convert_to_tensor(x)
    with name_scope(name, "batchnorm"):
        mean, variance = (convert_to_tensor(t, dtype=x.dtype) for t in (mean, variance))
        inv = M.rsqrt(variance + convert_to_tensor(variance_epsilon, dtype=x.dtype))
        if scale is not None:
            inv = inv * convert_to_tensor(scale, dtype=x.dtype)
        shift = -mean * inv if offset is None else convert_to_tensor(offset, dtype=x.dtype) - mean * inv
        return x * inv + shift


def _per_channel(t, x, axis, what):
    """A (C,) vector shaped to broadcast along `axis` of the rank-4 `x`."""
    t = convert_to_tensor(t, dtype=x.dtype)
    if len(t.shape) != 1:
        raise ShapeError(f"fused_batch_norm: {what} must be a vector of one value per channel, got shape "
                         f"{fmt(t.shape)} from '{t.name}'")
    return t if axis == 3 else reshape(t, (-1, 1, 1))


def fused_batch_norm(x: TensorLike, scale: TensorLike, offset: TensorLike, mean: TensorLike | None = None,
                     variance: TensorLike | None = None, epsilon: float = 0.001, data_format: str = "NHWC",
                     is_training: bool = True, name: str | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """(y, mean, variance) of batch normalisation over a rank-4 tensor's channels. Training: the batch's
    statistics normalise, and the variance returned is the unbiased one (n / (n - 1)), as TF's fused kernel;
    inference: the given `mean` and `variance` normalise and come back unchanged."""
    data_format = data_format_of(data_format, "fused_batch_norm")
    x = convert_to_tensor(x)
    if not x.shape.unknown_rank and len(x.shape) != 4:
        raise ShapeError(f"fused_batch_norm: the input '{x.name}' must have rank 4 ({data_format}), got shape "
                         f"{fmt(x.shape)}")
    axis = 3 if data_format == "NHWC" else 1
    reduce_axes = [a for a in range(4) if a != axis]
    epsilon = max(float(epsilon), FUSED_MIN_EPSILON)
    with name_scope(name, "FusedBatchNorm"):
        gamma, beta = _per_channel(scale, x, axis, "scale"), _per_channel(offset, x, axis, "offset")
        if is_training:
            batch_mean, batch_var = moments(x, reduce_axes)
            count = _count(x, reduce_axes)
            unbiased = batch_var * (count / M.maximum(count - 1.0, 1.0))
            m, v = batch_mean, batch_var
        else:
            if mean is None or variance is None:
                raise ValueError("fused_batch_norm with is_training=False needs the mean and variance to use")
            batch_mean, unbiased = (convert_to_tensor(t, dtype=x.dtype) for t in (mean, variance))
            m, v = batch_mean, unbiased
        if axis == 1:
            m, v = reshape(m, (-1, 1, 1)), reshape(v, (-1, 1, 1))
        y = batch_normalization(x, m, v, beta, gamma, epsilon)
        return y, batch_mean, unbiased


def _count(x, axes):
    """The number of elements averaged per channel, as a scalar of x's dtype (from the fed shape if need be)."""
    dims = [x.shape[a] for a in axes]
    if all(d is not None for d in dims):
        return constant(float(np.prod(dims)), dtype=x.dtype)
    n = M.reduce_prod(make("Gather", [shape_of(x), constant(axes, dtype=_dt.int32)], {"axis": 0}))
    return M.cast(n, x.dtype)


def local_response_normalization(input: TensorLike, depth_radius: int = 5, bias: TensorLike = 1.0,  # noqa: A002
                                 alpha: float = 1.0, beta: float = 0.5, name: str | None = None) -> Tensor:
    """x / (bias + alpha * sum of x**2 over the 2*depth_radius+1 nearest channels) ** beta, over the last
    axis of a rank-4 tensor, as TF1's LRN."""
    x = convert_to_tensor(input)
    if x.shape.unknown_rank or len(x.shape) != 4 or x.shape[3] is None:
        raise ShapeError(f"local_response_normalization: the input '{x.name}' must have rank 4 with a known "
                         f"channel count, got shape {fmt(x.shape)}")
    if not isinstance(depth_radius, (int, np.integer)) or depth_radius < 0:
        raise ValueError(f"local_response_normalization: depth_radius must be a non-negative int, "
                         f"got {depth_radius!r}")
    c = x.shape[3]
    idx = np.arange(c)
    band = (np.abs(idx[:, None] - idx[None, :]) <= depth_radius).astype(x.dtype.np)
    with name_scope(name, "LRN"):
        flat = reshape(M.square(x), (-1, c))
        sqr_sum = make("ReshapeLike", [M.matmul(flat, constant(band, dtype=x.dtype)), x])
        scale = convert_to_tensor(bias, dtype=x.dtype) + convert_to_tensor(alpha, dtype=x.dtype) * sqr_sum
        return x * M.pow(scale, convert_to_tensor(-float(beta), dtype=x.dtype))


lrn = local_response_normalization
