"""`tf.contrib.layers`: flatten, the Xavier (Glorot) initializers, the L1/L2 weight regularizers, and the
layer functions of layer_functions.py (fully_connected, conv2d, max_pool2d, avg_pool2d, dropout,
batch_norm)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .. import dtypes as _dt
from .. import initializers
from ..graph import convert_to_tensor, name_scope
from ..layers import flatten as _flatten
from ..ops import math_ops as M
from ..ops import random_ops as R
from .._types import DTypeLike, Regularizer, Tensor, TensorLike
from .layer_functions import (  # noqa: F401 - tf.contrib.layers.fully_connected, ...
    avg_pool2d, batch_norm, conv2d, convolution2d, dropout, fully_connected, max_pool2d,
)


def flatten(inputs: TensorLike, outputs_collections: Sequence[str] | None = None, scope: str | None = None) -> Tensor:
    """(batch, a, b, ...) -> (batch, a*b*...)."""
    with name_scope(scope, "Flatten"):
        return _flatten(inputs)


class _ContribVarianceScaling(initializers.Initializer):
    """TF1 contrib's variance scaling: n the fan given by mode, uniform in +-sqrt(3 * factor / n) or a
    truncated normal of stddev sqrt(1.3 * factor / n) (contrib's own constant, not core's 0.8796)."""

    def __init__(self, factor, mode, uniform, seed, dtype):
        self.factor, self.mode, self.uniform, self.seed, self.dtype = factor, mode, uniform, seed, dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        fan_in, fan_out = initializers._fans(tuple(shape))
        n = max(1.0, {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[self.mode])
        if self.uniform:
            limit = math.sqrt(3.0 * self.factor / n)
            return R.random_uniform(shape, -limit, limit, dtype or self.dtype, seed=self.seed)
        return R.truncated_normal(shape, 0.0, math.sqrt(1.3 * self.factor / n), dtype or self.dtype, seed=self.seed)


def variance_scaling_initializer(factor: float = 2.0, mode: str = "FAN_IN", uniform: bool = False,
                                 seed: int | None = None, dtype: DTypeLike = _dt.float32) -> initializers.Initializer:
    """He's initializer by default (Hands-On ML's `he_init`); `mode` is FAN_IN, FAN_OUT or FAN_AVG."""
    if not _dt.as_dtype(dtype).is_floating:
        raise TypeError(f"variance_scaling_initializer needs a floating-point dtype, got {_dt.as_dtype(dtype).name}")
    if mode not in ("FAN_IN", "FAN_OUT", "FAN_AVG"):
        raise TypeError(f"variance_scaling_initializer: unknown mode {mode!r}; use FAN_IN, FAN_OUT or FAN_AVG")
    return _ContribVarianceScaling(float(factor), mode, uniform, seed, _dt.as_dtype(dtype))


def xavier_initializer(uniform: bool = True, seed: int | None = None,
                       dtype: DTypeLike = _dt.float32) -> initializers.Initializer:
    """Glorot's initializer: uniform in +-sqrt(6 / (fan_in + fan_out)), or contrib's truncated normal."""
    if not _dt.as_dtype(dtype).is_floating:
        raise TypeError(f"xavier_initializer needs a floating-point dtype, got {_dt.as_dtype(dtype).name}")
    return initializers.glorot_uniform(seed) if uniform else variance_scaling_initializer(1.0, "FAN_AVG", False,
                                                                                          seed, dtype)


xavier_initializer_conv2d = xavier_initializer  # fans from the kernel's receptive field, as for any shape


def _check_scale(scale, fn):
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(f"{fn}: scale must be a number, got {scale!r:.40}")
    if scale < 0:
        raise ValueError(f"{fn}: scale must be >= 0, got {scale}")
    return float(scale)


def _regularizer(scale, scope, kind, penalty, factor):
    scale = _check_scale(scale, kind)
    if scale == 0:
        return lambda weights: None

    def regularize(weights):
        w = convert_to_tensor(weights)
        with name_scope(scope, kind):
            return M.multiply(M.reduce_sum(penalty(w)), convert_to_tensor(scale * factor, dtype=w.dtype))
    return regularize


def l2_regularizer(scale: float, scope: str | None = None) -> Regularizer:
    """A function weights -> scale * sum(weights**2) / 2 (None when scale is 0, as TF1)."""
    return _regularizer(scale, scope, "l2_regularizer", M.square, 0.5)


def l1_regularizer(scale: float, scope: str | None = None) -> Regularizer:
    """A function weights -> scale * sum(|weights|) (None when scale is 0, as TF1)."""
    return _regularizer(scale, scope, "l1_regularizer", M.abs, 1.0)


def apply_regularization(regularizer: Callable[[Tensor], Tensor | None],
                         weights_list: Sequence[TensorLike] | None = None) -> Tensor:
    """The sum of `regularizer` over `weights_list` (default: the weights collection), added to the
    regularization losses."""
    from ..graph import add_to_collection, get_collection
    weights_list = weights_list if weights_list is not None else get_collection("weights")
    if not weights_list:
        raise ValueError("apply_regularization: no weights given and the 'weights' collection is empty")
    penalties = [p for p in (regularizer(w) for w in weights_list) if p is not None]
    if not penalties:
        return convert_to_tensor(0.0)
    total = M.add_n(penalties)
    add_to_collection("regularization_losses", total)
    return total
