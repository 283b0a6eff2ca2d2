"""A last group of TF1 top-level names, each a small composition or a check made when the graph is
built: accumulate_n, identity_n, add_to_collections, where_v2, the static and dynamic broadcast shapes,
space_to_batch / batch_to_space (TF1's square-block forms), saturate_cast, get_static_value, the real-only
complex helpers (real, imag, conj), and the rank and dtype asserts (TF1 checks them statically when the
shapes are known, which they always are where nnplug can check them; otherwise they fail by name).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Operation, Tensor, constant, convert_to_tensor, get_default_graph, name_scope
from ..shapes import TensorShape, broadcast, fmt
from . import elementwise as E
from .array_ops import identity
from .math_ops import add_n, zeros_like
from .misc_ops import batch_to_space_nd, space_to_batch_nd
from .shape_values import constant_value
from .._types import DTypeLike, TensorLike


def accumulate_n(inputs: Sequence[TensorLike], shape: Any = None, tensor_dtype: DTypeLike | None = None,
                 name: str | None = None) -> Tensor:
    """The elementwise sum of `inputs` (add_n: nnplug adds them in one step either way)."""
    return add_n(inputs, name=name)


def identity_n(input: Sequence[TensorLike], name: str | None = None) -> list[Tensor]:  # noqa: A002
    """An identity of each tensor."""
    with name_scope(name, "IdentityN"):
        return [identity(t) for t in input]


def add_to_collections(names: str | Sequence[str], value: Any) -> None:
    """Add `value` to each collection in `names` (a string is one name)."""
    graph = get_default_graph()
    for key in ([names] if isinstance(names, str) else set(names)):
        graph.add_to_collection(key, value)


def where_v2(condition: TensorLike, x: TensorLike | None = None, y: TensorLike | None = None,
             name: str | None = None) -> Tensor:
    """x where condition, else y, with condition, x and y broadcast against each other (NumPy's where)."""
    if x is None or y is None:
        raise NotImplementedError("where_v2(condition) without x and y (index lookup) is not supported")
    c = convert_to_tensor(condition)
    if c.dtype != _dt.bool_:
        raise TypeError(f"where_v2: condition '{c.name}' must be bool, got {c.dtype.name}")
    a, b = E.pair(x, y)
    with name_scope(name, "SelectV2"):
        return E._where(c, a, b)


def broadcast_static_shape(shape_x: Any, shape_y: Any) -> TensorShape:
    """The shape two static shapes broadcast to; ValueError when they cannot."""
    try:
        return broadcast(TensorShape(shape_x), TensorShape(shape_y))
    except Exception as e:  # noqa: BLE001 - the shapes module's own error, reworded as TF's
        raise ValueError(f"broadcast_static_shape: incompatible shapes {shape_x} and {shape_y}: {e}") from None


def broadcast_dynamic_shape(shape_x: TensorLike, shape_y: TensorLike) -> Tensor:
    """The broadcast of two shape vectors (their lengths known when the graph is built): the shorter is
    padded with ones in front, then each entry of 1 takes the other's."""
    sx, sy = convert_to_tensor(shape_x), convert_to_tensor(shape_y)
    vx, vy = constant_value(sx), constant_value(sy)
    if vx is not None and vy is not None:
        return constant(np.asarray(list(broadcast_static_shape(list(vx), list(vy))), sx.dtype.np))
    nx, ny = sx.shape[0], sy.shape[0]
    if nx is None or ny is None:
        raise ValueError("broadcast_dynamic_shape: the lengths of both shape vectors must be known")
    from .array_ops import concat
    n = max(int(nx), int(ny))
    ones = lambda k: constant(np.ones(k, sx.dtype.np))  # noqa: E731
    px = concat([ones(n - int(nx)), sx], 0) if n > nx else sx
    py = concat([ones(n - int(ny)), E.cast(sy, sx.dtype)], 0) if n > ny else E.cast(sy, sx.dtype)
    return E._where(E.equal(px, E._full_like(px, 1)), py, px)


def space_to_batch(input: TensorLike, paddings: Any, block_size: int, name: str | None = None) -> Tensor:  # noqa: A002
    """space_to_batch_nd with a square block over the two spatial axes of NHWC input (TF1's form)."""
    return space_to_batch_nd(input, [int(block_size)] * 2, paddings, name=name or "SpaceToBatch")


def batch_to_space(input: TensorLike, crops: Any, block_size: int, name: str | None = None) -> Tensor:  # noqa: A002
    """batch_to_space_nd with a square block (TF1's form)."""
    return batch_to_space_nd(input, [int(block_size)] * 2, crops, name=name or "BatchToSpace")


def saturate_cast(value: TensorLike, dtype: DTypeLike, name: str | None = None) -> Tensor:
    """cast, with values first clipped to what `dtype` can hold (no wrap-around)."""
    x = convert_to_tensor(value)
    target = _dt.as_dtype(dtype)
    with name_scope(name, "saturate_cast"):
        if target.is_integer or (target.is_floating and x.dtype.is_floating and
                                 target.np(0).itemsize < x.dtype.np(0).itemsize):
            info = np.iinfo(target.np) if target.is_integer else np.finfo(target.np)
            lo, hi = float(info.min), float(info.max)
            if x.dtype.is_integer:
                src = np.iinfo(x.dtype.np)
                lo, hi = max(lo, src.min), min(hi, src.max)
            x = E.minimum(E.maximum(x, convert_to_tensor(lo, dtype=x.dtype)), convert_to_tensor(hi, dtype=x.dtype))
        return E.cast(x, target)


def get_static_value(tensor: TensorLike, partial: bool = False) -> np.ndarray | None:
    """The tensor's value if it is known when the graph is built (constants and what folds from them), else None."""
    return constant_value(convert_to_tensor(tensor))


def real(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """The real part: nnplug's tensors are real, so the tensor itself."""
    return identity(input, name=name or "Real")


def imag(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """The imaginary part of a real tensor: zeros."""
    return zeros_like(input, name=name or "Imag")


def conj(x: TensorLike, name: str | None = None) -> Tensor:
    """The complex conjugate of a real tensor: the tensor itself."""
    return identity(x, name=name or "Conj")


def is_numeric_tensor(tensor: Any) -> bool:
    """True for a tensor of a numeric (not bool or string) dtype."""
    from .misc_ops import is_tensor
    return is_tensor(tensor) and tensor.dtype not in (_dt.bool_, _dt.string)


# -- static asserts -------------------------------------------------------------------------------
def _checked(x, ok, what, message, name):
    x = convert_to_tensor(x)
    if x.shape.unknown_rank:
        raise ValueError(f"{name}: the rank of '{x.name}' is not known when the graph is built; nnplug checks "
                         f"ranks statically")
    if not ok(x.shape.ndims):
        raise ValueError(f"{message + ' ' if message else ''}{name}: tensor '{x.name}' of shape {fmt(x.shape)} "
                         f"must have {what}")
    from ..variables import no_op
    return no_op(name=name)


def assert_rank(x: TensorLike, rank: int, data: Any = None, summarize: Any = None, message: str | None = None,
                name: str | None = None) -> Operation:
    """Checks (when building) that x has rank `rank`; returns a no-op to depend on."""
    return _checked(x, lambda r: r == int(rank), f"rank {int(rank)}", message, name or "assert_rank")


def assert_rank_at_least(x: TensorLike, rank: int, data: Any = None, summarize: Any = None,
                         message: str | None = None, name: str | None = None) -> Operation:
    """Checks (when building) that x has rank >= `rank`."""
    return _checked(x, lambda r: r >= int(rank), f"rank at least {int(rank)}", message,
                    name or "assert_rank_at_least")


def assert_rank_in(x: TensorLike, ranks: Sequence[int], data: Any = None, summarize: Any = None,
                   message: str | None = None, name: str | None = None) -> Operation:
    """Checks (when building) that x's rank is one of `ranks`."""
    allowed = [int(r) for r in ranks]
    return _checked(x, lambda r: r in allowed, f"rank in {allowed}", message, name or "assert_rank_in")


def assert_scalar(tensor: TensorLike, name: str | None = None, message: str | None = None) -> Tensor:
    """Returns `tensor` after checking (when building) that it is a scalar."""
    t = convert_to_tensor(tensor)
    _checked(t, lambda r: r == 0, "rank 0 (a scalar)", message, name or "assert_scalar")
    return t


def assert_type(tensor: TensorLike, tf_type: DTypeLike, message: str | None = None, name: str | None = None) -> Any:
    """TypeError unless the tensor has dtype `tf_type`."""
    t = convert_to_tensor(tensor)
    want = _dt.as_dtype(tf_type)
    if t.dtype != want:
        raise TypeError(f"{message + ' ' if message else ''}{t.name} must be of type {want.name}, got {t.dtype.name}")
    from ..variables import no_op
    return no_op(name=name or "assert_type")


def assert_integer(x: TensorLike, message: str | None = None, name: str | None = None) -> Any:
    """TypeError unless x has an integer dtype."""
    t = convert_to_tensor(x)
    if not t.dtype.is_integer:
        raise TypeError(f"{message + ' ' if message else ''}expected an integer tensor, '{t.name}' is {t.dtype.name}")
    from ..variables import no_op
    return no_op(name=name or "assert_integer")


def assert_same_float_dtype(tensors: Sequence[Any] | None = None, dtype: DTypeLike | None = None) -> Any:
    """The one floating dtype of `tensors` (and `dtype`, if given); ValueError if they differ or are not floats."""
    found = [_dt.as_dtype(dtype)] if dtype is not None else []
    found += [t.dtype for t in tensors or []]
    if not found:
        return _dt.float32
    if any(d != found[0] for d in found) or not found[0].is_floating:
        raise ValueError(f"assert_same_float_dtype: expected one floating dtype, got {[d.name for d in found]}")
    return found[0]


def assert_near(x: TensorLike, y: TensorLike, rtol: float | None = None, atol: float | None = None,
                data: Any = None, summarize: Any = None, message: str | None = None,
                name: str | None = None) -> Operation:
    """A run-time assert that |x - y| <= atol + rtol |y| everywhere (defaults: 10 eps of the dtype)."""
    from .debug_ops import assert_less_equal
    a, b = E.pair(x, y)
    eps = float(np.finfo(a.dtype.np).eps) if a.dtype.is_floating else 0.0
    with name_scope(name, "assert_near"):
        tol = (atol if atol is not None else 10 * eps) + (rtol if rtol is not None else 10 * eps) * E.abs(b)
        return assert_less_equal(E.abs(a - b), tol, data=data, summarize=summarize,
                                 message=message or f"'{a.name}' and '{b.name}' are not near")


