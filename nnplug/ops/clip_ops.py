"""Norms and clipping by norm, composed of reductions and elementwise ops (so every backend runs them):
`norm`, `l2_normalize`, `global_norm`, `clip_by_norm`, `clip_by_global_norm`."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..graph import Tensor, convert_to_tensor, name_scope
from ..shapes import ShapeError
from . import math_ops as M
from .array_ops import squeeze
from .._types import Axis, TensorLike


def _l2sum(t, axes=None, keepdims=True):
    return M.reduce_sum(M.square(t), axes, keepdims=keepdims)


def _safe_sqrt(l2sum):
    """sqrt with a gradient of 0 (not NaN) at 0, as TF1's clip_by_norm computes it."""
    positive = M.greater(l2sum, 0.0)
    return M.where(positive, M.sqrt(M.where(positive, l2sum, M.ones_like(l2sum))), l2sum)


def norm(tensor: TensorLike, ord: str | float = "euclidean", axis: Axis = None,  # noqa: A002
         keepdims: bool | None = None, name: str | None = None, keep_dims: bool | None = None) -> Tensor:
    """Vector norms ('euclidean'/2, 1, inf) over `axis` (None: every element, as one vector), or matrix
    norms over a pair of axes ('fro'/'euclidean', 1: largest column sum, inf: largest row sum)."""
    x = convert_to_tensor(tensor)
    keep = bool(keepdims if keepdims is not None else keep_dims)
    axes = M._norm_axis(axis)
    matrix = isinstance(axes, tuple) and len(axes) == 2
    if isinstance(axes, tuple) and len(axes) not in (1, 2):
        raise ValueError(f"norm of '{x.name}': axis {axis} must be an int or a pair of ints")
    inf = ord in (np.inf, "inf")
    if ord not in ("euclidean", "fro", 1, 2) and not inf:
        raise ValueError(f"norm of '{x.name}': ord {ord!r} is not supported; use 'euclidean', 'fro', 1, 2 or inf")
    if ord == "fro" and not matrix and axes is not None:
        raise ValueError(f"norm of '{x.name}': ord='fro' needs a pair of axes, got axis={axis}")
    with name_scope(name, "norm"):
        if ord in ("euclidean", "fro") or (ord == 2 and not matrix):
            return M.sqrt(_l2sum(x, axes, keep))
        if ord == 2:
            raise ValueError(f"norm of '{x.name}': the matrix 2-norm (largest singular value) is not supported")
        a = M.abs(x)
        if not matrix:
            return (M.reduce_max if inf else M.reduce_sum)(a, axes, keepdims=keep)
        rank = len(x.shape)
        if x.shape.unknown_rank:
            raise ShapeError(f"norm of '{x.name}': a matrix norm needs the rank known")
        rows, cols = (ax % rank for ax in axes)
        summed, over = (cols, rows) if inf else (rows, cols)  # 1: sum down columns, max over them
        out = M.reduce_max(M.reduce_sum(a, summed, keepdims=True), over, keepdims=True)
        return out if keep else squeeze(out, axis=sorted((rows, cols)))


def l2_normalize(x: TensorLike, axis: Axis = None, epsilon: float = 1e-12, name: str | None = None,
                 dim: Axis = None) -> Tensor:
    """x / sqrt(max(sum(x**2, axis), epsilon))."""
    x = convert_to_tensor(x)
    axis = M._norm_axis(dim if axis is None else axis)
    with name_scope(name, "l2_normalize"):
        return x * M.rsqrt(M.maximum(_l2sum(x, axis), epsilon))


def global_norm(t_list: Sequence[TensorLike | None], name: str | None = None) -> Tensor:
    """sqrt(sum of every element squared, over all the tensors); None entries are skipped."""
    tensors = [convert_to_tensor(t) for t in _list(t_list, "global_norm") if t is not None]
    if not tensors:
        raise ValueError("global_norm: t_list holds no tensors")
    with name_scope(name, "global_norm"):
        return M.sqrt(M.add_n([_l2sum(M.cast(t, tensors[0].dtype), keepdims=False) for t in tensors]))


def _list(t_list, fn):
    if not isinstance(t_list, (list, tuple)):
        raise TypeError(f"{fn}: t_list must be a list or tuple of tensors, got {type(t_list).__name__}")
    return list(t_list)


def _as(value, dtype):
    """A number or tensor as a tensor of `dtype` (tensors are cast)."""
    if hasattr(value, "_as_tensor") or hasattr(value, "op"):
        return M.cast(convert_to_tensor(value), dtype)
    return convert_to_tensor(value, dtype=dtype)


def clip_by_norm(t: TensorLike, clip_norm: TensorLike, axes: Axis = None, name: str | None = None) -> Tensor:
    """t scaled so its L2 norm over `axes` is at most clip_norm: t * clip_norm / max(norm, clip_norm)."""
    t = convert_to_tensor(t)
    if not t.dtype.is_floating:
        raise TypeError(f"clip_by_norm of '{t.name}' needs a floating-point tensor, got {t.dtype.name}")
    with name_scope(name, "clip_by_norm"):
        clip = _as(clip_norm, t.dtype)
        l2norm = _safe_sqrt(_l2sum(t, M._norm_axis(axes)))
        return t * clip / M.maximum(l2norm, clip)


def clip_by_global_norm(t_list: Sequence[TensorLike | None], clip_norm: TensorLike, use_norm: TensorLike | None = None,
                        name: str | None = None) -> tuple[list[Tensor | None], Tensor]:
    """(list_clipped, global_norm): every tensor scaled by clip_norm / max(global_norm, clip_norm); None
    entries stay None. `use_norm` replaces the computed global norm."""
    values = _list(t_list, "clip_by_global_norm")
    present = [convert_to_tensor(v) for v in values if v is not None]
    for v in present:
        if not v.dtype.is_floating:
            raise TypeError(f"clip_by_global_norm: '{v.name}' is {v.dtype.name}, not floating-point")
    with name_scope(name, "clip_by_global_norm"):
        norm_value = global_norm(present) if use_norm is None else convert_to_tensor(use_norm)
        dtype = norm_value.dtype
        clip = _as(clip_norm, dtype)
        # clip * min(1 / norm, 1 / clip): a norm of inf or NaN makes every value NaN, as TF1 documents
        scale = clip * M.minimum(1.0 / norm_value, 1.0 / clip)
        out, it = [], iter(present)
        for v in values:
            if v is not None:
                v = next(it)
                v = v * M.cast(scale, v.dtype)
            out.append(v)
        return out, norm_value
