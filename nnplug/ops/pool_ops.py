"""Pooling: `MaxPool` and `AvgPool` on NHWC tensors with their backward ops (`MaxPoolGrad` routes each
output's gradient to the first maximum of its window in scan order, as TF's CPU kernel; `AvgPoolGrad`
spreads it evenly over the window's real pixels — SAME average pooling divides by the number of pixels
inside the input, as TF). NCHW by transposes around the op. The window arithmetic is conv_ops'.

`MaxPoolWithArgmax` also gives where each maximum is (the first in scan order), flattened as TF1's
`((b * height + y) * width + x) * channels + c`, without the batch term unless `include_batch_in_index`;
its gradient `MaxPoolGradWithArgmax` adds each output's gradient at that index."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .array_ops import gather, reshape, shape as shape_of
from .conv_ops import data_format_of, from_nhwc, geometry, padding_of, spatial_pair, to_nhwc
from .elementwise import cast
from .math_ops import reduce_prod
from .registry import register
from .sequence_ops import range as range_
from .._types import DTypeLike, Ints, Padding, TensorLike


def pool_geometry(x_shape, attrs):
    """(output shape, ConvGeometry or None) of a pooling window over NHWC `x_shape`."""
    if len(x_shape) != 4:
        raise ShapeError(f"the input must have rank 4 (NHWC), got shape {fmt(x_shape)}")
    c = x_shape[3]
    return geometry(tuple(x_shape), attrs["ksize"], c, c, attrs)


def pool_taps(geo):
    """[(output key, input key)] per window offset in scan order (rows, then columns), each pairing the
    output pixels whose tap lands inside the input with those input pixels; offsets with none are left out.
    Kernels loop over these, so padding is never materialised."""
    taps, all_ = [], slice(None)
    for i, j in geo.offsets():
        v = geo.valid(i, j)
        if v is not None:
            taps.append(((all_, v[0], v[1], all_), (all_, v[2], v[3], all_)))
    return taps


def inverse_tap_counts(geo, taps, dtype):
    """1 / (the number of taps inside the input) per output pixel, a NumPy (oh, ow, 1) array: SAME average
    pooling divides by it."""
    count = np.zeros((geo.oh, geo.ow, 1))
    for o, _ in taps:
        count[o[1:3]] += 1
    return (1.0 / count).astype(dtype)


def argmax_taps(geo, include_batch):
    """([(output key, input key, index offset)] as pool_taps with each tap's offset from `argmax_bases`, and
    those bases: (n, oh, ow, c) int64, the flat index TF1 gives the window's top-left tap (maybe in the
    padding, so maybe outside the input); a tap's argmax is base + offset."""
    taps = [(o, i, (a * geo.w + b) * geo.c) for (a, b), (o, i) in zip(_valid_offsets(geo), pool_taps(geo))]
    y0 = np.arange(geo.oh)[:, None, None] * geo.sh - geo.pt
    x0 = np.arange(geo.ow)[None, :, None] * geo.sw - geo.pl
    base = (y0 * geo.w + x0) * geo.c + np.arange(geo.c)
    first = np.arange(geo.n)[:, None, None, None] * (geo.h * geo.w * geo.c) if include_batch else 0
    return taps, np.broadcast_to(base + first, (geo.n, geo.oh, geo.ow, geo.c)).astype(np.int64)


def _valid_offsets(geo):
    return [(i, j) for i, j in geo.offsets() if geo.valid(i, j) is not None]


def argmax_misplaced(geo, argmax, include_batch):
    """The first position (flat, in `argmax`) whose index does not name a pixel of its own output's window
    and channel (in its own image), or None. MaxPoolGradWithArgmax checks an argmax MaxPoolWithArgmax did
    not make with this before adding anything."""
    v, per_image = np.asarray(argmax).astype(np.int64), geo.h * geo.w * geo.c
    if include_batch:
        ok = v // per_image == np.arange(geo.n)[:, None, None, None]
        v = v % per_image
    else:
        ok = (v >= 0) & (v < per_image)
    y, x, c = v // (geo.w * geo.c), v // geo.c % geo.w, v % geo.c
    y0 = np.arange(geo.oh)[:, None, None] * geo.sh - geo.pt
    x0 = np.arange(geo.ow)[None, :, None] * geo.sw - geo.pl
    ok &= (c == np.arange(geo.c)) & (y >= y0) & (y < y0 + geo.kh) & (x >= x0) & (x < x0 + geo.kw)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else None


def misplaced_message(spec, argmax, position):
    flat = np.asarray(argmax).reshape(-1)
    return (f"MaxPoolGradWithArgmax '{spec.name}': argmax[{position}] = {int(flat[position])} is not a pixel "
            f"of its output's window and channel (an argmax max_pool_with_argmax did not make?)")


def _pool_rule(floating):
    def rule(shapes, dtypes, attrs):
        if floating and not dtypes[0].is_floating:
            raise ShapeError(f"average pooling needs a floating-point input, got {dtypes[0].name}")
        if dtypes[0].name == "bool":
            raise ShapeError("cannot pool a bool tensor")
        return [(pool_geometry(shapes[0], attrs)[0], dtypes[0])]
    return rule


def _check_pooled(x, attrs, *named):
    """Each (shape, what) of `named` must be the shape pooling input shape `x` gives (None matches anything)."""
    out = pool_geometry(x, attrs)[0]
    for got, what in named:
        if len(got) != 4 or any(a is not None and b is not None and a != b for a, b in zip(got, out)):
            raise ShapeError(f"{what} has shape {fmt(got)}, but pooling the input gives {fmt(out)}")


def _max_pool_grad_rule(shapes, dtypes, attrs):
    x, y, g = shapes
    _check_pooled(x, attrs, (y, "the pooled output"), (g, "the gradient"))
    return [(TensorShape(x), dtypes[0])]


def _avg_pool_grad_rule(shapes, dtypes, attrs):
    g, x = shapes
    _check_pooled(x, attrs, (g, "the gradient"))
    return [(TensorShape(x), dtypes[0])]


def _pool_attrs(attrs):
    return {k: attrs[k] for k in ("ksize", "strides", "padding")}


def _grad_max_pool(op, g):
    return [make("MaxPoolGrad", [op.inputs[0], op.outputs[0], g], _pool_attrs(op.attrs))]


def _grad_avg_pool(op, g):
    return [make("AvgPoolGrad", [g, op.inputs[0]], _pool_attrs(op.attrs))]


def _grad_avg_pool_grad(op, gg):
    return [make("AvgPool", [gg], _pool_attrs(op.attrs)), None]


def _argmax_rule(shapes, dtypes, attrs):
    (y, dtype), = _pool_rule(False)(shapes, dtypes, attrs)
    return [(y, dtype), (y, attrs["Targmax"])]


def _argmax_grad_rule(shapes, dtypes, attrs):
    x, g, idx = shapes
    _check_pooled(x, attrs, (g, "the gradient"), (idx, "the argmax"))
    if not dtypes[2].is_integer:
        raise ShapeError(f"the argmax must be int32 or int64, got {dtypes[2].name}")
    return [(TensorShape(x), dtypes[1])]


def _argmax_attrs(attrs):
    return dict(_pool_attrs(attrs), include_batch_in_index=attrs["include_batch_in_index"])


def _grad_max_pool_with_argmax(op, g, g_argmax=None):
    if g is None:
        return [None]
    return [make("MaxPoolGradWithArgmax", [op.inputs[0], g, op.outputs[1]], _argmax_attrs(op.attrs))]


def _grad_max_pool_grad_with_argmax(op, gg):
    """The gradient's gradient: gg read back at each output's argmax (TF's MaxPoolGradGradWithArgmax)."""
    x, _, idx = op.inputs
    idx = cast(idx, _dt.int64)
    if not op.attrs["include_batch_in_index"]:  # the batch term TF leaves out, added back
        size = cast(shape_of(x), _dt.int64)
        first = range_(size[0]) * reduce_prod(size[1:])
        idx = idx + reshape(first, [-1, 1, 1, 1])
    return [None, gather(reshape(gg, [-1]), idx), None]


register("MaxPool", _pool_rule(False), grad=_grad_max_pool)
register("MaxPoolWithArgmax", _argmax_rule, grad=_grad_max_pool_with_argmax)
register("MaxPoolGradWithArgmax", _argmax_grad_rule, grad=_grad_max_pool_grad_with_argmax, shape_inputs={0})
register("MaxPoolGrad", _max_pool_grad_rule)
register("AvgPool", _pool_rule(True), grad=_grad_avg_pool)
register("AvgPoolGrad", _avg_pool_grad_rule, grad=_grad_avg_pool_grad, shape_inputs={1})


# -- the TF1 functions ------------------------------------------------------------------------------
def _pool(op_type, fn, value, ksize, strides, padding, data_format, name):
    if value is None or ksize is None or strides is None or padding is None:
        raise TypeError(f"{fn} needs value, ksize, strides and padding")
    data_format = data_format_of(data_format, fn)
    x = convert_to_tensor(value)
    if not x.shape.unknown_rank and len(x.shape) != 4:
        raise ShapeError(f"{fn}: the input '{x.name}' must have rank 4 ({data_format}), got shape {fmt(x.shape)}")
    attrs = {"ksize": spatial_pair(ksize, "ksize", fn, data_format),
             "strides": spatial_pair(strides, "strides", fn, data_format),
             "padding": padding_of(padding, fn, explicit=False)}
    if data_format == "NHWC":
        return make(op_type, [x], attrs, name=name)
    with name_scope(name, op_type):
        return from_nhwc(make(op_type, [to_nhwc(x, data_format)], attrs), data_format)


def max_pool(value: TensorLike | None = None, ksize: Ints = None, strides: Ints = None, padding: Padding = None,
             data_format: str = "NHWC", name: str | None = None,
             input: TensorLike | None = None) -> Tensor:  # noqa: A002
    """The maximum of each (ksize) window; padding never wins (SAME pads with -inf)."""
    return _pool("MaxPool", "max_pool", input if value is None else value, ksize, strides, padding, data_format, name)


def avg_pool(value: TensorLike | None = None, ksize: Ints = None, strides: Ints = None, padding: Padding = None,
             data_format: str = "NHWC", name: str | None = None,
             input: TensorLike | None = None) -> Tensor:  # noqa: A002
    """The mean of each window over the pixels inside the input (SAME padding is not counted)."""
    return _pool("AvgPool", "avg_pool", input if value is None else value, ksize, strides, padding, data_format, name)


max_pool2d = max_pool
avg_pool2d = avg_pool


def max_pool_with_argmax(input: TensorLike, ksize: Ints, strides: Ints, padding: Padding,  # noqa: A002
                         data_format: str = "NHWC", Targmax: DTypeLike | None = None,  # noqa: N803
                         name: str | None = None, output_dtype: DTypeLike | None = None,
                         include_batch_in_index: bool = False) -> tuple[Tensor, Tensor]:
    """(the max pool of `input`, where each maximum is): TF1's tf.nn.max_pool_with_argmax (NHWC only). The
    argmax of a window is its first maximum (rows, then columns), flattened as `((b * height + y) * width +
    x) * channels + c`, the batch term only with `include_batch_in_index`; int64 unless Targmax (or its old
    name output_dtype) says int32. The gradient flows to the maxima."""
    fn = "max_pool_with_argmax"
    if data_format != "NHWC":
        raise ValueError(f"{fn}: only data_format 'NHWC' is supported, got {data_format!r}")
    if Targmax is not None and output_dtype is not None and _dt.as_dtype(Targmax) != _dt.as_dtype(output_dtype):
        raise ValueError(f"{fn}: Targmax {Targmax!r} and output_dtype {output_dtype!r} disagree")
    index_dtype = _dt.as_dtype(Targmax if Targmax is not None else output_dtype or _dt.int64)
    if index_dtype not in (_dt.int32, _dt.int64):
        raise TypeError(f"{fn}: Targmax must be int32 or int64, got {index_dtype.name}")
    if ksize is None or strides is None or padding is None:
        raise TypeError(f"{fn} needs ksize, strides and padding")
    x = convert_to_tensor(input)
    if not x.shape.unknown_rank and len(x.shape) != 4:
        raise ShapeError(f"{fn}: the input '{x.name}' must have rank 4 (NHWC), got shape {fmt(x.shape)}")
    if x.dtype.is_bool or not (x.dtype.is_floating or x.dtype.is_integer):
        raise TypeError(f"{fn}: the input '{x.name}' must be a real number tensor, got {x.dtype.name}")
    attrs = {"ksize": spatial_pair(ksize, "ksize", fn), "strides": spatial_pair(strides, "strides", fn),
             "padding": padding_of(padding, fn, explicit=False), "Targmax": index_dtype,
             "include_batch_in_index": bool(include_batch_in_index)}
    return tuple(make_op("MaxPoolWithArgmax", [x], attrs, name=name or "MaxPoolWithArgmax").outputs)
