"""Weight initializers, by object or by name, as TF1 and Keras define them. Each builds graph ops."""
from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any, overload

from . import dtypes as _dt
from .graph import Tensor, constant as _constant
from .ops import random_ops as R
from ._types import DTypeLike, InitializerLike, Shape, TensorLike


def _fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()}


class Zeros(Initializer):
    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        return _constant(0, dtype=dtype, shape=shape)


class Ones(Initializer):
    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        return _constant(1, dtype=dtype, shape=shape)


class Constant(Initializer):
    def __init__(self, value: TensorLike = 0) -> None:
        self.value = value

    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        return _constant(self.value, dtype=dtype, shape=shape)


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        return R.random_normal(shape, self.mean, self.stddev, dtype, seed=self.seed)


class TruncatedNormal(RandomNormal):
    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        return R.truncated_normal(shape, self.mean, self.stddev, dtype, seed=self.seed)


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        return R.random_uniform(shape, self.minval, self.maxval, dtype, seed=self.seed)


class VarianceScaling(Initializer):
    """scale / fan (fan_in, fan_out or their average), drawn uniform or truncated normal."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None) -> None:
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        fan_in, fan_out = _fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return R.random_uniform(shape, -limit, limit, dtype, seed=self.seed)
        if self.distribution == "normal":
            return R.random_normal(shape, 0.0, math.sqrt(variance), dtype, seed=self.seed)
        # truncated at two standard deviations: correct the spread (constant from TF and Keras)
        return R.truncated_normal(shape, 0.0, math.sqrt(variance) / 0.87962566103423978, dtype, seed=self.seed)


class Orthogonal(Initializer):
    """gain * an orthogonal matrix (rows or columns orthonormal) reshaped to `shape`: the Q of a normal
    draw's QR with its signs fixed by R's diagonal, as TF1 (the inner axes flattened into rows)."""

    def __init__(self, gain: float = 1.0, seed: int | None = None, dtype: DTypeLike = _dt.float32) -> None:
        self.gain, self.seed, self.dtype = gain, seed, dtype

    def __call__(self, shape: Shape, dtype: DTypeLike | None = None, partition_info: Any = None) -> Tensor:
        from .ops.array_ops import expand_dims, reshape, transpose
        from .ops.elementwise import sign
        from .ops.linalg_ops import qr
        from .ops.math_extra_ops import matrix_diag_part
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(f"orthogonal_initializer needs a shape of rank >= 2, got {shape}")
        dtype = _dt.as_dtype(dtype or self.dtype)
        rows, cols = int(math.prod(shape[:-1])), int(shape[-1])
        a = R.random_normal((max(rows, cols), min(rows, cols)), dtype=dtype, seed=self.seed)
        q, r = qr(a)
        q = q * expand_dims(sign(matrix_diag_part(r)), 0)
        if rows < cols:
            q = transpose(q)
        return reshape(q * _constant(self.gain, dtype=dtype), shape)


class UniformUnitScaling(Initializer):
    """Uniform in +-factor * sqrt(3 / input size), the input size being the product of all but the last
    axis (TF1's uniform_unit_scaling_initializer)."""

    def __init__(self, factor: float = 1.0, seed: int | None = None, dtype: DTypeLike = _dt.float32) -> None:
        self.factor, self.seed, self.dtype = factor, seed, dtype

    def __call__(self, shape: Shape, dtype: DTypeLike | None = None, partition_info: Any = None) -> Tensor:
        shape = tuple(int(d) for d in shape)
        limit = math.sqrt(3.0 / max(1.0, float(math.prod(shape[:-1])))) * self.factor
        return R.random_uniform(shape, -limit, limit, _dt.as_dtype(dtype or self.dtype), seed=self.seed)


def glorot_uniform(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def glorot_normal(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed)


def he_uniform(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def he_normal(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def lecun_normal(seed: int | None = None) -> VarianceScaling:
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


zeros = zeros_initializer = Zeros
ones = ones_initializer = Ones
constant = constant_initializer = Constant
random_normal = random_normal_initializer = RandomNormal
random_uniform = random_uniform_initializer = RandomUniform
truncated_normal = truncated_normal_initializer = TruncatedNormal
glorot_uniform_initializer = glorot_uniform
glorot_normal_initializer = glorot_normal
variance_scaling_initializer = VarianceScaling
orthogonal = orthogonal_initializer = Orthogonal
uniform_unit_scaling_initializer = UniformUnitScaling

_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "he_uniform": he_uniform, "he_normal": he_normal,
    "lecun_uniform": lecun_uniform, "lecun_normal": lecun_normal, "variance_scaling": VarianceScaling,
    "orthogonal": Orthogonal,
}


@overload
def get(identifier: None) -> None: ...
@overload
def get(identifier: InitializerLike | type) -> Callable[..., Any]: ...


def get(identifier: InitializerLike | type | None) -> Callable[..., Any] | None:
    """An initializer from a name ('glorot_uniform'), a class, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            close = difflib.get_close_matches(key, _BY_NAME, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"unknown initializer '{identifier}'{hint} Known: {', '.join(sorted(_BY_NAME))}")
        return _BY_NAME[key]()
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot use {identifier!r} as an initializer")
