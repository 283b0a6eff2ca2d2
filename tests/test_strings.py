"""String tensors, as TF1's first program uses them: constants fetched as bytes, string placeholders and
feeds, host-side on every backend."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.shapes import ShapeError


def test_hello_tensorflow(backend):
    with tf.Graph().as_default():
        hello = tf.constant("Hello, TensorFlow!")
        assert hello.dtype == tf.string and repr(hello) == 'Tensor("Const:0", shape=(), dtype=string)'
        with tf.Session(backend=backend) as sess:
            assert sess.run(hello) == b"Hello, TensorFlow!"


def test_string_placeholders_feed_and_fetch(backend):
    with tf.Graph().as_default():
        words = tf.placeholder(tf.string, (None,), name="words")
        same = tf.identity(words)
        consts = tf.constant([["a", "bé"], ["c", "d"]])
        with tf.Session(backend=backend) as sess:
            got = sess.run(same, {words: ["spam", b"eggs", "ünï"]})
            assert got.tolist() == [b"spam", b"eggs", "ünï".encode()]
            assert sess.run(consts).tolist() == [[b"a", "bé".encode()], [b"c", b"d"]]


def test_bad_string_input_is_named():
    with tf.Graph().as_default():
        words = tf.placeholder(tf.string, (2,), name="words")
        nums = tf.placeholder(tf.float32, (2,), name="nums")
        with tf.Session() as sess:
            with pytest.raises(TypeError, match="fed to 'words:0' holds strings, not int"):
                sess.run(words, {words: [1, 2]})
            with pytest.raises(TypeError, match="cannot feed strings to 'nums:0'"):
                sess.run(nums, {nums: ["a", "b"]})
            with pytest.raises(ValueError, match="Cannot feed value of shape \\(3,\\) for Tensor 'words:0'"):
                sess.run(words, {words: ["a", "b", "c"]})
        with pytest.raises(ShapeError, match="Tanh does not take string tensors"):
            tf.tanh(words)
