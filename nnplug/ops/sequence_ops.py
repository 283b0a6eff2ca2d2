"""Sequences and identity matrices: `range`, `linspace`, `eye`.

With Python numbers they are constants. With tensor arguments the length depends on the values, so they are
host ops (`Range`, `LinSpace`): arguments computed from shapes or constants fold when the plan is compiled
(`tf.range(tf.shape(x)[0])` becomes a constant of the fed batch size).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .elementwise import cast
from .registry import register
from .._types import DTypeLike, TensorLike


def _is_tensor(v):
    return isinstance(v, Tensor) or hasattr(v, "_as_tensor")


def _scalar_rule(op, out_dtype):
    def rule(shapes, dtypes, attrs):
        for i, s in enumerate(shapes):
            if len(s) != 0:
                raise ShapeError(f"{op} takes scalars; argument {i} has shape {fmt(s)}")
        return [(TensorShape([None]), attrs[out_dtype] if isinstance(out_dtype, str) else dtypes[0])]
    return rule


def _range_host(spec):
    dtype, name = spec.out_dtype.np, spec.name

    def arange(start, limit, delta):
        if delta == 0:
            raise InvalidArgumentError(f"Range op '{name}': delta must not be zero")
        return np.arange(start, limit, delta).astype(dtype)
    return arange


def _linspace_host(spec):
    dtype, name = spec.out_dtype.np, spec.name

    def linspace(start, stop, num):
        if num <= 0:
            raise InvalidArgumentError(f"LinSpace op '{name}': num must be positive, got {num}")
        return np.linspace(np.float64(start), np.float64(stop), int(num)).astype(dtype)
    return linspace


register("Range", _scalar_rule("Range", "dtype"), grad=lambda op, g: [None, None, None], host=_range_host)
register("LinSpace", _scalar_rule("LinSpace", None), grad=lambda op, g: [None, None, None], host=_linspace_host)


def _range_dtype(values, dtype):
    if dtype is not None:
        return _dt.as_dtype(dtype)
    order = [_dt.int32, _dt.int64, _dt.float32, _dt.float64]
    found = [convert_to_tensor(v).dtype if _is_tensor(v) else _dt.infer_dtype(v) for v in values]
    return max(found, key=lambda d: order.index(d) if d in order else -1)


def range(start: TensorLike, limit: TensorLike | None = None, delta: TensorLike = 1,  # noqa: A001 - TF1's name
          dtype: DTypeLike | None = None, name: str = "range") -> Tensor:
    """[start, start + delta, ...) up to but excluding limit; `range(n)` is 0 .. n-1. Python numbers give a
    constant; tensors a `Range` op. The dtype is the widest of the arguments' unless given."""
    if limit is None:
        start, limit = 0, start
    values = (start, limit, delta)
    dtype = _range_dtype(values, dtype)
    if not any(_is_tensor(v) for v in values):
        if delta == 0:
            raise ValueError(f"range: delta must not be zero (start={start}, limit={limit})")
        return constant(np.arange(start, limit, delta).astype(dtype.np), dtype=dtype, name=name)
    with name_scope(name, "Range"):
        args = [_as(v, dtype) for v in values]
        return make("Range", args, {"dtype": dtype})


def _as(v, dtype):
    return cast(convert_to_tensor(v), dtype) if _is_tensor(v) else convert_to_tensor(v, dtype=dtype)


def linspace(start: TensorLike, stop: TensorLike, num: int | TensorLike, name: str | None = None) -> Tensor:
    """`num` evenly spaced values from start to stop, both included (float32 unless start is a tensor of
    another float type)."""
    dtype = convert_to_tensor(start).dtype if _is_tensor(start) else _dt.float32
    if not dtype.is_floating:
        raise TypeError(f"linspace: start must be floating-point, got {dtype.name}")
    if not any(_is_tensor(v) for v in (start, stop, num)):
        if int(num) <= 0:
            raise ValueError(f"linspace: num must be positive, got {num}")
        return constant(np.linspace(float(start), float(stop), int(num)).astype(dtype.np), dtype=dtype,
                        name=name or "LinSpace")
    with name_scope(name, "LinSpace"):
        return make("LinSpace", [_as(start, dtype), _as(stop, dtype), _as(num, _dt.int32)])


lin_space = linspace


def eye(num_rows: int, num_columns: int | None = None, batch_shape: Sequence[int] | None = None,
        dtype: DTypeLike = _dt.float32, name: str | None = None) -> Tensor:
    """An identity matrix (ones on the diagonal of num_rows x num_columns), repeated over batch_shape."""
    for what, v in (("num_rows", num_rows), ("num_columns", num_columns)):
        if _is_tensor(v):
            raise TypeError(f"eye: {what} must be a Python int here, not the tensor '{convert_to_tensor(v).name}'")
    dtype = _dt.as_dtype(dtype)
    m = np.eye(int(num_rows), int(num_rows if num_columns is None else num_columns), dtype=dtype.np)
    if batch_shape is not None:
        m = np.broadcast_to(m, tuple(int(d) for d in batch_shape) + m.shape).copy()
    return constant(m, dtype=dtype, name=name or "eye")
