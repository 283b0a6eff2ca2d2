"""Keras's activation layers with parameters: LeakyReLU, PReLU (a trained slope per unit, shared along
`shared_axes`), ELU, ReLU (max_value, negative_slope, threshold), ThresholdedReLU and Softmax."""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from ...ops import math_ops as M
from ...ops import nn_ops
from .. import initializers
from .base import WeightSpec
from .convolutional import ImageLayer
from ..._types import InitializerLike
from ...graph import Tensor


def _number(layer, what, value, minimum=None, optional=False):
    """A finite number (>= minimum when given); None passes where optional."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or \
            (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': {what} must be a finite number{bound}, got "
                         f"{value!r:.40}")
    return float(value)


class LeakyReLU(ImageLayer):
    """x for x >= 0, alpha * x below."""
    CONFIG_FIELDS = {"alpha": "non_negative_number"}

    def __init__(self, alpha: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = _number(self, "alpha", alpha, 0.0)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return M.leaky_relu(x, alpha=self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class ELU(ImageLayer):
    """x for x > 0, alpha * (exp(x) - 1) below."""
    CONFIG_FIELDS = {"alpha": "number"}

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = _number(self, "alpha", alpha)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if self.alpha == 1.0:
            return nn_ops.elu(x)
        below = self.alpha * (M.exp(M.minimum(x, 0.0)) - 1.0)  # exp of x <= 0 only: no inf in the gradient
        return M.where(M.greater(x, 0.0), x, below)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class ReLU(ImageLayer):
    """max_value for x >= max_value, x for threshold <= x < max_value, negative_slope * (x - threshold)
    below the threshold."""
    CONFIG_FIELDS = {"max_value": "optional_non_negative_number", "negative_slope": "non_negative_number",
                     "threshold": "number"}

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = _number(self, "max_value", max_value, 0.0, optional=True)
        self.negative_slope = _number(self, "negative_slope", negative_slope, 0.0)
        self.threshold = _number(self, "threshold", threshold)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if self.threshold == 0.0:
            y = M.relu(x) if self.negative_slope == 0.0 else M.leaky_relu(x, alpha=self.negative_slope)
        else:
            y = M.where(M.greater_equal(x, self.threshold), x, self.negative_slope * (x - self.threshold))
        return y if self.max_value is None else M.minimum(y, self.max_value)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class ThresholdedReLU(ImageLayer):
    """x for x > theta, 0 otherwise."""
    CONFIG_FIELDS = {"theta": "non_negative_number"}

    def __init__(self, theta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.theta = _number(self, "theta", theta, 0.0)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return x * M.cast(M.greater(x, self.theta), x.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "theta": self.theta}


class Softmax(ImageLayer):
    CONFIG_FIELDS = {"axis": "axis"}

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"Softmax layer '{self.name}': axis must be an int, got {axis!r:.40}")
        self.axis = axis

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(f"Softmax layer '{self.name}': axis {self.axis} is out of range for inputs of shape "
                             f"{tuple(input_shape)}")
        return tuple(input_shape)

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        self.compute_output_shape(input_shape)
        return []

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if self.axis in (-1, len(x.shape) - 1):
            self.logits = ("softmax", x)
        return nn_ops.softmax(x, axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class PReLU(ImageLayer):
    """x for x >= 0, alpha * x below, alpha a trained weight of the input's non-batch shape, with size 1
    along `shared_axes` (Keras counts axes from 1, the batch being 0)."""
    CONFIG_FIELDS = {"alpha_initializer": "initializer", "shared_axes": "optional_axes"}
    PENALIZED = {"alpha": "alpha"}

    def __init__(self, alpha_initializer: InitializerLike = "zeros", shared_axes: int | Sequence[int] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        initializers.get(alpha_initializer)  # an unknown name fails here
        self.alpha_initializer = alpha_initializer
        axes = [] if shared_axes is None else [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
        if any(isinstance(a, bool) or not isinstance(a, int) or a < 1 for a in axes):
            raise ValueError(f"PReLU layer '{self.name}': shared_axes must be non-batch axes (ints >= 1), got "
                             f"{shared_axes!r:.60}")
        self.shared_axes = tuple(axes) if shared_axes is not None else None

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        rank = len(input_shape)
        shared = set(self.shared_axes or ())
        if any(a >= rank for a in shared):
            raise ValueError(f"PReLU layer '{self.name}': shared_axes {self.shared_axes} are not all axes of inputs "
                             f"of shape {tuple(input_shape)}")
        shape = tuple(1 if a in shared else input_shape[a] for a in range(1, rank))
        if None in shape:
            raise ValueError(f"PReLU layer '{self.name}' needs every non-shared axis known, got inputs of shape "
                             f"{tuple(input_shape)} with shared_axes {self.shared_axes}")
        return [("alpha", shape, self.alpha_initializer, True)]

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return M.relu(x) - self.weights[0] * M.relu(-x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "shared_axes": None if self.shared_axes is None else list(self.shared_axes)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PReLU:
        config = dict(config)
        if "alpha_initializer" in config:
            config["alpha_initializer"] = initializers.deserialize(config["alpha_initializer"])
        return cls(**config)
