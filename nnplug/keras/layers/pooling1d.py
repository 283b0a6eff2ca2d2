"""1-D pooling: MaxPooling1D and AveragePooling1D (the 2-D pooling ops on a height-1 image; SAME average
pooling counts only the steps inside the input, as Keras), GlobalMaxPooling1D and GlobalAveragePooling1D."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...ops import conv_ops, pool_ops
from ...ops import math_ops as M
from ...ops.array_ops import expand_dims, squeeze, transpose
from ...shapes import ShapeError
from .convolutional import ImageLayer, padding_mode
from .convolutional1d import sequence_out, sequence_shape, single
from ...graph import Tensor


class _Pooling1D(ImageLayer):
    CONFIG_FIELDS = {"pool_size": "one_int", "strides": "one_int", "padding": "padding", "data_format": "data_format"}
    POOL: Callable[..., Tensor] = None  # the 2-D pooling op, set by each subclass

    def __init__(self, pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str = "channels_last", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        what = f"{type(self).__name__} layer '{self.name}'"
        self.pool_size = single(pool_size, "pool_size", what)
        self.strides = self.pool_size if strides is None else single(strides, "strides", what)
        self.padding = padding_mode(padding, self.name)
        self._set_format(data_format)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, steps, c = sequence_shape(input_shape, f"{type(self).__name__} layer '{self.name}'", self.data_format)
        try:
            out = conv_ops.window_1d(steps, self.pool_size, self.strides, 1, self.padding.upper(), "steps")[0]
        except ShapeError as e:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' on inputs of shape "
                             f"{tuple(input_shape)}: {e}") from None
        return sequence_out(n, out, c, self.data_format)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        first = self.data_format == "channels_first"
        image = expand_dims(transpose(x, (0, 2, 1)) if first else x, 1)  # (batch, 1, steps, channels)
        y = squeeze(type(self).POOL(image, (1, self.pool_size), (1, self.strides), self.padding.upper()), [1])
        return transpose(y, (0, 2, 1)) if first else y

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": [self.pool_size], "strides": [self.strides],
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(_Pooling1D):
    POOL = staticmethod(pool_ops.max_pool)


class AveragePooling1D(_Pooling1D):
    POOL = staticmethod(pool_ops.avg_pool)


class _GlobalPooling1D(ImageLayer):
    CONFIG_FIELDS = {"data_format": "data_format", "keepdims": "bool"}
    REDUCE: Callable[..., Tensor] = None  # the reduction, set by each subclass

    def __init__(self, data_format: str = "channels_last", keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_format(data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, _, c = sequence_shape(input_shape, f"{type(self).__name__} layer '{self.name}'", self.data_format)
        return sequence_out(n, 1, c, self.data_format) if self.keepdims else (n, c)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return type(self).REDUCE(x, 2 if self.data_format == "channels_first" else 1, keepdims=self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    REDUCE = staticmethod(M.reduce_mean)


class GlobalMaxPooling1D(_GlobalPooling1D):
    REDUCE = staticmethod(M.reduce_max)
