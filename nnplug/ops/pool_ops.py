"""Pooling: `MaxPool` and `AvgPool` on NHWC tensors with their backward ops (`MaxPoolGrad` routes each
output's gradient to the first maximum of its window in scan order, as TF's CPU kernel; `AvgPoolGrad`
spreads it evenly over the window's real pixels — SAME average pooling divides by the number of pixels
inside the input, as TF). NCHW by transposes around the op. The window arithmetic is conv_ops'."""
import numpy as np

from ..graph import convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .conv_ops import data_format_of, from_nhwc, geometry, padding_of, spatial_pair, to_nhwc
from .registry import register


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


def _pool_rule(floating):
    def rule(shapes, dtypes, attrs):
        if floating and not dtypes[0].is_floating:
            raise ShapeError(f"average pooling needs a floating-point input, got {dtypes[0].name}")
        if dtypes[0].name == "bool":
            raise ShapeError("cannot pool a bool tensor")
        return [(pool_geometry(shapes[0], attrs)[0], dtypes[0])]
    return rule


def _max_pool_grad_rule(shapes, dtypes, attrs):
    x, y, g = shapes
    out = pool_geometry(x, attrs)[0]
    for got, what in ((y, "the pooled output"), (g, "the gradient")):
        if len(got) != 4 or any(a is not None and b is not None and a != b for a, b in zip(got, out)):
            raise ShapeError(f"{what} has shape {fmt(got)}, but pooling the input gives {fmt(out)}")
    return [(TensorShape(x), dtypes[0])]


def _avg_pool_grad_rule(shapes, dtypes, attrs):
    g, x = shapes
    out = pool_geometry(x, attrs)[0]
    if len(g) != 4 or any(a is not None and b is not None and a != b for a, b in zip(g, out)):
        raise ShapeError(f"the gradient has shape {fmt(g)}, but pooling the input gives {fmt(out)}")
    return [(TensorShape(x), dtypes[0])]


def _pool_attrs(attrs):
    return {k: attrs[k] for k in ("ksize", "strides", "padding")}


def _grad_max_pool(op, g):
    return [make("MaxPoolGrad", [op.inputs[0], op.outputs[0], g], _pool_attrs(op.attrs))]


def _grad_avg_pool(op, g):
    return [make("AvgPoolGrad", [g, op.inputs[0]], _pool_attrs(op.attrs))]


def _grad_avg_pool_grad(op, gg):
    return [make("AvgPool", [gg], _pool_attrs(op.attrs)), None]


register("MaxPool", _pool_rule(False), grad=_grad_max_pool)
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


def max_pool(value=None, ksize=None, strides=None, padding=None, data_format="NHWC", name=None,
             input=None):  # noqa: A002
    """The maximum of each (ksize) window; padding never wins (SAME pads with -inf)."""
    return _pool("MaxPool", "max_pool", input if value is None else value, ksize, strides, padding, data_format, name)


def avg_pool(value=None, ksize=None, strides=None, padding=None, data_format="NHWC", name=None,
             input=None):  # noqa: A002
    """The mean of each window over the pixels inside the input (SAME padding is not counted)."""
    return _pool("AvgPool", "avg_pool", input if value is None else value, ksize, strides, padding, data_format, name)


max_pool2d = max_pool
avg_pool2d = avg_pool
