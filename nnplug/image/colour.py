"""TF1's colour spaces and colour adjustments as compositions of elementwise ops (every backend runs them and
gradients follow): HSV with TF's kernel formulas (hue in [0, 1), from the largest channel), YIQ and YUV as
TF's 3x3 matrices, and hue, saturation and gamma adjustments that work in float32 and convert back."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant, convert_to_tensor, name_scope
from ..ops import math_ops as M
from ..ops.array_ops import concat, expand_dims
from ..ops.elementwise import floormod
from ..ops.random_ops import random_uniform
from ..shapes import ShapeError, fmt
from .._types import TensorLike
from .core import _check_range, _scalar, convert_image_dtype


def _rgb(images, fn):
    x = convert_to_tensor(images)
    if x.shape.unknown_rank or x.shape[-1] != 3:
        raise ShapeError(f"{fn}: '{x.name}' needs a last axis of 3 channels, got shape {fmt(x.shape)}")
    if not x.dtype.is_floating:
        raise TypeError(f"{fn}: '{x.name}' must be a float image (convert_image_dtype first), got {x.dtype.name}")
    return x


def _channels(x):
    return [x[..., c:c + 1] for c in range(3)]


def rgb_to_hsv(images: TensorLike, name: str | None = None) -> Tensor:
    """Hue, saturation, value in [0, 1] of float RGB images (TF's RGBToHSV formulas)."""
    x = _rgb(images, "rgb_to_hsv")
    with name_scope(name, "rgb_to_hsv"):
        r, g, b = _channels(x)
        zero, one = constant(0, dtype=x.dtype), constant(1, dtype=x.dtype)
        value = M.maximum(M.maximum(r, g), b)
        spread = value - M.minimum(M.minimum(r, g), b)
        saturation = M.where(M.greater(value, zero), spread / M.where(M.greater(value, zero), value, one), zero)
        has_hue = M.greater(spread, zero)
        norm = one / (constant(6, dtype=x.dtype) * M.where(has_hue, spread, one))
        hue = M.where(M.equal(r, value), norm * (g - b),
                      M.where(M.equal(g, value), norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0))
        hue = M.where(has_hue, hue, zero)
        hue = M.where(M.less(hue, zero), hue + one, hue)
        return concat([hue, saturation, value], axis=-1)


def hsv_to_rgb(images: TensorLike, name: str | None = None) -> Tensor:
    """RGB of float HSV images (TF's HSVToRGB: each channel a clamped tent of hue * 6)."""
    x = _rgb(images, "hsv_to_rgb")
    with name_scope(name, "hsv_to_rgb"):
        h, s, v = _channels(x)
        dh = h * 6.0

        def clamp(t):
            return M.clip_by_value(t, 0.0, 1.0)
        dr = clamp(M.abs(dh - 3.0) - 1.0)
        dg = clamp(2.0 - M.abs(dh - 2.0))
        db = clamp(2.0 - M.abs(dh - 4.0))
        one_s = 1.0 - s
        return concat([(one_s + s * d) * v for d in (dr, dg, db)], axis=-1)


def _matrix(images, kernel, fn, name):
    """Each pixel's 3 channels times the 3x3 kernel (rows: input channels)."""
    x = _rgb(images, fn)
    with name_scope(name, fn):
        k = constant(np.asarray(kernel, np.float64).astype(x.dtype.np))
        return M.reduce_sum(expand_dims(x, -1) * k, axis=-2)


_RGB_TO_YIQ = [[0.299, 0.59590059, 0.2115], [0.587, -0.27455667, -0.52273617], [0.114, -0.32134392, 0.31119955]]
_YIQ_TO_RGB = [[1, 1, 1], [0.95598634, -0.27201283, -1.10674021], [0.6208248, -0.64720424, 1.70423049]]
_RGB_TO_YUV = [[0.299, -0.14714119, 0.61497538], [0.587, -0.28886916, -0.51496512], [0.114, 0.43601035, -0.10001026]]
_YUV_TO_RGB = [[1, 1, 1], [0, -0.394642334, 2.03206185], [1.13988303, -0.58062185, 0]]


def rgb_to_yiq(images: TensorLike) -> Tensor:
    return _matrix(images, _RGB_TO_YIQ, "rgb_to_yiq", None)


def yiq_to_rgb(images: TensorLike) -> Tensor:
    return _matrix(images, _YIQ_TO_RGB, "yiq_to_rgb", None)


def rgb_to_yuv(images: TensorLike) -> Tensor:
    return _matrix(images, _RGB_TO_YUV, "rgb_to_yuv", None)


def yuv_to_rgb(images: TensorLike) -> Tensor:
    return _matrix(images, _YUV_TO_RGB, "yuv_to_rgb", None)


def _as_float32(image, fn, name, body, saturate=False):
    """TF's recipe: float16/float32 images as they are, others converted to float32 and back."""
    x = convert_to_tensor(image)
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise TypeError(f"{fn}: '{x.name}' must be a numeric image, got {x.dtype.name}")
    with name_scope(name, fn):
        flt = x if x.dtype in (_dt.float16, _dt.float32) else convert_image_dtype(x, _dt.float32)
        return convert_image_dtype(body(flt), x.dtype, saturate=saturate)


def adjust_hue(image: TensorLike, delta: float | TensorLike, name: str | None = None) -> Tensor:
    """Rotate the hue by `delta` (in [-1, 1], a fraction of the colour circle)."""
    if not isinstance(delta, Tensor) and not hasattr(delta, "_as_tensor") and not -1 <= float(delta) <= 1:
        raise ValueError(f"adjust_hue: delta must be in the interval [-1, 1], got {delta!r}")

    def body(f):
        h, s, v = _channels(rgb_to_hsv(f))
        h = floormod(h + _scalar(delta, f.dtype), constant(1, dtype=f.dtype))
        return hsv_to_rgb(concat([h, s, v], axis=-1))
    return _as_float32(image, "adjust_hue", name, body)


def adjust_saturation(image: TensorLike, saturation_factor: float | TensorLike, name: str | None = None) -> Tensor:
    """Multiply the HSV saturation by `saturation_factor`, clipped to [0, 1]."""
    def body(f):
        h, s, v = _channels(rgb_to_hsv(f))
        s = M.clip_by_value(s * _scalar(saturation_factor, f.dtype), 0.0, 1.0)
        return hsv_to_rgb(concat([h, s, v], axis=-1))
    return _as_float32(image, "adjust_saturation", name, body)


def adjust_gamma(image: TensorLike, gamma: float | TensorLike = 1, gain: float | TensorLike = 1) -> Tensor:
    """gain * image ** gamma, in [0, 1) float units for integer images (converted back, saturating)."""
    if not isinstance(gamma, Tensor) and not hasattr(gamma, "_as_tensor") and float(gamma) < 0:
        raise ValueError(f"adjust_gamma: gamma should be a non-negative real number, got {gamma!r}")

    def body(f):
        return _scalar(gain, f.dtype) * M.pow(f, _scalar(gamma, f.dtype))
    return _as_float32(image, "adjust_gamma", None, body, saturate=True)


def random_hue(image: TensorLike, max_delta: float, seed: int | None = None) -> Tensor:
    """adjust_hue by a delta drawn uniformly from [-max_delta, max_delta) each run (max_delta <= 0.5)."""
    if max_delta > 0.5:
        raise ValueError(f"random_hue: max_delta must be <= 0.5, got {max_delta}")
    if max_delta < 0:
        raise ValueError(f"random_hue: max_delta must be non-negative, got {max_delta}")
    return adjust_hue(image, random_uniform([], -float(max_delta), float(max_delta), seed=seed))


def random_saturation(image: TensorLike, lower: float, upper: float, seed: int | None = None) -> Tensor:
    """adjust_saturation by a factor drawn uniformly from [lower, upper) each run."""
    _check_range("random_saturation", lower, upper)
    return adjust_saturation(image, random_uniform([], float(lower), float(upper), seed=seed))
