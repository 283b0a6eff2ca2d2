"""The rest of tf.image against independent references: colour spaces against colorsys and the YIQ/YUV
definitions, geometry against NumPy index arithmetic, resizes/crops/patches/Sobel against pixel-by-pixel
loops of TF's documented rules, PSNR/SSIM against float64 NumPy implementations of their formulas,
gradients by finite differences, box selection against hand-worked cases, and the codecs by round trips,
hand-filtered PNG scanlines and Pillow's own decoding; written files go to pytest's tmp_path."""
import colorsys
import struct
import sys
import zlib

import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError, NotFoundError
from nnplug.image import png
from nnplug.testing import assert_close, check_gradient, run


def _img(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random(shape).astype(dtype)


def _run(fetches, feed=None):
    with tf.Session() as s:
        return s.run(fetches, feed)


# -- colour ---------------------------------------------------------------------------------------
def _colorsys_map(x, fn):
    flat = x.reshape(-1, 3).astype(np.float64)
    return np.array([fn(*p) for p in flat]).reshape(x.shape)


def test_hsv_round_trip_matches_colorsys(backend):
    x = _img((2, 4, 5, 3))
    x[0, 0, :3] = [[0.5, 0.5, 0.5], [0, 0, 0], [1, 0, 0]]  # grays (no hue) and black (no saturation)
    hsv = run(lambda t: tf.image.rgb_to_hsv(t), [x], backend)
    assert_close(hsv, _colorsys_map(x, colorsys.rgb_to_hsv), "float32", atol=2e-6)
    h = _img((3, 7, 3), seed=1)
    assert_close(run(lambda t: tf.image.hsv_to_rgb(t), [h], backend), _colorsys_map(h, colorsys.hsv_to_rgb),
                 "float32", atol=2e-6)


def test_hsv_gradients():
    x = np.random.default_rng(2).uniform(0.1, 0.9, (2, 3, 3))
    x[..., 0] += 0.05 * np.arange(3)  # no ties between channels: the max and min are differentiable
    check_gradient(lambda t: tf.image.rgb_to_hsv(t), [x], "numpy", eps=1e-6, rtol=1e-4, atol=1e-6)
    check_gradient(lambda t: tf.image.hsv_to_rgb(t), [np.random.default_rng(3).uniform(0.05, 0.95, (2, 3, 3))],
                   "numpy", eps=1e-6, rtol=1e-4, atol=1e-6)


def test_adjust_hue_and_saturation_match_colorsys(backend):
    x = _img((3, 4, 3), seed=4)

    def hue(r, g, b, delta):
        h, s, v = colorsys.rgb_to_hsv(r, g, b)
        return colorsys.hsv_to_rgb((h + delta) % 1.0, s, v)

    def sat(r, g, b, f):
        h, s, v = colorsys.rgb_to_hsv(r, g, b)
        return colorsys.hsv_to_rgb(h, min(max(s * f, 0.0), 1.0), v)
    for delta in (0.3, -0.45):
        assert_close(run(lambda t: tf.image.adjust_hue(t, delta), [x], backend),
                     _colorsys_map(x, lambda r, g, b: hue(r, g, b, delta)), "float32", atol=5e-6)
    for f in (0.3, 1.8):
        assert_close(run(lambda t: tf.image.adjust_saturation(t, f), [x], backend),
                     _colorsys_map(x, lambda r, g, b: sat(r, g, b, f)), "float32", atol=5e-6)
    with pytest.raises(ValueError, match="delta must be in the interval"):
        tf.image.adjust_hue(tf.constant(x), 1.5)


def test_adjust_hue_gradient():
    x = np.random.default_rng(5).uniform(0.1, 0.9, (2, 2, 3)).astype(np.float32)
    x[..., 1] += 0.04
    check_gradient(lambda t: tf.image.adjust_hue(t, 0.2), [x], "numpy", eps=1e-3, rtol=2e-2, atol=2e-3)


def test_adjust_hue_on_uint8_converts_back():
    x = (_img((2, 3, 3), seed=6) * 255).astype(np.uint8)
    got = _run(tf.image.adjust_hue(tf.constant(x), 0.25))
    ref = _colorsys_map(x / 255.0, lambda r, g, b: colorsys.hsv_to_rgb((colorsys.rgb_to_hsv(r, g, b)[0] + 0.25) % 1,
                                                                       *colorsys.rgb_to_hsv(r, g, b)[1:]))
    assert got.dtype == np.uint8
    assert np.abs(got.astype(int) - (ref * 255.5).astype(int)).max() <= 1


def test_adjust_gamma():
    x = (_img((3, 4, 3), seed=7) * 255).astype(np.uint8)
    got = _run(tf.image.adjust_gamma(tf.constant(x), 0.6, gain=1.3))
    ref = np.clip(1.3 * (x / 255.0) ** 0.6 * 255.5, 0, 255).astype(np.uint8)  # TF1's float -> uint8, saturating
    assert got.dtype == np.uint8 and np.abs(got.astype(int) - ref).max() <= 1
    f = _img((2, 2, 3), seed=8)
    assert_close(_run(tf.image.adjust_gamma(tf.constant(f), 2.0)), f.astype(np.float64) ** 2, "float32")
    with pytest.raises(ValueError, match="non-negative"):
        tf.image.adjust_gamma(tf.constant(f), -1.0)


def test_random_hue_and_saturation_stay_in_range():
    x = _img((4, 4, 3), seed=9)
    hsv = _colorsys_map(x, colorsys.rgb_to_hsv)
    with tf.Graph().as_default():
        tf.set_random_seed(3)
        t = tf.constant(x)
        hue, sat = tf.image.random_hue(t, 0.2), tf.image.random_saturation(t, 0.5, 1.5)
        a, b = _run([hue, sat])
    shift = (_colorsys_map(a, colorsys.rgb_to_hsv)[..., 0] - hsv[..., 0]) % 1.0
    shift = np.where(shift > 0.5, shift - 1, shift)
    moved = hsv[..., 1] > 0.05
    assert np.ptp(shift[moved]) < 1e-4 and abs(shift[moved][0]) <= 0.2  # one delta for every pixel
    ratio = _colorsys_map(b, colorsys.rgb_to_hsv)[..., 1][moved] / hsv[..., 1][moved]
    unclipped = _colorsys_map(b, colorsys.rgb_to_hsv)[..., 1][moved] < 0.999
    assert np.ptp(ratio[unclipped]) < 1e-3 and 0.5 <= ratio[unclipped][0] < 1.5
    with pytest.raises(ValueError, match="max_delta must be <= 0.5"):
        tf.image.random_hue(tf.constant(x), 0.7)
    with pytest.raises(ValueError, match="upper"):
        tf.image.random_saturation(tf.constant(x), 1.0, 0.5)


def test_yiq_and_yuv_follow_their_definitions(backend):
    x = _img((2, 3, 4, 3), seed=10)
    r, g, b = (x[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    yiq, yuv, back_i, back_u = run(lambda t: (tf.image.rgb_to_yiq(t), tf.image.rgb_to_yuv(t),
                                              tf.image.yiq_to_rgb(tf.image.rgb_to_yiq(t)),
                                              tf.image.yuv_to_rgb(tf.image.rgb_to_yuv(t))), [x], backend)
    assert_close(yiq[..., 0], y, "float32")
    assert_close(yuv, np.stack([y, 0.492 * (b - y), 0.877 * (r - y)], -1), "float32", atol=2e-3)
    assert_close(back_i, x, "float32", atol=2e-4)  # TF's matrices are inverses to about 1e-4
    assert_close(back_u, x, "float32", atol=2e-4)
    with pytest.raises(TypeError, match="float image"):
        tf.image.rgb_to_yiq(tf.constant(np.zeros((2, 2, 3), np.uint8)))


# -- geometry ---------------------------------------------------------------------------------------
def test_rot90_and_transpose(backend):
    x = _img((2, 3, 5, 2), seed=11)
    outs = run(lambda t: [tf.image.rot90(t, k) for k in range(-1, 5)] + [tf.image.transpose_image(t),
                                                                         tf.image.rot90(t[0])], [x], backend)
    for k, got in zip(range(-1, 5), outs):
        np.testing.assert_array_equal(got, np.rot90(x, k, axes=(1, 2)))
    np.testing.assert_array_equal(outs[-2], np.swapaxes(x, 1, 2))
    np.testing.assert_array_equal(outs[-1], np.rot90(x[0], 1, axes=(0, 1)))
    assert tf.image.transpose is tf.image.transpose_image


def test_resize_with_crop_or_pad_and_with_pad():
    x = _img((4, 8, 1), seed=12)
    got = _run(tf.image.resize_image_with_pad(tf.constant(x), 8, 8))  # ratio 1: padded 2 rows above and below
    np.testing.assert_array_equal(got, np.pad(x, [[2, 2], [0, 0], [0, 0]]))
    y = _img((2, 3, 1), seed=13)
    got = _run(tf.image.resize_image_with_pad(tf.constant(y), 4, 9, method=tf.image.ResizeMethod.NEAREST_NEIGHBOR))
    resized = np.repeat(np.repeat(y, 2, 0), 2, 1)  # ratio max(3/9, 2/4) = 1/2 -> 4x6, then (9 - 6) / 2 = 1 column
    np.testing.assert_array_equal(got, np.pad(resized, [[0, 0], [1, 2], [0, 0]]))
    z = _img((5, 6, 2), seed=14)
    np.testing.assert_array_equal(_run(tf.image.resize_with_crop_or_pad(tf.constant(z), 3, 10)),
                                  np.pad(z[1:4], [[0, 0], [2, 2], [0, 0]]))


def _keys(t, a=-0.75):
    t = abs(t)
    if t <= 1:
        return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
    return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a if t < 2 else 0.0


def _bicubic_ref(x, out_h, out_w, align=False):
    """TF1's legacy bicubic, pixel by pixel: src = dst * scale, the fraction at TF's 1/1024 steps."""
    n, h, w, c = x.shape

    def taps(o, size, out):
        scale = (size - 1) / (out - 1) if align and out > 1 else size / out
        src = o * scale
        base = int(np.floor(src))
        t = np.rint((src - base) * 1024) / 1024
        return [(min(max(base + k, 0), size - 1), _keys(t - k)) for k in (-1, 0, 1, 2)]
    out = np.zeros((n, out_h, out_w, c))
    for yy in range(out_h):
        for xx in range(out_w):
            out[:, yy, xx] = sum(wy * wx * x[:, iy, ix]
                                 for iy, wy in taps(yy, h, out_h) for ix, wx in taps(xx, w, out_w))
    return out


def _area_ref(x, out_h, out_w):
    """Each output pixel the mean of the input area [o * scale, (o + 1) * scale) it covers."""
    n, h, w, c = x.shape
    sh, sw = h / out_h, w / out_w
    out = np.zeros((n, out_h, out_w, c))
    for yy in range(out_h):
        for xx in range(out_w):
            total = 0
            for iy in range(h):
                cy = max(0.0, min(iy + 1, (yy + 1) * sh) - max(iy, yy * sh))
                for ix in range(w):
                    cx = max(0.0, min(ix + 1, (xx + 1) * sw) - max(ix, xx * sw))
                    total = total + cy * cx * x[:, iy, ix]
            out[:, yy, xx] = total / (sh * sw)
    return out


@pytest.mark.parametrize("size,align", [((7, 4), False), ((3, 9), True)])
def test_resize_bicubic_matches_the_legacy_rule(backend, size, align):
    x = _img((2, 5, 6, 2), seed=15)
    got = run(lambda t: tf.image.resize_bicubic(t, size, align_corners=align), [x], backend)
    assert_close(got, _bicubic_ref(x.astype(np.float64), *size, align), "float32", atol=1e-5)


def test_resize_area_and_method_names(backend):
    x = _img((1, 6, 5, 2), seed=16)
    got = run(lambda t: [tf.image.resize_area(t, [4, 3]), tf.image.resize(t, [4, 3], method="area"),
                         tf.image.resize_images(t, [4, 3], method=tf.image.ResizeMethod.AREA)], [x], backend)
    ref = _area_ref(x.astype(np.float64), 4, 3)
    for g in got:
        assert_close(g, ref, "float32", atol=1e-5)
    bic = run(lambda t: tf.image.resize(t, [7, 4], method="bicubic"), [x], backend)
    assert_close(bic, _bicubic_ref(x.astype(np.float64), 7, 4), "float32", atol=1e-5)
    with tf.Graph().as_default(), pytest.raises(ValueError, match="'lanczos3' is not implemented"):
        tf.image.resize(tf.constant(x), [2, 2], method="lanczos3")


def test_resize_bicubic_gradient():
    x = np.random.default_rng(17).random((1, 4, 3, 1)).astype(np.float32)
    check_gradient(lambda t: tf.image.resize_bicubic(t, [6, 5]), [x], "numpy", eps=0.05, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area", "nearest"])
def test_resize_of_images_sized_when_run(method):
    """A placeholder of unknown height and width resizes like the static path; its gradient is the
    transposed resampling (the resize is linear: columns of its matrix from a batch of unit images)."""
    h, w, out = 4, 5, (3, 7)
    basis = np.eye(h * w, dtype=np.float32).reshape(h * w, h, w, 1)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, None, None, 1])
        r = tf.image.resize(p, out, method=method)
        weights = np.random.default_rng(18).random((1,) + out + (1,)).astype(np.float32)
        c = tf.constant(weights)
        grad = tf.gradients(tf.reduce_sum(r * c), p)[0]
        static = tf.image.resize(tf.constant(basis), out, method=method)
        with tf.Session() as s:
            columns, want = s.run(r, {p: basis}), s.run(static)
            g = s.run(grad, {p: basis[:1]})
    assert r.shape.as_list() == [None, 3, 7, 1]
    assert_close(columns, want, "float32", atol=1e-6)
    matrix = columns.reshape(h * w, -1).T  # (outputs, inputs)
    assert_close(g.reshape(-1), matrix.T @ weights.reshape(-1), "float32", atol=1e-5)


def _patches_ref(x, k, s, r, padding):
    n, h, w, c = x.shape
    span = [(k[i] - 1) * r[i] + 1 for i in range(2)]
    if padding == "VALID":
        out = [(size - sp) // st + 1 for size, sp, st in zip((h, w), span, s)]
        before = [0, 0]
    else:
        out = [-(-size // st) for size, st in zip((h, w), s)]
        before = [max((o - 1) * st + sp - size, 0) // 2 for o, st, sp, size in zip(out, s, span, (h, w))]
    res = np.zeros((n, out[0], out[1], k[0] * k[1] * c), x.dtype)
    for oy in range(out[0]):
        for ox in range(out[1]):
            vals = []
            for i in range(k[0]):
                for j in range(k[1]):
                    yy, xx = oy * s[0] + i * r[0] - before[0], ox * s[1] + j * r[1] - before[1]
                    inside = 0 <= yy < h and 0 <= xx < w
                    vals.append(x[:, yy, xx] if inside else np.zeros((n, c), x.dtype))
            res[:, oy, ox] = np.concatenate(vals, axis=-1)
    return res


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_extract_image_patches(backend, padding):
    x = _img((2, 7, 8, 2), seed=19)
    got = run(lambda t: tf.extract_image_patches(t, [1, 3, 2, 1], [1, 2, 3, 1], [1, 1, 2, 1], padding), [x],
              backend)
    np.testing.assert_array_equal(got, _patches_ref(x, (3, 2), (2, 3), (1, 2), padding))
    again = run(lambda t: tf.image.extract_patches(t, [1, 2, 2, 1], [1, 1, 1, 1], [1, 1, 1, 1], padding), [x], backend)
    np.testing.assert_array_equal(again, _patches_ref(x, (2, 2), (1, 1), (1, 1), padding))
    with tf.Graph().as_default(), pytest.raises(ValueError, match="ksizes must be"):
        tf.image.extract_image_patches(tf.constant(x), [2, 2, 2, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME")


# -- measures -----------------------------------------------------------------------------------------
def test_total_variation_gradients_and_sobel(backend):
    x = _img((2, 5, 6, 3), seed=20)
    tv, (dy, dx), sobel = run(lambda t: (tf.image.total_variation(t), tf.image.image_gradients(t),
                                         tf.image.sobel_edges(t)), [x], backend)
    d = x.astype(np.float64)
    assert_close(tv, np.abs(np.diff(d, axis=1)).sum((1, 2, 3)) + np.abs(np.diff(d, axis=2)).sum((1, 2, 3)), "float32")
    assert_close(dy, np.concatenate([np.diff(d, axis=1), np.zeros((2, 1, 6, 3))], 1), "float32")
    assert_close(dx, np.concatenate([np.diff(d, axis=2), np.zeros((2, 5, 1, 3))], 2), "float32")
    p = np.pad(d, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
    ky = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    ref = np.zeros((2, 5, 6, 3, 2))
    for i in range(3):
        for j in range(3):
            ref[..., 0] += ky[i, j] * p[:, i:i + 5, j:j + 6]
            ref[..., 1] += ky.T[i, j] * p[:, i:i + 5, j:j + 6]
    assert_close(sobel, ref, "float32", atol=1e-5)


def test_psnr_against_its_formula():
    a = (_img((2, 6, 5, 3), seed=21) * 255).astype(np.uint8)
    b = np.clip(a.astype(int) + np.random.default_rng(22).integers(-9, 10, a.shape), 0, 255).astype(np.uint8)
    mse = ((a / 255.0 - b / 255.0) ** 2).mean((1, 2, 3))
    assert_close(_run(tf.image.psnr(a, b, 255)), 10 * np.log10(1.0 / mse), "float32", atol=1e-4)
    fa, fb = a / 255.0, b / 255.0
    got = _run(tf.image.psnr(tf.constant(fa.astype(np.float32)), tf.constant(fb.astype(np.float32)), 1.0))
    assert_close(got, 10 * np.log10(1.0 / mse), "float32", atol=1e-4)


def _ssim_ref(x, y, max_val=1.0, size=11, sigma=1.5, k1=0.01, k2=0.03):
    """Wang et al.'s SSIM with TF's choices: a size x size Gaussian window, 'VALID' positions; returns the
    mean over positions of l * cs and of cs, per channel."""
    from numpy.lib.stride_tricks import sliding_window_view
    coords = np.arange(size) - (size - 1) / 2
    g = np.exp(-(coords[:, None] ** 2 + coords[None] ** 2) / (2 * sigma ** 2))
    g /= g.sum()

    def blur(t):
        win = sliding_window_view(t, (size, size), axis=(-3, -2))  # (..., oh, ow, c, size, size)
        return (win * g).sum((-2, -1))
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    lum = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    cs = (2 * cov + c2) / (vx + vy + c2)
    return (lum * cs).mean((-3, -2)), cs.mean((-3, -2))


def test_ssim_and_multiscale_against_numpy():
    x = _img((2, 40, 36, 3), seed=23).astype(np.float64)
    y = np.clip(x + np.random.default_rng(24).normal(0, 0.08, x.shape), 0, 1)
    got = _run(tf.image.ssim(tf.constant(x.astype(np.float32)), tf.constant(y.astype(np.float32)), 1.0))
    assert_close(got, _ssim_ref(x, y)[0].mean(-1), "float32", atol=2e-5)
    small = _run(tf.image.ssim(tf.constant(x.astype(np.float32)), tf.constant(y.astype(np.float32)), 1.0,
                               filter_size=5, filter_sigma=0.8))
    assert_close(small, _ssim_ref(x, y, size=5, sigma=0.8)[0].mean(-1), "float32", atol=2e-5)
    weights = (0.5, 0.3, 0.2)
    terms, a, b = [], x, y
    for k in range(3):
        if k:
            def halve(t):
                t = np.pad(t, [[0, 0], [0, t.shape[1] % 2], [0, t.shape[2] % 2], [0, 0]], mode="symmetric")
                return 0.25 * (t[:, ::2, ::2] + t[:, 1::2, ::2] + t[:, ::2, 1::2] + t[:, 1::2, 1::2])
            a, b = halve(a), halve(b)
        value, cs = _ssim_ref(a, b, size=5)
        terms.append(np.maximum(cs if k < 2 else value, 0) ** weights[k])
    ms = _run(tf.image.ssim_multiscale(tf.constant(x.astype(np.float32)), tf.constant(y.astype(np.float32)), 1.0,
                                       power_factors=weights, filter_size=5))
    assert_close(ms, np.prod(terms, axis=0).mean(-1), "float32", atol=5e-5)
    with tf.Graph().as_default(), pytest.raises(ValueError, match="at least filter_size"):
        tf.image.ssim(tf.constant(x[:, :8].astype(np.float32)), tf.constant(y[:, :8].astype(np.float32)), 1.0)


# -- boxes ----------------------------------------------------------------------------------------------
def _crop_ref(img, boxes, ind, size, method="bilinear", extrapolation=0.0):
    """TF's documented crop_and_resize: y = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (crop_h - 1)."""
    _, h, w, c = img.shape
    out = np.zeros((len(boxes), size[0], size[1], c))
    for n, ((y1, x1, y2, x2), b) in enumerate(zip(boxes, ind)):
        for i in range(size[0]):
            y = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (size[0] - 1) if size[0] > 1 else 0.5 * (y1 + y2) * (h - 1)
            for j in range(size[1]):
                x = x1 * (w - 1) + j * (x2 - x1) * (w - 1) / (size[1] - 1) if size[1] > 1 else 0.5 * (x1 + x2) * (w - 1)
                if not (0 <= y <= h - 1 and 0 <= x <= w - 1):
                    out[n, i, j] = extrapolation
                elif method == "nearest":
                    out[n, i, j] = img[b, int(np.floor(y + 0.5)), int(np.floor(x + 0.5))]
                else:
                    t, lft = int(np.floor(y)), int(np.floor(x))
                    bt, r = int(np.ceil(y)), int(np.ceil(x))
                    fy, fx = y - t, x - lft
                    top = img[b, t, lft] + (img[b, t, r] - img[b, t, lft]) * fx
                    bottom = img[b, bt, lft] + (img[b, bt, r] - img[b, bt, lft]) * fx
                    out[n, i, j] = top + (bottom - top) * fy
    return out


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
def test_crop_and_resize(backend, method):
    img = _img((2, 5, 6, 3), seed=25)
    # no sampling point falls half-way between pixels, where float32 and float64 could round apart
    boxes = np.array([[0.1, 0.22, 0.8, 0.9], [0.9, -0.1, 0.2, 0.52], [0.3, 0.32, 0.6, 0.4]], np.float32)
    ind = np.array([0, 1, 1], np.int32)
    got = run(lambda i, b, k: tf.image.crop_and_resize(i, b, k, [3, 4], method=method, extrapolation_value=-1.0),
              [img, boxes, ind], backend)
    assert_close(got, _crop_ref(img.astype(np.float64), boxes.astype(np.float64), ind, (3, 4), method, -1.0),
                 "float32", atol=1e-5)
    one = run(lambda i: tf.image.crop_and_resize(i, boxes[:1], [0], [1, 1]), [img], backend)
    assert_close(one, _crop_ref(img.astype(np.float64), boxes[:1].astype(np.float64), [0], (1, 1)), "float32")


def test_crop_and_resize_image_gradient():
    img = np.random.default_rng(26).random((1, 4, 5, 1)).astype(np.float32)
    boxes = np.array([[0.1, 0.15, 0.85, 0.7]], np.float32)
    check_gradient(lambda i: tf.image.crop_and_resize(i, boxes, [0], [3, 3]), [img], "numpy", eps=0.05,
                   rtol=1e-3, atol=1e-4)


def test_extract_glimpse_windows():
    img = _img((1, 5, 6, 2), seed=27)
    # centred, normalised (0.5, -0.5): centre (3.75, 1.5) -> top-left (2.75, -0.5) truncated to (2, 0)
    got = _run(tf.image.extract_glimpse(tf.constant(img), [2, 4], [[0.5, -0.5]], uniform_noise=False))
    np.testing.assert_array_equal(got[0], img[0, 2:4, 0:4])
    # pixels from the top-left corner: centre (4, 5), 3x3 -> rows 2..4, columns 3..5 and zeros past the edge
    got = _run(tf.image.extract_glimpse(tf.constant(img), [3, 4], [[4.0, 5.0]], centered=False, normalized=False,
                                        uniform_noise=False))
    want = np.zeros((3, 4, 2), np.float32)
    want[:, :3] = img[0, 2:5, 3:6]
    np.testing.assert_array_equal(got[0], want)
    with tf.Graph().as_default(), pytest.raises(NotImplementedError, match="uniform_noise"):
        tf.image.extract_glimpse(tf.constant(img), [2, 2], [[0.0, 0.0]])


def test_draw_bounding_boxes():
    img = np.zeros((1, 6, 7, 3), np.float32)
    boxes = np.array([[[0.2, 0.0, 0.6, 0.5], [0.5, 0.6, 1.5, 1.2]]], np.float32)
    got = _run(tf.image.draw_bounding_boxes(tf.constant(img), boxes))
    want = img.copy()
    # box 0: rows int(0.2*5)=1 .. int(0.6*5)=3, cols 0 .. int(0.5*6)=3, in TF's first colour (1, 1, 0)
    want[0, [1, 3], 0:4] = [1, 1, 0]
    want[0, 1:4, [0, 3]] = [1, 1, 0]
    # box 1: rows 2 .. 7 (bottom edge off the image), cols 3 .. 7 (right edge off): two sides, colour 2 (0, 0, 1)
    want[0, 2, 3:7] = [0, 0, 1]
    want[0, 2:6, 3] = [0, 0, 1]
    np.testing.assert_array_equal(got, want)
    red = _run(tf.image.draw_bounding_boxes(tf.constant(img), boxes[:, :1], colors=np.array([[1, 0, 0, 1]])))
    assert (red[0, 1, 0] == [1, 0, 0]).all()


_BOXES = np.array([[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, -0.1, 1, 0.9], [0, 10, 1, 11], [0, 10.1, 1, 11.1],
                   [0, 100, 1, 101]], np.float32)
_SCORES = np.array([0.9, 0.75, 0.6, 0.95, 0.5, 0.3], np.float32)


def test_non_max_suppression_hand_worked():
    # IoU(0, 1) = 0.9 / 1.1, IoU(3, 4) the same: both above 0.5, so 1, 2 and 4 are suppressed
    got = _run(tf.image.non_max_suppression(_BOXES, _SCORES, 3, 0.5))
    np.testing.assert_array_equal(got, [3, 0, 5])
    np.testing.assert_array_equal(_run(tf.image.non_max_suppression(_BOXES, _SCORES, 10, 0.5, score_threshold=0.4)),
                                  [3, 0])
    # at 0.85 no pair overlaps enough (the largest IoU is 0.9 / 1.1): every box, best first
    np.testing.assert_array_equal(_run(tf.image.non_max_suppression(_BOXES, _SCORES, 10, 0.85)), [3, 0, 1, 2, 4, 5])
    over = np.array([[1, 0.7, 0.2], [0.7, 1, 0.4], [0.2, 0.4, 1]], np.float32)
    np.testing.assert_array_equal(_run(tf.image.non_max_suppression_overlaps(over, [0.5, 0.9, 0.3], 3, 0.5)), [1, 2])


def test_soft_non_max_suppression_decays_scores():
    idx, kept = _run(tf.image.non_max_suppression_with_scores(_BOXES, _SCORES, 6, 0.5, soft_nms_sigma=0.5))
    iou01, iou12 = 0.9 / 1.1, 0.8 / 1.2

    def decay(iou):
        return np.exp(-0.5 * iou ** 2 / 0.5)
    np.testing.assert_array_equal(idx, [3, 0, 1, 5, 4, 2])
    assert_close(kept, [0.95, 0.9, 0.75 * decay(iou01), 0.3, 0.5 * decay(iou01), 0.6 * decay(iou01) * decay(iou12)],
                 "float32")
    hard_idx, hard = _run(tf.image.non_max_suppression_with_scores(_BOXES, _SCORES, 6, 0.5))
    np.testing.assert_array_equal(hard_idx, [3, 0, 5])
    assert_close(hard, [0.95, 0.9, 0.3], "float32")


def test_non_max_suppression_output_feeds_a_gather():
    with tf.Graph().as_default():
        b = tf.placeholder(tf.float32, [None, 4])
        s = tf.placeholder(tf.float32, [None])
        picked = tf.gather(b, tf.image.non_max_suppression(b, s, 2))
        got = _run(picked, {b: _BOXES, s: _SCORES})
    np.testing.assert_array_equal(got, _BOXES[[3, 0]])
    with tf.Graph().as_default():  # boxes and scores computed in the step: the selection is staged first
        b = tf.placeholder(tf.float32, [None, 4])
        s = tf.placeholder(tf.float32, [None])
        idx, kept = tf.image.non_max_suppression_with_scores(b * 2.0, tf.sigmoid(s), 2)
        total = tf.reduce_sum(tf.gather(b, idx)) + tf.reduce_sum(kept)
        got = _run(total, {b: _BOXES, s: _SCORES})
    sig = 1 / (1 + np.exp(-_SCORES.astype(np.float64)))
    assert_close(got, _BOXES[[3, 0]].sum() + sig[3] + sig[0], "float32")
    with tf.Graph().as_default(), pytest.raises(InvalidArgumentError, match="boxes must have shape"):
        _run(tf.image.non_max_suppression(np.zeros((3, 3), np.float32), np.zeros(3, np.float32), 2))


def test_sample_distorted_bounding_box():
    box = np.array([[[0.2, 0.3, 0.6, 0.7]]], np.float32)
    runs = []
    for _ in range(2):
        with tf.Graph().as_default():
            tf.set_random_seed(7)
            image = tf.zeros([40, 50, 3])
            begin, size, bbox = tf.image.sample_distorted_bounding_box(tf.shape(image), box, min_object_covered=0.5,
                                                                       area_range=(0.1, 0.6))
            with tf.Session() as s:
                runs.append([s.run([begin, size, bbox]) for _ in range(5)])
    for a, b in zip(*runs):  # seeded: the same crops again
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    for begin, size, bbox in runs[0]:
        (y, x, _), (h, w, c) = begin, size
        assert c == -1 and 0 <= y and y + h <= 40 and 0 <= x and x + w <= 50
        assert 0.1 * 2000 <= h * w <= 0.6 * 2000 and 0.75 - 0.05 <= w / h <= 1.33 + 0.05
        inter = max(0, min(y + h, 24) - max(y, 8)) * max(0, min(x + w, 35) - max(x, 15))
        assert inter / (16 * 20) >= 0.5
        assert_close(bbox.reshape(-1), [y / 40, x / 50, (y + h) / 40, (x + w) / 50], "float32")
    with tf.Graph().as_default():  # no crop can cover the whole box within 10% of the area: the whole image
        begin, size, _ = tf.image.sample_distorted_bounding_box([40, 50, 3], [[[0.0, 0.0, 1.0, 1.0]]], seed=1,
                                                                min_object_covered=1.0, area_range=(0.05, 0.1))
        np.testing.assert_array_equal(np.concatenate(_run([begin, size])), [0, 0, 0, 40, 50, -1])
        begin, _, _ = tf.image.sample_distorted_bounding_box([40, 50, 3], np.zeros((1, 0, 4), np.float32), seed=1)
        with pytest.raises(InvalidArgumentError, match="use_image_if_no_bounding_boxes"):
            _run(begin)


# -- codecs ------------------------------------------------------------------------------------------
def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _hand_png(pixels, filters):
    """An 8-bit RGB PNG whose scanline y uses filter filters[y], filtered here by the PNG spec's formulas."""
    h, w, c = pixels.shape
    raw = pixels.reshape(h, w * c).astype(int)
    out = b""
    for y in range(h):
        line, prev = raw[y], raw[y - 1] if y else np.zeros(w * c, int)
        left = np.concatenate([np.zeros(c, int), line[:-c]])
        corner = np.concatenate([np.zeros(c, int), prev[:-c]])
        f = filters[y]
        if f == 0:
            pred = np.zeros_like(line)
        elif f == 1:
            pred = left
        elif f == 2:
            pred = prev
        elif f == 3:
            pred = (left + prev) // 2
        else:
            p = left + prev - corner
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - corner)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, corner))
        out += bytes([f]) + bytes(((line - pred) % 256).astype(np.uint8))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return png.SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(out)) + _chunk(b"IEND", b"")


def test_decode_png_undoes_every_filter():
    pixels = np.random.default_rng(28).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    data = _hand_png(pixels, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(_run(tf.image.decode_png(data)), pixels)
    gray = _run(tf.image.decode_png(data, channels=1))[..., 0]
    np.testing.assert_array_equal(gray, np.floor(pixels @ np.array([0.299, 0.587, 0.114]) + 1e-3).astype(np.uint8))
    rgba = _run(tf.image.decode_png(data, channels=4))
    np.testing.assert_array_equal(rgba[..., :3], pixels)
    assert (rgba[..., 3] == 255).all()


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png_round_trip_is_exact(channels):
    pixels = np.random.default_rng(29).integers(0, 256, (6, 5, channels), dtype=np.uint8)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.uint8, [None, None, channels])
        out = tf.image.decode_png(tf.image.encode_png(p, compression=9))
        assert out.shape.as_list() == [None, None, None]
        np.testing.assert_array_equal(_run(out, {p: pixels}), pixels)


def test_sixteen_bit_png_decodes_to_its_high_bytes():
    deep = np.random.default_rng(30).integers(0, 65536, (3, 4, 3), dtype=np.uint16)
    np.testing.assert_array_equal(_run(tf.image.decode_png(png.encode(deep))), (deep >> 8).astype(np.uint8))
    with tf.Graph().as_default(), pytest.raises(TypeError, match="uint16"):
        tf.image.decode_png(png.encode(deep), dtype="uint16")


def test_decode_errors_name_the_op():
    data = _hand_png(np.zeros((2, 2, 3), np.uint8), [0, 0])
    broken = data[:40] + bytes([data[40] ^ 0xFF]) + data[41:]  # a byte of IDAT flipped: the CRC fails
    with tf.Graph().as_default():
        bad = tf.image.decode_png(b"not an image", name="my_decode")
        crc = tf.image.decode_png(broken)
        bmp = tf.image.decode_bmp(data)
        with tf.Session() as s:
            with pytest.raises(InvalidArgumentError, match="my_decode.*unknown image file format"):
                s.run(bad)
            with pytest.raises(InvalidArgumentError, match="CRC"):
                s.run(crc)
            with pytest.raises(InvalidArgumentError, match="DecodeBmp"):
                s.run(bmp)
    with tf.Graph().as_default(), pytest.raises(ValueError, match="channels must be 0, 1, 3 or 4"):
        tf.image.decode_png(data, channels=2)


def test_pillow_missing_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with tf.Graph().as_default():
        out = tf.image.decode_jpeg(b"\xff\xd8\xff\xe0 not really a jpeg")
        with pytest.raises(ImportError, match=r'pip install "nnplug\[image\]"'):
            _run(out)


def test_jpeg_gif_bmp_with_pillow():
    pil = pytest.importorskip("PIL.Image")
    import io
    smooth = np.stack(list(np.meshgrid(np.linspace(0, 200, 16), np.linspace(30, 250, 12))) +
                      [np.full((12, 16), 90.0)], -1).astype(np.uint8)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.uint8, [12, 16, 3])
        jpeg = tf.image.encode_jpeg(p, quality=95)
        back, is_j = tf.image.decode_jpeg(jpeg), tf.image.is_jpeg(jpeg)
        via_png = tf.image.is_jpeg(tf.image.encode_png(p))
        got, j, notj = _run([back, is_j, via_png], {p: smooth})
    assert j and not notj and got.shape == smooth.shape
    assert np.abs(got.astype(int) - smooth).mean() < 2 and np.abs(got.astype(int) - smooth).max() < 12
    frames = [pil.fromarray(smooth), pil.fromarray(255 - smooth)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    gif = _run(tf.image.decode_gif(buf.getvalue()))
    assert gif.shape == (2, 12, 16, 3)
    want = [np.asarray(f.convert("RGB")) for f in (pil.open(io.BytesIO(buf.getvalue())),)]
    np.testing.assert_array_equal(gif[0], want[0])
    buf = io.BytesIO()
    pil.fromarray(smooth).save(buf, "BMP")
    np.testing.assert_array_equal(_run(tf.image.decode_bmp(buf.getvalue())), smooth)
    as_float = _run(tf.image.decode_image(buf.getvalue(), dtype=tf.float32))
    assert_close(as_float, smooth / 255.0, "float32")
    for mode in ("P", "LA", "RGBA", "L"):  # Pillow's PNGs (its filters, palettes) decode as Pillow reads them
        buf = io.BytesIO()
        pil.fromarray(smooth).convert(mode).save(buf, "PNG")
        want = np.asarray(pil.open(io.BytesIO(buf.getvalue())).convert("RGB" if mode == "P" else mode))
        np.testing.assert_array_equal(_run(tf.image.decode_png(buf.getvalue())).reshape(want.shape), want)


# -- files and a pipeline -------------------------------------------------------------------------------
def test_write_file_then_read_file(tmp_path):
    path = str(tmp_path / "blob.bin")
    with tf.Graph().as_default():
        w = tf.write_file(path, tf.constant(b"\x00\x01 bytes"))
        r = tf.io.read_file(path)
        with tf.Session() as s:
            s.run(w)
            assert s.run(r) == b"\x00\x01 bytes"
        with pytest.raises(NotFoundError, match="directory does not exist"):
            _run(tf.io.write_file(str(tmp_path / "missing" / "x"), b"x"))
    assert tf.io.write_file is tf.write_file


def test_read_decode_resize_train(tmp_path):
    rng = np.random.default_rng(31)
    images = [rng.integers(0, 256, (6 + i, 9 - i, 3), dtype=np.uint8) for i in range(3)]
    names = []
    for i, im in enumerate(images):
        names.append(str(tmp_path / f"{i}.png"))
        with open(names[-1], "wb") as f:
            f.write(png.encode(im))
    with tf.Graph().as_default():
        name = tf.placeholder(tf.string, [])
        image = tf.image.decode_png(tf.read_file(name), channels=3)
        x = tf.image.resize_images(tf.cast(image, tf.float32) / 255.0, [4, 4])
        w = tf.Variable(tf.zeros([48, 1]))
        loss = tf.reduce_mean(tf.square(tf.matmul(tf.reshape(x, [1, 48]), w) - 1.0))
        step = tf.train.GradientDescentOptimizer(0.02).minimize(loss)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            first = [s.run(loss, {name: n}) for n in names]
            for _ in range(5):
                for n in names:
                    s.run(step, {name: n})
            last = [s.run(loss, {name: n}) for n in names]
            resized = s.run(x, {name: names[1]})
    assert sum(last) < 0.5 * sum(first)
    with tf.Graph().as_default():
        want = _run(tf.image.resize_bilinear(tf.constant(images[1][None].astype(np.float32) / 255.0), [4, 4]))
    assert_close(resized, want[0], "float32", atol=1e-6)
