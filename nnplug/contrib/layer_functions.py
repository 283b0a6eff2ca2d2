"""`tf.contrib.layers`' layer functions (slim's): fully_connected, conv2d, max_pool2d, avg_pool2d and
dropout, with contrib's defaults (ReLU, Xavier weights named `weights`, zero `biases`, SAME convolutions,
2x2 VALID pooling) and its `normalizer_fn`, which replaces the biases."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import initializers
from ..graph import Tensor, add_to_collection, convert_to_tensor, name_scope
from ..layers import dropout as _dropout
from ..ops import conv_ops, nn_ops, pool_ops
from ..ops import math_ops as M
from ..ops.array_ops import reshape, shape
from ..shapes import ShapeError, fmt
from ..variables import get_variable, variable_scope
from .._types import InitializerLike, Regularizer, TensorLike

ActivationFn = Callable[[Tensor], Tensor]


def _glorot():
    return initializers.glorot_uniform()


def _collect(outputs, outputs_collections):
    for name in outputs_collections or ():
        add_to_collection(name, outputs)
    return outputs


def _finish(outputs, units, dtype, activation_fn, normalizer_fn, normalizer_params, biases_initializer,
            biases_regularizer, trainable, bias_add):
    """normalizer_fn (then no biases) or the biases, then the activation."""
    if normalizer_fn is not None:
        outputs = normalizer_fn(outputs, **dict(normalizer_params or {}))
    elif biases_initializer is not None:
        biases = get_variable("biases", (units,), dtype=dtype, initializer=initializers.get(biases_initializer),
                              regularizer=biases_regularizer, trainable=trainable)
        outputs = bias_add(outputs, biases)
    return activation_fn(outputs) if activation_fn is not None else outputs


def fully_connected(inputs: TensorLike, num_outputs: int, activation_fn: ActivationFn | None = M.relu,
                    normalizer_fn: Callable[..., Tensor] | None = None,
                    normalizer_params: Mapping[str, Any] | None = None,
                    weights_initializer: InitializerLike | None = None, weights_regularizer: Regularizer | None = None,
                    biases_initializer: InitializerLike | None = initializers.zeros(),
                    biases_regularizer: Regularizer | None = None, reuse: bool | None = None,
                    variables_collections: Any = None, outputs_collections: Sequence[str] | None = None,
                    trainable: bool = True, scope: str | None = None) -> Tensor:
    """activation_fn(inputs @ weights + biases) over the last axis (any rank >= 2)."""
    inputs = convert_to_tensor(inputs)
    if inputs.shape.unknown_rank or len(inputs.shape) < 2 or inputs.shape[-1] is None:
        raise ShapeError(f"fully_connected: the input '{inputs.name}' needs rank >= 2 and a known last dimension, "
                         f"got {fmt(inputs.shape)}")
    depth, units = inputs.shape[-1], int(num_outputs)
    with variable_scope(scope, default_name="fully_connected", reuse=reuse):
        weights = get_variable("weights", (depth, units), dtype=inputs.dtype,
                               initializer=initializers.get(weights_initializer) or _glorot(),
                               regularizer=weights_regularizer, trainable=trainable)
        flat = inputs if len(inputs.shape) == 2 else reshape(inputs, [-1, depth])
        outputs = M.matmul(flat, weights)
        if len(inputs.shape) > 2:
            outputs = reshape(outputs, [shape(inputs)[i] if d is None else d
                                        for i, d in enumerate(inputs.shape[:-1])] + [units])
        outputs = _finish(outputs, units, inputs.dtype, activation_fn, normalizer_fn, normalizer_params,
                          biases_initializer, biases_regularizer, trainable, nn_ops.bias_add)
    return _collect(outputs, outputs_collections)


def conv2d(inputs: TensorLike, num_outputs: int, kernel_size: int | Sequence[int], stride: int | Sequence[int] = 1,
           padding: str = "SAME", data_format: str | None = None, rate: int = 1,
           activation_fn: ActivationFn | None = M.relu, normalizer_fn: Callable[..., Tensor] | None = None,
           normalizer_params: Mapping[str, Any] | None = None, weights_initializer: InitializerLike | None = None,
           weights_regularizer: Regularizer | None = None,
           biases_initializer: InitializerLike | None = initializers.zeros(),
           biases_regularizer: Regularizer | None = None, reuse: bool | None = None, variables_collections: Any = None,
           outputs_collections: Sequence[str] | None = None, trainable: bool = True,
           scope: str | None = None) -> Tensor:
    """A 2-D convolution layer: `weights` (kh, kw, in, num_outputs), then biases or normalizer_fn, then
    activation_fn."""
    inputs = convert_to_tensor(inputs)
    fmt_ = conv_ops.data_format_of(data_format or "NHWC", "contrib.layers.conv2d")
    channel_axis = 3 if fmt_ == "NHWC" else 1
    if inputs.shape.unknown_rank or len(inputs.shape) != 4 or inputs.shape[channel_axis] is None:
        raise ShapeError(f"contrib.layers.conv2d: the input '{inputs.name}' needs rank 4 ({fmt_}) with a known "
                         f"channel dimension, got {fmt(inputs.shape)}")
    kh, kw = conv_ops.spatial_pair(kernel_size, "kernel_size", "contrib.layers.conv2d")
    sh, sw = conv_ops.spatial_pair(stride, "stride", "contrib.layers.conv2d")
    dh, dw = conv_ops.spatial_pair(rate, "rate", "contrib.layers.conv2d")
    units = int(num_outputs)
    with variable_scope(scope, default_name="Conv", reuse=reuse):
        weights = get_variable("weights", (kh, kw, inputs.shape[channel_axis], units), dtype=inputs.dtype,
                               initializer=initializers.get(weights_initializer) or _glorot(),
                               regularizer=weights_regularizer, trainable=trainable)
        strides = [1, sh, sw, 1] if fmt_ == "NHWC" else [1, 1, sh, sw]
        dilations = [1, dh, dw, 1] if fmt_ == "NHWC" else [1, 1, dh, dw]
        outputs = conv_ops.conv2d(inputs, weights, strides, str(padding).upper(), data_format=fmt_,
                                  dilations=dilations)
        outputs = _finish(outputs, units, inputs.dtype, activation_fn, normalizer_fn, normalizer_params,
                          biases_initializer, biases_regularizer, trainable,
                          nn_ops.bias_add if fmt_ == "NHWC" else lambda x, b: M.add(x, reshape(b, (-1, 1, 1))))
    return _collect(outputs, outputs_collections)


def _pool(fn, default, inputs, kernel_size, stride, padding, data_format, outputs_collections, scope):
    what = f"contrib.layers.{default}"
    fmt_ = conv_ops.data_format_of(data_format, what)
    kh, kw = conv_ops.spatial_pair(kernel_size, "kernel_size", what)
    sh, sw = conv_ops.spatial_pair(stride, "stride", what)
    window = ([1, kh, kw, 1], [1, sh, sw, 1]) if fmt_ == "NHWC" else ([1, 1, kh, kw], [1, 1, sh, sw])
    with name_scope(scope, default.replace("_pool2d", "Pool2D").replace("max", "Max").replace("avg", "Avg")):
        return _collect(fn(inputs, window[0], window[1], str(padding).upper(), data_format=fmt_),
                        outputs_collections)


def max_pool2d(inputs: TensorLike, kernel_size: int | Sequence[int], stride: int | Sequence[int] = 2,
               padding: str = "VALID", data_format: str = "NHWC", outputs_collections: Sequence[str] | None = None,
               scope: str | None = None) -> Tensor:
    return _pool(pool_ops.max_pool, "max_pool2d", inputs, kernel_size, stride, padding, data_format,
                 outputs_collections, scope)


def avg_pool2d(inputs: TensorLike, kernel_size: int | Sequence[int], stride: int | Sequence[int] = 2,
               padding: str = "VALID", data_format: str = "NHWC", outputs_collections: Sequence[str] | None = None,
               scope: str | None = None) -> Tensor:
    return _pool(pool_ops.avg_pool, "avg_pool2d", inputs, kernel_size, stride, padding, data_format,
                 outputs_collections, scope)


def dropout(inputs: TensorLike, keep_prob: float = 0.5, noise_shape: Any = None, is_training: bool | Tensor = True,
            outputs_collections: Sequence[str] | None = None, scope: str | None = None, seed: int | None = None
            ) -> Tensor:
    """Inverted dropout keeping each value with probability `keep_prob` while `is_training`."""
    with name_scope(scope, "Dropout"):
        return _collect(_dropout(inputs, rate=1.0 - float(keep_prob), noise_shape=noise_shape, seed=seed,
                                 training=is_training), outputs_collections)


# contrib's longer names
convolution2d = conv2d
