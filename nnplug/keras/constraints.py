"""`keras.constraints`: projections applied to a weight after every optimizer update (as Keras does), so
the trained weights always satisfy them. The norms are over `axis` (0: each column of a Dense kernel;
[0, 1, 2] for each filter of a Conv2D kernel), with Keras's epsilon 1e-7 against division by zero."""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from .. import dtypes as _dt
from ..graph import Tensor
from ..ops import math_ops as M
from . import config_objects
from .config_objects import ConfigObject

EPSILON = 1e-7


def _number(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value == value:
        raise ValueError(f"{cls}: {name} must be a number, got {value!r:.40}")
    return float(value)


def _axis(cls, axis):
    axes = [axis] if not isinstance(axis, (list, tuple)) else list(axis)
    if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
        raise ValueError(f"{cls}: axis must be an int or a list of ints, got {axis!r:.40}")
    return int(axis) if not isinstance(axis, (list, tuple)) else [int(a) for a in axis]


class Constraint(ConfigObject):
    """The base: a callable from a weight tensor to its projected value (the identity here)."""

    def __call__(self, w: Tensor) -> Tensor:
        return w

    def _norms(self, w: Tensor, axis: int | Sequence[int]) -> Tensor:
        rank = len(w.shape)
        for a in ([axis] if isinstance(axis, int) else axis):
            if not -rank <= a < rank:
                raise ValueError(f"{type(self).__name__}(axis={axis}) does not fit a weight of shape "
                                 f"{tuple(w.shape)} (rank {rank})")
        return M.sqrt(M.reduce_sum(M.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescales every slice along `axis` whose norm exceeds max_value down to it."""

    def __init__(self, max_value: float = 2, axis: int | Sequence[int] = 0) -> None:
        self.max_value, self.axis = _number("MaxNorm", "max_value", max_value), _axis("MaxNorm", axis)

    def __call__(self, w: Tensor) -> Tensor:
        norms = self._norms(w, self.axis)
        return w * (M.clip_by_value(norms, 0.0, self.max_value) / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative entries become zero."""

    def __call__(self, w: Tensor) -> Tensor:
        return w * M.cast(M.greater_equal(w, 0.0), _dt.float32)


class UnitNorm(Constraint):
    def __init__(self, axis: int | Sequence[int] = 0) -> None:
        self.axis = _axis("UnitNorm", axis)

    def __call__(self, w: Tensor) -> Tensor:
        return w / (EPSILON + self._norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms moved into [min_value, max_value]: rate 1 clips them, a smaller rate moves them part way."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | Sequence[int] = 0) -> None:
        self.min_value = _number("MinMaxNorm", "min_value", min_value)
        self.max_value = _number("MinMaxNorm", "max_value", max_value)
        self.rate, self.axis = _number("MinMaxNorm", "rate", rate), _axis("MinMaxNorm", axis)
        if not 0.0 <= self.min_value <= self.max_value:
            raise ValueError(f"MinMaxNorm needs 0 <= min_value <= max_value, got {min_value}, {max_value}")

    def __call__(self, w: Tensor) -> Tensor:
        norms = self._norms(w, self.axis)
        desired = self.rate * M.clip_by_value(norms, self.min_value, self.max_value) + (1.0 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm  # Keras's aliases
maxnorm, nonneg, unitnorm = MaxNorm, NonNeg, UnitNorm  # Keras 2.0's
CLASSES = {c.__name__: c for c in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm, **CLASSES}


def get(identifier: Any) -> Any:
    """A constraint from None, a name ('max_norm', 'non_neg', ...), a {class_name, config} dict, an object or
    a callable."""
    return config_objects.get("constraint", identifier, CLASSES, _NAMES)


def serialize(constraint: Any) -> Any:
    return config_objects.serialize("constraint", constraint, CLASSES)


def deserialize(spec: Any) -> Any:
    return config_objects.deserialize("constraint", spec, CLASSES)
