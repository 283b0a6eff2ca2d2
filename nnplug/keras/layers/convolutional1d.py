"""Conv1D (padding 'valid', 'same' or 'causal': zeros before the sequence only, so step t sees steps <= t),
DepthwiseConv2D and SeparableConv2D, on nnplug's conv1d / depthwise_conv2d / separable_conv2d ops."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...ops import conv_ops
from ...ops import math_ops as M
from ...ops.array_ops import reshape
from ...ops.manip_ops import pad
from ...shapes import ShapeError
from .. import activations
from .base import WeightSpec
from .convolutional import WithInitializers, from_nhwc, image_shape, padding_mode, pair
from .core import _name_of
from ..._types import ActivationFn, InitializerLike
from ...graph import Tensor


def single(value, what, layer):
    """An int or a 1-sequence of one positive int (Keras's 1-D kernel_size, strides, dilation_rate)."""
    items = [value] if isinstance(value, int) else list(value) if isinstance(value, (list, tuple)) else None
    if items is None or len(items) != 1 or isinstance(items[0], bool) or not isinstance(items[0], int) \
            or items[0] < 1:
        raise ValueError(f"{layer}: {what} must be a positive int (or a 1-tuple of one), got {value!r:.40}")
    return items[0]


def sequence_shape(input_shape, layer, data_format):
    """(batch, steps, channels) of a 1-D layer's input, checked: rank 3 with a known channel count."""
    if len(input_shape) != 3:
        raise ValueError(f"{layer} needs inputs of rank 3 (batch, steps, channels), got shape {tuple(input_shape)}")
    n, a, b = input_shape
    steps, channels = (b, a) if data_format == "channels_first" else (a, b)
    if channels is None:
        raise ValueError(f"{layer} needs a known channel count, got shape {tuple(input_shape)}")
    return n, steps, channels


def sequence_out(n, steps, channels, data_format):
    return (n, channels, steps) if data_format == "channels_first" else (n, steps, channels)


class _ConvLayer(WithInitializers):
    """What every convolution here shares: activation, use_bias, the bias added and the activation applied."""

    def _set_common(self, activation, use_bias):
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)

    def _finish(self, z, channels_first):
        if self.use_bias:
            bias = self.weights[-1]
            rank = len(z.shape)
            z = M.add(z, reshape(bias, (-1,) + (1,) * (rank - 2)) if channels_first else bias)
        self.logits = (_name_of(self.activation), z)
        return self.activation(z)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias}


class Conv1D(_ConvLayer):
    """activation(conv1d(x, kernel) + bias), kernel (kernel_size, in, filters)."""
    CONFIG_FIELDS = {"filters": "positive_int", "kernel_size": "one_int", "strides": "one_int",
                     "padding": "padding1d", "data_format": "data_format", "dilation_rate": "one_int",
                     "activation": "activation", "use_bias": "bool", "kernel_initializer": "initializer",
                     "bias_initializer": "initializer"}
    CONFIG_REQUIRED = ("filters", "kernel_size")
    INITIALIZERS = ("kernel_initializer", "bias_initializer")
    PENALIZED = {"kernel": "kernel", "bias": "bias"}

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
                 padding: str = "valid", data_format: str = "channels_last", dilation_rate: int | Sequence[int] = 1,
                 activation: str | ActivationFn | None = None, use_bias: bool = True,
                 kernel_initializer: InitializerLike = "glorot_uniform", bias_initializer: InitializerLike = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        what = f"Conv1D layer '{self.name}'"
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{what}: filters must be a positive int, got {filters!r:.40}")
        self.filters = filters
        self.kernel_size = single(kernel_size, "kernel_size", what)
        self.strides = single(strides, "strides", what)
        self.dilation_rate = single(dilation_rate, "dilation_rate", what)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same", "causal"):
            raise ValueError(f"{what}: unknown padding {padding!r:.40}; expected 'valid', 'same' or 'causal'")
        self.padding = padding.lower()
        self._set_format(data_format)
        self._set_common(activation, use_bias)
        self._set_initializers(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)

    def _causal_pad(self):
        return (self.kernel_size - 1) * self.dilation_rate

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, steps, _ = sequence_shape(input_shape, f"Conv1D layer '{self.name}'", self.data_format)
        padding = (self._causal_pad(), 0) if self.padding == "causal" else self.padding.upper()
        try:
            out = conv_ops.window_1d(steps, self.kernel_size, self.strides, self.dilation_rate, padding, "steps")[0]
        except ShapeError as e:
            raise ValueError(f"Conv1D layer '{self.name}' on inputs of shape {tuple(input_shape)}: {e}") from None
        return sequence_out(n, out, self.filters, self.data_format)

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        self.compute_output_shape(input_shape)
        channels = sequence_shape(input_shape, f"Conv1D layer '{self.name}'", self.data_format)[2]
        specs: list[WeightSpec] = [("kernel", (self.kernel_size, channels, self.filters), self.kernel_initializer,
                                    True)]
        if self.use_bias:
            specs.append(("bias", (self.filters,), self.bias_initializer, True))
        return specs

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        first = self.data_format == "channels_first"
        padding = self.padding.upper()
        if self.padding == "causal":
            before = [[0, 0], [0, 0], [self._causal_pad(), 0]] if first else [[0, 0], [self._causal_pad(), 0], [0, 0]]
            x, padding = pad(x, before), "VALID"
        z = conv_ops.conv1d(x, self.weights[0], self.strides, padding, data_format="NCW" if first else "NWC",
                            dilations=self.dilation_rate)
        return self._finish(z, first)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": [self.kernel_size],
                "strides": [self.strides], "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": [self.dilation_rate]}


class DepthwiseConv2D(_ConvLayer):
    """Each input channel convolved with its own depth_multiplier filters: depthwise_kernel (kh, kw, in,
    depth_multiplier), output channels in * depth_multiplier."""
    CONFIG_FIELDS = {"kernel_size": "pair", "strides": "pair", "padding": "padding", "depth_multiplier": "positive_int",
                     "data_format": "data_format", "dilation_rate": "pair", "activation": "activation",
                     "use_bias": "bool", "depthwise_initializer": "initializer", "bias_initializer": "initializer"}
    CONFIG_REQUIRED = ("kernel_size",)
    INITIALIZERS = ("depthwise_initializer", "bias_initializer")
    PENALIZED = {"depthwise": "depthwise_kernel", "bias": "bias"}

    def __init__(self, kernel_size: int | Sequence[int], strides: int | Sequence[int] = (1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None, dilation_rate: int | Sequence[int] = (1, 1),
                 activation: str | ActivationFn | None = None, use_bias: bool = True,
                 depthwise_initializer: InitializerLike = "glorot_uniform", bias_initializer: InitializerLike = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_geometry(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate)
        self._set_common(activation, use_bias)
        self._set_initializers(depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer)

    def _set_geometry(self, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate):
        what = f"{type(self).__name__} layer '{self.name}'"
        self.kernel_size = pair(kernel_size, "kernel_size", self.name)
        self.strides = pair(strides, "strides", self.name)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{what}: strides > 1 cannot be combined with dilation_rate > 1 (as TF), got strides "
                             f"{self.strides}, dilation_rate {self.dilation_rate}")
        self.padding = padding_mode(padding, self.name)
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, int) or depth_multiplier < 1:
            raise ValueError(f"{what}: depth_multiplier must be a positive int, got {depth_multiplier!r:.40}")
        self.depth_multiplier = depth_multiplier
        self._set_format(data_format)

    def _depthwise_shape(self, input_shape):
        channels = image_shape(input_shape, self.name, self._fmt)[3]
        return self.kernel_size + (channels, self.depth_multiplier)

    def _out_channels(self, channels):
        return channels * self.depth_multiplier

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        nhwc = image_shape(input_shape, self.name, self._fmt)
        grouped = self.kernel_size + (1, nhwc[3] * self.depth_multiplier)
        attrs = {"strides": self.strides, "dilations": self.dilation_rate, "padding": self.padding.upper()}
        try:
            n, h, w, _ = conv_ops.conv_output_shape(nhwc, grouped, attrs)
        except ShapeError as e:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' on inputs of shape {tuple(input_shape)}: "
                             f"{e}") from None
        return from_nhwc((n, h, w, self._out_channels(nhwc[3])), self._fmt)

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        out = self.compute_output_shape(input_shape)
        specs: list[WeightSpec] = [("depthwise_kernel", self._depthwise_shape(input_shape),
                                    self.depthwise_initializer, True)]
        specs += self._more_kernels(input_shape)
        if self.use_bias:
            specs.append(("bias", (out[1 if self._fmt == "NCHW" else 3],), self.bias_initializer, True))
        return specs

    def _more_kernels(self, input_shape):
        return []

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        z = conv_ops.depthwise_conv2d(x, self.weights[0], self.strides, self.padding.upper(), data_format=self._fmt,
                                      dilations=self.dilation_rate)
        return self._finish(z, self._fmt == "NCHW")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "depth_multiplier": self.depth_multiplier, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate)}


class SeparableConv2D(DepthwiseConv2D):
    """DepthwiseConv2D, then a 1x1 convolution to `filters` channels: depthwise_kernel (kh, kw, in,
    depth_multiplier), pointwise_kernel (1, 1, in * depth_multiplier, filters), bias (filters)."""
    CONFIG_FIELDS = {"filters": "positive_int", "pointwise_initializer": "initializer"}
    CONFIG_REQUIRED = ("filters", "kernel_size")
    INITIALIZERS = ("depthwise_initializer", "pointwise_initializer", "bias_initializer")
    PENALIZED = {"depthwise": "depthwise_kernel", "pointwise": "pointwise_kernel", "bias": "bias"}

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = (1, 1),
                 padding: str = "valid", data_format: str | None = None, dilation_rate: int | Sequence[int] = (1, 1),
                 depth_multiplier: int = 1, activation: str | ActivationFn | None = None, use_bias: bool = True,
                 depthwise_initializer: InitializerLike = "glorot_uniform",
                 pointwise_initializer: InitializerLike = "glorot_uniform", bias_initializer: InitializerLike = "zeros",
                 **kwargs: Any) -> None:
        super(DepthwiseConv2D, self).__init__(**kwargs)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"SeparableConv2D layer '{self.name}': filters must be a positive int, got "
                             f"{filters!r:.40}")
        self.filters = filters
        self._set_geometry(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate)
        self._set_common(activation, use_bias)
        self._set_initializers(depthwise_initializer=depthwise_initializer,
                               pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer)

    def _out_channels(self, channels):
        return self.filters

    def _more_kernels(self, input_shape):
        channels = image_shape(input_shape, self.name, self._fmt)[3]
        return [("pointwise_kernel", (1, 1, channels * self.depth_multiplier, self.filters),
                 self.pointwise_initializer, True)]

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        z = conv_ops.separable_conv2d(x, self.weights[0], self.weights[1], self.strides, self.padding.upper(),
                                      data_format=self._fmt, dilations=self.dilation_rate)
        return self._finish(z, self._fmt == "NCHW")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters}
