"""Random ops with TF1 seeding: graph seed + op seed give the same stream in every new Session."""
from __future__ import annotations

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, get_default_graph, make, name_scope
from ..shapes import ShapeError, TensorShape
from .array_ops import shape as shape_of
from .shape_values import shape_argument, shape_hint
from .registry import register
from .._types import DTypeLike, ShapeLike, TensorLike

DEFAULT_GRAPH_SEED = 87654321


def _random_rule(shapes, dtypes, attrs):
    dtype = attrs["dtype"]
    if "shape" not in attrs:  # given as a tensor (tf.shape(x)): read when the plan is compiled
        return [(TensorShape(attrs["shape_hint"]), dtype)]
    shape = TensorShape(attrs["shape"])
    if not shape.is_fully_defined() or any(d < 0 for d in shape):
        raise ShapeError(f"random shape {shape} must be fully known and non-negative; give tf.shape(x) for a "
                         f"batch-sized tensor")
    return [(shape, dtype)]


for _name in ("RandomStandardNormal", "RandomUniform", "TruncatedNormal", "RandomUniformInt"):
    register(_name, _random_rule, stateful=True, value_inputs={0: "shape"})


def get_seed(op_seed: int | None) -> tuple[int, int] | None:
    """TF1's rule: (graph seed, op seed) → a deterministic pair, or None for a fresh stream per session."""
    graph = get_default_graph()
    if graph.seed is None and op_seed is None:
        return None
    if op_seed is None:
        return (graph.seed, graph.next_op_seed())
    return (graph.seed if graph.seed is not None else DEFAULT_GRAPH_SEED, int(op_seed))


def set_random_seed(seed: int | None) -> None:
    get_default_graph().seed = None if seed is None else int(seed)


def _random(op_type, shape, dtype, seed, name, like=None, **extra):
    attrs = {"dtype": _dt.as_dtype(dtype), "seed": get_seed(seed), **extra}
    shape = shape_argument(shape_of(like) if like is not None else shape)
    if isinstance(shape, Tensor):
        attrs["shape_hint"] = shape_hint(shape)
        return make(op_type, [shape], attrs, name=name)
    attrs["shape"] = shape
    return make(op_type, [], attrs, name=name)


def _scaled(op_type, shape, a, b, dtype, seed, name, default, like=None):
    """a + b * standard draw, with the arithmetic skipped where it is the identity."""
    dtype = _dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError(f"{default} needs a floating dtype, got {dtype.name}")
    with name_scope(name, default):
        x = _random(op_type, shape, dtype, seed, None, like=like)
        if not (isinstance(b, (int, float)) and b == 1):
            x = x * convert_to_tensor(b, dtype=dtype)
        if not (isinstance(a, (int, float)) and a == 0):
            x = x + convert_to_tensor(a, dtype=dtype)
        return x


def random_normal(shape: ShapeLike, mean: TensorLike = 0.0, stddev: TensorLike = 1.0, dtype: DTypeLike = _dt.float32,
                  seed: int | None = None, name: str | None = None) -> Tensor:
    return _scaled("RandomStandardNormal", shape, mean, stddev, dtype, seed, name, "random_normal")


def truncated_normal(shape: ShapeLike, mean: TensorLike = 0.0, stddev: TensorLike = 1.0, dtype: DTypeLike = _dt.float32,
                     seed: int | None = None, name: str | None = None) -> Tensor:
    """Normal draws, redrawn beyond two standard deviations."""
    return _scaled("TruncatedNormal", shape, mean, stddev, dtype, seed, name, "truncated_normal")


def random_uniform(shape: ShapeLike, minval: TensorLike = 0, maxval: TensorLike | None = None,
                   dtype: DTypeLike = _dt.float32, seed: int | None = None, name: str | None = None) -> Tensor:
    dtype = _dt.as_dtype(dtype)
    if dtype.is_integer:
        if maxval is None:
            raise ValueError("random_uniform with an integer dtype needs maxval")
        return _random("RandomUniformInt", shape, dtype, seed, name or "random_uniform",
                       minval=int(minval), maxval=int(maxval))
    maxval = 1.0 if maxval is None else maxval
    if isinstance(minval, (int, float)) and isinstance(maxval, (int, float)):
        return _scaled("RandomUniform", shape, minval, maxval - minval, dtype, seed, name, "random_uniform")
    with name_scope(name, "random_uniform"):
        lo = convert_to_tensor(minval, dtype=dtype)
        return lo + (convert_to_tensor(maxval, dtype=dtype) - lo) * _random("RandomUniform", shape, dtype, seed, None)


def random_uniform_like(x: Tensor, seed: int | None = None, name: str | None = None) -> Tensor:
    """Uniform [0, 1) draws shaped like `x` at run time (e.g. a dropout mask for any batch size)."""
    return _random("RandomUniform", None, x.dtype, seed, name or "random_uniform", like=x)
