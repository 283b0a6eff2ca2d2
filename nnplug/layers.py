"""`nnplug.layers`: TF1's functional layers (dense, dropout, flatten).

Each call builds ordinary graph ops; `dense` keeps its weights as `get_variable`s under the layer's variable
scope (`layer1/kernel`, `layer1/bias`), so `reuse=True` (or AUTO_REUSE) shares them between calls, as in TF1.
"""
import math

from . import initializers
from .graph import Tensor, convert_to_tensor, name_scope
from .ops import math_ops as M
from .ops import nn_ops
from .ops.array_ops import reshape
from .shapes import ShapeError, fmt
from .variables import get_variable, variable_scope


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=initializers.zeros(), kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, trainable=True, name=None, reuse=None):
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
        kernel = get_variable("kernel", (n_in, units), dtype=inputs.dtype,
                              initializer=initializers.get(kernel_initializer) or initializers.glorot_uniform(),
                              regularizer=kernel_regularizer, trainable=trainable)
        bias = None
        if use_bias:
            bias = get_variable("bias", (units,), dtype=inputs.dtype,
                                initializer=initializers.get(bias_initializer) or initializers.zeros(),
                                regularizer=bias_regularizer, trainable=trainable)
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
        if activation is not None:
            outputs = activation(outputs)
        if activity_regularizer is not None:
            from .graph import add_to_collection
            add_to_collection("regularization_losses", activity_regularizer(outputs))
    return outputs


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
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


def flatten(inputs, name=None):
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
