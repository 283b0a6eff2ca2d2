"""`nnplug.layers`: TF1's functional layers (dense, conv1d, conv2d, conv2d_transpose, max_pooling2d,
average_pooling2d, batch_normalization, dropout, flatten).

Each call builds ordinary graph ops; layers with weights keep them as `get_variable`s under the layer's
variable scope (`layer1/kernel`, `layer1/bias`), so `reuse=True` (or AUTO_REUSE) shares them between calls,
as in TF1. `batch_normalization(training=...)` puts its moving-average updates in
`GraphKeys.UPDATE_OPS`, which TF1 code runs with `tf.control_dependencies(tf.get_collection(UPDATE_OPS))`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import initializers
from .graph import GraphKeys, Tensor, add_to_collection, convert_to_tensor, name_scope
from .ops import conv_ops, math_ops as M, norm_ops, pool_ops
from .ops import nn_ops
from .ops.array_ops import reshape, shape as shape_of
from .shapes import ShapeError, fmt
from .variables import get_variable, variable_scope
from ._types import ActivationFn, InitializerLike, Regularizer, ShapeLike, TensorLike


def dense(inputs: TensorLike, units: int, activation: ActivationFn | None = None, use_bias: bool = True,
          kernel_initializer: InitializerLike | None = None,
          bias_initializer: InitializerLike | None = initializers.zeros(),
          kernel_regularizer: Regularizer | None = None, bias_regularizer: Regularizer | None = None,
          activity_regularizer: Regularizer | None = None, trainable: bool = True, name: str | None = None,
          reuse: bool | str | None = None) -> Tensor:
    """`activation(inputs @ kernel + bias)`; the kernel starts glorot-uniform unless told otherwise.

    Initializers may be objects, classes or names ('he_normal').

    Inputs of rank > 2 are applied along the last axis (all but the first dimension must be known).
    """
    inputs = convert_to_tensor(inputs)
    units = int(units)
    if units <= 0:
        raise ValueError(f"dense layer '{name or 'dense'}' needs a positive number of units, got {units}")
    if activation is not None and not callable(activation):
        raise TypeError(f"dense layer '{name or 'dense'}': activation must be a callable such as nnplug.tanh "
                        f"or None, got {activation!r}")
    shape = inputs.shape
    if len(shape) < 2 or shape[-1] is None:
        raise ShapeError(f"dense layer '{name or 'dense'}' needs inputs of rank >= 2 with a known last "
                         f"dimension, got {fmt(shape)} from '{inputs.name}'")
    n_in = shape[-1]
    with variable_scope(name, default_name="dense", reuse=reuse):
        kernel, bias = _weights((n_in, units), units, inputs.dtype, use_bias, kernel_initializer, bias_initializer,
                                kernel_regularizer, bias_regularizer, trainable)
        flat = inputs
        if len(shape) > 2:
            middle = list(shape[1:-1])
            if any(d is None for d in middle):
                raise ShapeError(f"dense layer '{name or 'dense'}' needs every dimension but the first known "
                                 f"for inputs of rank > 2, got {fmt(shape)}")
            flat = reshape(inputs, [-1, n_in])
        outputs = M.matmul(flat, kernel)
        if bias is not None:
            outputs = nn_ops.bias_add(outputs, bias)
        if len(shape) > 2:
            outputs = reshape(outputs, [-1] + middle + [units])
        return _activate(outputs, activation, activity_regularizer)


def _weights(kernel_shape, units, dtype, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
             bias_regularizer, trainable):
    """The layer's `kernel` (glorot-uniform unless told otherwise) and `bias` (or None) variables."""
    kernel = get_variable("kernel", kernel_shape, dtype=dtype,
                          initializer=initializers.get(kernel_initializer) or initializers.glorot_uniform(),
                          regularizer=kernel_regularizer, trainable=trainable)
    bias = None
    if use_bias:
        bias = get_variable("bias", (units,), dtype=dtype,
                            initializer=initializers.get(bias_initializer) or initializers.zeros(),
                            regularizer=bias_regularizer, trainable=trainable)
    return kernel, bias


def _activate(outputs, activation, activity_regularizer):
    if activation is not None:
        outputs = activation(outputs)
    if activity_regularizer is not None:
        add_to_collection("regularization_losses", activity_regularizer(outputs))
    return outputs


def dropout(inputs: TensorLike, rate: float = 0.5, noise_shape: ShapeLike | None = None, seed: int | None = None,
            training: bool | Tensor = False, name: str | None = None) -> Tensor:
    """Inverted dropout while training, identity otherwise.

    `training` may be a Python bool (decided while building) or a bool tensor such as a placeholder
    (decided at each run, so one graph serves both training and evaluation).
    """
    if noise_shape is not None:
        raise NotImplementedError("dropout(noise_shape=...) is not supported; leave it None")
    inputs = convert_to_tensor(inputs)
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if hasattr(training, "_as_tensor") or isinstance(training, Tensor):
        training = convert_to_tensor(training)
        if training.dtype.name != "bool":
            raise TypeError(f"dropout 'training' must be a bool tensor, got '{training.name}' of dtype "
                            f"{training.dtype.name}")
        if rate == 0.0:
            return inputs
        with name_scope(name, "dropout"):
            return M.where(training, nn_ops.dropout(inputs, rate=rate, seed=seed), inputs)
    if not training or rate == 0.0:
        return inputs
    with name_scope(name, "dropout"):
        return nn_ops.dropout(inputs, rate=rate, seed=seed)


def flatten(inputs: TensorLike, name: str | None = None) -> Tensor:
    """Keep the first (batch) dimension and fold the rest into one: (n, a, b, ...) -> (n, a*b*...)."""
    inputs = convert_to_tensor(inputs)
    shape = inputs.shape
    if len(shape) < 1:
        raise ShapeError(f"flatten needs inputs with a batch dimension, got a scalar '{inputs.name}'")
    rest = list(shape[1:])
    if any(d is None for d in rest):
        raise ShapeError(f"flatten needs every dimension but the first known, got {fmt(shape)} "
                         f"from '{inputs.name}'")
    return reshape(inputs, [-1, math.prod(rest)], name=name or "flatten")


# -- convolution and pooling ---------------------------------------------------------------------------
def _data_format(data_format, layer):
    formats = {"channels_last": "NHWC", "channels_first": "NCHW"}
    if data_format not in formats:
        raise ValueError(f"{layer}: unknown data_format {data_format!r}; expected 'channels_last' or "
                         f"'channels_first'")
    return formats[data_format]


def _padding(padding, layer):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{layer}: unknown padding {padding!r}; expected 'valid' or 'same'")
    return padding.upper()


def _image_input(inputs, layer, data_format):
    inputs = convert_to_tensor(inputs)
    shape = inputs.shape
    channels = None if shape.unknown_rank or len(shape) != 4 else shape[1 if data_format == "NCHW" else 3]
    if channels is None:
        raise ShapeError(f"{layer} needs rank-4 inputs ({data_format}) with a known channel dimension, got "
                         f"{fmt(shape)} from '{inputs.name}'")
    return inputs, channels


def _check_activation(activation, layer):
    if activation is not None and not callable(activation):
        raise TypeError(f"{layer}: activation must be a callable such as nnplug.nn.relu or None, "
                        f"got {activation!r}")


def conv2d(inputs: TensorLike, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = (1, 1),
           padding: str = "valid", data_format: str = "channels_last", dilation_rate: int | Sequence[int] = (1, 1),
           activation: ActivationFn | None = None, use_bias: bool = True,
           kernel_initializer: InitializerLike | None = None,
           bias_initializer: InitializerLike | None = initializers.zeros(),
           kernel_regularizer: Regularizer | None = None, bias_regularizer: Regularizer | None = None,
           activity_regularizer: Regularizer | None = None, kernel_constraint: ActivationFn | None = None,
           bias_constraint: ActivationFn | None = None, trainable: bool = True, name: str | None = None,
           reuse: bool | str | None = None) -> Tensor:
    """`activation(conv2d(inputs, kernel) + bias)` with a (kh, kw, in, filters) `kernel` variable."""
    layer = f"conv2d layer '{name or 'conv2d'}'"
    fmt_ = _data_format(data_format, layer)
    _check_activation(activation, layer)
    inputs, channels = _image_input(inputs, layer, fmt_)
    kh, kw = conv_ops.spatial_pair(kernel_size, "kernel_size", layer)
    strides = conv_ops.spatial_pair(strides, "strides", layer)
    dilations = conv_ops.spatial_pair(dilation_rate, "dilation_rate", layer)
    padding, filters = _padding(padding, layer), int(filters)
    if filters <= 0:
        raise ValueError(f"{layer} needs a positive number of filters, got {filters}")
    nhwc = inputs.shape if fmt_ == "NHWC" else [inputs.shape[i] for i in conv_ops.NCHW_TO_NHWC]
    try:  # before any variable is made
        conv_ops.conv_output_shape(nhwc, (kh, kw, channels, filters),
                                   {"strides": strides, "dilations": dilations, "padding": padding})
    except ShapeError as e:
        raise ShapeError(f"{layer} on '{inputs.name}' {fmt(inputs.shape)}: {e}") from None
    with variable_scope(name, default_name="conv2d", reuse=reuse):
        kernel, bias = _weights((kh, kw, channels, filters), filters, inputs.dtype, use_bias, kernel_initializer,
                                bias_initializer, kernel_regularizer, bias_regularizer, trainable)
        outputs = conv_ops.conv2d(inputs, kernel, strides, padding, data_format=fmt_, dilations=dilations)
        if bias is not None:
            outputs = M.add(outputs, bias if fmt_ == "NHWC" else reshape(bias, (-1, 1, 1)), name="BiasAdd")
        return _activate(outputs, activation, activity_regularizer)


def conv1d(inputs: TensorLike, filters: int, kernel_size: int | Sequence[int], strides: int | Sequence[int] = 1,
           padding: str = "valid", data_format: str = "channels_last", dilation_rate: int | Sequence[int] = 1,
           activation: ActivationFn | None = None, use_bias: bool = True,
           kernel_initializer: InitializerLike | None = None,
           bias_initializer: InitializerLike | None = initializers.zeros(),
           kernel_regularizer: Regularizer | None = None, bias_regularizer: Regularizer | None = None,
           activity_regularizer: Regularizer | None = None, kernel_constraint: ActivationFn | None = None,
           bias_constraint: ActivationFn | None = None, trainable: bool = True, name: str | None = None,
           reuse: bool | str | None = None) -> Tensor:
    """`activation(conv1d(inputs, kernel) + bias)` over (batch, width, channels) inputs with a
    (k, in, filters) `kernel` variable."""
    layer = f"conv1d layer '{name or 'conv1d'}'"
    fmt_ = {"NHWC": "NWC", "NCHW": "NCW"}[_data_format(data_format, layer)]
    _check_activation(activation, layer)
    inputs = convert_to_tensor(inputs)
    shape = inputs.shape
    channels = None if shape.unknown_rank or len(shape) != 3 else shape[1 if fmt_ == "NCW" else 2]
    if channels is None:
        raise ShapeError(f"{layer} needs rank-3 inputs ({fmt_}) with a known channel dimension, got "
                         f"{fmt(shape)} from '{inputs.name}'")
    (k, _), (stride, _), (dilation, _) = (conv_ops.spatial_pair(v, what, layer) for v, what in (
        (kernel_size, "kernel_size"), (strides, "strides"), (dilation_rate, "dilation_rate")))
    padding, filters = _padding(padding, layer), int(filters)
    if filters <= 0:
        raise ValueError(f"{layer} needs a positive number of filters, got {filters}")
    with variable_scope(name, default_name="conv1d", reuse=reuse):
        kernel, bias = _weights((k, channels, filters), filters, inputs.dtype, use_bias, kernel_initializer,
                                bias_initializer, kernel_regularizer, bias_regularizer, trainable)
        outputs = conv_ops.conv1d(inputs, kernel, stride, padding, data_format=fmt_, dilations=dilation)
        if bias is not None:
            outputs = M.add(outputs, bias if fmt_ == "NWC" else reshape(bias, (-1, 1)), name="BiasAdd")
        return _activate(outputs, activation, activity_regularizer)


def conv2d_transpose(inputs: TensorLike, filters: int, kernel_size: int | Sequence[int],
                     strides: int | Sequence[int] = (1, 1), padding: str = "valid", data_format: str = "channels_last",
                     activation: ActivationFn | None = None, use_bias: bool = True,
                     kernel_initializer: InitializerLike | None = None,
                     bias_initializer: InitializerLike | None = initializers.zeros(),
                     kernel_regularizer: Regularizer | None = None, bias_regularizer: Regularizer | None = None,
                     activity_regularizer: Regularizer | None = None, kernel_constraint: ActivationFn | None = None,
                     bias_constraint: ActivationFn | None = None, trainable: bool = True, name: str | None = None,
                     reuse: bool | str | None = None) -> Tensor:
    """The transposed convolution ("deconvolution") layer: a (kh, kw, filters, in) `kernel`, output
    height in*stride (+ max(k - stride, 0) for 'valid'), as TF1."""
    layer = f"conv2d_transpose layer '{name or 'conv2d_transpose'}'"
    fmt_ = _data_format(data_format, layer)
    _check_activation(activation, layer)
    inputs, channels = _image_input(inputs, layer, fmt_)
    (kh, kw), (sh, sw) = (conv_ops.spatial_pair(v, what, layer) for v, what in ((kernel_size, "kernel_size"),
                                                                                  (strides, "strides")))
    pad, filters = _padding(padding, layer), int(filters)
    if filters <= 0:
        raise ValueError(f"{layer} needs a positive number of filters, got {filters}")
    nhwc = inputs.shape if fmt_ == "NHWC" else [inputs.shape[i] for i in conv_ops.NCHW_TO_NHWC]
    oh, ow = conv_ops.transposed_length(nhwc[1], kh, sh, pad), conv_ops.transposed_length(nhwc[2], kw, sw, pad)
    if oh is None or ow is None:
        raise ShapeError(f"{layer} needs inputs with known height and width, got {fmt(inputs.shape)}")
    with variable_scope(name, default_name="conv2d_transpose", reuse=reuse):
        kernel, bias = _weights((kh, kw, filters, channels), filters, inputs.dtype, use_bias, kernel_initializer,
                                bias_initializer, kernel_regularizer, bias_regularizer, trainable)
        batch = nhwc[0] if nhwc[0] is not None else shape_of(inputs)[0]
        out_shape = [batch, oh, ow, filters] if fmt_ == "NHWC" else [batch, filters, oh, ow]
        outputs = conv_ops.conv2d_transpose(inputs, kernel, out_shape, (sh, sw), pad, data_format=fmt_)
        if bias is not None:
            outputs = M.add(outputs, bias if fmt_ == "NHWC" else reshape(bias, (-1, 1, 1)), name="BiasAdd")
        return _activate(outputs, activation, activity_regularizer)


def _pooling(fn, default, inputs, pool_size, strides, padding, data_format, name):
    layer = f"{default} layer '{name or default}'"
    fmt_ = _data_format(data_format, layer)
    inputs, _ = _image_input(inputs, layer, fmt_)
    ksize = conv_ops.spatial_pair(pool_size, "pool_size", layer)
    stride = conv_ops.spatial_pair(strides, "strides", layer)
    with name_scope(name, default):
        return fn(inputs, ksize, stride, _padding(padding, layer), data_format=fmt_)


def max_pooling2d(inputs: TensorLike, pool_size: int | Sequence[int], strides: int | Sequence[int],
                  padding: str = "valid", data_format: str = "channels_last", name: str | None = None) -> Tensor:
    return _pooling(pool_ops.max_pool, "max_pooling2d", inputs, pool_size, strides, padding, data_format, name)


def average_pooling2d(inputs: TensorLike, pool_size: int | Sequence[int], strides: int | Sequence[int],
                      padding: str = "valid", data_format: str = "channels_last", name: str | None = None) -> Tensor:
    return _pooling(pool_ops.avg_pool, "average_pooling2d", inputs, pool_size, strides, padding, data_format, name)


# -- batch normalisation ---------------------------------------------------------------------------------
def batch_normalization(inputs: TensorLike, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                        center: bool = True, scale: bool = True,
                        beta_initializer: InitializerLike | None = initializers.zeros(),
                        gamma_initializer: InitializerLike | None = initializers.ones(),
                        moving_mean_initializer: InitializerLike | None = initializers.zeros(),
                        moving_variance_initializer: InitializerLike | None = initializers.ones(),
                        beta_regularizer: Regularizer | None = None, gamma_regularizer: Regularizer | None = None,
                        beta_constraint: ActivationFn | None = None, gamma_constraint: ActivationFn | None = None,
                        training: bool | Tensor = False, trainable: bool = True, name: str | None = None,
                        reuse: bool | str | None = None, renorm: bool = False,
                        renorm_clipping: Mapping[str, float] | None = None, renorm_momentum: float = 0.99,
                        fused: bool | None = None, virtual_batch_size: int | None = None,
                        adjustment: Any = None) -> Tensor:
    """Normalise over every axis but `axis` with the batch's statistics while training (the moving
    averages then move toward them by ops in GraphKeys.UPDATE_OPS) and with the moving averages otherwise.
    `training` is a Python bool or a bool tensor (decided at each run; the updates then leave the
    averages as they are when it is false)."""
    if renorm or virtual_batch_size is not None or adjustment is not None:
        raise NotImplementedError("batch_normalization: renorm, virtual_batch_size and adjustment are not "
                                  "supported")
    inputs = convert_to_tensor(inputs)
    shape = inputs.shape
    layer = f"batch_normalization layer '{name or 'batch_normalization'}'"
    if shape.unknown_rank or not -len(shape) <= int(axis) < len(shape):
        raise ShapeError(f"{layer}: axis {axis} is not an axis of the input '{inputs.name}' {fmt(shape)}")
    axis = int(axis) % len(shape)
    depth = shape[axis]
    if depth is None:
        raise ShapeError(f"{layer} needs a known size on axis {axis}, got {fmt(shape)} from '{inputs.name}'")
    reduce_axes = [a for a in range(len(shape)) if a != axis]
    with variable_scope(name, default_name="batch_normalization", reuse=reuse):
        dtype = inputs.dtype

        def var(var_name, init, regularizer=None, train=trainable):
            return get_variable(var_name, (depth,), dtype=dtype, initializer=initializers.get(init),
                                regularizer=regularizer, trainable=train)
        gamma = var("gamma", gamma_initializer, gamma_regularizer) if scale else None
        beta = var("beta", beta_initializer, beta_regularizer) if center else None
        moving_mean = var("moving_mean", moving_mean_initializer, train=False)
        moving_var = var("moving_variance", moving_variance_initializer, train=False)
        bshape = [depth if a == axis else 1 for a in range(len(shape))]
        broadcast = (lambda t: t) if axis == len(shape) - 1 else (lambda t: reshape(t, bshape))
        if training is False:
            mean, variance = moving_mean, moving_var
        else:
            batch_mean, batch_var = norm_ops.moments(inputs, reduce_axes)
            mean, variance = _moving_updates(training, momentum, moving_mean, moving_var, batch_mean, batch_var)
        return norm_ops.batch_normalization(inputs, broadcast(mean), broadcast(variance),
                                            None if beta is None else broadcast(beta),
                                            None if gamma is None else broadcast(gamma), epsilon)


def _moving_updates(training, momentum, moving_mean, moving_var, batch_mean, batch_var):
    """The statistics to normalise with, and the moving-average updates (in UPDATE_OPS):
    moving -= (moving - batch) * (1 - momentum), with 1 - momentum replaced by 0 when a `training` tensor
    is false."""
    decay = 1.0 - float(momentum)
    if training is not True:  # a bool tensor decided at run time
        training = convert_to_tensor(training)
        if training.dtype.name != "bool":
            raise TypeError(f"batch_normalization 'training' must be a Python bool or a bool tensor, got "
                            f"'{training.name}' of dtype {training.dtype.name}")
        rate = M.where(training, convert_to_tensor(decay, dtype=batch_mean.dtype),
                       convert_to_tensor(0.0, dtype=batch_mean.dtype))
        used = (M.where(training, batch_mean, moving_mean._as_tensor()),
                M.where(training, batch_var, moving_var._as_tensor()))
    else:
        rate, used = decay, (batch_mean, batch_var)
    for moving, batch in ((moving_mean, batch_mean), (moving_var, batch_var)):
        with name_scope("AssignMovingAvg"):
            update = moving.assign_sub((moving._as_tensor() - batch) * rate)
        add_to_collection(GraphKeys.UPDATE_OPS, update)
    return used


# -- the class API (tf.layers.Dense, ...): objects that call the functions above --------------------------
from .layers_classes import Layer, functional_layer  # noqa: E402,F401

_KERNEL = ("kernel", "bias")
Dense = functional_layer("Dense", dense, _KERNEL)
Conv1D = functional_layer("Conv1D", conv1d, _KERNEL)
Conv2D = functional_layer("Conv2D", conv2d, _KERNEL)
Conv2DTranspose = functional_layer("Conv2DTranspose", conv2d_transpose, _KERNEL)
MaxPooling2D = functional_layer("MaxPooling2D", max_pooling2d)
AveragePooling2D = functional_layer("AveragePooling2D", average_pooling2d)
Flatten = functional_layer("Flatten", flatten)
Dropout = functional_layer("Dropout", dropout, call_args=("training",))
BatchNormalization = functional_layer("BatchNormalization", batch_normalization,
                                      ("gamma", "beta", "moving_mean", "moving_variance"), call_args=("training",))
Convolution1D, Convolution2D, MaxPool2D, AvgPool2D = Conv1D, Conv2D, MaxPooling2D, AveragePooling2D
