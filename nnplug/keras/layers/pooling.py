"""Pooling layers: MaxPooling2D and AveragePooling2D (nnplug's max_pool / avg_pool; SAME average pooling
counts only the pixels inside the input, as Keras), GlobalAveragePooling2D and GlobalMaxPooling2D."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...ops import pool_ops
from ...ops import math_ops as M
from ...shapes import ShapeError
from .convolutional import ImageLayer, from_nhwc, image_shape, padding_mode, pair
from ...graph import Tensor


class _Pooling2D(ImageLayer):
    CONFIG_FIELDS = {"pool_size": "pair", "strides": "pair", "padding": "padding", "data_format": "data_format"}
    POOL: Callable[..., Tensor] = None  # the pooling op, set by each subclass

    def __init__(self, pool_size: int | Sequence[int] = (2, 2), strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = pair(pool_size, "pool_size", self.name)
        self.strides = self.pool_size if strides is None else pair(strides, "strides", self.name)
        self.padding = padding_mode(padding, self.name)
        self._set_format(data_format)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        nhwc = image_shape(input_shape, self.name, self._fmt)
        attrs = {"ksize": self.pool_size, "strides": self.strides, "padding": self.padding.upper()}
        try:
            return from_nhwc(pool_ops.pool_geometry(nhwc, attrs)[0], self._fmt)
        except ShapeError as e:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' on inputs of shape "
                             f"{tuple(input_shape)}: {e}") from None

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return type(self).POOL(x, self.pool_size, self.strides, self.padding.upper(), data_format=self._fmt)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling2D):
    POOL = staticmethod(pool_ops.max_pool)


class AveragePooling2D(_Pooling2D):
    POOL = staticmethod(pool_ops.avg_pool)


class _GlobalPooling2D(ImageLayer):
    CONFIG_FIELDS = {"data_format": "data_format", "keepdims": "bool"}
    REDUCE: Callable[..., Tensor] = None  # the reduction, set by each subclass

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_format(data_format)
        self.keepdims = bool(keepdims)

    def _axes(self):
        return (1, 2) if self._fmt == "NHWC" else (2, 3)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, _, _, c = image_shape(input_shape, self.name, self._fmt)
        if not self.keepdims:
            return (n, c)
        return from_nhwc((n, 1, 1, c), self._fmt)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return type(self).REDUCE(x, self._axes(), keepdims=self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    REDUCE = staticmethod(M.reduce_mean)


class GlobalMaxPooling2D(_GlobalPooling2D):
    REDUCE = staticmethod(M.reduce_max)


