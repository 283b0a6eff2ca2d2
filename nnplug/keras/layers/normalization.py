"""BatchNormalization: the training pass normalises with the batch's statistics and moves the moving
averages toward them (moving -= (moving - batch) * (1 - momentum), with the biased batch variance, as
Keras); the inference pass normalises with the moving averages. The updates are control dependencies of
the training pass's output, so the training step that reads it runs them and nothing else does."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...graph import Tensor, control_dependencies, name_scope
from ...ops import norm_ops
from ...ops.array_ops import identity, reshape
from .convolutional import WithInitializers
from .base import WeightSpec
from ..._types import InitializerLike


class BatchNormalization(WithInitializers):
    CONFIG_FIELDS = {"axis": "axis", "momentum": "fraction", "epsilon": "positive_number", "center": "bool",
                     "scale": "bool", "beta_initializer": "initializer", "gamma_initializer": "initializer",
                     "moving_mean_initializer": "initializer", "moving_variance_initializer": "initializer"}
    INITIALIZERS = ("beta_initializer", "gamma_initializer", "moving_mean_initializer",
                    "moving_variance_initializer")
    PENALIZED = {"beta": "beta", "gamma": "gamma"}
    beta_initializer: InitializerLike  # set by _set_initializers, as the next three
    gamma_initializer: InitializerLike
    moving_mean_initializer: InitializerLike
    moving_variance_initializer: InitializerLike

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: InitializerLike = "zeros",
                 gamma_initializer: InitializerLike = "ones", moving_mean_initializer: InitializerLike = "zeros",
                 moving_variance_initializer: InitializerLike = "ones", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        if not 0.0 <= self.momentum <= 1.0 or self.epsilon <= 0.0:
            raise ValueError(f"BatchNormalization layer '{self.name}': momentum must be in [0, 1] and epsilon "
                             f"positive, got momentum={momentum}, epsilon={epsilon}")
        self.center, self.scale = bool(center), bool(scale)
        self._set_initializers(beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                               moving_mean_initializer=moving_mean_initializer,
                               moving_variance_initializer=moving_variance_initializer)

    def _axis(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or rank < 2:
            raise ValueError(f"BatchNormalization layer '{self.name}': axis {self.axis} is not a feature axis of "
                             f"inputs of shape {tuple(input_shape)}")
        axis = self.axis % rank
        if axis == 0 or input_shape[axis] is None:
            raise ValueError(f"BatchNormalization layer '{self.name}' needs a known, non-batch axis {self.axis} "
                             f"in inputs of shape {tuple(input_shape)}")
        return axis

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        depth = (input_shape[self._axis(input_shape)],)
        specs: list[WeightSpec] = [("gamma", depth, self.gamma_initializer, True)] if self.scale else []
        if self.center:
            specs.append(("beta", depth, self.beta_initializer, True))
        return specs + [("moving_mean", depth, self.moving_mean_initializer, False),
                        ("moving_variance", depth, self.moving_variance_initializer, False)]

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        shape = tuple(x.shape)
        axis = self._axis(shape)
        weights = dict(zip([w for w, *_ in self.weight_specs(shape)], self.weights))
        along = (lambda t: t) if axis == len(shape) - 1 else \
            (lambda t: reshape(t, [shape[axis] if a == axis else 1 for a in range(len(shape))]))
        gamma, beta = weights.get("gamma"), weights.get("beta")
        mean, variance = weights["moving_mean"], weights["moving_variance"]
        updates = []
        if training:
            mean, variance = norm_ops.moments(x, [a for a in range(len(shape)) if a != axis])
            for moving, batch in ((weights["moving_mean"], mean), (weights["moving_variance"], variance)):
                with name_scope(f"{self.name}/AssignMovingAvg"):
                    updates.append(moving.assign_sub((moving._as_tensor() - batch) * (1.0 - self.momentum)))
        y = norm_ops.batch_normalization(x, along(mean), along(variance), None if beta is None else along(beta),
                                         None if gamma is None else along(gamma), self.epsilon)
        if not updates:
            return y
        with control_dependencies(updates):
            return identity(y)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
