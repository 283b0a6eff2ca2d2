"""The type aliases of nnplug's public API, in one place, for annotations (never checked at run time).

`TensorLike` is what every op accepts and turns into a tensor with `convert_to_tensor`; `Shape` is what
`placeholder`, `zeros` or `reshape` take as a static shape; `DTypeLike` is what `as_dtype` turns into a
`DType`. The call protocols describe the op functions that nnplug makes from tables (`tanh = unary(...)`),
so a type checker sees their parameters as if they were written out.

The module is `_types`, not `typing`, so that nothing can mistake it for the standard library's module.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeAlias, Union

import numpy as np

from .dtypes import DType
from .graph import Operation, Tensor
from .shapes import TensorShape

__all__ = [
    "ActivationFn", "Axis", "BinaryOp", "DType", "DTypeLike", "FeedDict", "Fetches", "InitializerLike", "Reducer",
    "Regularizer", "Shape", "ShapeLike", "StrPath", "Structure", "SupportsTensor", "Tensor", "TensorLike",
    "TensorShape", "UnaryOp",
]


class SupportsTensor(Protocol):
    """Anything that stands for a tensor (a Variable: its value), as `convert_to_tensor` accepts it."""

    def _as_tensor(self) -> Tensor: ...


# A value an op takes: a tensor, a variable, or host data (arrays, Python numbers, nested lists of them).
TensorLike: TypeAlias = Union[Tensor, SupportsTensor, np.ndarray, np.generic, float, int, bool, Sequence[Any]]
# A static shape: dimensions with None for unknown ones (or one int for a vector).
Shape: TypeAlias = Union[TensorShape, Sequence[Union[int, None]], int]
# A shape that may be known only when the graph runs: a tensor (`tf.shape(y)`) or ints and scalar tensors.
ShapeLike: TypeAlias = Union[Shape, Tensor, SupportsTensor, Sequence[Union[int, Tensor, SupportsTensor]]]
# What `nnplug.as_dtype` accepts: a DType, its name ('float32'), a NumPy dtype or type, or float/int/bool.
DTypeLike: TypeAlias = Union[DType, str, np.dtype, type, int]
# An axis argument: one axis, several, or None (all of them).
Axis: TypeAlias = Union[int, Sequence[int], None]
# strides, window sizes, dilations: one int for every spatial axis or one per axis (TF1 accepts both)
Ints: TypeAlias = Union[int, Sequence[int], None]
# 'SAME' / 'VALID', or explicit (before, after) pairs per axis
Padding: TypeAlias = Union[str, Sequence[Sequence[int]], None]
# What Session.run fetches: tensors, operations, variables, tensor names, nested in lists, tuples, dicts.
Fetches: TypeAlias = Union[Tensor, Operation, SupportsTensor, str, Sequence["Fetches"], Mapping[Any, "Fetches"]]
# placeholder (or tensor name) -> value; Any so that a user's dict[Tensor, ndarray] fits as it is.
FeedDict: TypeAlias = Mapping[Any, Any]
# The functions a layer applies: an activation or a constraint (tensor -> tensor), a regularizer (tensor ->
# its penalty, or None for none).
ActivationFn: TypeAlias = Callable[[Tensor], Tensor]
Regularizer: TypeAlias = Callable[[Tensor], Union[Tensor, None]]
# A file name: a str or a path object (pathlib.Path).
StrPath: TypeAlias = Union[str, "os.PathLike[str]"]
# A nested structure (lists, tuples, namedtuples, dicts) of tensors or TensorArrays, as cond, while_loop,
# map_fn and the RNN drivers take and give back (or of shapes or dtypes, as their shape_invariants and dtype
# arguments): Any, because what comes back mirrors what the user's function returned, which no alias states.
Structure: TypeAlias = Any
# An initializer: a name (`"glorot_uniform"`), or a callable (shape, dtype) -> initial value (an Initializer).
InitializerLike: TypeAlias = Union[str, Callable[..., Any]]


class UnaryOp(Protocol):
    """A one-input elementwise op function (`nnplug.tanh`)."""

    def __call__(self, x: TensorLike, name: str | None = None) -> Tensor: ...


class BinaryOp(Protocol):
    """A two-input broadcasting elementwise op function (`nnplug.add`)."""

    def __call__(self, x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor: ...


class Reducer(Protocol):
    """A reduction (`nnplug.reduce_sum`), with TF1's old argument names too."""

    def __call__(self, input_tensor: TensorLike, axis: Axis = None, keepdims: bool | None = None,
                 name: str | None = None, reduction_indices: Axis = None, keep_dims: bool | None = None) -> Tensor: ...
