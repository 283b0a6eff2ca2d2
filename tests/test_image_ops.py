"""tf.image against NumPy references: TF1's resize rules (align_corners=False: source = dst * in/out), flips,
crops and pads, colour adjustments and dtype conversions; gradients of the resize against finite differences."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.shapes import ShapeError
from nnplug.testing import assert_close, check_gradient, run


def _img(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _bilinear_ref(x, out_h, out_w, align_corners=False):
    """TF1's CPU kernel, pixel by pixel: lerp across x between the top and bottom rows, then across y."""
    n, h, w, c = x.shape

    def weights(i, size, out):
        scale = (size - 1) / (out - 1) if align_corners and out > 1 else size / out
        src = i * scale
        lo = int(np.floor(src))
        return lo, min(lo + 1, size - 1), src - lo
    out = np.zeros((n, out_h, out_w, c))
    for y in range(out_h):
        y0, y1, ly = weights(y, h, out_h)
        for xx in range(out_w):
            x0, x1, lx = weights(xx, w, out_w)
            top = x[:, y0, x0] + (x[:, y0, x1] - x[:, y0, x0]) * lx
            bottom = x[:, y1, x0] + (x[:, y1, x1] - x[:, y1, x0]) * lx
            out[:, y, xx] = top + (bottom - top) * ly
    return out


@pytest.mark.parametrize("size,align", [((7, 3), False), ((2, 9), False), ((6, 8), True), ((4, 5), False)])
def test_resize_bilinear_matches_tf1_rule(backend, size, align):
    x = _img((2, 4, 5, 3))
    got = run(lambda t: tf.image.resize_bilinear(t, size, align_corners=align), [x], backend)
    assert_close(got, _bilinear_ref(x.astype(np.float64), *size, align), "float32")


def test_resize_bilinear_known_values():
    # 2 -> 4 with scale 0.5: sources 0, 0.5, 1, 1.5 -> the last clamps to the edge pixel
    x = np.array([0.0, 10.0], np.float32).reshape(1, 1, 2, 1)
    got = run(lambda t: tf.image.resize_bilinear(t, [1, 4]), [x], "numpy")
    assert_close(got.reshape(-1), np.array([0.0, 5.0, 10.0, 10.0]), "float32")


@pytest.mark.parametrize("align", [False, True])
def test_resize_nearest_neighbor(backend, align):
    x = (np.arange(2 * 5 * 4 * 1) % 251).astype(np.uint8).reshape(2, 5, 4, 1)
    got = run(lambda t: tf.image.resize_nearest_neighbor(t, [8, 3], align_corners=align), [x], backend)

    def src(out, size):
        scale = (size - 1) / (out - 1) if align else size / out
        s = np.arange(out) * scale
        return np.minimum(np.round(s) if align else np.floor(s), size - 1).astype(int)
    assert_close(got, x[:, src(8, 5)][:, :, src(3, 4)], "uint8")


def test_resize_images_methods_and_dtypes():
    x = (np.arange(4 * 6 * 3) % 256).astype(np.uint8).reshape(4, 6, 3)
    with tf.Graph().as_default(), tf.Session() as s:
        t = tf.constant(x)
        same = tf.image.resize_images(t, [4, 6])
        bil = tf.image.resize_images(t, [3, 4])
        near = tf.image.resize_images(t, (8, 12), method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
        assert same is t and bil.dtype == tf.float32 and near.dtype == tf.uint8
        b, n = s.run([bil, near])
    assert_close(b, _bilinear_ref(x[None].astype(np.float64), 3, 4)[0], "float32")
    assert_close(n, np.repeat(np.repeat(x, 2, 0), 2, 1), "uint8")
    with tf.Graph().as_default(), pytest.raises(ValueError, match="method 7 is not implemented"):
        tf.image.resize_images(tf.constant(x), [2, 2], method=7)


def test_resize_bilinear_gradient(backend):
    # the output is float32 as in TF1, so float32 inputs; the resize is linear, so wide steps are exact
    x = np.random.default_rng(1).random((1, 3, 4, 2)).astype(np.float32)
    check_gradient(lambda t: tf.image.resize_bilinear(t, [5, 3]), [x], backend, eps=0.05, rtol=1e-3, atol=1e-4)


def test_flips(backend):
    x = _img((2, 3, 4, 2))
    lr, ud, lr3 = run(lambda t: [tf.image.flip_left_right(t), tf.image.flip_up_down(t),
                                 tf.image.flip_left_right(t[0])], [x], backend)
    assert_close(lr, x[:, :, ::-1], "float32")
    assert_close(ud, x[:, ::-1], "float32")
    assert_close(lr3, x[0, :, ::-1], "float32")


@pytest.mark.parametrize("fn,axis", [(tf.image.random_flip_left_right, 1), (tf.image.random_flip_up_down, 0)])
def test_random_flips_pick_each_way(fn, axis):
    x = _img((3, 4, 2))
    batch = _img((6, 3, 4, 2), seed=2)
    seen, per_image = set(), set()
    with tf.Graph().as_default(), tf.Session() as s:
        one, many = fn(tf.constant(x)), fn(tf.constant(batch), seed=3)
        for _ in range(16):
            a, b = s.run([one, many])
            flipped = np.flip(x, axis)
            assert np.array_equal(a, x) or np.array_equal(a, flipped)
            seen.add(bool(np.array_equal(a, flipped)))
            for img, got in zip(batch, b):
                assert np.array_equal(got, img) or np.array_equal(got, np.flip(img, axis))
                per_image.add(bool(np.array_equal(got, np.flip(img, axis))))
    assert seen == {True, False} and per_image == {True, False}


def test_brightness_and_contrast(backend):
    x = _img((2, 3, 4, 3))
    u8 = (x * 255).astype(np.uint8)
    bright, contrast = run(lambda t: [tf.image.adjust_brightness(t, 0.25), tf.image.adjust_contrast(t, 1.7)],
                           [x], backend)
    assert_close(bright, x.astype(np.float64) + 0.25, "float32")
    mean = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    assert_close(contrast, (x - mean) * 1.7 + mean, "float32")
    got = run(lambda t: tf.image.adjust_brightness(t, 0.5), [u8], backend)
    # uint8 -> float (x / 255), + 0.5, back with x * 255.5 truncated, saturating at 255
    want = np.clip((u8 / 255.0 + 0.5) * 255.5, 0, 255).astype(np.uint8)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1 and got.dtype == np.uint8
    assert got.max() == 255


def test_random_brightness_and_contrast_stay_in_range():
    x = _img((4, 5, 3))
    mean = x.mean(axis=(0, 1), keepdims=True)
    with tf.Graph().as_default(), tf.Session() as s:
        t = tf.constant(x)
        b, c = tf.image.random_brightness(t, 0.3, seed=1), tf.image.random_contrast(t, 0.5, 1.5, seed=2)
        deltas, factors = [], []
        for _ in range(8):
            bv, cv = s.run([b, c])
            delta = bv - x
            assert np.allclose(delta, delta.flat[0], atol=1e-6)  # one delta for the whole image
            deltas.append(delta.flat[0])
            factor = (cv - mean) / (x - mean)
            factors.append(np.median(factor))
            assert np.allclose(cv, (x - mean) * factors[-1] + mean, atol=1e-5)
    assert all(-0.3 <= d < 0.3 for d in deltas) and len(set(np.round(deltas, 6))) > 1
    assert all(0.5 <= f < 1.5 + 1e-5 for f in factors)
    with tf.Graph().as_default(), pytest.raises(ValueError, match="upper"):
        tf.image.random_contrast(tf.constant(x), 1.0, 0.5)


def test_per_image_standardization(backend):
    x = (_img((2, 3, 4, 3)) * 255).astype(np.uint8)
    x[1] = 7  # a constant image: stddev 0, so the floor 1/sqrt(N) divides
    got = run(tf.image.per_image_standardization, [x], backend)
    f = x.astype(np.float64)
    mean = f.mean(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(f.std(axis=(1, 2, 3), keepdims=True), 1 / np.sqrt(36))
    assert_close(got, (f - mean) / std, "float32")


def test_convert_image_dtype():
    u8 = np.array([[[0], [1], [128], [255]]], np.uint8)
    flt = np.array([[[0.0], [0.5], [0.999], [1.2]]], np.float32)
    i32 = np.array([[[0], [2 ** 23], [2 ** 30]]], np.int32)
    to_f, to_u8, sat, i_up, i_down, same = run(
        lambda a, b, c: [tf.image.convert_image_dtype(a, tf.float32), tf.image.convert_image_dtype(b, tf.uint8),
                         tf.image.convert_image_dtype(b, tf.uint8, saturate=True),
                         tf.image.convert_image_dtype(a, tf.int32), tf.image.convert_image_dtype(c, tf.uint8),
                         tf.image.convert_image_dtype(b, tf.float32)], [u8, flt, i32], "numpy")
    assert_close(to_f, u8 / 255.0, "float32")
    assert_close(to_u8[0, :3], np.trunc(flt[0, :3].astype(np.float64) * 255.5), "uint8")
    assert_close(sat, np.minimum(np.trunc(flt.astype(np.float64) * 255.5), 255), "uint8")
    assert_close(i_up, u8.astype(np.int64) * 2 ** 23, "int32")
    assert_close(i_down, i32 // 2 ** 23, "uint8")
    assert_close(same, flt, "float32")


def test_crops_and_pads(backend):
    x = _img((2, 6, 5, 3))
    box, padded, cc, cc3, grow, shrink = run(
        lambda t: [tf.image.crop_to_bounding_box(t, 1, 2, 4, 3), tf.image.pad_to_bounding_box(t, 1, 2, 9, 8),
                   tf.image.central_crop(t, 0.5), tf.image.central_crop(t[0], 0.34),
                   tf.image.resize_image_with_crop_or_pad(t, 9, 7),
                   tf.image.resize_image_with_crop_or_pad(t, 3, 2)], [x], backend)
    assert_close(box, x[:, 1:5, 2:5], "float32")
    want = np.zeros((2, 9, 8, 3), np.float32)
    want[:, 1:7, 2:7] = x
    assert_close(padded, want, "float32")
    # TF1: start = int((size - size * fraction) / 2), size - 2 * start
    assert_close(cc, x[:, 1:5, 1:4], "float32")
    assert_close(cc3, x[0, 1:5, 1:4], "float32")
    want = np.zeros((2, 9, 7, 3), np.float32)
    want[:, 1:7, 1:6] = x
    assert_close(grow, want, "float32")
    assert_close(shrink, x[:, 1:4, 1:3], "float32")


def test_random_crop_is_a_window_at_a_drawn_offset():
    x = np.arange(5 * 6 * 2, dtype=np.float32).reshape(5, 6, 2)
    offsets = set()
    with tf.Graph().as_default(), tf.Session() as s:
        crop = tf.random_crop(tf.constant(x), [3, 2, 2], seed=4)
        assert crop.shape.as_list() == [3, 2, 2]
        for _ in range(20):
            got = s.run(crop)
            i, j = np.argwhere(x[..., 0] == got[0, 0, 0])[0]
            assert np.array_equal(got, x[i:i + 3, j:j + 2])
            offsets.add((int(i), int(j)))
    assert len(offsets) > 3 and all(i <= 2 and j <= 4 for i, j in offsets)


def test_grayscale(backend):
    x = _img((2, 3, 4, 3))
    gray, rgb = run(lambda t: [tf.image.rgb_to_grayscale(t), tf.image.grayscale_to_rgb(t[..., :1])], [x], backend)
    assert_close(gray, (x.astype(np.float64) @ np.array([0.2989, 0.5870, 0.1140]))[..., None], "float32")
    assert_close(rgb, np.repeat(x[..., :1], 3, -1), "float32")


def test_bad_input_is_named():
    with tf.Graph().as_default():
        flat = tf.placeholder(tf.float32, [4, 5], name="flat")
        img = tf.placeholder(tf.float32, [2, 6, 5, 3], name="pic")
        with pytest.raises(ShapeError, match="resize_bilinear.*'flat:0'.*rank 3 or 4"):
            tf.image.resize_bilinear(flat, [2, 2])
        with pytest.raises(ValueError, match=r"crop_to_bounding_box.*4x3 box at offset \(3, 2\).*6x5.*'pic:0'"):
            tf.image.crop_to_bounding_box(img, 3, 2, 4, 3)
        with pytest.raises(ValueError, match="pad_to_bounding_box.*does not fit"):
            tf.image.pad_to_bounding_box(img, 0, 0, 5, 5)
        with pytest.raises(ValueError, match="central_fraction.*'pic:0'"):
            tf.image.central_crop(img, 1.5)
        with pytest.raises(ValueError, match=r"random_crop: size \[3, 7, 5, 3\]"):
            tf.random_crop(img, [3, 7, 5, 3])
        with pytest.raises(ShapeError, match="rgb_to_grayscale.*'flat:0'"):
            tf.image.rgb_to_grayscale(flat)
        with pytest.raises(TypeError, match="size must be known"):
            tf.image.resize_images(img, tf.placeholder(tf.int32, [2]))
