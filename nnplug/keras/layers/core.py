"""The core layers: Dense, Activation, Dropout, Flatten."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...ops import math_ops as M
from ...ops import nn_ops
from ...ops.array_ops import reshape
from .. import activations, initializers
from .base import Layer, WeightSpec
from ..._types import ActivationFn, InitializerLike
from ...graph import Tensor


class Dense(Layer):
    """activation(x @ kernel + bias)."""

    CONFIG_FIELDS = {"units": "positive_int", "activation": "activation", "use_bias": "bool",
                     "kernel_initializer": "initializer", "bias_initializer": "initializer"}
    CONFIG_REQUIRED = ("units",)
    PENALIZED = {"kernel": "kernel", "bias": "bias"}

    def __init__(self, units: int, activation: str | ActivationFn | None = None, use_bias: bool = True,
                 kernel_initializer: InitializerLike = "glorot_uniform", bias_initializer: InitializerLike = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"Dense layer '{self.name}' needs a positive number of units, got {units}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        initializers.get(kernel_initializer), initializers.get(bias_initializer)  # unknown names fail here
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense layer '{self.name}' needs inputs with a known last dimension, "
                             f"got shape {input_shape}")
        specs: list[WeightSpec] = [("kernel", (input_shape[-1], self.units), self.kernel_initializer, True)]
        if self.use_bias:
            specs.append(("bias", (self.units,), self.bias_initializer, True))
        return specs

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        shape = x.shape
        flat = reshape(x, [-1, shape[-1]]) if len(shape) > 2 else x
        z = M.matmul(flat, self.weights[0])
        if self.use_bias:
            z = nn_ops.bias_add(z, self.weights[1])
        if len(shape) > 2:
            z = reshape(z, [-1] + list(shape[1:-1]) + [self.units])
        self.logits = (_name_of(self.activation), z)
        return self.activation(z)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dense:
        config = dict(config)
        for k in ("kernel_initializer", "bias_initializer"):
            config[k] = initializers.deserialize(config[k])
        return cls(**config)


def _name_of(fn):
    try:
        return activations.serialize(fn)
    except ValueError:
        return None


class Activation(Layer):
    CONFIG_FIELDS = {"activation": "activation"}
    CONFIG_REQUIRED = ("activation",)

    def __init__(self, activation: str | ActivationFn, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        self.logits = (_name_of(self.activation), x)
        return self.activation(x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout in the training pass only; the inference pass is the identity."""

    CONFIG_FIELDS = {"rate": "rate", "seed": "seed", "noise_shape": "null"}
    CONFIG_REQUIRED = ("rate",)

    def __init__(self, rate: float, noise_shape: Sequence[int] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout layer '{self.name}': rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout(noise_shape=...) is not supported")
        self.rate, self.seed = float(rate), seed

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if not training or self.rate == 0.0:
            return x
        return nn_ops.dropout(x, rate=self.rate, seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"Flatten layer '{self.name}' needs every dimension but the batch one known, "
                             f"got {input_shape}")
        return (input_shape[0], math.prod(rest))

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        self.compute_output_shape(input_shape)
        return []

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return reshape(x, [-1, self.compute_output_shape(tuple(x.shape))[1]])
