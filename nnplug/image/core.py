"""`tf.image` basics: shape checks, dtype conversion, crops and pads, flips, brightness, contrast and grayscale,
built from existing graph ops (gathers with constant indices, slices, pads, reductions), so every backend runs
them and gradients follow. Images are (height, width, channels) or (batch, height, width, channels); sizes, offsets and
crop shapes are Python ints (or constants), as TF1 programs give them."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant, convert_to_tensor, name_scope
from ..ops import math_ops as M
from ..ops.array_ops import concat, gather, shape
from ..ops.elementwise import cast, floor
from ..ops.manip_ops import pad, reverse, slice as _slice
from ..ops.random_ops import random_uniform
from ..ops.shape_values import constant_value
from ..shapes import ShapeError, fmt
from .._types import DTypeLike, TensorLike


# -- shapes -------------------------------------------------------------------------------------
def _image(image, fn, ranks=(3, 4), known_size=True):
    """The image as a tensor with a known rank in `ranks` (and, with known_size, known height and width)."""
    x = convert_to_tensor(image)
    if x.shape.unknown_rank or len(x.shape) not in ranks:
        raise ShapeError(f"{fn}: '{x.name}' must have rank {' or '.join(map(str, ranks))} "
                         f"((batch,) height, width, channels), got shape {fmt(x.shape)}")
    h, w = x.shape[-3], x.shape[-2]
    if known_size and (h is None or w is None):
        raise ShapeError(f"{fn}: '{x.name}' needs a known height and width, got shape {fmt(x.shape)}")
    return x


def _ints(values, n, what, fn):
    """`n` Python ints from ints, a list of them, or a constant tensor."""
    if isinstance(values, Tensor) or hasattr(values, "_as_tensor"):
        value = constant_value(convert_to_tensor(values))
        if value is None:
            raise TypeError(f"{fn}: {what} must be known when the graph is built (ints or a constant), "
                            f"got the tensor '{convert_to_tensor(values).name}'")
        values = value.tolist()
    out = [values] if np.ndim(values) == 0 else list(values)
    if len(out) != n or any(isinstance(v, bool) or not float(v).is_integer() for v in out):
        raise ValueError(f"{fn}: {what} must be {n} integer(s), got {values!r:.60}")
    return [int(v) for v in out]


def _hw_axes(x):
    return len(x.shape) - 3, len(x.shape) - 2


# -- dtype conversion ---------------------------------------------------------------------------
def convert_image_dtype(image: TensorLike, dtype: DTypeLike, saturate: bool = False,
                        name: str | None = None) -> Tensor:
    """TF1's conversion: floats are in [0, 1), integers span their type's range; int -> int rescales by a
    power of two, int -> float divides by the input's max, float -> int multiplies by (max + 0.5)."""
    x = convert_to_tensor(image)
    want = _dt.as_dtype(dtype)
    for d in (x.dtype, want):
        if not (d.is_floating or d.is_integer):
            raise TypeError(f"convert_image_dtype: '{x.name}' to {want.name}: only integer and floating dtypes "
                            f"are images, got {d.name}")
    if want == x.dtype:
        return x
    with name_scope(name, "convert_image"):
        if x.dtype.is_integer and want.is_integer:
            in_max, out_max = int(np.iinfo(x.dtype.np).max), int(np.iinfo(want.np).max)
            if in_max > out_max:
                return cast(M.floordiv(x, constant((in_max + 1) // (out_max + 1), dtype=x.dtype)), want)
            return M.multiply(cast(x, want), constant((out_max + 1) // (in_max + 1), dtype=want))
        if x.dtype.is_floating and want.is_floating:
            return cast(x, want)
        if x.dtype.is_integer:  # int -> float
            return M.multiply(cast(x, want), constant(1.0 / float(np.iinfo(x.dtype.np).max), dtype=want))
        scaled = M.multiply(x, constant(float(np.iinfo(want.np).max) + 0.5, dtype=x.dtype))  # float -> int
        if saturate:
            info = np.iinfo(want.np)
            scaled = M.clip_by_value(scaled, float(info.min), float(info.max))
        return cast(scaled, want)


def _in_float(image, fn, name):
    """Run fn on the image as float32 (floats as they are) and convert back to its dtype, saturating."""
    x = convert_to_tensor(image)
    with name_scope(name, fn.__name__):
        flt = convert_image_dtype(x, _dt.float32) if x.dtype.is_integer else x
        out = fn(flt)
        return convert_image_dtype(out, x.dtype, saturate=True) if x.dtype.is_integer else out


# -- crops and pads -----------------------------------------------------------------------------
def _check_box(x, fn, offset_height, offset_width, target_height, target_width, crop):
    h, w = x.shape[-3], x.shape[-2]
    if min(offset_height, offset_width) < 0 or min(target_height, target_width) <= 0:
        raise ValueError(f"{fn}: offsets must be >= 0 and targets > 0, got offsets ({offset_height}, "
                         f"{offset_width}) and targets ({target_height}, {target_width}) for '{x.name}'")
    inner, outer = ((target_height, target_width), (h, w)) if crop else ((h, w), (target_height, target_width))
    if offset_height + inner[0] > outer[0] or offset_width + inner[1] > outer[1]:
        raise ValueError(f"{fn}: a {inner[0]}x{inner[1]} box at offset ({offset_height}, {offset_width}) does "
                         f"not fit in {outer[0]}x{outer[1]} ('{x.name}' has shape {fmt(x.shape)})")


def crop_to_bounding_box(image: TensorLike, offset_height: int, offset_width: int, target_height: int,
                         target_width: int) -> Tensor:
    """image[..., offset_height : offset_height + target_height, offset_width : ..., :]."""
    x = _image(image, "crop_to_bounding_box")
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    _check_box(x, "crop_to_bounding_box", oh, ow, th, tw, crop=True)
    lead = [0] * (len(x.shape) - 3)
    with name_scope(None, "crop_to_bounding_box"):
        return _slice(x, lead + [oh, ow, 0], [-1] * len(lead) + [th, tw, -1])


def pad_to_bounding_box(image: TensorLike, offset_height: int, offset_width: int, target_height: int,
                        target_width: int) -> Tensor:
    """Zeros around the image: `offset_*` rows/columns before it, the rest of `target_*` after it."""
    x = _image(image, "pad_to_bounding_box")
    oh, ow, th, tw = (int(v) for v in (offset_height, offset_width, target_height, target_width))
    _check_box(x, "pad_to_bounding_box", oh, ow, th, tw, crop=False)
    h, w = x.shape[-3], x.shape[-2]
    lead = [[0, 0]] * (len(x.shape) - 3)
    with name_scope(None, "pad_to_bounding_box"):
        return pad(x, lead + [[oh, th - oh - h], [ow, tw - ow - w], [0, 0]])


def resize_image_with_crop_or_pad(image: TensorLike, target_height: int, target_width: int) -> Tensor:
    """Crops the centre of, or pads zeros evenly around, each spatial axis to reach the target size."""
    x = _image(image, "resize_image_with_crop_or_pad")
    th, tw = int(target_height), int(target_width)
    if th <= 0 or tw <= 0:
        raise ValueError(f"resize_image_with_crop_or_pad: targets must be > 0, got ({th}, {tw}) for '{x.name}'")
    h, w = x.shape[-3], x.shape[-2]
    crop_h, crop_w = max((h - th) // 2, 0), max((w - tw) // 2, 0)
    pad_h, pad_w = max((th - h) // 2, 0), max((tw - w) // 2, 0)
    cropped = crop_to_bounding_box(x, crop_h, crop_w, min(th, h), min(tw, w))
    return pad_to_bounding_box(cropped, pad_h, pad_w, th, tw)


def central_crop(image: TensorLike, central_fraction: float) -> Tensor:
    """The central `central_fraction` of the height and width (TF1's rounding of the box)."""
    x = _image(image, "central_crop")
    fraction = float(central_fraction)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"central_crop: central_fraction must be in (0, 1], got {central_fraction!r} for '{x.name}'")
    if fraction == 1.0:
        return x
    h, w = x.shape[-3], x.shape[-2]
    start_h, start_w = int((h - h * fraction) / 2), int((w - w * fraction) / 2)
    return crop_to_bounding_box(x, start_h, start_w, h - 2 * start_h, w - 2 * start_w)


def random_crop(value: TensorLike, size: Sequence[int], seed: int | None = None, name: str | None = None) -> Tensor:
    """A `size` slice of `value` at a uniformly drawn offset (each offset drawn anew every run)."""
    x = convert_to_tensor(value)
    if x.shape.unknown_rank or not x.shape.is_fully_defined():
        raise ShapeError(f"random_crop: '{x.name}' needs a fully known shape, got {fmt(x.shape)}")
    dims = list(x.shape)
    size = _ints(size, len(dims), "size", "random_crop")
    if any(s <= 0 or s > d for s, d in zip(size, dims)):
        raise ValueError(f"random_crop: size {size} must be positive and fit in the shape {fmt(x.shape)} of "
                         f"'{x.name}'")
    with name_scope(name, "random_crop"):
        limits = np.array([d - s + 1 for d, s in zip(dims, size)], np.float32)
        draws = floor(random_uniform([len(dims)], seed=seed) * constant(limits))
        offsets = cast(M.minimum(draws, constant(limits - 1)), _dt.int32)
        for axis, (s, d) in enumerate(zip(size, dims)):
            if s < d:
                x = gather(x, offsets[axis] + constant(np.arange(s, dtype=np.int32)), axis=axis)
        return x


# -- flips --------------------------------------------------------------------------------------
def flip_left_right(image: TensorLike) -> Tensor:
    x = _image(image, "flip_left_right")
    return reverse(x, [_hw_axes(x)[1]], name="flip_left_right")


def flip_up_down(image: TensorLike) -> Tensor:
    x = _image(image, "flip_up_down")
    return reverse(x, [_hw_axes(x)[0]], name="flip_up_down")


def _random_flip(image, seed, flip, default):
    """Each image flipped with probability 1/2 (one draw for a single image, one per image of a batch)."""
    x = _image(image, default)
    with name_scope(None, default):
        n = [] if len(x.shape) == 3 else [x.shape[0] if x.shape[0] is not None else shape(x)[0]]
        mirror = M.less(random_uniform(n, seed=seed), 0.5)
        return M.where(mirror, flip(x), x)


def random_flip_left_right(image: TensorLike, seed: int | None = None) -> Tensor:
    return _random_flip(image, seed, flip_left_right, "random_flip_left_right")


def random_flip_up_down(image: TensorLike, seed: int | None = None) -> Tensor:
    return _random_flip(image, seed, flip_up_down, "random_flip_up_down")


# -- colour -------------------------------------------------------------------------------------
def _scalar(value, dtype):
    """A Python number or a tensor (a random draw) as a scalar of the image's float dtype."""
    t = convert_to_tensor(value)
    return t if t.dtype == dtype else cast(t, dtype)


def adjust_brightness(image: TensorLike, delta: float | TensorLike) -> Tensor:
    """image + delta, in float [0, 1) units for integer images (converted back, saturating)."""
    return _in_float(image, lambda f: f + _scalar(delta, f.dtype), "adjust_brightness")


def adjust_contrast(images: TensorLike, contrast_factor: float | TensorLike) -> Tensor:
    """(x - mean) * contrast_factor + mean, with the mean of each channel over each image's height and width."""
    x = _image(images, "adjust_contrast")
    ha, wa = _hw_axes(x)

    def contrast(f):
        mean = M.reduce_mean(f, axis=[ha, wa], keepdims=True)
        return (f - mean) * _scalar(contrast_factor, f.dtype) + mean
    return _in_float(x, contrast, "adjust_contrast")


def _check_range(fn, lower, upper):
    if not upper > lower:
        raise ValueError(f"{fn}: upper ({upper}) must be > lower ({lower})")
    if lower < 0:
        raise ValueError(f"{fn}: lower ({lower}) must be non-negative")


def random_brightness(image: TensorLike, max_delta: float, seed: int | None = None) -> Tensor:
    """adjust_brightness by a delta drawn uniformly from [-max_delta, max_delta) each run."""
    if max_delta < 0:
        raise ValueError(f"random_brightness: max_delta ({max_delta}) must be non-negative")
    return adjust_brightness(image, random_uniform([], -float(max_delta), float(max_delta), seed=seed))


def random_contrast(image: TensorLike, lower: float, upper: float, seed: int | None = None) -> Tensor:
    """adjust_contrast by a factor drawn uniformly from [lower, upper) each run."""
    _check_range("random_contrast", lower, upper)
    return adjust_contrast(image, random_uniform([], float(lower), float(upper), seed=seed))


def per_image_standardization(image: TensorLike) -> Tensor:
    """(x - mean) / max(stddev, 1/sqrt(N)) over each image's N = height*width*channels values; float32."""
    x = _image(image, "per_image_standardization")
    if x.shape[-1] is None:
        raise ShapeError(f"per_image_standardization: '{x.name}' needs known channels, got {fmt(x.shape)}")
    axes = [-3, -2, -1]
    n = x.shape[-3] * x.shape[-2] * x.shape[-1]
    with name_scope(None, "per_image_standardization"):
        f = cast(x, _dt.float32)
        mean = M.reduce_mean(f, axis=axes, keepdims=True)
        std = M.sqrt(M.reduce_mean(M.square(f - mean), axis=axes, keepdims=True))
        return (f - mean) / M.maximum(std, constant(1.0 / np.sqrt(n), dtype=_dt.float32))


_RGB_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])


def rgb_to_grayscale(images: TensorLike, name: str | None = None) -> Tensor:
    """The luma 0.2989 R + 0.5870 G + 0.1140 B, keeping a last axis of 1 and the dtype."""
    x = convert_to_tensor(images)
    if x.shape.unknown_rank or x.shape[-1] != 3:
        raise ShapeError(f"rgb_to_grayscale: '{x.name}' needs a last axis of 3 channels, got {fmt(x.shape)}")
    return _in_float(x, lambda f: M.reduce_sum(f * constant(_RGB_WEIGHTS.astype(f.dtype.np)), axis=-1,
                                               keepdims=True), name or "rgb_to_grayscale")


def grayscale_to_rgb(images: TensorLike, name: str | None = None) -> Tensor:
    """The one channel repeated three times."""
    x = convert_to_tensor(images)
    if x.shape.unknown_rank or x.shape[-1] != 1:
        raise ShapeError(f"grayscale_to_rgb: '{x.name}' needs a last axis of 1 channel, got {fmt(x.shape)}")
    with name_scope(name, "grayscale_to_rgb"):
        return concat([x, x, x], axis=-1)
