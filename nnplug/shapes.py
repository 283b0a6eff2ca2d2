"""Static shapes with unknown dimensions (`None`), and the broadcasting rule over them."""
from __future__ import annotations

from collections.abc import Iterable, Sequence


class ShapeError(ValueError):
    """A shape that cannot work, found at graph-build or compile time."""


class TensorShape(tuple[int | None, ...]):
    """A tuple of ints and `None`s that prints as TF1 does: `(?, 1)`."""

    unknown_rank = False

    def __new__(cls, dims: Iterable[int | None] | int | None = ()) -> TensorShape:
        if dims is None or isinstance(dims, UnknownShape):
            return UNKNOWN
        if isinstance(dims, int):
            dims = (dims,)
        return super().__new__(cls, tuple(None if d is None or int(d) < 0 else int(d) for d in dims))

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

    def __repr__(self) -> str:
        return fmt(self)

    __str__ = __repr__


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
