"""Keras's merge layers: they take a list of tensors (`Add()([a, b])`) and combine them into one --
elementwise (Add, Subtract, Multiply, Average, Maximum, Minimum, with Keras's broadcasting of size-1 axes),
by concatenation along an axis, or by a per-sample dot product. Their shapes are checked when the layer is
called on symbolic inputs, with errors naming the layer and the shapes. Concatenate passes the inputs'
masks on (all steps masked by any input are masked)."""
from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

from ...ops import math_ops as M
from ...ops.array_ops import concat, expand_dims, squeeze, transpose
from ...ops.clip_ops import l2_normalize
from .base import Layer, WeightSpec
from .recurrent import get_mask, set_mask
from ...graph import Tensor

Shape = tuple[int | None, ...]


def _shape_list(shapes: Sequence[Shape]) -> str:
    return ", ".join("(" + ", ".join("None" if d is None else str(d) for d in s) + ")" for s in shapes)


class _Merge(Layer):
    """A layer of a list of inputs; `N_INPUTS` fixes their number (None: two or more)."""

    N_INPUTS: int | None = None

    def _inputs(self, input_shape: Any) -> list[Shape]:
        """The input shapes as a list, or an error naming the layer when it was not called on a list."""
        if not (isinstance(input_shape, list) and all(isinstance(s, tuple) for s in input_shape)):
            raise ValueError(f"{type(self).__name__} layer '{self.name}' must be called on a list of tensors "
                             f"(e.g. {type(self).__name__}()([a, b])), got one tensor of shape {input_shape}")
        n = len(input_shape)
        if (self.N_INPUTS is not None and n != self.N_INPUTS) or n < 2:
            want = f"exactly {self.N_INPUTS}" if self.N_INPUTS is not None else "at least 2"
            raise ValueError(f"{type(self).__name__} layer '{self.name}' needs {want} inputs, got {n} "
                             f"(shapes {_shape_list(input_shape)})")
        return [tuple(s) for s in input_shape]

    def weight_specs(self, input_shape: Any) -> list[WeightSpec]:
        self.compute_output_shape(input_shape)  # checks the shapes before anything is built
        return []

    def _mismatch(self, shapes: Sequence[Shape], why: str) -> ValueError:
        return ValueError(f"{type(self).__name__} layer '{self.name}': inputs of shapes {_shape_list(shapes)} "
                          f"{why}")


class _Elementwise(_Merge):
    """Same-rank inputs whose sizes agree on every non-batch axis, or are 1 there (broadcast)."""

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._inputs(input_shape)
        if len({len(s) for s in shapes}) != 1:
            raise self._mismatch(shapes, "have different ranks")
        out = [None]
        for axis in range(1, len(shapes[0])):
            sizes = {s[axis] for s in shapes} - {None, 1}
            if len(sizes) > 1:
                raise self._mismatch(shapes, f"differ on axis {axis}; they must match (or be 1)")
            known = [s[axis] for s in shapes]
            out.append(sizes.pop() if sizes else (None if None in known else 1))
        return tuple(out)

    def call(self, xs: Sequence[Tensor], training: bool | Tensor = False) -> Tensor:
        return self.combine(list(xs))

    def combine(self, xs: list[Tensor]) -> Tensor:
        raise NotImplementedError


class Add(_Elementwise):
    def combine(self, xs: list[Tensor]) -> Tensor:
        return reduce(M.add, xs)


class Subtract(_Elementwise):
    N_INPUTS = 2

    def combine(self, xs: list[Tensor]) -> Tensor:
        return M.subtract(xs[0], xs[1])


class Multiply(_Elementwise):
    def combine(self, xs: list[Tensor]) -> Tensor:
        return reduce(M.multiply, xs)


class Average(_Elementwise):
    def combine(self, xs: list[Tensor]) -> Tensor:
        return reduce(M.add, xs) * (1.0 / len(xs))


class Maximum(_Elementwise):
    def combine(self, xs: list[Tensor]) -> Tensor:
        return reduce(M.maximum, xs)


class Minimum(_Elementwise):
    def combine(self, xs: list[Tensor]) -> Tensor:
        return reduce(M.minimum, xs)


class Concatenate(_Merge):
    CONFIG_FIELDS = {"axis": "axis"}

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate layer '{self.name}': axis must be an int, got {axis!r:.40}")
        self.axis = axis

    def _axis(self, shapes: Sequence[Shape]) -> int:
        rank = len(shapes[0])
        if len({len(s) for s in shapes}) != 1:
            raise self._mismatch(shapes, "have different ranks")
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise self._mismatch(shapes, f"cannot be joined on axis {self.axis} (a non-batch axis of rank {rank})")
        return self.axis % rank

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._inputs(input_shape)
        axis = self._axis(shapes)
        for i in range(1, len(shapes[0])):
            if i != axis and len({s[i] for s in shapes} - {None}) > 1:
                raise self._mismatch(shapes, f"must match on every axis but the concatenation axis {self.axis}; "
                                             f"they differ on axis {i}")
        joined = [s[axis] for s in shapes]
        out = list(shapes[0])
        out[0] = None
        out[axis] = None if None in joined else sum(joined)
        return tuple(out)

    def call(self, xs: Sequence[Tensor], training: bool | Tensor = False) -> Tensor:
        axis = self._axis([tuple(x.shape) for x in xs])
        out = concat(list(xs), axis)
        masks = [get_mask(x) for x in xs]
        if any(m is not None for m in masks) and axis == len(xs[0].shape) - 1:  # joined features: one mask
            return set_mask(out, reduce(M.logical_and, [m for m in masks if m is not None]))
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """The per-sample dot product of two inputs of rank 2 or 3 along `axes` (an int, or one axis each); with
    normalize=True the inputs are L2-normalised along those axes first (cosine proximity)."""

    CONFIG_FIELDS = {"axes": "dot_axes", "normalize": "bool"}
    CONFIG_REQUIRED = ("axes",)
    N_INPUTS = 2

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pair = [axes, axes] if isinstance(axes, int) and not isinstance(axes, bool) else list(axes) \
            if isinstance(axes, (list, tuple)) else None
        if pair is None or len(pair) != 2 or not all(isinstance(a, int) and not isinstance(a, bool) for a in pair):
            raise TypeError(f"Dot layer '{self.name}': axes must be an int or a pair of ints, got {axes!r:.40}")
        self.axes, self.normalize = axes if isinstance(axes, int) else list(axes), bool(normalize)

    def _pair(self, shapes: Sequence[Shape]) -> tuple[int, int]:
        pair = [self.axes, self.axes] if isinstance(self.axes, int) else self.axes
        for s in shapes:
            if len(s) not in (2, 3):
                raise self._mismatch(shapes, "are not supported: Dot takes inputs of rank 2 or 3")
        a, b = (ax % len(s) if -len(s) <= ax < len(s) else -1 for ax, s in zip(pair, shapes))
        if a < 1 or b < 1:
            raise self._mismatch(shapes, f"have no non-batch axes {pair}")
        if None not in (shapes[0][a], shapes[1][b]) and shapes[0][a] != shapes[1][b]:
            raise self._mismatch(shapes, f"differ on the dot axes {pair}: {shapes[0][a]} != {shapes[1][b]}")
        return a, b

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = self._inputs(input_shape)
        a, b = self._pair(shapes)
        rest = [d for i, d in enumerate(shapes[0]) if i not in (0, a)] + \
               [d for i, d in enumerate(shapes[1]) if i not in (0, b)]
        return (None,) + tuple(rest or [1])

    def call(self, xs: Sequence[Tensor], training: bool | Tensor = False) -> Tensor:
        x, y = xs
        a, b = self._pair([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x, y = l2_normalize(x, axis=a), l2_normalize(y, axis=b)
        if len(x.shape) == 2 and len(y.shape) == 2:
            return M.reduce_sum(x * y, axis=1, keepdims=True)
        # contract x's axis a with y's axis b as a batched matmul: x as (batch, m, k), y as (batch, k, n)
        x3 = expand_dims(x, 1) if len(x.shape) == 2 else (transpose(x, [0, 2, 1]) if a == 1 else x)
        y3 = expand_dims(y, 2) if len(y.shape) == 2 else (transpose(y, [0, 2, 1]) if b == 2 else y)
        out = M.matmul(x3, y3)
        if len(x.shape) == 2:
            out = squeeze(out, [1])
        if len(y.shape) == 2:
            out = squeeze(out, [-1])
        return out

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


MERGE_LAYERS = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot)


def _functional(cls):
    def merge(inputs: Sequence[Any], **kwargs: Any) -> Any:
        return cls(**kwargs)(inputs)
    merge.__name__ = merge.__qualname__ = cls.__name__.lower()
    merge.__doc__ = f"`keras.layers.{cls.__name__}(**kwargs)(inputs)`."
    return merge


add, subtract, multiply, average, maximum, minimum = (_functional(c) for c in (Add, Subtract, Multiply, Average,
                                                                                Maximum, Minimum))


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """`keras.layers.Concatenate(axis)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Sequence[Any], axes: int | Sequence[int], normalize: bool = False, **kwargs: Any) -> Any:
    """`keras.layers.Dot(axes, normalize)(inputs)`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)

