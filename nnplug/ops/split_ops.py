"""`SplitV` and `Unpack`: tf.split / tf.unstack along an axis of known size, whose gradient is ONE Concat of the
parts' gradients. Written as StridedSlices, each part's gradient is the size of the whole (zeros around the
part) and the parts' gradients are summed: quadratic in the number of steps of an unrolled sequence. These
ops expand into the same StridedSlices (views) when a plan is compiled."""
from __future__ import annotations

from collections.abc import Sequence

from ..graph import Tensor, convert_to_tensor, make_op
from ..shapes import ShapeError, TensorShape, fmt
from . import math_ops as M
from .array_ops import concat, expand_dims, slice_spec
from .manip_ops import split
from .nest import describe
from .registry import register
from .._types import TensorLike


def _split_rule(squeeze):
    def rule(shapes, dtypes, attrs):
        x, axis, sizes = shapes[0], attrs["axis"], attrs["sizes"]
        if not 0 <= axis < len(x):
            raise ShapeError(f"axis {axis} is out of range for a tensor of shape {fmt(x)}")
        if x[axis] is not None and sum(sizes) != x[axis]:
            raise ShapeError(f"parts of sizes {list(sizes)} do not add up to axis {axis} of shape {fmt(x)}")
        outs = []
        for size in sizes:
            dims = list(x)
            dims[axis] = size
            outs.append((TensorShape(dims[:axis] + dims[axis + 1:] if squeeze else dims), dtypes[0]))
        return outs
    return rule


def _split_expand(squeeze):
    def expand(b, ins, attrs):
        axis, start, outs = attrs["axis"], 0, []
        for size in attrs["sizes"]:
            part = start if squeeze else slice(start, start + size)
            outs.append(b.emit("StridedSlice", ins, {"spec": slice_spec((slice(None),) * axis + (part,))}))
            start += size
        return outs
    return expand


def _split_grad(squeeze):
    def grad(op, *grads):
        if not op.inputs[0].dtype.is_floating:
            return [None]
        axis = op.attrs["axis"]
        parts = [g if g is not None else M.zeros_like(out) for g, out in zip(grads, op.outputs)]
        return [concat([expand_dims(p, axis) for p in parts] if squeeze else parts, axis)]
    return grad


for _name, _squeeze in (("SplitV", False), ("Unpack", True)):
    register(_name, _split_rule(_squeeze), grad=_split_grad(_squeeze), expand=_split_expand(_squeeze))


def _axis_of(x, axis, what):
    if x.shape.unknown_rank:
        raise ShapeError(f"{what}: the rank of {describe(x)} must be known")
    rank = len(x.shape)
    if not -rank <= axis < rank:
        raise ShapeError(f"{what}: axis {axis} is out of range for {describe(x)}")
    return axis % rank


def split_v(value: TensorLike, num_or_sizes: int | Sequence[int], axis: int = 1) -> list[Tensor]:
    """`tf.split(value, num_or_sizes, axis)` for an axis of known size, as one SplitV op."""
    x = convert_to_tensor(value)
    axis = _axis_of(x, axis, "split_v")
    dim = x.shape[axis]
    if dim is None:
        return split(x, num_or_sizes, axis=axis)
    if isinstance(num_or_sizes, int):
        if num_or_sizes <= 0 or dim % num_or_sizes:
            raise ShapeError(f"split_v: {describe(x)} cannot be split into {num_or_sizes} equal parts on axis {axis}")
        sizes = (dim // num_or_sizes,) * num_or_sizes
    else:
        sizes = tuple(int(d) for d in num_or_sizes)
    return make_op("SplitV", [x], {"axis": axis, "sizes": sizes}).outputs


def unpack(value: TensorLike, axis: int = 0) -> list[Tensor]:
    """`tf.unstack(value, axis=axis)` for an axis of known size, as one Unpack op."""
    x = convert_to_tensor(value)
    axis = _axis_of(x, axis, "unpack")
    if x.shape[axis] is None:
        raise ShapeError(f"unpack: axis {axis} of {describe(x)} has no known size")
    return make_op("Unpack", [x], {"axis": axis, "sizes": (1,) * x.shape[axis]}).outputs
