"""tf.nn's 3-D convolution and pooling (nnplug/ops/conv3d.py) and the remaining layers and statistics
(nnplug/ops/nn_more.py): against direct float64 NumPy loops over TF's window definitions, the adjoint
identity for conv3d_transpose, and finite differences for gradients."""
import itertools

import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import assert_close, check_gradient, run

HOST = "numpy"
RNG = np.random.default_rng(0)


def _same_pads(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return out, total // 2


def _windows(shape, ksize, strides, padding, dilations=(1, 1, 1)):
    """For each output voxel (d, h, w): the input coordinates per tap, or None outside the input."""
    outs, befores = [], []
    for size, k, s, dl in zip(shape, ksize, strides, dilations):
        if padding == "SAME":
            o, b = _same_pads(size, k, s, dl)
        else:
            o, b = (size - (k - 1) * dl - 1) // s + 1, 0
        outs.append(o)
        befores.append(b)
    return outs, befores


def _conv3d_ref(x, w, strides, padding, dilations=(1, 1, 1)):
    n, *spatial, c = x.shape
    kd, kh, kw, ci, co = w.shape
    outs, before = _windows(spatial, (kd, kh, kw), strides, padding, dilations)
    y = np.zeros([n] + outs + [co])
    for o in itertools.product(*[range(v) for v in outs]):
        for t in itertools.product(range(kd), range(kh), range(kw)):
            pos = [o[i] * strides[i] - before[i] + t[i] * dilations[i] for i in range(3)]
            if all(0 <= p < s for p, s in zip(pos, spatial)):
                y[(slice(None),) + o] += x[:, pos[0], pos[1], pos[2], :] @ w[t]
    return y


def _pool3d_ref(x, ksize, strides, padding, kind):
    n, *spatial, c = x.shape
    outs, before = _windows(spatial, ksize, strides, padding)
    y = np.zeros([n] + outs + [c])
    for o in itertools.product(*[range(v) for v in outs]):
        taps = []
        for t in itertools.product(*[range(k) for k in ksize]):
            pos = [o[i] * strides[i] - before[i] + t[i] for i in range(3)]
            if all(0 <= p < s for p, s in zip(pos, spatial)):
                taps.append(x[:, pos[0], pos[1], pos[2], :])
        y[(slice(None),) + o] = np.max(taps, 0) if kind == "max" else np.mean(taps, 0)
    return y


def _conv_and_pools(x, w, padding, strides, backend):
    s5 = [1, *strides, 1]
    conv, mx, av = run(lambda a, f: [tf.nn.conv3d(a, f, s5, padding), tf.nn.max_pool3d(a, [1, 2, 3, 2, 1], s5, padding),
                                     tf.nn.avg_pool3d(a, [1, 2, 3, 2, 1], s5, padding)], [x, w], backend)
    assert_close(conv, _conv3d_ref(x, w, strides, padding), "float64")
    assert_close(mx, _pool3d_ref(x, (2, 3, 2), strides, padding, "max"), "float64")
    assert_close(av, _pool3d_ref(x, (2, 3, 2), strides, padding, "avg"), "float64")


@pytest.mark.parametrize("padding,strides", [("SAME", (1, 1, 1)), ("VALID", (2, 1, 2)), ("SAME", (3, 2, 1))])
def test_conv3d_and_pools_match_direct_loops(padding, strides):
    _conv_and_pools(RNG.standard_normal((2, 5, 4, 5, 3)), RNG.standard_normal((3, 2, 3, 3, 2)), padding, strides, HOST)


def test_conv3d_and_pools_on_every_backend(backend):
    """Compositions of the 2-D ops, so each backend runs them with its own kernels."""
    _conv_and_pools(RNG.standard_normal((1, 4, 3, 4, 2)), RNG.standard_normal((2, 2, 2, 2, 2)), "SAME", (2, 1, 2),
                    backend)


def test_conv3d_dilations_layouts_and_gradients():
    x = RNG.standard_normal((1, 5, 4, 4, 2))
    w = RNG.standard_normal((2, 2, 2, 2, 3))
    dil = run(lambda a, f: tf.nn.conv3d(a, f, [1] * 5, "SAME", dilations=[1, 2, 1, 2, 1]), [x, w], HOST)
    assert_close(dil, _conv3d_ref(x, w, (1, 1, 1), "SAME", (2, 1, 2)), "float64")
    first = run(lambda a, f: tf.nn.conv3d(tf.transpose(a, [0, 4, 1, 2, 3]), f, [1] * 5, "VALID", data_format="NCDHW"),
                [x, w], HOST)
    assert_close(first, _conv3d_ref(x, w, (1, 1, 1), "VALID").transpose(0, 4, 1, 2, 3), "float64")
    small_x, small_w = RNG.standard_normal((1, 3, 3, 2, 2)), RNG.standard_normal((2, 2, 1, 2, 2))
    check_gradient(lambda a, f: tf.nn.conv3d(a, f, [1, 2, 1, 1, 1], "SAME"), [small_x, small_w], HOST)
    check_gradient(lambda a: tf.nn.max_pool3d(a, 2, 1, "VALID"), [small_x], HOST)
    check_gradient(lambda a: tf.nn.avg_pool3d(a, 2, [1, 2, 1, 1, 1], "SAME"), [small_x], HOST)
    with pytest.raises(ValueError, match="data_format"):
        tf.nn.conv3d(x, w, [1] * 5, "SAME", data_format="NHWC")


def test_conv3d_transpose_is_the_adjoint_of_conv3d():
    x = RNG.standard_normal((1, 4, 5, 3, 2))
    w = RNG.standard_normal((3, 2, 2, 2, 3))
    strides = [1, 2, 2, 1, 1]
    y = _conv3d_ref(x, w, (2, 2, 1), "SAME")
    v = RNG.standard_normal(y.shape)
    t = run(lambda a, f: tf.nn.conv3d_transpose(a, f, list(x.shape), strides, "SAME"), [v, w], HOST)
    assert t.shape == x.shape
    assert abs(np.sum(y * v) - np.sum(x * t)) < 1e-10  # <conv(x), v> = <x, conv^T(v)>
    check_gradient(lambda a, f: tf.nn.conv3d_transpose(a, f, [1, 4, 5, 3, 2], strides, "SAME"), [v, w], HOST)


def test_pool_convolution_dispatch_by_rank():
    x1, x2 = RNG.standard_normal((2, 7, 3)), RNG.standard_normal((2, 4, 6, 3))
    w1 = RNG.standard_normal((3, 3, 2))
    got = run(lambda a, b, f: [tf.nn.pool(a, [3], "MAX", "VALID", strides=[2]), tf.nn.max_pool_v2(b, 2, 2, "SAME"),
                               tf.nn.avg_pool_v2(a, [2], [1], "VALID"), tf.nn.convolution(a, f, "VALID"),
                               tf.nn.max_pool1d(a, 2, 2, "VALID"), tf.nn.avg_pool1d(a, 3, 1, "SAME")],
              [x1, x2, w1], HOST)
    assert_close(got[0], np.stack([x1[:, i:i + 3].max(1) for i in (0, 2, 4)], 1), "float64")
    assert_close(got[1], x2.reshape(2, 2, 2, 3, 2, 3).max((2, 4)), "float64")
    assert_close(got[2], (x1[:, :-1] + x1[:, 1:]) / 2, "float64")
    assert_close(got[3], np.stack([np.einsum("nkc,kco->no", x1[:, i:i + 3], w1) for i in range(5)], 1), "float64")
    assert_close(got[4], x1[:, :6].reshape(2, 3, 2, 3).max(2), "float64")
    padded = np.concatenate([x1[:, :1] * np.nan, x1, x1[:, :1] * np.nan], 1)
    assert_close(got[5], np.stack([np.nanmean(padded[:, i:i + 3], 1) for i in range(7)], 1), "float64")
    with pytest.raises(ValueError, match="pooling_type"):
        tf.nn.pool(x1, [2], "MIN", "SAME")


def test_layers_and_activations():
    x, w, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2)), RNG.standard_normal(2)
    layer, silu, silu2 = run(lambda a, f, c: [tf.nn.relu_layer(a, f, c), tf.nn.silu(a), tf.nn.silu(a, beta=2.0)],
                             [x, w, b], HOST)
    assert_close(layer, np.maximum(x @ w + b, 0), "float64")
    assert_close(silu, x / (1 + np.exp(-x)), "float64")
    assert_close(silu2, x / (1 + np.exp(-2 * x)), "float64")
    img, filt = RNG.standard_normal((1, 4, 4, 2)), RNG.standard_normal((2, 2, 2, 2))
    native, plain = run(lambda a, f: [tf.nn.depthwise_conv2d_native(a, f, [1, 1, 1, 1], "VALID"),
                                      tf.nn.depthwise_conv2d(a, f, [1, 1, 1, 1], "VALID")], [img, filt], HOST)
    assert_close(native, plain, "float64")
    s2d = run(lambda a: tf.nn.depth_to_space(tf.nn.space_to_depth(a, 2), 2), [img], HOST)
    assert_close(s2d, img, "float64")


def test_moments_helpers_against_numpy():
    x = RNG.standard_normal((4, 3, 2))
    wts = RNG.uniform(0.5, 2.0, (4, 1, 2))
    count, m_ss, v_ss, shift = tf.nn.sufficient_statistics(tf.constant(x), [0, 1], shift=0.5)
    mean, var = tf.nn.normalize_moments(count, m_ss, v_ss, shift)
    wmean, wvar = tf.nn.weighted_moments(tf.constant(x), [0, 1], wts, keep_dims=True)
    with tf.Session() as s:
        got = s.run([count, m_ss, v_ss, mean, var, wmean, wvar])
    assert got[0] == 12.0
    assert_close(got[1], (x - 0.5).sum((0, 1)), "float64")
    assert_close(got[2], ((x - 0.5) ** 2).sum((0, 1)), "float64")
    assert_close(got[3], x.mean((0, 1)), "float64")
    assert_close(got[4], x.var((0, 1)), "float64")
    full = np.broadcast_to(wts, x.shape)
    ref_mean = (full * x).sum((0, 1), keepdims=True) / full.sum((0, 1), keepdims=True)
    assert_close(got[5], ref_mean, "float64")
    assert_close(got[6], (full * (x - ref_mean) ** 2).sum((0, 1), keepdims=True) / full.sum((0, 1), keepdims=True),
                 "float64")


# -- CTC ---------------------------------------------------------------------------------------------
def _ctc_brute_force(logits, label):
    """-log of the summed probability of every path (one class per step) that collapses to `label`."""
    t_len, classes = logits.shape
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    total = 0.0
    for path in itertools.product(range(classes), repeat=t_len):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if [c for c in merged if c != classes - 1] == label:
            total += np.prod([p[t, c] for t, c in enumerate(path)])
    return -np.log(total)


def test_ctc_loss_sums_every_alignment_and_differentiates():
    x = RNG.standard_normal((4, 3, 3))  # (time, batch, classes); class 2 is the blank
    lengths = np.array([4, 4, 3], np.int32)

    def loss(a, lengths=lengths, time_major=True):
        labels = tf.SparseTensor([[0, 0], [1, 0], [1, 1], [2, 0], [2, 1]], [1, 0, 0, 0, 1], [3, 2])
        return tf.nn.ctc_loss(labels, a, lengths, time_major=time_major)
    got = run(loss, [x], HOST)
    refs = [_ctc_brute_force(x[:4, 0], [1]), _ctc_brute_force(x[:4, 1], [0, 0]), _ctc_brute_force(x[:3, 2], [0, 1])]
    assert_close(got, np.array(refs), "float64")
    check_gradient(loss, [x], HOST)
    assert_close(run(lambda a: loss(a, time_major=False), [x.transpose(1, 0, 2)], HOST), got, "float64")
    with pytest.raises(tf.errors.InvalidArgumentError, match="more than its 1 time steps"):
        run(lambda a: loss(a, np.array([4, 4, 1], np.int32)), [x], HOST)


def test_ctc_greedy_decoder_merges_repeats_and_drops_blanks():
    # best classes per step for entry 0: 0 0 2 0 1 1 -> [0, 0, 1]; entry 1 (3 steps): 2 1 1 -> [1]
    best = np.array([[0, 2], [0, 1], [2, 1], [0, 0], [1, 0], [1, 0]])
    x = np.full((6, 2, 3), -1.0)
    for t in range(6):
        for b in range(2):
            x[t, b, best[t, b]] = 2.0 + t
    decoded, score = tf.nn.ctc_greedy_decoder(tf.constant(x), [6, 3])
    with tf.Session() as s:
        d, sc = s.run([decoded[0], score])
    assert d.indices.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0]] and d.values.tolist() == [0, 0, 1, 1]
    assert d.dense_shape.tolist() == [2, 3]
    assert sc.tolist() == [[-sum(2.0 + t for t in range(6))], [-sum(2.0 + t for t in range(3))]]
    unmerged, _ = tf.nn.ctc_greedy_decoder(tf.constant(x), [6, 3], merge_repeated=False)
    with tf.Session() as s:
        assert s.run(unmerged[0]).values.tolist() == [0, 0, 0, 1, 1, 1, 1]


def test_conv1d_transpose_is_the_adjoint_and_average_loss():
    w = RNG.standard_normal((3, 2, 3))  # filter (width, out, in)
    v = RNG.standard_normal((2, 7, 3))
    t = run(lambda a, f: tf.nn.conv1d_transpose(a, f, [2, 14, 2], 2), [v, w], HOST)
    z = RNG.standard_normal((2, 14, 2))
    conv = run(lambda a, f: tf.nn.conv1d(a, f, 2, "SAME"), [z, w], HOST)  # conv1d of (14, 2) -> (7, 3)
    assert t.shape == (2, 14, 2) and abs(np.sum(conv * v) - np.sum(z * t)) < 1e-10
    got = run(lambda l: [tf.nn.compute_average_loss(l), tf.nn.compute_average_loss(l, global_batch_size=8),
                         tf.nn.scale_regularization_loss([tf.reduce_sum(l), 1.0 + 0 * tf.reduce_sum(l)])],
              [np.array([1.0, 2.0, 3.0, 6.0])], HOST)
    assert got[0] == 3.0 and got[1] == 1.5 and got[2] == 13.0
