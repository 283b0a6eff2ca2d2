"""TF1's image measures as compositions: total variation, forward-difference gradients, Sobel edges (the two
3x3 kernels over the reflect-padded image, as shifted slices), PSNR and (multi-scale) SSIM. SSIM's 2-D
Gaussian window is separable, so its 'VALID' filtering is two banded matrices applied along the height and
the width."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant, convert_to_tensor, name_scope
from ..ops import math_ops as M
from ..ops.array_ops import concat, stack
from ..ops.manip_ops import pad
from ..shapes import ShapeError, fmt
from .._types import TensorLike
from .core import _image, convert_image_dtype
from .resampling import _along, _graph_ops


def total_variation(images: TensorLike, name: str | None = None) -> Tensor:
    """The sum of absolute differences of neighbouring pixels; one number per image of a batch."""
    x = convert_to_tensor(images)
    if x.shape.unknown_rank or len(x.shape) not in (3, 4):
        raise ValueError(f"total_variation: 'images' must be either 3 or 4-dimensional, got {fmt(x.shape)}")
    with name_scope(name, "total_variation"):
        if len(x.shape) == 3:
            dy, dx, axes = x[1:, :, :] - x[:-1, :, :], x[:, 1:, :] - x[:, :-1, :], None
        else:
            dy, dx, axes = x[:, 1:, :, :] - x[:, :-1, :, :], x[:, :, 1:, :] - x[:, :, :-1, :], [1, 2, 3]
        return M.reduce_sum(M.abs(dy), axis=axes) + M.reduce_sum(M.abs(dx), axis=axes)


def image_gradients(image: TensorLike) -> tuple[Tensor, Tensor]:
    """(dy, dx): forward differences I(y+1, x) - I(y, x) and I(y, x+1) - I(y, x), zero in the last row/column."""
    x = _image(image, "image_gradients", ranks=(4,))
    with name_scope(None, "image_gradients"):
        dy = x[:, 1:, :, :] - x[:, :-1, :, :]
        dx = x[:, :, 1:, :] - x[:, :, :-1, :]
        return concat([dy, M.zeros_like(x[:, :1, :, :])], axis=1), concat([dx, M.zeros_like(x[:, :, :1, :])], axis=2)


_SOBEL = (np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]), np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]))


def sobel_edges(image: TensorLike) -> Tensor:
    """(batch, h, w, channels, 2): the y and x Sobel responses of each channel (reflect padding)."""
    x = _image(image, "sobel_edges", ranks=(4,))
    if not x.dtype.is_floating:
        raise TypeError(f"sobel_edges: '{x.name}' must be a float image, got {x.dtype.name}")
    h, w = x.shape[1], x.shape[2]
    with name_scope(None, "sobel_edges"):
        padded = pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
        outs = []
        for kernel in _SOBEL:
            terms = [padded[:, i:i + h, j:j + w, :] * float(kernel[i, j])
                     for i in range(3) for j in range(3) if kernel[i, j]]
            outs.append(M.add_n(terms))
        return stack(outs, axis=-1)


def _pair(a, b, fn):
    x, y = convert_to_tensor(a), convert_to_tensor(b)
    if x.dtype != y.dtype:
        raise TypeError(f"{fn}: '{x.name}' and '{y.name}' must have one dtype, got {x.dtype.name} and {y.dtype.name}")
    if x.shape.unknown_rank or y.shape.unknown_rank or len(x.shape) < 3 or not x.shape.is_compatible_with(y.shape):
        raise ShapeError(f"{fn}: '{x.name}' {fmt(x.shape)} and '{y.name}' {fmt(y.shape)} must be images of one "
                         f"shape (..., height, width, channels)")
    return x, y


def _max_val(max_val, dtype):
    """TF's max_val: cast to the images' dtype, then converted like the images (255 for uint8 is 1.0)."""
    return convert_image_dtype(M.cast(convert_to_tensor(max_val), dtype), _dt.float32)


def psnr(a: TensorLike, b: TensorLike, max_val: float | TensorLike, name: str | None = None) -> Tensor:
    """20 log10(max_val) - 10 log10(mse), with the mean squared error over each image's last three axes."""
    x, y = _pair(a, b, "psnr")
    with name_scope(name, "PSNR"):
        peak = _max_val(max_val, x.dtype)
        fx, fy = convert_image_dtype(x, _dt.float32), convert_image_dtype(y, _dt.float32)
        mse = M.reduce_mean(M.square(fx - fy), axis=[-3, -2, -1])
        return 20.0 * M.log(peak) / float(np.log(10.0)) - np.float32(10 / np.log(10)) * M.log(mse)


def _gauss_1d(size, sigma):
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-0.5 * coords ** 2 / sigma ** 2)
    return g / g.sum()


def _valid_filter(n, taps):
    """The (n - len(taps) + 1, n) matrix of a 'VALID' correlation with taps."""
    k = len(taps)
    m = np.zeros((n - k + 1, n))
    for o in range(n - k + 1):
        m[o, o:o + k] = taps
    return m


def _ssim_per_channel(x, y, max_val, filter_size, filter_sigma, k1, k2):
    """(mean of luminance * contrast-structure, mean of contrast-structure) per channel."""
    h, w = x.shape[-3], x.shape[-2]
    if h is None or w is None or min(h, w) < filter_size:
        raise ValueError(f"ssim: images of shape {fmt(x.shape)} must be at least filter_size = {filter_size} "
                         f"pixels high and wide")
    taps = _gauss_1d(filter_size, filter_sigma)
    rank = len(x.shape)

    def reducer(t):
        t = _along(tuple(t.shape), rank - 3, _valid_filter(h, taps), _graph_ops(t.dtype))(t)
        return _along(tuple(t.shape), rank - 2, _valid_filter(w, taps), _graph_ops(t.dtype))(t)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mean0, mean1 = reducer(x), reducer(y)
    num0 = mean0 * mean1 * 2.0
    den0 = M.square(mean0) + M.square(mean1)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = reducer(x * y) * 2.0
    den1 = reducer(M.square(x) + M.square(y))
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    return M.reduce_mean(luminance * cs, axis=[-3, -2]), M.reduce_mean(cs, axis=[-3, -2])


def _ssim_inputs(img1, img2, max_val, fn):
    x, y = _pair(img1, img2, fn)
    if any(d is None for d in x.shape[-3:]):
        raise ShapeError(f"{fn}: '{x.name}' needs a known height, width and channels, got {fmt(x.shape)}")
    return convert_image_dtype(x, _dt.float32), convert_image_dtype(y, _dt.float32), _max_val(max_val, x.dtype)


def ssim(img1: TensorLike, img2: TensorLike, max_val: float | TensorLike, filter_size: int = 11,
         filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> Tensor:
    """TF's SSIM: an 11x11 Gaussian window (sigma 1.5, 'VALID'), averaged over positions and channels."""
    with name_scope(None, "SSIM"):
        x, y, peak = _ssim_inputs(img1, img2, max_val, "ssim")
        value, _ = _ssim_per_channel(x, y, peak, int(filter_size), float(filter_sigma), k1, k2)
        return M.reduce_mean(value, axis=[-1])


_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _halve(n):
    """2x2 average pooling of one axis after TF's symmetric padding of an odd length."""
    m = np.zeros(((n + 1) // 2, n))
    for o in range(m.shape[0]):
        m[o, 2 * o] += 0.5
        m[o, min(2 * o + 1, n - 1)] += 0.5
    return m


def ssim_multiscale(img1: TensorLike, img2: TensorLike, max_val: float | TensorLike,
                    power_factors: Sequence[float] = _MS_SSIM_WEIGHTS, filter_size: int = 11,
                    filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> Tensor:
    """TF's MS-SSIM: contrast-structure at each scale but the last, SSIM at the last, each to its power."""
    with name_scope(None, "MS-SSIM"):
        x, y, peak = _ssim_inputs(img1, img2, max_val, "ssim_multiscale")
        rank = len(x.shape)
        factors, terms = [float(p) for p in power_factors], []
        for k in range(len(factors)):
            if k:
                for axis in (rank - 3, rank - 2):
                    m = _halve(x.shape[axis])
                    x = _along(tuple(x.shape), axis, m, _graph_ops(x.dtype))(x)
                    y = _along(tuple(y.shape), axis, m, _graph_ops(y.dtype))(y)
            value, cs = _ssim_per_channel(x, y, peak, int(filter_size), float(filter_sigma), k1, k2)
            terms.append(M.relu(cs if k < len(factors) - 1 else value))
        weighted = [M.pow(t, constant(p, dtype=t.dtype)) for t, p in zip(terms, factors)]
        product = weighted[0]
        for t in weighted[1:]:
            product = product * t
        return M.reduce_mean(product, axis=[-1])
