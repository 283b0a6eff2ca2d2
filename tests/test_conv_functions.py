"""TF1's convolution helpers built on the three conv ops (conv2d_backprop_input / _filter, atrous_conv2d), and
the gradients of a whole conv layer through nnplug.gradients, against the float64 references."""
import numpy as np

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
