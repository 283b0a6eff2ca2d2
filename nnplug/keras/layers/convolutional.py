"""Convolution layers: Conv2D and Conv2DTranspose, on nnplug's conv2d / conv2d_transpose ops (channels_last
or channels_first), with the window arithmetic of nnplug/ops/conv_ops.py for their output shapes."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ...ops import conv_ops
from ...ops import math_ops as M
from ...ops.array_ops import reshape, shape as shape_of
from ...shapes import ShapeError
from .. import activations, initializers
from .base import Layer, WeightSpec, _auto_name
from .core import _name_of
from ..._types import ActivationFn, InitializerLike
from ...graph import Tensor

FORMATS = {"channels_last": "NHWC", "channels_first": "NCHW", None: "NHWC"}


def format_of(value, layer):
    """'NHWC' or 'NCHW' for a Keras data_format (None: channels_last)."""
    if value not in FORMATS:
        raise ValueError(f"layer '{layer}': unknown data_format {value!r}; expected 'channels_last' or "
                         f"'channels_first'")
    return FORMATS[value]


def padding_mode(value, layer):
    if not isinstance(value, str) or value.lower() not in ("valid", "same"):
        raise ValueError(f"layer '{layer}': unknown padding {value!r}; expected 'valid' or 'same'")
    return value.lower()


def pair(value, what, layer):
    return conv_ops.spatial_pair(value, what, f"layer '{layer}'")


def to_nhwc(shape, fmt):
    return tuple(shape) if fmt == "NHWC" else tuple(shape[i] for i in conv_ops.NCHW_TO_NHWC)


def from_nhwc(shape, fmt):
    return tuple(shape) if fmt == "NHWC" else tuple(shape[i] for i in conv_ops.NHWC_TO_NCHW)


def image_shape(input_shape, layer, fmt):
    """The NHWC input shape of a 2-D layer, checked: rank 4 with a known channel count."""
    if len(input_shape) != 4:
        raise ValueError(f"layer '{layer}' needs inputs of rank 4 (batch, 2 spatial axes, channels), got shape "
                         f"{tuple(input_shape)}")
    nhwc = to_nhwc(input_shape, fmt)
    if nhwc[3] is None:
        raise ValueError(f"layer '{layer}' needs a known channel count, got shape {tuple(input_shape)}")
    return nhwc


def snake_name(class_name):
    """Keras's default-name stem: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class ImageLayer(Layer):
    """The base of the layers here: default names as Keras makes them (conv2d_1, max_pooling2d_1)."""

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name if name is not None else _auto_name(snake_name(type(self).__name__)), **kwargs)

    def _set_format(self, data_format):
        self._fmt = format_of(data_format, self.name)  # 'NHWC' or 'NCHW', for the ops
        self.data_format = data_format if data_format is not None else "channels_last"

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        """No weights; an input the layer cannot take fails here, before the model is built."""
        self.compute_output_shape(input_shape)
        return []


class WithInitializers(ImageLayer):
    """Layers whose config holds initializers (saved by name or as {class_name, config})."""
    INITIALIZERS: tuple[str, ...] = ()

    def _set_initializers(self, **inits):
        for name, init in inits.items():
            initializers.get(init)  # an unknown name fails here, not when the model is built
            setattr(self, name, init)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **{k: initializers.serialize(getattr(self, k)) for k in self.INITIALIZERS}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WithInitializers:
        config = dict(config)
        for k in cls.INITIALIZERS:
            if k in config:
                config[k] = initializers.deserialize(config[k])
        return cls(**config)


class _Conv(WithInitializers):
    CONFIG_FIELDS = {"filters": "positive_int", "kernel_size": "pair", "strides": "pair", "padding": "padding",
                     "data_format": "data_format", "activation": "activation", "use_bias": "bool",
                     "kernel_initializer": "initializer", "bias_initializer": "initializer"}
    CONFIG_REQUIRED = ("filters", "kernel_size")
    INITIALIZERS = ("kernel_initializer", "bias_initializer")
    PENALIZED = {"kernel": "kernel", "bias": "bias"}
    kernel_initializer: InitializerLike  # set by _set_initializers, as bias_initializer
    bias_initializer: InitializerLike

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = (1, 1),
                 padding: str = "valid", data_format: str | None = None, activation: str | ActivationFn | None = None,
                 use_bias: bool = True, kernel_initializer: InitializerLike = "glorot_uniform",
                 bias_initializer: InitializerLike = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        if self.filters <= 0:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' needs a positive number of filters, "
                             f"got {filters}")
        self.kernel_size = pair(kernel_size, "kernel_size", self.name)
        self.strides = pair(strides, "strides", self.name)
        self.padding = padding_mode(padding, self.name)
        self._set_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._set_initializers(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)

    def kernel_shape(self, channels: int) -> tuple[int, ...]:
        raise NotImplementedError

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        channels = image_shape(input_shape, self.name, self._fmt)[3]
        specs = [("kernel", self.kernel_shape(channels), self.kernel_initializer, True)]
        if self.use_bias:
            specs.append(("bias", (self.filters,), self.bias_initializer, True))
        return specs

    def _finish(self, z):
        if self.use_bias:
            bias = self.weights[1]
            z = M.add(z, bias if self._fmt == "NHWC" else reshape(bias, (-1, 1, 1)))
        self.logits = (_name_of(self.activation), z)
        return self.activation(z)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class Conv2D(_Conv):
    """activation(conv2d(x, kernel) + bias), kernel (kh, kw, in, filters)."""
    CONFIG_FIELDS = {"dilation_rate": "pair"}

    def __init__(self, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = (1, 1),
                 padding: str = "valid", data_format: str | None = None, dilation_rate: int | Sequence[int] = (1, 1),
                 activation: str | ActivationFn | None = None, use_bias: bool = True,
                 kernel_initializer: InitializerLike = "glorot_uniform", bias_initializer: InitializerLike = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, activation, use_bias,
                         kernel_initializer, bias_initializer, **kwargs)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", self.name)

    def _attrs(self):
        return {"strides": self.strides, "dilations": self.dilation_rate, "padding": self.padding.upper()}

    def kernel_shape(self, channels: int) -> tuple[int, ...]:
        return self.kernel_size + (channels, self.filters)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        nhwc = image_shape(input_shape, self.name, self._fmt)
        try:
            out = conv_ops.conv_output_shape(nhwc, self.kernel_shape(nhwc[3]), self._attrs())
        except ShapeError as e:
            raise ValueError(f"Conv2D layer '{self.name}' on inputs of shape {tuple(input_shape)}: {e}") from None
        return from_nhwc(out, self._fmt)

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        self.compute_output_shape(input_shape)  # a window that does not fit fails before any weight is made
        return super().weight_specs(input_shape)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        a = self._attrs()
        z = conv_ops.conv2d(x, self.weights[0], a["strides"], a["padding"], data_format=self._fmt,
                            dilations=a["dilations"])
        return self._finish(z)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dilation_rate": list(self.dilation_rate)}


class Conv2DTranspose(_Conv):
    """The transposed convolution: kernel (kh, kw, filters, in); output size in*stride (+ max(k - stride, 0)
    for 'valid'), as Keras."""

    def kernel_shape(self, channels: int) -> tuple[int, ...]:
        return self.kernel_size + (self.filters, channels)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, h, w, _ = image_shape(input_shape, self.name, self._fmt)
        size = [conv_ops.transposed_length(d, k, s, self.padding.upper())
                for d, k, s in zip((h, w), self.kernel_size, self.strides)]
        return from_nhwc((n, size[0], size[1], self.filters), self._fmt)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        out = list(self.compute_output_shape(tuple(x.shape)))
        if out[0] is None:
            out[0] = shape_of(x)[0]  # type: ignore[call-overload]  # a batch size known at run time
        if None in out[1:]:
            raise ValueError(f"Conv2DTranspose layer '{self.name}' needs inputs with known spatial sizes, got "
                             f"{tuple(x.shape)}")
        z = conv_ops.conv2d_transpose(x, self.weights[0], out, self.strides, self.padding.upper(),
                                      data_format=self._fmt)
        return self._finish(z)
