"""Shape-changing and indexing ops: reshape, transpose, concat, slicing, gather, one_hot, constants."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt, normalize_axis
from ..simplify import cancelling_transposes
from .registry import register
from .indexing import slice_spec, spec_to_key  # noqa: F401 - kernels import them from here too
from .shape_values import shape_argument, shape_hint
from .._types import Axis, DTypeLike, Shape, ShapeLike, TensorLike


def _source_rule(shapes, dtypes, attrs):
    return [(TensorShape(attrs["shape"]), attrs["dtype"])]


register("Placeholder", _source_rule, session_op=True)
register("Const", _source_rule, session_op=True)
register("Identity", lambda s, d, a: [(s[0], d[0])], grad=lambda op, g: [g], session_op=True)
# A private copy of a buffer, used by the compiler when a variable is assigned a constant; backends that
# never write in place need no Copy kernel. Stateful, so it is never folded back into the constant.
register("Copy", lambda s, d, a: [(s[0], d[0])], grad=lambda op, g: [g], stateful=True, session_op=True)
register("StopGradient", lambda s, d, a: [(s[0], d[0])], grad=lambda op, g: [None], session_op=True)
# Compiler-internal steps: a variable's value bound before the step's updates, and fused elementwise chains
# (nnplug/compiler/fuse.py; a backend makes their kernels with `fuse_elementwise`).
register("Snapshot", lambda s, d, a: [(s[0], d[0])], session_op=True)
register("Fused", lambda s, d, a: [(s[-1], d[-1])], session_op=True)
register("PlaceholderWithDefault", lambda s, d, a: [(TensorShape(a["shape"]), d[0])], grad=lambda op, g: [g],
         session_op=True)


# -- reshape family ------------------------------------------------------------------------
def reshape_target(in_shape: Sequence[int | None], target: Sequence[int]) -> tuple[int | None, ...]:
    """Resolve a requested shape (at most one -1) against an input shape that may hold None."""
    target = [int(d) for d in target]
    if sum(d == -1 for d in target) > 1:
        raise ShapeError(f"reshape target {target} has more than one -1")
    if any(d < -1 for d in target):
        raise ShapeError(f"reshape target {target} has a negative dimension")
    known = TensorShape(in_shape).num_elements()
    rest = int(np.prod([d for d in target if d != -1]))
    if -1 in target:
        if known is None:
            return TensorShape(None if d == -1 else d for d in target)
        if rest == 0 or known % rest:
            raise ShapeError(f"cannot reshape {known} elements of shape {fmt(in_shape)} into {target}")
        return TensorShape(known // rest if d == -1 else d for d in target)
    if known is not None and known != rest:
        raise ShapeError(f"cannot reshape {known} elements of shape {fmt(in_shape)} into {target}")
    return TensorShape(target)


def _grad_reshape(op, g):
    return [make("ReshapeLike", [g, op.inputs[0]])]


def _reshape_rule(shapes, dtypes, attrs):
    if "shape" in attrs:
        return [(reshape_target(shapes[0], attrs["shape"]), dtypes[0])]
    hint = attrs["shape_hint"]  # a shape tensor's value, not yet known: what is known of it
    return [(TensorShape(None if hint is None else [None if d is None or d < 0 else d for d in hint]), dtypes[0])]


def _grad_reshape_by_value(op, g):
    return [make("ReshapeLike", [g, op.inputs[0]]), None]


register("Reshape", _reshape_rule, grad=lambda op, g: (_grad_reshape if len(op.inputs) == 1
                                                        else _grad_reshape_by_value)(op, g),
         value_inputs={1: "shape"})
register("ReshapeLike", lambda s, d, a: [(s[1], d[0])],
         grad=lambda op, g: [make("ReshapeLike", [g, op.inputs[0]]), None], shape_inputs={1})


def _expand_rule(shapes, dtypes, attrs):
    shape = list(shapes[0])
    (axis,) = normalize_axis(attrs["axis"], len(shape) + 1)
    shape.insert(axis, 1)
    return [(TensorShape(shape), dtypes[0])]


def _squeeze_axes(shape, axis):
    if axis is None:
        return tuple(i for i, d in enumerate(shape) if d == 1)
    axes = normalize_axis(axis, len(shape))
    for a in axes:
        if shape[a] not in (1, None):
            raise ShapeError(f"cannot squeeze axis {a} of size {shape[a]} in shape {fmt(shape)}")
    return axes


def _squeeze_rule(shapes, dtypes, attrs):
    axes = _squeeze_axes(shapes[0], attrs["axis"])
    return [(TensorShape(d for i, d in enumerate(shapes[0]) if i not in axes), dtypes[0])]


register("ExpandDims", _expand_rule, grad=_grad_reshape)
register("Squeeze", _squeeze_rule, grad=_grad_reshape)


def _transpose_rule(shapes, dtypes, attrs):
    perm = attrs["perm"]
    if perm is None:
        perm = tuple(reversed(range(len(shapes[0]))))
    if sorted(perm) != list(range(len(shapes[0]))):
        raise ShapeError(f"perm {list(perm)} is not a permutation of the axes of shape {fmt(shapes[0])}")
    return [(TensorShape(shapes[0][p] for p in perm), dtypes[0])]


def _grad_transpose(op, g):
    perm = op.attrs["perm"] or tuple(reversed(range(len(op.inputs[0].shape))))
    return [transpose(g, tuple(np.argsort(perm)))]


register("Transpose", _transpose_rule, grad=_grad_transpose, simplify=cancelling_transposes)


# -- concat --------------------------------------------------------------------------------
def _concat_rule(shapes, dtypes, attrs):
    if len(set(d.name for d in dtypes)) > 1:
        raise ShapeError("concat inputs have different dtypes " + ", ".join(d.name for d in dtypes))
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise ShapeError("concat inputs have different ranks: " + ", ".join(fmt(s) for s in shapes))
    (axis,) = normalize_axis(attrs["axis"], rank)
    out = list(shapes[0])
    for s in shapes[1:]:
        for i, (a, b) in enumerate(zip(out, s)):
            if i == axis:
                out[i] = None if a is None or b is None else a + b
            elif a is not None and b is not None and a != b:
                raise ShapeError(f"concat inputs differ in dimension {i} (not the concat axis {axis}): "
                                 + ", ".join(fmt(s) for s in shapes))
            elif a is None:
                out[i] = b
    return [(TensorShape(out), dtypes[0])]


def _grad_concat(op, g):
    return [make("ConcatGrad", [g] + op.inputs, {"axis": op.attrs["axis"], "index": i})
            for i in range(len(op.inputs))]


register("Concat", _concat_rule, grad=_grad_concat)
register("ConcatGrad", lambda s, d, a: [(s[1 + a["index"]], d[0])])


# -- slicing -------------------------------------------------------------------------------
def _slice_rule(shapes, dtypes, attrs):
    shape = shapes[0]
    key = spec_to_key(attrs["spec"], len(shape))
    if sum(k is not None for k in key) > len(shape):
        raise ShapeError(f"too many indices for a tensor of shape {fmt(shape)}")
    out, dim = [], 0
    for k in key:
        if k is None:
            out.append(1)
            continue
        size = shape[dim]
        if isinstance(k, int):
            if size is not None and not -size <= k < size:
                raise ShapeError(f"index {k} is out of bounds for dimension {dim} of size {size}")
        elif size is None:
            out.append(None)
        else:
            out.append(len(range(*k.indices(size))))
        dim += 1
    out.extend(shape[dim:])
    return [(TensorShape(out), dtypes[0])]


register("StridedSlice", _slice_rule,
         grad=lambda op, g: [make("SliceGrad", [g, op.inputs[0]], {"spec": op.attrs["spec"]})])
register("SliceGrad", lambda s, d, a: [(s[1], d[0])],
         grad=lambda op, gg: [make("StridedSlice", [gg], {"spec": op.attrs["spec"]}), None], shape_inputs={1})


# -- gather / one_hot / shape --------------------------------------------------------------
def _gather_rule(shapes, dtypes, attrs):
    params, indices = shapes
    if not dtypes[1].is_integer:
        raise ShapeError(f"gather indices must be integers, got {dtypes[1].name}")
    (axis,) = normalize_axis(attrs["axis"], len(params))
    return [(TensorShape(tuple(params[:axis]) + tuple(indices) + tuple(params[axis + 1:])), dtypes[0])]


register("Gather", _gather_rule,
         grad=lambda op, g: [make("GatherGrad", [g, op.inputs[1], op.inputs[0]], {"axis": op.attrs["axis"]}), None])
register("GatherGrad", lambda s, d, a: [(s[2], d[0])], shape_inputs={2})


def _one_hot_rule(shapes, dtypes, attrs):
    if not dtypes[0].is_integer:
        raise ShapeError(f"one_hot indices must be integers, got {dtypes[0].name}")
    out = list(shapes[0])
    axis = attrs["axis"]
    out.insert(len(out) if axis == -1 else axis, attrs["depth"])
    return [(TensorShape(out), attrs["dtype"])]


register("OneHot", _one_hot_rule)
register("Shape", lambda s, d, a: [(TensorShape([len(s[0])]), a["out_type"])], shape_inputs={0})


# -- the TF1 functions ---------------------------------------------------------------------
def placeholder(dtype: DTypeLike, shape: Shape | None = None, name: str | None = None) -> Tensor:
    """A value fed at run time; `shape=None` accepts any shape (checked only when a plan is compiled)."""
    dtype = _dt.as_dtype(dtype)
    return make("Placeholder", [], {"dtype": dtype, "shape": _declared_shape(shape, name or "Placeholder")},
                name=name or "Placeholder")


def _declared_shape(shape, what):
    """A shape as written by the user: None (unknown rank), or dims that are None or ints >= 0, as TF1
    requires (`-5` or `2.5` is an error naming `what`, not an unknown or a truncated dimension)."""
    if shape is None:
        return TensorShape(None)
    dims = [shape] if isinstance(shape, (int, np.integer)) else list(shape)
    for d in dims:
        if d is None:
            continue
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"shape {shape!r} of '{what}': dimension {d!r} is not an int or None")
        if d < 0:
            raise ValueError(f"shape {shape!r} of '{what}': dimension {d} must be >= 0 (use None for unknown)")
    return TensorShape(dims)


def placeholder_with_default(input: TensorLike, shape: Shape | None, name: str | None = None) -> Tensor:  # noqa: A002
    x = convert_to_tensor(input)
    return make("PlaceholderWithDefault", [x], {"shape": TensorShape(shape)}, name=name or "PlaceholderWithDefault")


def identity(x: TensorLike, name: str | None = None) -> Tensor:
    return make("Identity", [convert_to_tensor(x)], name=name)


def stop_gradient(x: TensorLike, name: str | None = None) -> Tensor:
    return make("StopGradient", [convert_to_tensor(x)], name=name)


def _shape_list(shape):
    shape = shape_argument(shape)
    if isinstance(shape, Tensor):
        raise TypeError(f"shape must be known when the graph is built here, not only from the tensor '{shape.name}'")
    return list(shape)


def reshape(tensor: TensorLike, shape: ShapeLike, name: str | None = None) -> Tensor:
    """`shape` may be ints or tensors (`tf.shape(y)`, `[-1, tf.shape(y)[1]]`)."""
    shape = shape_argument(shape)
    if isinstance(shape, Tensor):
        return make("Reshape", [convert_to_tensor(tensor), shape], {"shape_hint": shape_hint(shape)}, name=name)
    return make("Reshape", [convert_to_tensor(tensor)], {"shape": shape}, name=name)


def expand_dims(input: TensorLike, axis: int, name: str | None = None) -> Tensor:  # noqa: A002
    return make("ExpandDims", [convert_to_tensor(input)], {"axis": int(axis)}, name=name)


def squeeze(input: TensorLike, axis: Axis = None, name: str | None = None,  # noqa: A002
            squeeze_dims: Axis = None) -> Tensor:
    """Drop size-1 axes. Without `axis`, every axis of size 1 when the graph runs is dropped, as in TF1:
    a `(?, 1)` tensor has the static shape `(?,)`, and fed one row it becomes a scalar."""
    x = convert_to_tensor(input)
    axis = axis if axis is not None else squeeze_dims
    if axis is not None:
        axis = (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)
    return make("Squeeze", [x], {"axis": axis}, name=name)


def transpose(a: TensorLike, perm: Sequence[int] | None = None, name: str | None = None) -> Tensor:
    return make("Transpose", [convert_to_tensor(a)], {"perm": None if perm is None else tuple(int(p) for p in perm)},
                name=name)


def concat(values: Sequence[TensorLike], axis: int, name: str | None = None) -> Tensor:
    values = [convert_to_tensor(v) for v in values]
    if len(values) == 1:
        return identity(values[0], name=name)
    return make("Concat", values, {"axis": int(axis)}, name=name)


def stack(values: Sequence[TensorLike], axis: int = 0, name: str | None = None) -> Tensor:
    values = [convert_to_tensor(v) for v in values]
    return concat([expand_dims(v, axis) for v in values], axis, name=name)


def getitem(tensor: Tensor, key: Any) -> Tensor:
    return make("StridedSlice", [tensor], {"spec": slice_spec(key)}, name="strided_slice")


def gather(params: TensorLike, indices: TensorLike, axis: int = 0, name: str | None = None) -> Tensor:
    params = convert_to_tensor(params)
    indices = convert_to_tensor(indices)
    return make("Gather", [params, indices], {"axis": int(axis)}, name=name)


def one_hot(indices: TensorLike, depth: int, on_value: float | None = None, off_value: float | None = None,
            axis: int = -1, dtype: DTypeLike | None = None, name: str | None = None) -> Tensor:
    indices = convert_to_tensor(indices)
    dtype = _dt.as_dtype(dtype) if dtype is not None else _dt.float32
    attrs = {"depth": int(depth), "on_value": 1 if on_value is None else on_value,
             "off_value": 0 if off_value is None else off_value, "axis": int(axis), "dtype": dtype}
    return make("OneHot", [indices], attrs, name=name)


def shape(input: TensorLike, name: str | None = None, out_type: DTypeLike = _dt.int32) -> Tensor:  # noqa: A002
    return make("Shape", [convert_to_tensor(input)], {"out_type": _dt.as_dtype(out_type)}, name=name)


def rank(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """The rank as an int32 scalar tensor (a constant when the static rank is known, as in TF1)."""
    x = convert_to_tensor(input)
    if not x.shape.unknown_rank:
        return constant(len(x.shape), dtype=_dt.int32, name=name or "Rank")
    return reshape(shape(shape(x)), (), name=name or "Rank")


def size(input: TensorLike, name: str | None = None, out_type: DTypeLike = _dt.int32) -> Tensor:  # noqa: A002
    with name_scope(name or "Size") as scope:  # the result is named 'Size', as TF1's op
        return make("ReduceProd", [shape(input, out_type=out_type)], {"axis": None, "keepdims": False},
                    name=scope[:-1] + "/")


def _fill_rule(shapes, dtypes, attrs):
    hint = attrs.get("shape", attrs.get("shape_hint"))
    return [(TensorShape(hint), dtypes[1])]


def _fill_kernel(spec):
    shape, dtype = tuple(spec.out_shape), spec.out_dtype.np
    return lambda dims, value: np.full(shape, value, dtype)


# fill with a shape known only from tensors; folded to a constant when the plan is compiled
register("Fill", _fill_rule, grad=lambda op, g: [None, None], value_inputs={0: "shape"}, host=_fill_kernel)


def _full(dims, value, dtype, name):
    shape = shape_argument(dims)
    if isinstance(shape, Tensor):
        return make("Fill", [shape, convert_to_tensor(value, dtype=dtype)], {"shape_hint": shape_hint(shape)},
                    name=name)
    return constant(value, dtype=dtype, shape=list(shape), name=name)


def fill(dims: ShapeLike, value: TensorLike, name: str | None = None) -> Tensor:
    dtype = value.dtype if isinstance(value, Tensor) else None
    return _full(dims, value, dtype, name or "Fill")


def zeros(shape: ShapeLike, dtype: DTypeLike = _dt.float32, name: str | None = None) -> Tensor:
    return _full(shape, 0, dtype, name or "zeros")


def ones(shape: ShapeLike, dtype: DTypeLike = _dt.float32, name: str | None = None) -> Tensor:
    return _full(shape, 1, dtype, name or "ones")


