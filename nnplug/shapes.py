"""Static shapes with unknown dimensions (`None`), and the broadcasting rule over them."""
from __future__ import annotations

from collections.abc import Iterable, Sequence


class ShapeError(ValueError):
    """A shape that cannot work, found at graph-build or compile time."""


class Dimension(int):
    """A known dimension as TF1's (v1) TensorShape gives it from `shape[i]`: an int that also has `.value`
    (`x.get_shape()[-1].value`), printing as the number and repr'd as `Dimension(3)`. Arithmetic gives plain
    ints. `Dimension(None)` is UNKNOWN_DIMENSION (`.value` None), what `shape.dims` and `tf.Dimension(None)`
    give for an unknown one; `shape[i]` of an unknown dimension stays None, which nnplug's own code tests for."""

    def __new__(cls, value: int | float | Dimension | None) -> Dimension:
        if value is None or value is UNKNOWN_DIMENSION:
            return UNKNOWN_DIMENSION  # type: ignore[return-value]
        if isinstance(value, Dimension):
            return value
        if isinstance(value, float) and not value.is_integer():
            raise TypeError(f"a dimension must be an integer, got {value!r}")
        v = int(value)
        if v < 0:
            raise ValueError(f"Dimension {v} must be >= 0")
        return super().__new__(cls, v)

    @property
    def value(self) -> int:
        return int(self)

    def is_compatible_with(self, other: int | Dimension | None) -> bool:
        other = dimension_value(other)
        return other is None or other == int(self)

    def merge_with(self, other: int | Dimension | None) -> Dimension:
        if not self.is_compatible_with(other):
            raise ValueError(f"Dimensions {int(self)} and {dimension_value(other)} are not compatible")
        return self

    def __repr__(self) -> str:
        return f"Dimension({int(self)})"

    __str__ = int.__repr__


class _UnknownDimension:
    """TF1's `Dimension(None)`: value None; compares to anything as None (unknown), prints as `?`."""

    value = None

    def is_compatible_with(self, other: object) -> bool:
        return True

    def merge_with(self, other: int | Dimension | None) -> Dimension:
        return Dimension(dimension_value(other))

    def __eq__(self, other: object) -> None:  # type: ignore[override]
        return None

    __ne__ = __eq__

    def __hash__(self) -> int:
        return hash("<unknown dimension>")

    def __int__(self) -> int:
        raise ValueError("an unknown dimension (Dimension(None)) has no integer value")

    __index__ = __int__

    def __repr__(self) -> str:
        return "Dimension(None)"

    def __str__(self) -> str:
        return "?"


UNKNOWN_DIMENSION = _UnknownDimension()


def dimension_value(d: int | Dimension | _UnknownDimension | None) -> int | None:
    """TF1's `tf.compat.dimension_value`: the int of a dimension, or None when it is unknown."""
    if d is None or d is UNKNOWN_DIMENSION:
        return None
    return int(d)


class TensorShape(tuple[int | None, ...]):
    """A tuple of ints and `None`s that prints as TF1 does: `(?, 1)`, with TF1's methods. Iterating gives
    the ints and `None`s; indexing gives a Dimension (`shape[1].value`) or None, slicing a TensorShape."""

    unknown_rank = False

    def __new__(cls, dims: Iterable[int | None] | int | None = ()) -> TensorShape:
        if dims is None or isinstance(dims, UnknownShape):
            return UNKNOWN
        if isinstance(dims, int):
            dims = (dims,)
        dims = [dimension_value(d) for d in dims]  # ints, None, Dimension objects (UNKNOWN_DIMENSION: None)
        return super().__new__(cls, tuple(None if d is None or d < 0 else d for d in dims))

    @property
    def ndims(self) -> int | None:
        return len(self)

    rank = ndims

    def as_list(self) -> list[int | None]:
        return list(self)

    def is_fully_defined(self) -> bool:
        return all(d is not None for d in self)

    def num_elements(self) -> int | None:
        if not self.is_fully_defined():
            return None
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, key):
        if isinstance(key, slice):
            return TensorShape(tuple.__getitem__(self, key))
        d = tuple.__getitem__(self, key)
        return None if d is None else Dimension(d)

    @property
    def dims(self) -> list[Dimension] | None:
        """Every dimension as a Dimension object (UNKNOWN_DIMENSION where unknown), as TF1 gives them."""
        return [Dimension(d) for d in tuple.__iter__(self)]

    def is_compatible_with(self, other: Iterable[int | None] | None) -> bool:
        other = as_shape(other)
        if other.unknown_rank or self.unknown_rank:
            return True
        return len(self) == len(other) and all(a is None or b is None or a == b for a, b in zip(self, other))

    def assert_is_compatible_with(self, other: Iterable[int | None] | None) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {as_shape(other)} are incompatible")

    def merge_with(self, other: Iterable[int | None] | None) -> TensorShape:
        """The most specific shape both describe; ValueError where they disagree."""
        other = as_shape(other)
        if self.unknown_rank:
            return other
        if other.unknown_rank:
            return self
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible")
        return TensorShape(a if a is not None else b for a, b in zip(self, other))

    def most_specific_compatible_shape(self, other: Iterable[int | None] | None) -> TensorShape:
        other = as_shape(other)
        if self.unknown_rank or other.unknown_rank or len(self) != len(other):
            return UNKNOWN
        return TensorShape(a if a == b else None for a, b in zip(self, other))

    def concatenate(self, other: Iterable[int | None] | None) -> TensorShape:
        other = as_shape(other)
        if self.unknown_rank or other.unknown_rank:
            return UNKNOWN
        return TensorShape(tuple(self) + tuple(other))

    def with_rank(self, rank: int) -> TensorShape:
        if self.unknown_rank:
            return TensorShape([None] * rank)
        if len(self) != rank:
            raise ValueError(f"Shape {self} must have rank {rank}")
        return self

    def with_rank_at_least(self, rank: int) -> TensorShape:
        if not self.unknown_rank and len(self) < rank:
            raise ValueError(f"Shape {self} must have rank at least {rank}")
        return self

    def with_rank_at_most(self, rank: int) -> TensorShape:
        if not self.unknown_rank and len(self) > rank:
            raise ValueError(f"Shape {self} must have rank at most {rank}")
        return self

    def assert_has_rank(self, rank: int) -> None:
        self.with_rank(rank)

    def assert_same_rank(self, other: Iterable[int | None] | None) -> None:
        other = as_shape(other)
        if not (self.unknown_rank or other.unknown_rank) and len(self) != len(other):
            raise ValueError(f"Shapes {self} and {other} must have the same rank")

    def assert_is_fully_defined(self) -> None:
        if not self.is_fully_defined():
            raise ValueError(f"Shape {self} is not fully defined")

    def __repr__(self) -> str:
        return fmt(self)

    __str__ = __repr__


def as_shape(shape: Iterable[int | None] | None) -> TensorShape:
    """TF1's `tf.TensorShape(x)` for anything shape-like (a TensorShape is returned as it is)."""
    return shape if isinstance(shape, TensorShape) else TensorShape(shape)


class UnknownShape(TensorShape):
    """The shape of a tensor whose rank is not known when the graph is built (`placeholder(shape=None)`).
    Plans are compiled on concrete shapes, so only build-time checks are lost."""

    unknown_rank = True

    def __new__(cls) -> UnknownShape:
        return tuple.__new__(cls, ())

    @property
    def ndims(self) -> None:
        return None

    rank = ndims

    def as_list(self) -> list[int | None]:
        raise ValueError("as_list() is not defined on a shape of unknown rank")

    def __getitem__(self, key):
        return UNKNOWN if isinstance(key, slice) else UNKNOWN_DIMENSION

    @property
    def dims(self) -> None:
        return None

    def is_fully_defined(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<unknown>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return hash("<unknown shape>")


UNKNOWN = UnknownShape()


def fmt(shape: Sequence[int | None]) -> str:
    """Format a shape the TF1 way, with `?` for unknown dimensions."""
    if getattr(shape, "unknown_rank", False):
        return "<unknown>"
    inner = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def broadcast(a: Sequence[int | None], b: Sequence[int | None]) -> TensorShape:
    """NumPy broadcasting of two static shapes; `None` stays unknown unless the other side pins it."""
    if getattr(a, "unknown_rank", False) or getattr(b, "unknown_rank", False):
        return UNKNOWN
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            raise ShapeError(f"shapes {fmt(a)} and {fmt(b)} are not broadcastable")
    return TensorShape(reversed(out))


def compatible(static: Sequence[int | None], actual: Sequence[int]) -> bool:
    """Does a concrete shape fit a static one (same rank, every known dimension equal)?"""
    if getattr(static, "unknown_rank", False):
        return True
    return len(static) == len(actual) and all(s is None or s == a for s, a in zip(static, actual))


def normalize_axis(axis: int | Sequence[int], rank: int, what: str = "axis") -> tuple[int, ...]:
    """Resolve negative axes and check the range; returns a tuple of non-negative axes."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -rank <= a < max(rank, 1):
            raise ShapeError(f"{what} {a} is out of range for a tensor of rank {rank}")
        out.append(a % rank if rank else 0)
    return tuple(out)
