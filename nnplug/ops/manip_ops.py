"""TF1's tensor manipulation functions: split, unstack, slice, strided_slice, reverse, tile, pad,
boolean_mask, shape_n and matrix_transpose.

Most are compositions of existing ops (StridedSlice, Concat, Transpose) written in the function, so every
backend runs them with the kernels it has. Three need the concrete shapes a plan is compiled on and are
composite ops that expand into primitives then: `Tile` and its gradient `TileGrad` (reshape, a broadcasting
Select, reshape / reduce) and constant `Pad` (Concat with constant blocks), so partly known shapes such as
a `(?, 28, 28, 1)` batch work. `BooleanMask` has an output size that depends on the mask's values, and
`SliceAt` (tf.slice with a tensor begin, as a loop counter gives) a start known only when the step runs:
host ops.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import builtins

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt, normalize_axis
from .array_ops import concat, shape, slice_spec, stack, transpose
from .elementwise import cast
from .registry import register
from .._types import DTypeLike, ShapeLike, TensorLike


def _ints(value, what, fn):
    """A Python int or a list of ints (NumPy arrays too); a tensor is refused with a message naming it."""
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        raise TypeError(f"{fn}: {what} must be Python ints here, not the tensor '{convert_to_tensor(value).name}'")
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {what} must be integers, got {value!r:.60}")
    return arr.astype(np.int64).tolist()


def _known_rank(x, fn):
    if x.shape.unknown_rank:
        raise ShapeError(f"{fn}: the rank of '{x.name}' must be known; give its placeholder a shape")
    return len(x.shape)


_py_slice = builtins.slice  # `slice` below is TF1's function


def _sliced(x, key, name=None):
    return make("StridedSlice", [x], {"spec": slice_spec(tuple(key))}, name=name)


# -- slicing ---------------------------------------------------------------------------------
def slice(input_: TensorLike, begin: Sequence[int] | TensorLike,  # noqa: A001 - TF1's name
          size: Sequence[int] | TensorLike, name: str | None = None) -> Tensor:
    """`input_[begin[i] : begin[i] + size[i]]` on every axis; a size of -1 takes the rest of the axis."""
    x = convert_to_tensor(input_)
    if isinstance(begin, Tensor) or hasattr(begin, "_as_tensor"):
        return _slice_at(x, convert_to_tensor(begin), _ints(size, "size", "slice"), name)
    begin, size = _ints(begin, "begin", "slice"), _ints(size, "size", "slice")
    rank = _known_rank(x, "slice")
    if not len(begin) == len(size) == rank:
        raise ShapeError(f"slice of '{x.name}' with shape {fmt(x.shape)}: begin {begin} and size {size} need "
                         f"one entry per axis ({rank})")
    key = []
    for axis, (b, s, dim) in enumerate(zip(begin, size, x.shape)):
        if b < 0 or s < -1 or (dim is not None and (b > dim or (s != -1 and b + s > dim))):
            raise ShapeError(f"slice of '{x.name}' with shape {fmt(x.shape)}: begin {b} and size {s} do not fit "
                             f"axis {axis}")
        key.append(_py_slice(b, None if s == -1 else b + s))
    return _sliced(x, key, name or "Slice")


# -- slices that start where a tensor says (a loop counter, a computed offset) ---------------------------
def _slice_at(x, begin, size, name):
    """tf.slice with a tensor `begin` and known sizes: the output's shape is known when the graph is built,
    its start only when the step runs (a host op; its gradient writes g into zeros at the same start)."""
    rank = _known_rank(x, "slice")
    if len(size) != rank or tuple(begin.shape) not in ((rank,), (None,)):
        raise ShapeError(f"slice of '{x.name}' with shape {fmt(x.shape)}: begin '{begin.name}' of shape "
                         f"{fmt(begin.shape)} and size {size} need one entry per axis ({rank})")
    for axis, (s, dim) in enumerate(zip(size, x.shape)):
        if s < 0:
            raise ShapeError(f"slice of '{x.name}': size -1 on axis {axis} needs a begin known when the graph is "
                             f"built (give begin as Python ints), since the output's size would depend on it")
        if dim is not None and s > dim:
            raise ShapeError(f"slice of '{x.name}' with shape {fmt(x.shape)}: size {s} does not fit axis {axis}")
    if not begin.dtype.is_integer:
        raise TypeError(f"slice: begin '{begin.name}' must be int32 or int64, not {begin.dtype.name}")
    return make("SliceAt", [x, begin], {"size": tuple(size)}, name=name or "Slice")


def _slice_at_rule(shapes, dtypes, attrs):
    return [(TensorShape(attrs["size"]), dtypes[0])]


def _window(name, shape, begin, size):
    """The index of the window `size` at `begin` in an array of `shape`; an InvalidArgumentError naming the
    op when it does not fit (TF1's Slice fails at run time so)."""
    begin = [int(b) for b in np.asarray(begin).reshape(-1)]
    for axis, (b, s, dim) in enumerate(zip(begin, size, shape)):
        if b < 0 or b + s > dim:
            raise InvalidArgumentError(f"slice '{name}': begin {begin} and size {list(size)} do not fit axis {axis} "
                                       f"of the input's shape {fmt(shape)}")
    return tuple(_py_slice(b, b + s) for b, s in zip(begin, size))


def _slice_at_host(spec):
    size, name = spec.attrs["size"], spec.name
    return lambda x, begin: np.array(x[_window(name, x.shape, begin, size)])


def _slice_at_grad_host(spec):
    size, name, shape, dtype = spec.attrs["size"], spec.name, tuple(spec.out_shape), spec.out_dtype.np

    def scatter(g, x, begin):
        out = np.zeros(shape, dtype)
        out[_window(name, shape, begin, size)] = g
        return out
    return scatter


def _grad_slice_at(op, g):
    if not op.inputs[0].dtype.is_floating:
        return [None, None]
    return [make("SliceAtGrad", [g, op.inputs[0], op.inputs[1]], dict(op.attrs)), None]


register("SliceAt", _slice_at_rule, grad=_grad_slice_at, host=_slice_at_host)
register("SliceAtGrad", lambda s, d, a: [(s[1], d[0])], host=_slice_at_grad_host, shape_inputs={1},
         grad=lambda op, gg: [make("SliceAt", [gg, op.inputs[2]], dict(op.attrs)), None, None])


def _bit(mask, i):
    return bool((int(mask) >> i) & 1)


def strided_slice(input_: TensorLike, begin: Sequence[int] | TensorLike, end: Sequence[int] | TensorLike,
                  strides: Sequence[int] | TensorLike | None = None, begin_mask: int = 0, end_mask: int = 0,
                  ellipsis_mask: int = 0, new_axis_mask: int = 0, shrink_axis_mask: int = 0, var: Any = None,
                  name: str | None = None) -> Tensor:
    """TF1's StridedSlice with its bit masks, turned into the Python index it stands for."""
    x = convert_to_tensor(input_)
    begin, end = _ints(begin, "begin", "strided_slice"), _ints(end, "end", "strided_slice")
    strides = [1] * len(begin) if strides is None else _ints(strides, "strides", "strided_slice")
    if not len(begin) == len(end) == len(strides):
        raise ValueError(f"strided_slice of '{x.name}': begin {begin}, end {end} and strides {strides} must have "
                         f"the same length")
    if 0 in strides:
        raise ValueError(f"strided_slice of '{x.name}': strides {strides} must be non-zero")
    key = []
    for i, (b, e, s) in enumerate(zip(begin, end, strides)):
        if _bit(ellipsis_mask, i):
            key.append(Ellipsis)
        elif _bit(new_axis_mask, i):
            key.append(None)
        elif _bit(shrink_axis_mask, i):
            key.append(b)
        else:
            key.append(_py_slice(None if _bit(begin_mask, i) else b, None if _bit(end_mask, i) else e, s))
    return _sliced(x, key, name or "StridedSlice")


def reverse(tensor: TensorLike, axis: int | Sequence[int], name: str | None = None) -> Tensor:
    """The elements of `tensor` in reverse order along each axis in `axis` (StridedSlice with step -1)."""
    x = convert_to_tensor(tensor)
    rank = _known_rank(x, "reverse")
    axes = normalize_axis(_ints(axis, "axis", "reverse"), rank)
    if len(set(axes)) != len(axes):
        raise ValueError(f"reverse of '{x.name}': axis {list(axis)} names an axis twice")
    return _sliced(x, [_py_slice(None, None, -1 if a in axes else None) for a in range(rank)], name or "ReverseV2")


reverse_v2 = reverse


def split(value: TensorLike, num_or_size_splits: int | Sequence[int], axis: int = 0, num: int | None = None,
          name: str = "split") -> list[Tensor]:
    """Split `value` along `axis` into equal parts (an int) or parts of the given sizes (one may be -1)."""
    x = convert_to_tensor(value)
    rank = _known_rank(x, "split")
    (axis,) = normalize_axis(int(axis), rank)
    dim = x.shape[axis]
    where = f"split of '{x.name}' with shape {fmt(x.shape)} along axis {axis}"
    if isinstance(num_or_size_splits, (int, np.integer)):
        parts = int(num_or_size_splits)
        if parts <= 0:
            raise ValueError(f"{where}: the number of parts must be positive, got {parts}")
        if dim is None:
            raise ValueError(f"{where}: splitting an axis of unknown size into {parts} equal parts needs the size "
                             f"known when the graph is built; pass the sizes instead")
        if dim % parts:
            raise ValueError(f"{where}: {dim} elements cannot be split into {parts} equal parts")
        sizes = [dim // parts] * parts
    else:
        sizes = _ints(num_or_size_splits, "size_splits", "split")
        if sum(s == -1 for s in sizes) > 1 or any(s < -1 for s in sizes):
            raise ValueError(f"{where}: size_splits {sizes} may hold one -1 and otherwise sizes >= 0")
        rest = sum(s for s in sizes if s != -1)
        if dim is not None:
            if -1 in sizes and rest <= dim:
                sizes = [dim - rest if s == -1 else s for s in sizes]
            elif sum(sizes) != dim:
                raise ValueError(f"{where}: size_splits {sizes} do not add up to the {dim} elements of the axis")
        elif -1 in sizes[:-1]:
            raise ValueError(f"{where}: a -1 before the last size needs the axis size known")
    out, start = [], 0
    with name_scope(name, "split"):
        for i, s in enumerate(sizes):
            stop = None if s == -1 else start + s
            out.append(_sliced(x, [_py_slice(None)] * axis + [_py_slice(start, stop)], name=f"part{i}"))
            start = stop
    return out


def unstack(value: TensorLike, num: int | None = None, axis: int = 0, name: str = "unstack") -> list[Tensor]:
    """The slices of `value` along `axis`, each with that axis removed."""
    x = convert_to_tensor(value)
    rank = _known_rank(x, "unstack")
    (axis,) = normalize_axis(int(axis), rank)
    dim = x.shape[axis]
    if num is None:
        num = dim
    if num is None:
        raise ValueError(f"cannot unstack '{x.name}' with shape {fmt(x.shape)} along axis {axis} of unknown size; "
                         f"pass num")
    if dim is not None and int(num) != dim:
        raise ValueError(f"unstack of '{x.name}' with shape {fmt(x.shape)}: num={num} but axis {axis} has size {dim}")
    with name_scope(name, "unstack"):
        return [_sliced(x, [_py_slice(None)] * axis + [i]) for i in range(int(num))]


def matrix_transpose(a: TensorLike, name: str = "matrix_transpose", conjugate: bool = False) -> Tensor:
    """Swap the last two axes (a batch of matrices)."""
    x = convert_to_tensor(a)
    rank = _known_rank(x, "matrix_transpose")
    if rank < 2:
        raise ShapeError(f"matrix_transpose of '{x.name}' needs rank >= 2, got shape {fmt(x.shape)}")
    return transpose(x, tuple(range(rank - 2)) + (rank - 1, rank - 2), name=name)


def shape_n(input: Sequence[TensorLike], out_type: DTypeLike = _dt.int32,  # noqa: A002
            name: str | None = None) -> list[Tensor]:
    """The shape of each tensor in `input`."""
    with name_scope(name, "ShapeN"):
        return [shape(t, out_type=out_type) for t in input]


# -- tile ------------------------------------------------------------------------------------
def _tile_rule(shapes, dtypes, attrs):
    x = shapes[0]
    multiples = attrs["multiples"]
    if multiples is None:  # given as a tensor (input 1): known when the plan is compiled
        if len(shapes[1]) != 1 or not dtypes[1].is_integer:
            raise ShapeError(f"multiples must be a vector of integers, got {dtypes[1].name} of shape {fmt(shapes[1])}")
        if shapes[1][0] is not None and shapes[1][0] != len(x):
            raise ShapeError(f"multiples has {shapes[1][0]} entries for an input of rank {len(x)}")
        return [(TensorShape([None] * len(x)), dtypes[0])]
    if len(multiples) != len(x):
        raise ShapeError(f"multiples {list(multiples)} has {len(multiples)} entries for an input of rank {len(x)} "
                         f"(shape {fmt(x)})")
    return [(TensorShape(None if d is None else d * m for d, m in zip(x, multiples)), dtypes[0])]


def _compiled_multiples(b, ins, attrs):
    if attrs["multiples"] is not None:
        return list(attrs["multiples"])
    m = ins[-1]
    if m.const is None:
        raise InvalidArgumentError(f"Tile op '{b.current.name if b.current else 'Tile'}': multiples must be known "
                                   f"when the plan is compiled (from shapes or constants), not computed from fed "
                                   f"values")
    return [int(v) for v in np.asarray(b.backend.to_host(m.const)).reshape(-1)]


def _expand_tile(b, ins, attrs):
    x = ins[0]
    multiples = _compiled_multiples(b, ins, attrs)
    if any(m < 0 for m in multiples):
        raise InvalidArgumentError(f"Tile: multiples {multiples} must be non-negative")
    spread = b.emit("Reshape", [x], {"shape": tuple(v for d in x.shape for v in (1, d))})
    cond = b.constant(np.ones(tuple(v for m in multiples for v in (m, 1)), bool), _dt.bool_)
    tiled = b.emit("Select", [cond, spread, spread])  # broadcasts every copy of x
    return [b.emit("Reshape", [tiled], {"shape": tuple(m * d for m, d in zip(multiples, x.shape))})]


def _expand_tile_grad(b, ins, attrs):
    g, x = ins[0], ins[1]
    if 0 in x.shape:
        return [b.constant(np.zeros(x.shape, g.dtype.np), g.dtype)]
    multiples = [gd // xd for gd, xd in zip(g.shape, x.shape)]
    split_g = b.emit("Reshape", [g], {"shape": tuple(v for m, d in zip(multiples, x.shape) for v in (m, d))})
    axes = tuple(range(0, 2 * len(multiples), 2))
    return [b.emit("ReduceSum", [split_g], {"axis": axes, "keepdims": False})]


def _grad_tile(op, g):
    if not op.inputs[0].dtype.is_floating:
        return [None] * len(op.inputs)
    return [make("TileGrad", [g, op.inputs[0]] + op.inputs[1:], {"multiples": op.attrs["multiples"]})] + \
        [None] * (len(op.inputs) - 1)


def _grad_tile_grad(op, gg):
    return [make("Tile", [gg] + op.inputs[2:], {"multiples": op.attrs["multiples"]})] + [None] * (len(op.inputs) - 1)


register("Tile", _tile_rule, grad=_grad_tile, expand=_expand_tile)
register("TileGrad", lambda s, d, a: [(s[1], d[0])], grad=_grad_tile_grad, expand=_expand_tile_grad,
         shape_inputs={1})


def tile(input: TensorLike, multiples: ShapeLike, name: str | None = None) -> Tensor:  # noqa: A002
    """`input` repeated `multiples[i]` times along axis i. Multiples may be ints, or tensors (e.g. from
    `tf.shape`) whose values are known when the plan is compiled."""
    x = convert_to_tensor(input)
    if isinstance(multiples, Tensor) or hasattr(multiples, "_as_tensor"):
        m = convert_to_tensor(multiples)
        return make("Tile", [x, m], {"multiples": None}, name=name or "Tile")
    if isinstance(multiples, (list, tuple)) and any(isinstance(v, Tensor) or hasattr(v, "_as_tensor")
                                                    for v in multiples):
        m = stack([cast(convert_to_tensor(v), _dt.int32) if isinstance(v, Tensor) or hasattr(v, "_as_tensor")
                   else convert_to_tensor(v, dtype=_dt.int32) for v in multiples])
        return make("Tile", [x, m], {"multiples": None}, name=name or "Tile")
    return make("Tile", [x], {"multiples": tuple(_ints(multiples, "multiples", "tile"))}, name=name or "Tile")


# -- pad -------------------------------------------------------------------------------------
def _pad_rule(shapes, dtypes, attrs):
    x, paddings = shapes[0], attrs["paddings"]
    if len(paddings) != len(x):
        raise ShapeError(f"paddings {[list(p) for p in paddings]} need one [before, after] pair per axis of the "
                         f"input of shape {fmt(x)}")
    return [(TensorShape(None if d is None else d + a + b for d, (a, b) in zip(x, paddings)), dtypes[0])]


def _expand_pad(b, ins, attrs):
    x = ins[0]
    for axis, (before, after) in enumerate(attrs["paddings"]):
        if not before and not after:
            continue
        parts = []
        for n in (before, None, after):
            if n is None:
                parts.append(x)
            elif n:
                block = tuple(n if i == axis else d for i, d in enumerate(x.shape))
                parts.append(b.constant(np.full(block, attrs["value"], x.dtype.np), x.dtype))
        x = b.emit("Concat", parts, {"axis": axis})
    return [x]


def _grad_pad(op, g):
    return [_sliced(g, [_py_slice(a, -b if b else None) for a, b in op.attrs["paddings"]])]


register("Pad", _pad_rule, grad=_grad_pad, expand=_expand_pad)


def _mirror(x, paddings, symmetric):
    """REFLECT / SYMMETRIC padding from reversed slices of x, one axis at a time (gradients follow)."""
    shift = 0 if symmetric else 1  # REFLECT leaves the edge element out of the mirror image
    for axis, (before, after) in enumerate(paddings):
        if not before and not after:
            continue
        dim = x.shape[axis]
        limit = None if dim is None else dim - shift
        if limit is None or max(before, after) > limit:
            mode = "SYMMETRIC" if symmetric else "REFLECT"
            raise ValueError(f"pad of '{x.name}' with shape {fmt(x.shape)}: {mode} padding of axis {axis} by "
                             f"{[before, after]} needs the axis size known and at most {limit} per side")
        lead = [_py_slice(None)] * axis
        parts = [x]
        if before:
            parts.insert(0, reverse(_sliced(x, lead + [_py_slice(shift, before + shift)]), [axis]))
        if after:
            parts.append(reverse(_sliced(x, lead + [_py_slice(-after - shift, -shift or None)]), [axis]))
        x = concat(parts, axis)
    return x


def pad(tensor: TensorLike, paddings: Sequence[Sequence[int]] | TensorLike, mode: str = "CONSTANT",
        name: str | None = None, constant_values: float = 0) -> Tensor:
    """Pad each axis i with paddings[i][0] values before and paddings[i][1] after: constant_values
    (CONSTANT), the mirror image without the edge (REFLECT) or with it (SYMMETRIC)."""
    x = convert_to_tensor(tensor)
    rank = _known_rank(x, "pad")
    pads = np.asarray(_ints(paddings, "paddings", "pad"), np.int64)
    if pads.shape != (rank, 2) or (pads < 0).any():
        raise ValueError(f"pad of '{x.name}' with shape {fmt(x.shape)}: paddings {pads.tolist()} must be {rank} "
                         f"pairs of non-negative [before, after] counts")
    pads = tuple((int(a), int(b)) for a, b in pads)
    mode = str(mode).upper()
    if mode == "CONSTANT":
        if isinstance(constant_values, Tensor) or hasattr(constant_values, "_as_tensor"):
            raise TypeError(f"pad of '{x.name}': constant_values must be a Python number here")
        return make("Pad", [x], {"paddings": pads, "value": constant_values}, name=name or "Pad")
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad of '{x.name}': unknown mode {mode!r}; expected CONSTANT, REFLECT or SYMMETRIC")
    with name_scope(name, "MirrorPad"):
        return _mirror(x, pads, mode == "SYMMETRIC")


# -- boolean_mask ----------------------------------------------------------------------------
def _mask_rule(shapes, dtypes, attrs):
    x, mask = shapes[0], shapes[1]
    axis = attrs["axis"]
    if dtypes[1] != _dt.bool_:
        raise ShapeError(f"the mask must be bool, got {dtypes[1].name}")
    if len(mask) == 0:
        raise ShapeError("the mask must have rank >= 1, got a scalar")
    if axis + len(mask) > len(x) or any(a is not None and b is not None and a != b
                                        for a, b in zip(x[axis:axis + len(mask)], mask)):
        raise ShapeError(f"the mask of shape {fmt(mask)} does not match the tensor of shape {fmt(x)} "
                         f"at axes {axis}..{axis + len(mask) - 1}")
    return [(TensorShape(tuple(x[:axis]) + (None,) + tuple(x[axis + len(mask):])), dtypes[0])]


def _mask_host(spec):
    lead = (_py_slice(None),) * spec.attrs["axis"]
    return lambda x, mask: x[lead + (mask.astype(bool),)]


def _mask_grad_rule(shapes, dtypes, attrs):
    g, mask = shapes
    axis = attrs["axis"]
    return [(TensorShape(tuple(g[:axis]) + tuple(mask) + tuple(g[axis + 1:])), dtypes[0])]


def _mask_grad_host(spec):
    lead = (_py_slice(None),) * spec.attrs["axis"]
    out_shape, dtype = tuple(spec.out_shape), spec.out_dtype.np

    def scatter(g, mask):
        out = np.zeros(out_shape, dtype)
        out[lead + (mask.astype(bool),)] = g
        return out
    return scatter


def _grad_mask(op, g):
    if not op.inputs[0].dtype.is_floating:
        return [None, None]
    return [make("BooleanMaskGrad", [g, op.inputs[1]], {"axis": op.attrs["axis"]}), None]


register("BooleanMask", _mask_rule, grad=_grad_mask, host=_mask_host)
register("BooleanMaskGrad", _mask_grad_rule, grad=lambda op, gg: [make("BooleanMask", [gg, op.inputs[1]],
                                                                        dict(op.attrs)), None],
         host=_mask_grad_host)


def boolean_mask(tensor: TensorLike, mask: TensorLike, name: str = "boolean_mask", axis: int | None = None) -> Tensor:
    """The elements (or slices) of `tensor` where the bool `mask` is true; the mask covers the axes
    axis .. axis + rank(mask) - 1, which collapse into one of a size known only at run time."""
    x = convert_to_tensor(tensor)
    m = convert_to_tensor(mask)
    if m.shape.unknown_rank:
        raise ShapeError(f"boolean_mask: the rank of the mask '{m.name}' must be known")
    axis = 0 if axis is None else int(axis)
    if axis < 0:
        axis += _known_rank(x, "boolean_mask")
    return make("BooleanMask", [x, m], {"axis": axis}, name=name)
