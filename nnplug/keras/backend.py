"""`keras.backend` (`from keras import backend as K`): the settings Keras programs read (image data
format, epsilon, float type), `clear_session`, and the tensor functions custom losses and metrics are
written with, as nnplug ops."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, reset_default_graph
from ..ops import math_ops as M
from ..ops.array_ops import shape as _shape
from ..variables import Variable
from .optimizers import LearningRate
from .._types import Axis, TensorLike

_settings = {"epsilon": 1e-7, "floatx": "float32", "image_data_format": "channels_last"}


def backend() -> str:
    return "tensorflow"  # what Keras programs test for; nnplug speaks TF1's API


def epsilon() -> float:
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    _settings["epsilon"] = float(value)


def floatx() -> str:
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    if value != "float32":
        raise ValueError(f"keras.backend.set_floatx: nnplug's Keras layers compute in float32, got {value!r}")
    _settings["floatx"] = value


def image_data_format() -> str:
    return _settings["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"keras.backend.set_image_data_format: expected 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    _settings["image_data_format"] = data_format


def clear_session() -> None:
    """A fresh default graph, and layer names numbered from 1 again (dense_1, ...)."""
    from .layers.base import _counts
    _counts.clear()
    reset_default_graph()


def get_value(x: Any) -> Any:
    """Keras 2's `K.get_value`: a number or array as NumPy gives it, an optimizer's `lr` as a float."""
    if isinstance(x, LearningRate):
        return float(x)
    if isinstance(x, (Tensor, Variable)):
        raise TypeError(f"keras.backend.get_value: '{x.name}' is a graph value; read a layer's weights with "
                        f"layer.get_weights()")
    return np.asarray(x)[()] if np.ndim(x) == 0 else np.asarray(x)


def set_value(x: Any, value: float) -> None:
    """Keras 2's `K.set_value(model.optimizer.lr, 0.001)`: sets the optimizer's learning rate (the next
    step uses it)."""
    if not isinstance(x, LearningRate):
        raise TypeError(f"keras.backend.set_value: can set an optimizer's learning rate (optimizer.lr), "
                        f"got {type(x).__name__}; set layer weights with layer.set_weights()")
    x.optimizer.learning_rate = float(np.asarray(value))


def int_shape(x: TensorLike) -> tuple[int | None, ...] | None:
    t = convert_to_tensor(x)
    return None if t.shape.unknown_rank else tuple(t.shape)


def ndim(x: TensorLike) -> int | None:
    shape = int_shape(x)
    return None if shape is None else len(shape)


def shape(x: TensorLike) -> Tensor:
    return _shape(x)


def cast(x: TensorLike, dtype: Any) -> Tensor:
    return M.cast(x, _dt.as_dtype(dtype))


def _reduction(fn):
    def reduce(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return fn(x, axis=axis, keepdims=keepdims)
    return reduce


mean, sum, max, min, prod = (_reduction(f) for f in (  # noqa: A001 - Keras's names
    M.reduce_mean, M.reduce_sum, M.reduce_max, M.reduce_min, M.reduce_prod))
square, sqrt, abs, exp, log, sign, round = (  # noqa: A001
    M.square, M.sqrt, M.abs, M.exp, M.log, M.sign, M.round)
maximum, minimum, equal, not_equal, greater, less = (
    M.maximum, M.minimum, M.equal, M.not_equal, M.greater, M.less)
relu, sigmoid, tanh, softplus = M.relu, M.sigmoid, M.tanh, M.softplus


def pow(x: TensorLike, a: TensorLike) -> Tensor:  # noqa: A001
    return M.pow(x, a)


def clip(x: TensorLike, min_value: float, max_value: float) -> Tensor:
    return M.clip_by_value(x, min_value, max_value)


def dot(x: TensorLike, y: TensorLike) -> Tensor:
    return M.matmul(x, y)


def argmax(x: TensorLike, axis: int = -1) -> Tensor:
    return M.argmax(x, axis=axis)


def argmin(x: TensorLike, axis: int = -1) -> Tensor:
    return M.argmin(x, axis=axis)
