"""Conformance cases for tf.image's composites (part of nnplug.testing.conformance): `ImageResize`, the
resize of images whose size is known only when the plan is compiled, against TF1's legacy rules written
pixel by pixel in float64, and its gradient (`ImageResizeGrad`) by central finite differences."""
import numpy as np
import pytest

from nnplug.graph import make

from . import assert_close, check_gradient, run
from .cases import covers

covers("ImageResize", "ImageResizeGrad")
covers("ImageResize", grad=True)


def _legacy_source(o, size, out, align):
    scale = (size - 1) / (out - 1) if align and out > 1 else size / out
    return o * scale


def ref_resize(x, out_h, out_w, method, align=False):
    """Bilinear (lerp of the floor and the next pixel, clamped) or nearest (floor; rounded with
    align_corners) at source = destination * scale, one output pixel at a time."""
    n, h, w, c = x.shape
    out = np.zeros((n, out_h, out_w, c))
    for yy in range(out_h):
        sy = _legacy_source(yy, h, out_h, align)
        for xx in range(out_w):
            sx = _legacy_source(xx, w, out_w, align)
            if method == "nearest":
                iy = min(int(round(sy)) if align else int(np.floor(sy)), h - 1)
                ix = min(int(round(sx)) if align else int(np.floor(sx)), w - 1)
                out[:, yy, xx] = x[:, iy, ix]
                continue
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            fy, fx = sy - y0, sx - x0
            top = x[:, y0, x0] * (1 - fx) + x[:, y0, x1] * fx
            bottom = x[:, y1, x0] * (1 - fx) + x[:, y1, x1] * fx
            out[:, yy, xx] = top * (1 - fy) + bottom * fy
    return out


def _resize(method, size, align=False):
    return lambda t: make("ImageResize", [t], {"method": method, "size": size, "align_corners": align})


@pytest.mark.parametrize("method,size,align", [("bilinear", (5, 3), False), ("bilinear", (7, 9), True),
                                               ("nearest", (6, 2), False), ("nearest", (3, 8), True)])
def test_image_resize(backend, method, size, align):
    x = np.random.default_rng(0).random((2, 4, 5, 3)).astype(np.float32)
    got = run(_resize(method, size, align), [x], backend)
    assert_close(got, ref_resize(x.astype(np.float64), *size, method, align), "float32", atol=1e-6)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area"])
def test_image_resize_gradient(backend, method):
    # the resize computes in float32 as in TF1, so float32 inputs; it is linear, so wide steps are exact
    x = np.random.default_rng(1).random((1, 3, 4, 2)).astype(np.float32)
    check_gradient(_resize(method, (5, 3)), [x], backend, eps=0.05, rtol=1e-3, atol=1e-4)
__all__ = [n for n in dir() if n.startswith("test_")]
