"""Layers that act in the training pass only and are the identity at inference: GaussianNoise (x + N(0,
stddev)), GaussianDropout (x * N(1, rate / (1 - rate))), AlphaDropout (dropped units set to SELU's
saturation value, then an affine map that keeps the mean and variance, as Keras), SpatialDropout1D and
SpatialDropout2D (whole channels dropped: one draw per sample and channel)."""
from __future__ import annotations

import math
from typing import Any

from ...ops import math_ops as M
from ...ops import nn_ops
from ...ops.array_ops import shape as shape_of
from ...ops.random_ops import random_normal, random_uniform_like
from .base import _auto_name
from .convolutional import ImageLayer, format_of, snake_name
from .core import Dropout
from .advanced_activations import _number
from ...graph import Tensor

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


class GaussianNoise(ImageLayer):
    CONFIG_FIELDS = {"stddev": "non_negative_number", "seed": "seed"}
    CONFIG_REQUIRED = ("stddev",)

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev, self.seed = _number(self, "stddev", stddev, 0.0), seed

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if not training or self.stddev == 0.0:
            return x
        return x + random_normal(shape_of(x), 0.0, self.stddev, dtype=x.dtype, seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class _RateLayer(Dropout):
    """Dropout's arguments (rate, noise_shape, seed), with errors that name this layer's class."""

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        if kwargs.get("name") is None:  # Keras's default name: gaussian_dropout_1, spatial_dropout1d_1
            kwargs["name"] = _auto_name(snake_name(type(self).__name__))
        try:
            super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)
        except ValueError as e:
            raise ValueError(str(e).replace("Dropout layer", f"{type(self).__name__} layer", 1)) from None


class GaussianDropout(_RateLayer):
    """Multiplicative noise of mean 1 and standard deviation sqrt(rate / (1 - rate))."""

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if not training or self.rate == 0.0:
            return x
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return x * random_normal(shape_of(x), 1.0, stddev, dtype=x.dtype, seed=self.seed)


class AlphaDropout(_RateLayer):
    """For SELU networks: a dropped unit becomes -SELU_SCALE * SELU_ALPHA, and a * x + b restores the mean
    0 and variance 1 of standardised inputs (a = ((1 - rate) (1 + rate alpha'^2))^-1/2, b = -a alpha' rate)."""

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if not training or self.rate == 0.0:
            return x
        alpha_p, rate = -SELU_ALPHA * SELU_SCALE, self.rate
        kept = M.cast(M.greater_equal(random_uniform_like(x, seed=self.seed), rate), x.dtype)
        a = ((1.0 - rate) * (1.0 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        return a * (x * kept + alpha_p * (1.0 - kept)) + b


class SpatialDropout1D(_RateLayer):
    """Whole feature maps dropped: inputs (batch, steps, channels), one draw per sample and channel."""

    def _one_per_channel(self, x):
        if len(x.shape) != 3:
            raise ValueError(f"SpatialDropout1D layer '{self.name}' needs inputs (batch, steps, channels), got "
                             f"{tuple(x.shape)}")
        return x[:, :1]

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        if not training or self.rate == 0.0:
            return x
        return x * nn_ops.dropout(M.ones_like(self._one_per_channel(x)), rate=self.rate, seed=self.seed)


class SpatialDropout2D(SpatialDropout1D):
    """Whole feature maps dropped: inputs (batch, rows, cols, channels) or channels_first, one draw per sample
    and channel."""
    CONFIG_FIELDS = {"data_format": "data_format"}

    def __init__(self, rate: float, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(rate, **kwargs)
        self._fmt = format_of(data_format, self.name)
        self.data_format = data_format if data_format is not None else "channels_last"

    def _one_per_channel(self, x):
        if len(x.shape) != 4:
            raise ValueError(f"SpatialDropout2D layer '{self.name}' needs inputs of rank 4, got {tuple(x.shape)}")
        return x[:, :1, :1] if self._fmt == "NHWC" else x[:, :, :1, :1]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
