"""`keras.regularizers`: penalties on a weight (or a layer's output) that the model adds to the loss it
trains on and reports, as Keras 2 does: L1 = l1 * sum(|x|), L2 = l2 * sum(x^2), L1L2 both (no 1/2)."""
from __future__ import annotations

import math
import numbers
from typing import Any

from .. import dtypes as _dt
from ..graph import Tensor, constant
from ..ops import math_ops as M
from . import config_objects
from .config_objects import ConfigObject


def _penalty(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{cls}: {name} must be a finite number >= 0, got {value!r:.40}")
    return float(value)


class Regularizer(ConfigObject):
    """The base: a callable from a weight tensor to a scalar loss tensor."""

    def __call__(self, x: Tensor) -> Tensor:
        return constant(0.0, dtype=_dt.float32)


class L1L2(Regularizer):
    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = _penalty("L1L2", "l1", l1), _penalty("L1L2", "l2", l2)

    def __call__(self, x: Tensor) -> Tensor:
        terms = []
        if self.l1:
            terms.append(self.l1 * M.reduce_sum(M.abs(x)))
        if self.l2:
            terms.append(self.l2 * M.reduce_sum(M.square(x)))
        return M.add_n(terms) if terms else constant(0.0, dtype=_dt.float32)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=_penalty("L1", "l1", l1))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=_penalty("L2", "l2", l2))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


def l1(l: float | None = None, l1: float | None = None) -> L1:  # noqa: E741 - Keras 2's `l`, tf.keras 2's `l1`
    return L1(_one_of("l1", l, l1))


def l2(l: float | None = None, l2: float | None = None) -> L2:  # noqa: E741
    return L2(_one_of("l2", l, l2))


def _one_of(name, l, value):  # noqa: E741
    if l is not None and value is not None:
        raise TypeError(f"{name}() got both l={l!r} and {name}={value!r}; give one")
    return 0.01 if l is None and value is None else (l if l is not None else value)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: F811 - Keras's names
    return L1L2(l1=l1, l2=l2)


CLASSES = {c.__name__: c for c in (L1, L2, L1L2)}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01), **CLASSES}


def get(identifier: Any) -> Any:
    """A regularizer from None, 'l1' / 'l2' / 'l1_l2', a {class_name, config} dict, an object or a callable."""
    return config_objects.get("regularizer", identifier, CLASSES, _NAMES)


def serialize(regularizer: Any) -> Any:
    return config_objects.serialize("regularizer", regularizer, CLASSES)


def deserialize(spec: Any) -> Any:
    return config_objects.deserialize("regularizer", spec, CLASSES)
