"""Bad input to the convolution, pooling and normalisation functions and layers: each error names the function
or op, the argument or tensor at fault and the shapes involved, and nothing is half-built."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import layers
from nnplug.errors import InvalidArgumentError
from nnplug.shapes import ShapeError


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def _x(shape=(None, 8, 8, 3)):
    return tf.placeholder(tf.float32, shape, name="images")


def _w(shape=(3, 3, 3, 4)):
    return tf.constant(np.zeros(shape, np.float32), name="kernel")


def _raises(exc, fn, *words):
    with pytest.raises(exc) as info:
        fn()
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    return message


def test_wrong_rank_names_the_function_the_tensor_and_its_shape():
    _raises(ShapeError, lambda: tf.nn.conv2d(_x((None, 8, 3)), _w(), [1, 1, 1, 1], "SAME"),
            "conv2d", "images", "rank 4", "(?, 8, 3)")
    _raises(ShapeError, lambda: tf.nn.conv2d(_x(), tf.constant(np.zeros((3, 3, 3), np.float32)), 1, "SAME"),
            "conv2d", "filter", "rank 4")
    _raises(ShapeError, lambda: tf.nn.max_pool(_x((None, 8, 8)), [1, 2, 2, 1], [1, 2, 2, 1], "VALID"),
            "max_pool", "images", "rank 4")


def test_channel_count_mismatch_names_both_shapes():
    message = _raises(ShapeError, lambda: tf.nn.conv2d(_x(), _w((3, 3, 2, 4)), [1, 1, 1, 1], "SAME"),
                      "Conv2D", "3 channels", "input depth 2", "(?, 8, 8, 3)", "(3, 3, 2, 4)")
    assert "kernel" in message  # the op's inputs by name
    _raises(ShapeError, lambda: tf.nn.depthwise_conv2d(_x(), _w((3, 3, 5, 2)), [1, 1, 1, 1], "SAME"),
            "depthwise_conv2d", "3 channels", "expects 5")


def test_filter_larger_than_a_valid_input():
    _raises(ShapeError, lambda: tf.nn.conv2d(_x((None, 4, 8, 3)), _w((5, 3, 3, 4)), [1, 1, 1, 1], "VALID"),
            "Conv2D", "window of 5", "height", "VALID input of 4")
    _raises(ShapeError, lambda: tf.nn.conv2d(_x((None, 8, 8, 3)), _w((3, 3, 3, 4)), 1, "VALID", dilations=4),
            "dilated to 9", "height")
    _raises(ShapeError, lambda: tf.nn.max_pool(_x((None, 2, 8, 3)), 3, 1, "VALID"), "MaxPool", "window of 3")


def test_fed_image_too_small_fails_when_compiling_with_the_op_and_shapes():
    x = _x((None, None, None, 3))
    y = tf.nn.conv2d(x, _w((5, 5, 3, 2)), [1, 1, 1, 1], "VALID", name="small")
    with tf.Session() as s:
        _raises(InvalidArgumentError, lambda: s.run(y, {x: np.zeros((1, 4, 9, 3), np.float32)}),
                "Conv2D op 'small'", "window of 5", "(1, 4, 9, 3)")
        assert s.run(y, {x: np.zeros((1, 5, 9, 3), np.float32)}).shape == (1, 1, 5, 2)


@pytest.mark.parametrize("strides", [0, [1, 0, 1, 1], [1, 2, 2, -1], [2, 1, 1, 1], [1, 2, 3]])
def test_bad_strides_name_the_argument(strides):
    _raises(ValueError, lambda: tf.nn.conv2d(_x(), _w(), strides, "SAME"), "conv2d", "strides", repr(strides))


def test_bad_padding_data_format_and_ksize():
    _raises(ValueError, lambda: tf.nn.conv2d(_x(), _w(), 1, "FULL"), "conv2d", "padding", "'FULL'")
    _raises(ValueError, lambda: tf.nn.conv2d(_x(), _w(), 1, "SAME", data_format="NWHC"),
            "conv2d", "data_format", "'NWHC'")
    _raises(ValueError, lambda: tf.nn.conv2d(_x(), _w(), 1, [[0, 0], [1, -1], [1, 1], [0, 0]]),
            "conv2d", "explicit padding")
    _raises(ValueError, lambda: tf.nn.max_pool(_x(), [1, 0, 2, 1], [1, 2, 2, 1], "SAME"), "max_pool", "ksize")
    _raises(ValueError, lambda: tf.nn.avg_pool(_x(), 2, 2, "same-ish"), "avg_pool", "padding")
    _raises(ValueError, lambda: tf.nn.max_pool(_x(), 2, 2, [[0, 0], [1, 1]]), "max_pool", "padding")
    _raises(ValueError, lambda: tf.nn.conv1d(tf.placeholder(tf.float32, (None, 8, 3)), _w((3, 3, 4)), 0, "SAME"),
            "conv1d", "stride")


def test_conv2d_transpose_output_shape_that_does_not_match():
    g = tf.placeholder(tf.float32, (None, 4, 4, 4))
    _raises(ShapeError, lambda: tf.nn.conv2d_transpose(g, _w(), (2, 8, 8, 3), [1, 1, 1, 1], "SAME"),
            "Conv2DBackpropInput", "gradient of the output", "(2, 8, 8, 4)", "(?, 4, 4, 4)")
    _raises(ValueError, lambda: tf.nn.conv2d_transpose(g, _w(), (8, 8, 3), [1, 2, 2, 1], "SAME"),
            "conv2d_transpose", "output_shape")


def test_batch_norm_and_lrn_inputs():
    _raises(ShapeError, lambda: tf.nn.fused_batch_norm(_x((None, 8, 3)), [1.0] * 3, [0.0] * 3),
            "fused_batch_norm", "images", "rank 4")
    _raises(ShapeError, lambda: tf.nn.fused_batch_norm(_x(), np.ones((3, 1), np.float32), [0.0] * 3),
            "fused_batch_norm", "scale", "(3, 1)")
    _raises(ValueError, lambda: tf.nn.fused_batch_norm(_x(), [1.0] * 3, [0.0] * 3, is_training=False),
            "mean and variance")
    _raises(ShapeError, lambda: tf.nn.lrn(_x((None, 8, 8, None))), "local_response_normalization", "channel")
    _raises(ValueError, lambda: tf.nn.lrn(_x(), depth_radius=-1), "depth_radius", "-1")


def test_layers_name_themselves_and_build_nothing_on_bad_arguments():
    x = _x()
    _raises(ValueError, lambda: layers.conv2d(x, 4, 3, padding="full", name="c1"), "conv2d layer 'c1'", "padding")
    _raises(ValueError, lambda: layers.conv2d(x, 4, 3, data_format="NHWC"), "conv2d layer", "data_format")
    _raises(ValueError, lambda: layers.conv2d(x, 0, 3), "filters", "0")
    _raises(TypeError, lambda: layers.conv2d(x, 2, 3, activation="relu"), "activation")
    _raises(ShapeError, lambda: layers.conv2d(_x((None, 8, 8, None)), 2, 3), "conv2d layer", "channel")
    _raises(ShapeError, lambda: layers.conv2d(x, 2, 9, name="c1"), "conv2d layer 'c1'", "window of 9",
            "VALID input of 8", "(?, 8, 8, 3)")
    _raises(ValueError, lambda: layers.max_pooling2d(x, 0, 2, name="p"), "max_pooling2d layer 'p'", "pool_size")
    _raises(ShapeError, lambda: layers.conv2d_transpose(_x((None, None, 8, 3)), 2, 3), "conv2d_transpose layer",
            "height and width")
    _raises(ShapeError, lambda: layers.batch_normalization(x, axis=4), "batch_normalization", "axis 4")
    _raises(TypeError, lambda: layers.batch_normalization(x, training=tf.placeholder(tf.float32, ())),
            "training", "bool")
    assert [v.name for v in tf.global_variables() if "c1" in v.name or "conv2d/" in v.name] == []


def test_max_pool_with_argmax_arguments():
    pool = tf.nn.max_pool_with_argmax
    _raises(ValueError, lambda: pool(_x(), [1, 2, 2, 1], [1, 2, 2, 1], "SAME", data_format="NCHW"),
            "max_pool_with_argmax", "NHWC", "'NCHW'")
    _raises(TypeError, lambda: pool(_x(), [1, 2, 2, 1], [1, 2, 2, 1], "SAME", Targmax=tf.float32),
            "max_pool_with_argmax", "Targmax", "int32 or int64", "float32")
    _raises(ValueError, lambda: pool(_x(), [1, 2, 2, 1], [1, 2, 2, 1], "SAME", Targmax=tf.int32,
                                     output_dtype=tf.int64), "Targmax", "output_dtype", "disagree")
    _raises(ShapeError, lambda: pool(_x((None, 8, 8)), [1, 2, 2, 1], [1, 2, 2, 1], "SAME"),
            "max_pool_with_argmax", "images", "rank 4")
    _raises(ValueError, lambda: pool(_x(), [1, 2, 2, 1], [1, 2, 2, 1], "FULL"), "max_pool_with_argmax", "FULL")
    _raises(TypeError, lambda: pool(tf.placeholder(tf.bool, (1, 4, 4, 1)), [1, 2, 2, 1], [1, 2, 2, 1], "SAME"),
            "max_pool_with_argmax", "real number", "bool")
    y, idx = pool(_x(), [1, 2, 2, 1], [1, 2, 2, 1], "SAME", output_dtype=tf.int32)  # TF1's old name still works
    assert idx.dtype == tf.int32 and tuple(y.shape) == (None, 4, 4, 3)
