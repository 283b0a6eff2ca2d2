"""Conformance cases for convolution, pooling and normalisation (part of nnplug.testing.conformance).

References are float64 NumPy written here, pixel by pixel (a loop over output pixels, each window read
whole), independent of the kernels' loops over window offsets; TF's padding rule is spelled out again in
`tf_pads`. Gradients of every op are checked against central finite differences."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.graph import make

from . import assert_close, check_gradient, run
from .cases import covers, data, f64

covers("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool", "MaxPoolGrad", "AvgPool", "AvgPoolGrad",
       "MaxPoolWithArgmax", "MaxPoolGradWithArgmax")


def tf_pads(size, k, stride, dilation, padding):
    """(pad before, pad after, output size) by TF's rule (SAME: the extra pixel at the end)."""
    eff = (k - 1) * dilation + 1
    if padding == "VALID":
        return 0, 0, (size - eff) // stride + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2, out


def _conv_windows(xs, ws, strides, padding, dilations):
    """(pads, output shape, [(p, q, rows, cols)]) for every output pixel of a conv, over the padded input."""
    n, h, wd, c = xs
    kh, kw, cg, o = ws
    (t, b, oh), (left, r, ow) = (tf_pads(h, kh, strides[0], dilations[0], padding),
                                 tf_pads(wd, kw, strides[1], dilations[1], padding))
    wins = [(p, q, slice(p * strides[0], p * strides[0] + (kh - 1) * dilations[0] + 1, dilations[0]),
             slice(q * strides[1], q * strides[1] + (kw - 1) * dilations[1] + 1, dilations[1]))
            for p in range(oh) for q in range(ow)]
    return ((0, 0), (t, b), (left, r), (0, 0)), (n, oh, ow, o), wins


def _groups(c, w):
    """[(input channels, output channels, the group's filter as a (kh*kw*cg, og) matrix)] per group."""
    cg, o = w.shape[2], w.shape[3]
    groups = c // cg
    og = o // groups
    return [(slice(i * cg, (i + 1) * cg), slice(i * og, (i + 1) * og), w[..., i * og:(i + 1) * og].reshape(-1, og))
            for i in range(groups)]


def ref_conv2d(x, w, strides=(1, 1), padding="SAME", dilations=(1, 1)):
    """NHWC x, (kh, kw, c/groups, o) w: each output pixel is its dilated window dotted with the filter."""
    x, w = f64(x), f64(w)
    pads, y_shape, wins = _conv_windows(x.shape, w.shape, strides, padding, dilations)
    xp, y = np.pad(x, pads), np.zeros(y_shape)
    for p, q, rows, cols in wins:
        for ci, co, wg in _groups(x.shape[3], w):
            y[:, p, q, co] = xp[:, rows, cols, ci].reshape(x.shape[0], -1) @ wg
    return y


def ref_conv2d_grads(x, w, g, strides, padding, dilations):
    """(d/dx, d/dw) of sum(g * conv2d(x, w)): each output pixel's gradient spread back over its window."""
    x, w, g = f64(x), f64(w), f64(g)
    pads, _, wins = _conv_windows(x.shape, w.shape, strides, padding, dilations)
    xp = np.pad(x, pads)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    n, kh, kw = x.shape[0], w.shape[0], w.shape[1]
    for p, q, rows, cols in wins:
        for ci, co, wg in _groups(x.shape[3], w):
            dxp[:, rows, cols, ci] += (g[:, p, q, co] @ wg.T).reshape(n, kh, kw, -1)
            dw[..., co] += (xp[:, rows, cols, ci].reshape(n, -1).T @ g[:, p, q, co]).reshape(kh, kw, -1, co.stop - co.start)
    (t, _), (left, _) = pads[1], pads[2]
    return dxp[:, t:t + x.shape[1], left:left + x.shape[2]], dw


def _pool_windows(xs, k, s, padding):
    """[(p, q, rows, cols)]: each output pixel's window, clipped to the input."""
    n, h, wd, c = xs
    (t, _, oh), (left, _, ow) = tf_pads(h, k[0], s[0], 1, padding), tf_pads(wd, k[1], s[1], 1, padding)
    return (n, oh, ow, c), [(p, q, slice(max(p * s[0] - t, 0), p * s[0] - t + k[0]),
                             slice(max(q * s[1] - left, 0), q * s[1] - left + k[1]))
                            for p in range(oh) for q in range(ow)]


def ref_pool(x, k, s, padding, kind):
    """Max (padding never wins) or mean over the window's pixels inside the input."""
    x = f64(x)
    y_shape, wins = _pool_windows(x.shape, k, s, padding)
    y = np.zeros(y_shape)
    for p, q, rows, cols in wins:
        win = x[:, rows, cols]
        y[:, p, q] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return y


def ref_pool_grads(x, g, k, s, padding):
    """(max, avg) pooling gradients: the max's to the first maximum of each window, rows then columns (TF's
    CPU kernel); the average's spread evenly over the window's pixels inside the input."""
    x, g = f64(x), f64(g)
    _, wins = _pool_windows(x.shape, k, s, padding)
    dmax, davg = np.zeros_like(x), np.zeros_like(x)
    for p, q, rows, cols in wins:
        win = x[:, rows, cols]
        davg[:, rows, cols] += g[:, p, q][:, None, None] / (win.shape[1] * win.shape[2])
        for b in range(x.shape[0]):
            for ch in range(x.shape[3]):
                a, c = np.unravel_index(np.argmax(win[b, ..., ch]), win.shape[1:3])  # argmax: the first maximum
                dmax[b, rows.start + a, cols.start + c, ch] += g[b, p, q, ch]
    return dmax, davg


def ref_pool_argmax(x, k, s, padding, include_batch):
    """(max, argmax) of max_pool_with_argmax: each window's first maximum (rows, then columns) and its index
    flattened as ((b * height + y) * width + x) * channels + c, the batch term only with include_batch."""
    x = f64(x)
    n, h, w, c = x.shape
    y_shape, wins = _pool_windows(x.shape, k, s, padding)
    y, idx = np.zeros(y_shape), np.zeros(y_shape, np.int64)
    for p, q, rows, cols in wins:
        for b in range(n):
            for ch in range(c):
                win = x[b, rows, cols, ch]
                a, d = np.unravel_index(np.argmax(win), win.shape)
                y[b, p, q, ch] = win[a, d]
                idx[b, p, q, ch] = (((b * h if include_batch else 0) + rows.start + a) * w + cols.start + d) * c + ch
    return y, idx


# -- convolution values ----------------------------------------------------------------------------------
CONVS = [  # (x shape, w shape, strides, padding, dilations)
    ((2, 7, 8, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
    ((2, 7, 8, 3), (3, 3, 3, 4), (1, 1), "VALID", (1, 1)),
    ((2, 7, 8, 3), (3, 2, 3, 4), (2, 2), "SAME", (1, 1)),
    ((2, 8, 7, 3), (4, 4, 3, 2), (2, 3), "SAME", (1, 1)),  # even kernel: the extra pad pixel at the end
    ((2, 9, 9, 2), (3, 3, 2, 3), (2, 2), "VALID", (1, 1)),
    ((1, 9, 8, 2), (3, 3, 2, 3), (1, 1), "SAME", (2, 2)),
    ((1, 9, 8, 2), (2, 3, 2, 3), (1, 1), "VALID", (2, 1)),
    ((2, 5, 5, 4), (1, 1, 4, 6), (1, 1), "VALID", (1, 1)),
    ((2, 4, 5, 3), (4, 5, 3, 2), (1, 1), "VALID", (1, 1)),  # the window is the whole input: 1x1 output
    ((2, 6, 6, 4), (3, 3, 2, 6), (1, 1), "SAME", (1, 1)),  # 2 groups
    ((2, 6, 5, 4), (3, 3, 1, 8), (2, 2), "SAME", (1, 1)),  # 4 groups (depthwise, multiplier 2)
    ((1, 5, 6, 16), (3, 4, 16, 3), (1, 1), "SAME", (1, 1)),  # many channels (NumPy: dx as a conv of g)
    ((1, 7, 6, 16), (2, 3, 8, 4), (1, 1), "VALID", (2, 1)),  # ... with groups and dilations
    ((2, 5, 4, 3), (3, 3, 3, 8), (1, 2), "SAME", (1, 1)),  # 8 output channels (OpenCL: float8 rows of g)
    ((3, 5, 7, 2), (3, 3, 2, 3), (1, 1), "SAME", (1, 1)),  # 105 pixels: a partial last block of rows
    ((2, 6, 7, 1), (3, 3, 1, 4), (2, 1), "SAME", (1, 2)),  # one input channel (NumPy: offset-major patches)
    ((1, 5, 4, 16), (3, 3, 16, 16), (1, 1), "SAME", (1, 1)),  # 16 in and out (OpenCL: float16 filter gradient)
    ((2, 4, 5, 32), (2, 3, 32, 16), (2, 1), "VALID", (1, 1)),  # ... in blocks of 32 taps
]
CONV_IDS = [f"{x}{w}s{s}{p}d{d}" for x, w, s, p, d in CONVS]


@pytest.mark.parametrize("xs,ws,strides,padding,dil", CONVS, ids=CONV_IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d(backend, xs, ws, strides, padding, dil, dtype):
    x, w = data(xs, dtype, seed=1), data(ws, dtype, seed=2)
    got = run(lambda a, b: tf.nn.conv2d(a, b, [1, *strides, 1], padding, dilations=[1, *dil, 1]), [x, w], backend)
    assert_close(got, ref_conv2d(x, w, strides, padding, dil), dtype, rtol=1e-4 if dtype == "float32" else None,
                 atol=1e-5 if dtype == "float32" else None, what=f"conv2d {xs} {ws} {strides} {padding} {dil}")


@pytest.mark.parametrize("xs,ws,strides,padding,dil", CONVS, ids=CONV_IDS)
def test_conv2d_backprops(backend, xs, ws, strides, padding, dil):
    """The input and filter gradients of conv2d, each output pixel's gradient spread back over its window."""
    x, w = data(xs, "float64", seed=1), data(ws, "float64", seed=2)
    y = ref_conv2d(x, w, strides, padding, dil)
    g = data(y.shape, "float64", seed=3)
    attrs = {"strides": strides, "dilations": dil, "padding": padding}
    dx, dw = run(lambda a, b, c: [make("Conv2DBackpropInput", [b, c], dict(attrs, input_shape=xs)),
                                  make("Conv2DBackpropFilter", [a, b, c], attrs)], [x, w, g], backend)
    want_dx, want_dw = ref_conv2d_grads(x, w, g, strides, padding, dil)
    assert_close(dx, want_dx, "float64", what="Conv2DBackpropInput")
    assert_close(dw, want_dw, "float64", what="Conv2DBackpropFilter")


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_conv2d_nchw_and_depthwise(backend, data_format):
    x, w = data((2, 6, 7, 3), "float32", seed=1), data((3, 3, 3, 2), "float32", seed=2)
    to = (lambda a: np.transpose(a, (0, 3, 1, 2))) if data_format == "NCHW" else (lambda a: a)
    back = (lambda a: np.transpose(a, (0, 2, 3, 1))) if data_format == "NCHW" else (lambda a: a)
    strides = [1, 1, 2, 2] if data_format == "NCHW" else [1, 2, 2, 1]
    conv, depth = run(lambda a, b: [tf.nn.conv2d(a, b, strides, "SAME", data_format=data_format),
                                    tf.nn.depthwise_conv2d(a, b, strides, "SAME", data_format=data_format)],
                      [to(x), w], backend)
    assert_close(back(conv), ref_conv2d(x, w, (2, 2), "SAME"), "float32", rtol=1e-4, atol=1e-5)
    # depthwise: channel c times its multiplier m -> output channel c*2 + m (a grouped conv)
    grouped = w.reshape(3, 3, 1, 6)
    assert_close(back(depth), ref_conv2d(x, grouped, (2, 2), "SAME"), "float32", rtol=1e-4, atol=1e-5)


def test_separable_conv1d_and_transpose(backend):
    x, dw, pw = data((2, 6, 6, 3), "float64", seed=1), data((3, 3, 3, 2), "float64", seed=2), \
        data((1, 1, 6, 4), "float64", seed=3)
    v, f = data((2, 9, 3), "float64", seed=4), data((3, 3, 5), "float64", seed=5)
    sep, c1 = run(lambda a, b, c, d, e: [tf.nn.separable_conv2d(a, b, c, [1, 1, 1, 1], "SAME"),
                                         tf.nn.conv1d(d, e, 2, "VALID")], [x, dw, pw, v, f], backend)
    depth = ref_conv2d(x, dw.reshape(3, 3, 1, 6), (1, 1), "SAME")
    assert_close(sep, ref_conv2d(depth, pw, (1, 1), "VALID"), "float64")
    assert_close(c1, ref_conv2d(v[:, None], f[None], (1, 2), "VALID")[:, 0], "float64")
    # conv2d_transpose is the adjoint of conv2d: <conv2d(a, w), b> == <a, conv2d_transpose(b, w)>
    a, w = data((2, 7, 7, 3), "float64", seed=6), data((3, 3, 3, 4), "float64", seed=7)
    b = data(ref_conv2d(a, w, (2, 2), "SAME").shape, "float64", seed=8)
    t = run(lambda q, r: tf.nn.conv2d_transpose(q, r, (2, 7, 7, 3), [1, 2, 2, 1], "SAME"), [b, w], backend)
    assert t.shape == a.shape
    np.testing.assert_allclose(np.sum(ref_conv2d(a, w, (2, 2), "SAME") * b), np.sum(a * t), rtol=1e-10)


# -- pooling values --------------------------------------------------------------------------------------
POOLS = [  # (x shape, ksize, strides, padding)
    ((2, 6, 6, 3), (2, 2), (2, 2), "VALID"),
    ((2, 7, 7, 3), (2, 2), (2, 2), "SAME"),
    ((2, 7, 8, 2), (3, 3), (2, 2), "SAME"),  # overlapping windows, padded on both sides
    ((2, 7, 8, 2), (3, 2), (1, 2), "VALID"),
    ((1, 5, 5, 2), (5, 5), (1, 1), "SAME"),  # windows reaching far into the padding
    ((1, 6, 6, 1), (1, 1), (3, 3), "SAME"),  # stride larger than the window: pixels no window reads
]
POOL_IDS = [f"{x}k{k}s{s}{p}" for x, k, s, p in POOLS]


@pytest.mark.parametrize("xs,k,s,padding", POOLS, ids=POOL_IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pools(backend, xs, k, s, padding, dtype):
    x = data(xs, dtype, seed=1)
    mx, av = run(lambda t: [tf.nn.max_pool(t, [1, *k, 1], [1, *s, 1], padding),
                            tf.nn.avg_pool(t, [1, *k, 1], [1, *s, 1], padding)], [x], backend)
    assert_close(mx, ref_pool(x, k, s, padding, "max"), dtype, what="max_pool")
    assert_close(av, ref_pool(x, k, s, padding, "avg"), dtype, what="avg_pool")


@pytest.mark.parametrize("xs,k,s,padding", POOLS, ids=POOL_IDS)
def test_pool_grads(backend, xs, k, s, padding):
    # small integers: many ties, which the first maximum (rows, then columns) must win
    x = np.random.default_rng(2).integers(-1, 2, xs).astype(np.float64)
    y = ref_pool(x, k, s, padding, "max")
    g = data(y.shape, "float64", seed=3)
    attrs = {"ksize": k, "strides": s, "padding": padding}
    dmax, davg = run(lambda a, b, c: [make("MaxPoolGrad", [a, b, c], attrs), make("AvgPoolGrad", [c, a], attrs)],
                     [x, y, g], backend)
    want_max, want_avg = ref_pool_grads(x, g, k, s, padding)
    assert_close(dmax, want_max, "float64", what="MaxPoolGrad")
    assert_close(davg, want_avg, "float64", what="AvgPoolGrad")


@pytest.mark.parametrize("xs,k,s,padding", POOLS, ids=POOL_IDS)
@pytest.mark.parametrize("include_batch", [False, True])
def test_max_pool_with_argmax(backend, xs, k, s, padding, include_batch):
    """Values, argmax (int64 with the batch term, int32 without) and the gradient, which adds each output's
    gradient at its argmax (overlapping windows may name one pixel twice). Small integers: many ties."""
    x = np.random.default_rng(2).integers(-1, 2, xs).astype(np.float64)
    want_y, want_idx = ref_pool_argmax(x, k, s, padding, include_batch)
    g = data(want_y.shape, "float64", seed=3)
    index = tf.int64 if include_batch else tf.int32

    def build(t, gt):
        y, idx = tf.nn.max_pool_with_argmax(t, [1, *k, 1], [1, *s, 1], padding, Targmax=index,
                                            include_batch_in_index=include_batch)
        return [y, idx, tf.gradients(tf.reduce_sum(y * gt), t)[0]]
    y, idx, dx = run(build, [x, g], backend)
    assert_close(y, want_y, "float64", what="max_pool_with_argmax")
    assert_close(idx, want_idx, index.name, what="the argmax")
    want_dx = np.zeros(x.size)
    np.add.at(want_dx, (want_idx + (0 if include_batch else np.arange(xs[0]).reshape(-1, 1, 1, 1) * x[0].size))
              .reshape(-1), g.reshape(-1))
    assert_close(dx, want_dx.reshape(xs), "float64", what="MaxPoolGradWithArgmax")


def test_max_pool_grad_with_argmax_refuses_a_misplaced_argmax(backend):
    """An argmax that names a pixel outside its output's window (one max_pool_with_argmax did not make) is
    an error naming the op, not a silent scatter."""
    x, g = data((1, 4, 4, 2), "float64", seed=1), data((1, 2, 2, 2), "float64", seed=2)
    _, idx = ref_pool_argmax(x, (2, 2), (2, 2), "VALID", False)
    idx[0, 1, 1, 0] = 0  # pixel (0, 0), channel 0: the first window's
    attrs = {"ksize": (2, 2), "strides": (2, 2), "padding": "VALID", "include_batch_in_index": False}
    with pytest.raises(tf.errors.InvalidArgumentError, match="MaxPoolGradWithArgmax.*argmax\\[6\\] = 0"):
        run(lambda a, b, c: make("MaxPoolGradWithArgmax", [a, b, c], attrs), [x, g, idx], backend)


def test_max_pool_int32(backend):
    x = data((2, 5, 5, 3), "int32", seed=4)
    got = run(lambda t: tf.nn.max_pool(t, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"), [x], backend)
    assert_close(got, ref_pool(x, (2, 2), (2, 2), "SAME", "max"), "int32")


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_pools_nchw(backend, data_format):
    x = data((2, 6, 7, 3), "float32", seed=5)
    feed = np.transpose(x, (0, 3, 1, 2)) if data_format == "NCHW" else x
    k = [1, 1, 3, 3] if data_format == "NCHW" else [1, 3, 3, 1]
    s = [1, 1, 2, 2] if data_format == "NCHW" else [1, 2, 2, 1]
    mx, av = run(lambda t: [tf.nn.max_pool(t, k, s, "SAME", data_format=data_format),
                            tf.nn.avg_pool(t, k, s, "SAME", data_format=data_format)], [feed], backend)
    if data_format == "NCHW":
        mx, av = np.transpose(mx, (0, 2, 3, 1)), np.transpose(av, (0, 2, 3, 1))
    assert_close(mx, ref_pool(x, (3, 3), (2, 2), "SAME", "max"), "float32")
    assert_close(av, ref_pool(x, (3, 3), (2, 2), "SAME", "avg"), "float32")


# -- normalisation -----------------------------------------------------------------------------------------
def test_batch_norm_and_lrn(backend):
    x = data((3, 4, 5, 6), "float64", seed=1)
    scale, offset = data((6,), "float64", "pos", seed=2), data((6,), "float64", seed=3)
    y, m, v, inf, lrn = run(lambda t, a, b: list(tf.nn.fused_batch_norm(t, a, b, epsilon=1e-3)) + [
        tf.nn.fused_batch_norm(t, a, b, mean=b, variance=a, is_training=False)[0],
        tf.nn.lrn(t, depth_radius=2, bias=1.5, alpha=0.3, beta=0.75)], [x, scale, offset], backend)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    assert_close(y, (x - mean) / np.sqrt(var + 1e-3) * scale + offset, "float64")
    assert_close(m, mean, "float64")
    assert_close(v, var * 60 / 59, "float64", what="the training variance (Bessel-corrected, as TF)")
    assert_close(inf, (x - offset) / np.sqrt(scale + 1e-3) * scale + offset, "float64")
    sq = np.stack([(x[..., max(c - 2, 0):c + 3] ** 2).sum(-1) for c in range(6)], -1)
    assert_close(lrn, x / (1.5 + 0.3 * sq) ** 0.75, "float64")


# -- gradients against finite differences ----------------------------------------------------------------
def _g(shape, seed=0, domain="any"):
    return data(shape, np.float64, domain, seed)


def _conv(s, p, d=(1, 1)):
    return lambda x, w: tf.nn.conv2d(x, w, [1, *s, 1], p, dilations=[1, *d, 1])


CONV_GRADS = [
    ("Conv2D-same-s2", ("Conv2D",), _conv((2, 2), "SAME"), [_g((2, 5, 6, 2)), _g((3, 3, 2, 3), 1)]),
    ("Conv2D-valid-dil", ("Conv2D",), _conv((1, 1), "VALID", (2, 1)), [_g((1, 6, 5, 2)), _g((2, 2, 2, 2), 1)]),
    ("Conv2D-groups", ("Conv2D",), _conv((1, 1), "SAME"), [_g((1, 4, 4, 4)), _g((3, 3, 2, 4), 1)]),
    ("Conv2D-nchw", ("Conv2D", "Transpose"),
     lambda x, w: tf.nn.conv2d(x, w, [1, 1, 2, 1], "SAME", data_format="NCHW"), [_g((2, 2, 5, 4)), _g((3, 2, 2, 3), 1)]),
    ("Conv2DBackpropInput", ("Conv2DBackpropInput",),
     lambda g, w: tf.nn.conv2d_transpose(g, w, (2, 5, 6, 2), [1, 2, 2, 1], "SAME"), [_g((2, 3, 3, 3)), _g((3, 3, 2, 3), 1)]),
    ("Conv2DBackpropFilter", ("Conv2DBackpropFilter",),
     lambda x, g: make("Conv2DBackpropFilter", [x, tf.zeros((3, 3, 2, 3), tf.float64), g],
                       {"strides": (2, 2), "dilations": (1, 1), "padding": "SAME"}),
     [_g((2, 5, 6, 2)), _g((2, 3, 3, 3), 1)]),
    ("MaxPool-same", ("MaxPool",), lambda x: tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME"),
     [_g((2, 5, 6, 2))]),
    ("MaxPoolWithArgmax", ("MaxPoolWithArgmax",),
     lambda x: tf.nn.max_pool_with_argmax(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")[0], [_g((2, 5, 6, 2))]),
    ("MaxPoolGradWithArgmax", ("MaxPoolGradWithArgmax",),  # linear in g: its gradient reads gg at the argmax
     lambda g: make("MaxPoolGradWithArgmax", [tf.zeros((2, 5, 6, 2), tf.float64), g, tf.constant(
         ref_pool_argmax(_g((2, 5, 6, 2)), (3, 3), (2, 2), "SAME", False)[1])],
         {"ksize": (3, 3), "strides": (2, 2), "padding": "SAME", "include_batch_in_index": False}),
     [_g((2, 3, 3, 2), 1)]),
    ("AvgPool-same", ("AvgPool",), lambda x: tf.nn.avg_pool(x, [1, 3, 2, 1], [1, 2, 2, 1], "SAME"), [_g((2, 5, 6, 2))]),
    ("AvgPoolGrad", ("AvgPoolGrad",),
     lambda g: make("AvgPoolGrad", [g, tf.zeros((2, 5, 6, 2), tf.float64)],
                    {"ksize": (3, 2), "strides": (2, 2), "padding": "SAME"}), [_g((2, 3, 3, 2))]),
    ("batch_norm", ("Rsqrt",), lambda x, s, b: tf.nn.fused_batch_norm(x, s, b)[0],
     [_g((2, 3, 3, 4)), _g((4,), 1, "pos"), _g((4,), 2)]),
    ("lrn", ("MatMul", "Pow"), lambda x: tf.nn.lrn(x, 1, 1.0, 0.5, 0.75), [_g((2, 2, 3, 4))]),
]
for _case in CONV_GRADS:
    covers(*_case[1], grad=True)


@pytest.mark.parametrize("case", CONV_GRADS, ids=[c[0] for c in CONV_GRADS])
def test_conv_gradient(backend, case):
    _name, _ops, build, inputs = case
    check_gradient(build, inputs, backend)


def test_conv_second_order(backend):
    """Gradients of gradients: the backprop ops' own gradient rules, against finite differences."""
    def build(x, w):
        y = tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME")
        return tf.gradients(tf.reduce_sum(y * y), [x])[0] + 0.0 * x
    check_gradient(build, [_g((1, 5, 5, 2)), _g((3, 3, 2, 2), 1)], backend)


__all__ = [n for n in dir() if n.startswith("test_")]
