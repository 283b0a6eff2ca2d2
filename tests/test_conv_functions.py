"""TF1's convolution helpers built on the three conv ops (conv2d_backprop_input / _filter, atrous_conv2d), and
the gradients of a whole conv layer through nnplug.gradients, against the float64 references."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing.conformance_conv import ref_conv2d, ref_conv2d_grads


def test_backprop_functions_and_atrous_conv():
    rng = np.random.default_rng(0)
    x, w, g = rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(3, 3, 3, 4)), rng.normal(size=(2, 4, 3, 4))
    want_dx, want_dw = ref_conv2d_grads(x, w, g, (2, 2), "SAME", (1, 1))
    graph = tf.Graph()
    with graph.as_default(), tf.Session() as s:
        dx, dw, atrous = s.run([
            tf.nn.conv2d_backprop_input((2, 7, 6, 3), tf.constant(w), tf.constant(g), [1, 2, 2, 1], "SAME"),
            tf.nn.conv2d_backprop_filter(tf.constant(x), (3, 3, 3, 4), tf.constant(g), [1, 2, 2, 1], "SAME"),
            tf.nn.atrous_conv2d(tf.constant(x), tf.constant(w), 2, "SAME")])
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(atrous, ref_conv2d(x, w, (1, 1), "SAME", (2, 2)), rtol=1e-10, atol=1e-12)


def test_gradients_of_a_conv_layer_with_unknown_batch():
    """The input gradient's shape comes from tf.shape(x) when the batch is unknown when building."""
    rng = np.random.default_rng(1)
    xv, wv = rng.normal(size=(3, 6, 6, 2)), rng.normal(size=(3, 3, 2, 4))
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float64, (None, 6, 6, 2))
        w = tf.constant(wv)
        y = tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME")
        dx, dw = tf.gradients(tf.reduce_sum(y * y), [x, w])
        assert tuple(dx.shape) == (None, 6, 6, 2)
        with tf.Session() as s:
            got_dx, got_dw = s.run([dx, dw], {x: xv})
    yv = ref_conv2d(xv, wv, (2, 2), "SAME")
    want_dx, want_dw = ref_conv2d_grads(xv, wv, 2 * yv, (2, 2), "SAME", (1, 1))
    np.testing.assert_allclose(got_dx, want_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got_dw, want_dw, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("xs,ws,strides,padding", [((5, 6, 7, 1), (3, 3, 1, 4), (1, 1), "SAME"),
                                                   ((5, 7, 6, 3), (2, 3, 3, 2), (2, 1), "VALID")])
def test_numpy_kernels_over_several_image_blocks(monkeypatch, xs, ws, strides, padding):
    """The NumPy kernels work a block of images at a time; with tiny blocks a batch of 5 spans several
    (a partial last one included), and every block must land in its own rows."""
    import nnplug_numpy.conv as numpy_conv
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=xs), rng.normal(size=ws)
    y = ref_conv2d(x, w, strides, padding)
    two_images = 2 * y.shape[1] * y.shape[2] * int(np.prod(ws[:3])) * 8  # float64 patches of 2 images
    for name in ("BLOCK_BYTES", "CACHE_BYTES"):  # read when a kernel is made: blocks of 2, 2 and 1 images
        monkeypatch.setattr(numpy_conv, name, two_images)
    g = rng.normal(size=y.shape)
    graph = tf.Graph()
    with graph.as_default(), tf.Session(backend="numpy") as s:
        got_y, dx, dw = s.run([
            tf.nn.conv2d(tf.constant(x), tf.constant(w), [1, *strides, 1], padding),
            tf.nn.conv2d_backprop_input(xs, tf.constant(w), tf.constant(g), [1, *strides, 1], padding),
            tf.nn.conv2d_backprop_filter(tf.constant(x), ws, tf.constant(g), [1, *strides, 1], padding)])
    want_dx, want_dw = ref_conv2d_grads(x, w, g, strides, padding, (1, 1))
    np.testing.assert_allclose(got_y, y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-10, atol=1e-12)
