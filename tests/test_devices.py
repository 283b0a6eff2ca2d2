"""TF1 device placement mapped onto backends: tf.device blocks, soft placement, log_device_placement."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import devices, plugins
from nnplug.errors import BackendError


def _gpu_runs():
    try:
        plugins.get_backend("cupy")
        return True
    except BackendError:
        return False


@pytest.mark.parametrize("spec,want", [
    ("/cpu:0", ("CPU", 0)), ("/gpu:1", ("GPU", 1)), ("/device:GPU:0", ("GPU", 0)),
    ("/job:localhost/replica:0/task:0/device:CPU:0", ("CPU", 0)), ("gpu:*", ("GPU", None)), ("", ("", None)),
    ("/job:worker", ("", None)),
])
def test_device_strings_parse_as_tf1_writes_them(spec, want):
    assert devices.parse(spec) == want


def test_unknown_device_strings_are_named():
    with pytest.raises(ValueError, match="unknown device specification '/tpu:0'"):
        with tf.device("/tpu:0"):
            pass


def test_ops_carry_their_device_and_cpu_always_works():
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            x = tf.constant(2.0) * 3.0
        y = x + 1.0
        assert x.op.device == "/device:CPU:0" and y.op.device == ""
        with tf.Session() as sess:
            assert sess.run(y) == 7.0


@pytest.mark.skipif(_gpu_runs(), reason="a GPU backend runs here: the no-GPU paths are not taken")
def test_gpu_placement_without_a_gpu():
    with tf.Graph().as_default() as g:
        with tf.device("/gpu:0"):
            x = tf.placeholder(tf.float32, (2,), name="x")
            y = tf.multiply(x, 2.0, name="doubled")
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="Cannot assign a device for operation 'x'.*'/device:GPU:0'.*allow_soft_placement"):
            tf.Session(graph=g)
        config = tf.ConfigProto(allow_soft_placement=True, log_device_placement=True)
        config.gpu_options.allow_growth = True
        with tf.Session(graph=g, config=config) as sess:
            assert sess.backend.name == plugins.get_backend().name  # fell back to the default backend
            np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])


def test_log_device_placement_prints_each_kernel(capsys):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,), name="x")
        y = tf.tanh(x, name="squash")
        with tf.Session(config=tf.ConfigProto(log_device_placement=True)) as sess:
            sess.run(y, {x: [0.0, 1.0]})
    err = capsys.readouterr().err
    assert "squash: (Tanh): " in err
