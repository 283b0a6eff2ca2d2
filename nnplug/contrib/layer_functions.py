"""`tf.contrib.layers`' layer functions (slim's): fully_connected, conv2d, max_pool2d, avg_pool2d,
dropout and batch_norm, with contrib's defaults (ReLU, Xavier weights named `weights`, zero `biases`, SAME convolutions,
2x2 VALID pooling) and its `normalizer_fn`, which replaces the biases."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import initializers
from ..graph import GraphKeys, Tensor, add_to_collection, control_dependencies, convert_to_tensor, name_scope
from ..layers import batch_normalization, dropout as _dropout
from ..ops import conv_ops, nn_ops, pool_ops
from ..ops import math_ops as M
from ..ops.array_ops import identity, reshape, shape
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


def _add_to(collections, value):
    for name in [collections] if isinstance(collections, str) else collections:
        add_to_collection(name, value)


def batch_norm(inputs: TensorLike, decay: float = 0.999, center: bool = True, scale: bool = False,
               epsilon: float = 0.001, activation_fn: ActivationFn | None = None,
               param_initializers: Mapping[str, InitializerLike] | None = None,
               param_regularizers: Mapping[str, Regularizer] | None = None,
               updates_collections: str | Sequence[str] | None = GraphKeys.UPDATE_OPS,
               is_training: bool | Tensor = True, reuse: bool | None = None,
               variables_collections: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
               outputs_collections: Sequence[str] | None = None, trainable: bool = True,
               batch_weights: Any = None, fused: bool | None = None, data_format: str = "NHWC",
               zero_debias_moving_mean: bool = False, scope: str | None = None, renorm: bool = False,
               renorm_clipping: Any = None, renorm_decay: float = 0.99, adjustment: Any = None) -> Tensor:
    """contrib's batch norm: tf.layers.batch_normalization over the channel axis (last, or 1 for NCHW) in a
    `BatchNorm` scope (beta, gamma, moving_mean, moving_variance), with contrib's defaults (decay 0.999, no
    gamma). The moving-average updates go to `updates_collections`, or with None run with the output."""
    if batch_weights is not None or zero_debias_moving_mean or renorm or adjustment is not None:
        raise NotImplementedError("contrib.layers.batch_norm: batch_weights, zero_debias_moving_mean, renorm "
                                  "and adjustment are not supported")
    fmt_ = conv_ops.data_format_of(data_format, "contrib.layers.batch_norm")
    inputs = convert_to_tensor(inputs)
    axis = 1 if fmt_.startswith("NC") else -1
    init, reg = dict(param_initializers or {}), dict(param_regularizers or {})
    unknown = set(init) - {"beta", "gamma", "moving_mean", "moving_variance"} | set(reg) - {"beta", "gamma"}
    if unknown:
        raise ValueError(f"contrib.layers.batch_norm: unknown parameter names {sorted(unknown)} in "
                         f"param_initializers/param_regularizers")
    graph = inputs.graph
    updates_ref, made_ref = (graph.get_collection_ref(k) for k in (GraphKeys.UPDATE_OPS, GraphKeys.GLOBAL_VARIABLES))
    n_updates, n_made = len(updates_ref), len(made_ref)
    with variable_scope(scope, default_name="BatchNorm", reuse=reuse) as vs:
        outputs = batch_normalization(
            inputs, axis=axis, momentum=decay, epsilon=epsilon, center=center, scale=scale,
            beta_initializer=init.get("beta", initializers.zeros()), gamma_initializer=init.get("gamma",
                                                                                              initializers.ones()),
            moving_mean_initializer=init.get("moving_mean", initializers.zeros()),
            moving_variance_initializer=init.get("moving_variance", initializers.ones()),
            beta_regularizer=reg.get("beta"), gamma_regularizer=reg.get("gamma"), training=is_training,
            trainable=trainable, name=vs)
        updates = updates_ref[n_updates:]
        if updates_collections != GraphKeys.UPDATE_OPS and updates:
            del updates_ref[n_updates:]
            if updates_collections is None:  # in place: the output waits for the updates
                with control_dependencies(updates):
                    outputs = identity(outputs)
            else:
                for u in updates:
                    _add_to(updates_collections, u)
        for var in made_ref[n_made:]:
            short = var.op.name.rsplit("/", 1)[-1]
            wanted = variables_collections.get(short, ()) if isinstance(variables_collections, Mapping) \
                else variables_collections or ()
            _add_to(wanted, var)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
    return _collect(outputs, outputs_collections)
