"""Statistics over axes, composed of reductions: `tf.nn.moments` and `tf.count_nonzero`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, name_scope
from ..shapes import ShapeError, fmt
from . import math_ops as M
from .array_ops import squeeze, stop_gradient
from .._types import Axis, DTypeLike, TensorLike


def _moments_check(x, axes):
    if x.shape.unknown_rank:
        raise ShapeError(f"moments of '{x.name}': the rank must be known")
    if not x.dtype.is_floating:
        raise TypeError(f"moments of '{x.name}' needs a floating-point tensor, got {x.dtype.name} ({fmt(x.shape)})")


def moments(x: TensorLike, axes: Sequence[int], shift: Any = None, name: str | None = None,
            keep_dims: bool | None = None, keepdims: bool | None = None) -> tuple[Tensor, Tensor]:
    """(mean, variance) of x over `axes`; the variance is the mean squared deviation (not n - 1)."""
    x = convert_to_tensor(x)
    _moments_check(x, axes)
    keep = bool(keepdims if keepdims is not None else keep_dims)
    axes = M._norm_axis(axes)
    with name_scope(name, "moments"):
        mean = M.reduce_mean(x, axes, keepdims=True)
        # the deviation's gradient through the mean is zero at the mean: stop it, as TF1 does
        variance = M.reduce_mean(M.square(x - stop_gradient(mean)), axes, keepdims=True)
        if not keep:
            squeezed = axes if isinstance(axes, tuple) else (axes,)
            mean, variance = squeeze(mean, squeezed), squeeze(variance, squeezed)
        return mean, variance


def count_nonzero(input_tensor: TensorLike | None = None, axis: Axis = None,  # noqa: A002 - TF1's names
                  keepdims: bool | None = None, dtype: DTypeLike = _dt.int64, name: str | None = None,
                  reduction_indices: Axis = None, keep_dims: bool | None = None,
                  input: TensorLike | None = None) -> Tensor:
    """The number of non-zero (for bools: true) elements over `axis`, as `dtype` (int64 by default)."""
    x = convert_to_tensor(input_tensor if input_tensor is not None else input)
    axis = axis if axis is not None else reduction_indices
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with name_scope(name, "count_nonzero"):
        nonzero = x if x.dtype.is_bool else M.not_equal(x, 0)
        return M.cast(M.reduce_sum(M.cast(nonzero, _dt.int64), M._norm_axis(axis), keepdims=keep), dtype)
