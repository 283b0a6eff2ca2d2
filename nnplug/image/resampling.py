"""TF1's resizes with its legacy pixel rule (source = destination * in/out, no half-pixel centres): bilinear,
nearest neighbour, bicubic (Keys' kernel with a = -0.75 at TF's 1/1024 steps, edge taps clamped) and area
(box averages). Each axis is resampled on its own: nearest by a gather, the others as a weight matrix
(out, in) applied along the axis (bilinear keeps its gathers). Images of known height and width resize with graph ops, so gradients
follow; images whose size is known only when the plan is compiled (a decoded file) resize by the
`ImageResize` composite, expanded into the same primitives for the concrete shapes, with an
`ImageResizeGrad` composite (the weights transposed) as its gradient."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant, make, name_scope
from ..ops.array_ops import gather, reshape, transpose
from ..ops.elementwise import cast
from ..ops.math_ops import matmul
from ..ops.registry import register
from ..shapes import ShapeError, TensorShape, fmt
from .._types import TensorLike
from .core import _hw_axes, _ints, _image, pad_to_bounding_box


class ResizeMethod:
    """TF1's method numbers; `resize` also takes the v2 names ('bilinear', 'nearest', 'bicubic', 'area')."""
    BILINEAR = 0
    NEAREST_NEIGHBOR = 1
    BICUBIC = 2
    AREA = 3


_METHODS = {0: "bilinear", 1: "nearest", 2: "bicubic", 3: "area", "bilinear": "bilinear", "nearest": "nearest",
            "bicubic": "bicubic", "area": "area"}


def _method(method, fn):
    key = method if isinstance(method, str) else int(method) if np.ndim(method) == 0 else None
    if key not in _METHODS:
        raise ValueError(f"{fn}: resize method {method!r} is not implemented (ResizeMethod.BILINEAR, "
                         f"NEAREST_NEIGHBOR, BICUBIC, AREA or 'bilinear', 'nearest', 'bicubic', 'area')")
    return _METHODS[key]


# -- weights of one axis --------------------------------------------------------------------------
def _scale(in_size, out_size, align_corners):
    if align_corners and out_size > 1:
        return (in_size - 1) / (out_size - 1)
    return in_size / out_size


def nearest_indices(in_size, out_size, align_corners):
    src = np.arange(out_size, dtype=np.float64) * _scale(in_size, out_size, align_corners)
    return np.minimum(np.round(src) if align_corners else np.floor(src), in_size - 1).astype(np.int32)


def _keys_cubic(t, a=-0.75):
    t = np.abs(t)
    return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                    np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))


def axis_weights(method, in_size, out_size, align_corners):
    """The (out_size, in_size) float64 matrix taking one axis of the input to the output."""
    w = np.zeros((out_size, in_size))
    rows = np.arange(out_size)
    scale = _scale(in_size, out_size, align_corners)
    src = rows * scale
    if method == "nearest":
        w[rows, nearest_indices(in_size, out_size, align_corners)] = 1.0
    elif method == "bilinear":
        lo = np.floor(src).astype(np.int64)
        frac = src - lo
        np.add.at(w, (rows, lo), 1 - frac)
        np.add.at(w, (rows, np.minimum(lo + 1, in_size - 1)), frac)
    elif method == "bicubic":
        base = np.floor(src).astype(np.int64)
        frac = np.rint((src - base) * 1024) / 1024  # TF reads the weights from a table of 1024 steps
        for tap in (-1, 0, 1, 2):
            np.add.at(w, (rows, np.clip(base + tap, 0, in_size - 1)), _keys_cubic(frac - tap))
    else:  # area: the share of each input pixel inside [src, src + scale), over scale
        for o in rows:
            start, end = o * scale, (o + 1) * scale
            for i in range(int(np.floor(start)), int(np.ceil(end))):
                cover = min(i + 1.0, end) - max(float(i), start)
                w[o, min(i, in_size - 1)] += cover / scale
    return w


# -- applying them ----------------------------------------------------------------------------
def _along(x_shape, axis, w, ops):
    """Steps (with `ops` = transpose, reshape, matmul, const) applying w along `axis` of a tensor of x_shape."""
    rank = len(x_shape)
    perm = [a for a in range(rank) if a != axis] + [axis]
    moved = [x_shape[a] for a in perm]
    inverse = list(np.argsort(perm))
    t, r, mm, const = ops

    def apply(x):
        flat = r(t(x, perm), (int(np.prod(moved[:-1])), moved[-1]))
        out = mm(flat, const(w.T))
        return t(r(out, tuple(moved[:-1]) + (w.shape[0],)), inverse)
    return apply


def _graph_ops(dtype):
    return (lambda x, p: transpose(x, p), lambda x, s: reshape(x, list(s)), matmul,
            lambda a: constant(a.astype(dtype.np)))


def _bilinear_gathers(x, axis, in_size, out_size, align_corners):
    """Bilinear along one axis by two gathers and a lerp (TF1's legacy rule)."""
    src = np.arange(out_size, dtype=np.float64) * _scale(in_size, out_size, align_corners)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = (src - lo).astype(x.dtype.np).reshape([out_size if a == axis else 1 for a in range(len(x.shape))])
    a, b = gather(x, constant(lo.astype(np.int32)), axis=axis), gather(x, constant(hi.astype(np.int32)), axis=axis)
    return a + (b - a) * constant(frac)


def _static_resize(x, method, new_h, new_w, align_corners):
    if method != "nearest" and x.dtype != _dt.float32:
        x = cast(x, _dt.float32)
    for axis, out in zip(_hw_axes(x), (new_h, new_w)):
        size = x.shape[axis]
        if size == out:
            continue
        if method == "nearest":
            x = gather(x, constant(nearest_indices(size, out, align_corners)), axis=axis)
        elif method == "bilinear":
            x = _bilinear_gathers(x, axis, size, out, align_corners)
        else:
            x = _along(tuple(x.shape), axis, axis_weights(method, size, out, align_corners), _graph_ops(x.dtype))(x)
    return x


def _resize(images, size, method, align_corners, name, fn):
    x = _image(images, fn, known_size=False)
    new_h, new_w = _ints(size, 2, "size", fn)
    if new_h <= 0 or new_w <= 0:
        raise ValueError(f"{fn}: size must be positive, got {[new_h, new_w]} for '{x.name}'")
    with name_scope(name, fn):
        if x.shape[-3] is None or x.shape[-2] is None:
            return make("ImageResize", [x], {"method": method, "size": (new_h, new_w),
                                             "align_corners": bool(align_corners)}, name=fn)
        return _static_resize(x, method, new_h, new_w, align_corners)


def _no_half_pixel(fn, half_pixel_centers):
    if half_pixel_centers:
        raise NotImplementedError(f"{fn}: half_pixel_centers=True is not supported (TF1's legacy rule only)")


def resize_bilinear(images: TensorLike, size: Sequence[int] | TensorLike, align_corners: bool = False,
                    name: str | None = None, half_pixel_centers: bool = False) -> Tensor:
    """Bilinear resize to `size` = (height, width); float32 out, as TF1."""
    _no_half_pixel("resize_bilinear", half_pixel_centers)
    return _resize(images, size, "bilinear", align_corners, name, "resize_bilinear")


def resize_nearest_neighbor(images: TensorLike, size: Sequence[int] | TensorLike, align_corners: bool = False,
                            name: str | None = None, half_pixel_centers: bool = False) -> Tensor:
    """Nearest-neighbour resize (source = floor(dst * scale), rounded with align_corners); keeps the dtype."""
    _no_half_pixel("resize_nearest_neighbor", half_pixel_centers)
    return _resize(images, size, "nearest", align_corners, name, "resize_nearest_neighbor")


def resize_bicubic(images: TensorLike, size: Sequence[int] | TensorLike, align_corners: bool = False,
                   name: str | None = None, half_pixel_centers: bool = False) -> Tensor:
    """Bicubic resize (Keys' cubic, a = -0.75, the four taps clamped to the edge); float32 out."""
    _no_half_pixel("resize_bicubic", half_pixel_centers)
    return _resize(images, size, "bicubic", align_corners, name, "resize_bicubic")


def resize_area(images: TensorLike, size: Sequence[int] | TensorLike, align_corners: bool = False,
                name: str | None = None) -> Tensor:
    """Each output pixel the average of the input area it covers (fractional pixels weighted); float32."""
    return _resize(images, size, "area", align_corners, name, "resize_area")


def resize_images(images: TensorLike, size: Sequence[int] | TensorLike, method: int | str = ResizeMethod.BILINEAR,
                  align_corners: bool = False, preserve_aspect_ratio: bool = False, name: str | None = None) -> Tensor:
    """TF1's resize_images (also `tf.image.resize` in TF1): the same size returns the images; nearest keeps
    the dtype, the other methods give float32."""
    kind = _method(method, "resize_images")
    x = _image(images, "resize_images", known_size=False)
    new_h, new_w = _ints(size, 2, "size", "resize_images")
    h, w = x.shape[-3], x.shape[-2]
    if preserve_aspect_ratio:
        if h is None or w is None:
            raise ShapeError(f"resize_images: preserve_aspect_ratio needs a known height and width, '{x.name}' "
                             f"has shape {fmt(x.shape)}")
        factor = min(np.float32(new_h) / np.float32(h), np.float32(new_w) / np.float32(w))
        new_h, new_w = int(np.round(np.float32(factor * h))), int(np.round(np.float32(factor * w)))
    if (new_h, new_w) == (h, w):
        return x
    return _resize(x, (new_h, new_w), kind, align_corners, name or "resize_images", "resize_images")


resize = resize_images


def resize_image_with_pad(image: TensorLike, target_height: int, target_width: int,
                          method: int | str = ResizeMethod.BILINEAR, align_corners: bool = False) -> Tensor:
    """Resize keeping the aspect ratio so the image fits the target, then pad zeros evenly around it."""
    x = _image(image, "resize_image_with_pad")
    th, tw = _ints([target_height, target_width], 2, "target size", "resize_image_with_pad")
    if th <= 0 or tw <= 0:
        raise ValueError(f"resize_image_with_pad: targets must be > 0, got ({th}, {tw}) for '{x.name}'")
    f32 = np.float32
    h, w = f32(x.shape[-3]), f32(x.shape[-2])
    ratio = max(w / f32(tw), h / f32(th))
    rh, rw = h / ratio, w / ratio
    pad_h, pad_w = max(0, int(np.floor((f32(th) - rh) / 2))), max(0, int(np.floor((f32(tw) - rw) / 2)))
    resized = resize_images(x, (int(np.floor(rh)), int(np.floor(rw))), method, align_corners)
    return pad_to_bounding_box(resized, pad_h, pad_w, th, tw)


# -- images sized at compile time -------------------------------------------------------------------
def _resize_rule(shapes, dtypes, attrs):
    x = shapes[0]
    if x.unknown_rank or len(x) not in (3, 4):
        raise ShapeError(f"resize needs an image of rank 3 or 4, got shape {fmt(x)}")
    dtype = dtypes[0] if attrs["method"] == "nearest" else _dt.float32
    return [(TensorShape(tuple(x[:-3]) + tuple(attrs["size"]) + (x[-1],)), dtype)]


def _builder_ops(b, dtype):
    return (lambda x, p: b.emit("Transpose", [x], {"perm": tuple(int(a) for a in p)}),
            lambda x, s: b.emit("Reshape", [x], {"shape": tuple(s)}),
            lambda a, c: b.emit("MatMul", [a, c], {"transpose_a": False, "transpose_b": False}),
            lambda a: b.constant(a.astype(dtype.np), dtype))


def _expand_resize(b, ins, attrs):
    x = ins[0]
    method, align = attrs["method"], attrs["align_corners"]
    if method != "nearest" and x.dtype != _dt.float32:
        x = b.emit("Cast", [x], {"dtype": _dt.float32})
    rank = len(x.shape)
    for axis, out in zip((rank - 3, rank - 2), attrs["size"]):
        size = x.shape[axis]
        if size == out:
            continue
        if method == "nearest":
            x = b.emit("Gather", [x, b.constant(nearest_indices(size, out, align), _dt.int32)], {"axis": axis})
        else:
            x = _along(tuple(x.shape), axis, axis_weights(method, size, out, align), _builder_ops(b, x.dtype))(x)
    return [x]


def _expand_resize_grad(b, ins, attrs):
    g, x = ins
    rank = len(x.shape)
    for axis in (rank - 3, rank - 2):
        w = axis_weights(attrs["method"], x.shape[axis], g.shape[axis], attrs["align_corners"]).T
        if w.shape[0] != w.shape[1] or not np.array_equal(w, np.eye(w.shape[0])):
            g = _along(tuple(g.shape), axis, w, _builder_ops(b, g.dtype))(g)
    return [g if g.dtype == x.dtype else b.emit("Cast", [g], {"dtype": x.dtype})]


def _grad_resize(op, g):
    if not op.inputs[0].dtype.is_floating:
        return [None]
    return [make("ImageResizeGrad", [g, op.inputs[0]], dict(op.attrs))]


register("ImageResize", _resize_rule, grad=_grad_resize, expand=_expand_resize)
register("ImageResizeGrad", lambda s, d, a: [(s[1], d[1])], expand=_expand_resize_grad, shape_inputs={1})
