"""More of tf.random: gamma and Poisson draws (stateful host ops on the op's own NumPy stream, seeded as
the other random ops), and the stateless draws, which are a pure function of a (2,) seed tensor: the
same seed gives the same numbers in every run, session and backend (host ops that may fold).

The stateless streams are NumPy's Philox keyed by the seed pair, not TensorFlow's exact Philox streams:
programs get TF's contract (determinism per seed, independence across seeds), not TF's numbers.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, broadcast, fmt
from .random_ops import get_seed
from .registry import register
from .shape_values import constant_value
from .._types import DTypeLike, TensorLike


def _static_shape(shape, fn):
    value = shape if not isinstance(shape, Tensor) else constant_value(shape)
    if value is None:
        raise TypeError(f"{fn}: shape must be known when the graph is built")
    dims = [int(d) for d in np.asarray(value).reshape(-1)]
    if any(d < 0 for d in dims):
        raise ValueError(f"{fn}: shape {dims} must be non-negative")
    return dims


# -- gamma, poisson: stateful host ops ---------------------------------------------------------------------
def stream(spec):
    """The op's NumPy stream from the session (or, on a backend whose streams live on its device, one
    seeded the same way)."""
    if isinstance(spec.rng, np.random.Generator):
        return spec.rng
    return np.random.default_rng(spec.attrs["seed"])


def _draw_rule(shapes, dtypes, attrs):
    params = shapes[0]
    for s in shapes[1:]:
        params = broadcast(params, s)
    return [(TensorShape(list(attrs["shape"]) + list(params)), attrs["dtype"])]


def _gamma_host(spec):
    rng, shape = stream(spec), tuple(spec.attrs["shape"])

    def gamma(alpha, beta):
        a, b = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(beta, np.float64))
        if np.any(a <= 0) or np.any(b <= 0):
            raise InvalidArgumentError(f"RandomGamma op '{spec.name}': alpha and beta must be positive")
        return (rng.standard_gamma(np.broadcast_to(a, shape + a.shape)) / b).astype(spec.out_dtype.np)
    return gamma


def _poisson_host(spec):
    rng, shape = stream(spec), tuple(spec.attrs["shape"])

    def poisson(lam):
        lam = np.asarray(lam, np.float64)
        if np.any(lam < 0):
            raise InvalidArgumentError(f"RandomPoisson op '{spec.name}': the rates must be non-negative")
        return rng.poisson(np.broadcast_to(lam, shape + lam.shape)).astype(spec.out_dtype.np)
    return poisson


register("RandomGamma", _draw_rule, stateful=True, host=_gamma_host)
register("RandomPoisson", _draw_rule, stateful=True, host=_poisson_host)


def random_gamma(shape: Sequence[int] | TensorLike, alpha: TensorLike, beta: TensorLike | None = None,
                 dtype: DTypeLike = _dt.float32, seed: int | None = None, name: str | None = None) -> Tensor:
    """Gamma(alpha, rate beta) draws of shape shape + broadcast(alpha, beta).shape (not differentiable here)."""
    dtype = _dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError(f"random_gamma needs a floating dtype, got {dtype.name}")
    a = convert_to_tensor(alpha, dtype=dtype)
    b = convert_to_tensor(1.0 if beta is None else beta, dtype=dtype)
    attrs = {"shape": _static_shape(shape, "random_gamma"), "dtype": dtype, "seed": get_seed(seed)}
    return make("RandomGamma", [a, b], attrs, name=name or "random_gamma")


def random_poisson(lam: TensorLike, shape: Sequence[int] | TensorLike, dtype: DTypeLike = _dt.float32,
                   seed: int | None = None, name: str | None = None) -> Tensor:
    """Poisson(lam) draws of shape shape + lam.shape (TF1's argument order: lam first)."""
    lam_t = convert_to_tensor(lam)
    if not lam_t.dtype.is_floating:
        lam_t = convert_to_tensor(lam, dtype=_dt.float32)
    attrs = {"shape": _static_shape(shape, "random_poisson"), "dtype": _dt.as_dtype(dtype), "seed": get_seed(seed)}
    return make("RandomPoisson", [lam_t], attrs, name=name or "random_poisson")


gamma, poisson = random_gamma, random_poisson


# -- stateless draws: functions of the seed -------------------------------------------------------------
def _seed_generator(seed, name):
    s = np.asarray(seed).reshape(-1)
    if s.size != 2:
        raise InvalidArgumentError(f"stateless random op '{name}': seed must have 2 elements, got {s.size}")
    return np.random.Generator(np.random.Philox(key=s.astype(np.int64).view(np.uint64)))


def _stateless_rule(shapes, dtypes, attrs):
    if not dtypes[0].is_integer or tuple(shapes[0]) not in ((2,), (None,)):
        raise ShapeError(f"{attrs['fn']}: seed must be a (2,) integer tensor, got {dtypes[0].name} {fmt(shapes[0])}")
    if attrs["kind"] == "categorical":
        logits = shapes[1]
        return [(TensorShape([logits[0], attrs["num_samples"]]), attrs["dtype"])]
    return [(TensorShape(attrs["shape"]), attrs["dtype"])]


def _truncated(rng, shape):
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return x


def _stateless_host(spec):
    kind, shape, dtype = spec.attrs["kind"], tuple(spec.out_shape), spec.out_dtype.np

    def draw(seed, *params):
        rng = _seed_generator(seed, spec.name)
        if kind == "normal":
            return rng.standard_normal(shape).astype(dtype)
        if kind == "truncated_normal":
            return _truncated(rng, shape).astype(dtype)
        if kind == "uniform_int":
            return rng.integers(spec.attrs["minval"], spec.attrs["maxval"], shape).astype(dtype)
        if kind == "uniform":
            return rng.random(shape).astype(dtype)
        z = np.asarray(params[0], np.float64)  # categorical
        z = z - z.max(axis=1, keepdims=True)
        cdf = np.cumsum(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), axis=1)
        u = rng.random((z.shape[0], spec.attrs["num_samples"]))
        return np.minimum((u[:, :, None] >= cdf[:, None, :]).sum(axis=2), z.shape[1] - 1).astype(dtype)
    return draw


register("StatelessRandom", _stateless_rule, host=_stateless_host)


def _stateless(kind, seed, dtype, name, inputs=(), **attrs):
    s = convert_to_tensor(seed)
    if not s.dtype.is_integer:
        raise TypeError(f"stateless_{kind}: seed must be integers, got {s.dtype.name}")
    attrs.update(kind=kind, dtype=_dt.as_dtype(dtype), fn=f"stateless_{kind}")
    return make("StatelessRandom", [s, *inputs], attrs, name=name or f"stateless_random_{kind}")


def stateless_random_uniform(shape: Any, seed: TensorLike, minval: Any = 0, maxval: Any = None,
                             dtype: DTypeLike = _dt.float32, name: str | None = None,
                             alg: str = "auto_select") -> Tensor:
    """Uniform draws in [minval, maxval), the same for the same (2,) seed (integer dtypes need maxval)."""
    dims, dtype = _static_shape(shape, "stateless_uniform"), _dt.as_dtype(dtype)
    if dtype.is_integer:
        if maxval is None:
            raise ValueError("stateless_uniform with an integer dtype needs maxval")
        return _stateless("uniform_int", seed, dtype, name, shape=dims, minval=int(minval), maxval=int(maxval))
    with name_scope(name, "stateless_random_uniform"):
        u = _stateless("uniform", seed, dtype, None, shape=dims)
        hi = 1.0 if maxval is None else maxval
        return u * (convert_to_tensor(hi, dtype=dtype) - convert_to_tensor(minval, dtype=dtype)) + \
            convert_to_tensor(minval, dtype=dtype)


def stateless_random_normal(shape: Any, seed: TensorLike, mean: Any = 0.0, stddev: Any = 1.0,
                            dtype: DTypeLike = _dt.float32, name: str | None = None,
                            alg: str = "auto_select") -> Tensor:
    """Normal draws, the same for the same (2,) seed."""
    with name_scope(name, "stateless_random_normal"):
        x = _stateless("normal", seed, dtype, None, shape=_static_shape(shape, "stateless_normal"))
        return x * convert_to_tensor(stddev, dtype=x.dtype) + convert_to_tensor(mean, dtype=x.dtype)


def stateless_truncated_normal(shape: Any, seed: TensorLike, mean: Any = 0.0, stddev: Any = 1.0,
                               dtype: DTypeLike = _dt.float32, name: str | None = None,
                               alg: str = "auto_select") -> Tensor:
    """Normal draws redrawn beyond two standard deviations, the same for the same (2,) seed."""
    with name_scope(name, "stateless_truncated_normal"):
        x = _stateless("truncated_normal", seed, dtype, None, shape=_static_shape(shape, "stateless_truncated_normal"))
        return x * convert_to_tensor(stddev, dtype=x.dtype) + convert_to_tensor(mean, dtype=x.dtype)


def stateless_categorical(logits: TensorLike, num_samples: int, seed: TensorLike, dtype: DTypeLike = _dt.int64,
                          name: str | None = None) -> Tensor:
    """num_samples class indices per row of (batch, classes) logits, the same for the same (2,) seed."""
    z = convert_to_tensor(logits)
    if z.shape.ndims != 2 or not z.dtype.is_floating:
        raise ShapeError(f"stateless_categorical: logits must be floating (batch, classes), got {z.dtype.name} "
                         f"{fmt(z.shape)}")
    return _stateless("categorical", seed, dtype, name, inputs=[z], num_samples=int(num_samples))


def _fold_host(spec):
    def fold(seed, data):
        rng = _seed_generator(seed, spec.name)
        mixed = rng.integers(0, 2 ** 63 - 1, 2, dtype=np.int64) ^ np.int64(int(np.asarray(data)) & (2 ** 62 - 1))
        return np.random.Generator(np.random.Philox(key=mixed.view(np.uint64))).integers(
            0, 2 ** 63 - 1, 2, dtype=np.int64).astype(spec.out_dtype.np)
    return fold


register("StatelessFoldIn", lambda s, d, a: [(TensorShape([2]), d[0])], host=_fold_host)


def fold_in(seed: TensorLike, data: TensorLike, alg: str = "auto_select") -> Tensor:
    """A new (2,) seed from `seed` and an integer `data` (a step, a replica id): different data, unrelated
    streams; the same pair, the same seed."""
    s = convert_to_tensor(seed, dtype=_dt.int64) if not isinstance(seed, Tensor) else seed
    return make("StatelessFoldIn", [s, convert_to_tensor(data, dtype=_dt.int64)], name="fold_in")


stateless_uniform, stateless_normal = stateless_random_uniform, stateless_random_normal


def get_seed_pair(op_seed: int | None) -> tuple[int | None, int | None]:
    """tf.get_seed: the (graph seed, op seed) pair a random op would use; (None, None) when neither is set."""
    pair = get_seed(op_seed)
    return (None, None) if pair is None else pair


def split(seed: TensorLike, num: int = 2, alg: str = "auto_select") -> Tensor:
    """`num` new (2,) seeds from one, as a (num, 2) tensor: fold_in of 0, 1, ..., num - 1."""
    from .array_ops import stack
    return stack([fold_in(seed, i) for i in range(int(num))])


def stateless_multinomial(logits: TensorLike, num_samples: int, seed: TensorLike, output_dtype: DTypeLike = _dt.int64,
                          name: str | None = None) -> Tensor:
    """stateless_categorical under TF1's older name (output_dtype)."""
    return stateless_categorical(logits, num_samples, seed, dtype=output_dtype, name=name)
