"""TF1's (v1) TensorShape and Dimension as TF1 programs use them: `x.get_shape()[-1].value`, `.dims`,
`as_list()`, compatibility and merging with TF1's errors, `tf.Dimension`, `tf.compat.v1` and
`tf.compat.dimension_value` (behaviour as TensorFlow documents it for v1 shapes)."""
import numpy as np
import pytest

import nnplug as tf


def test_indexing_gives_dimensions_with_value_and_none_for_unknown():
    x = tf.placeholder(tf.float32, (None, 28, 28, 1))
    shape = x.get_shape()
    assert shape[1].value == 28 and shape[-1].value == 1
    assert repr(shape[1]) == "Dimension(28)" and str(shape[1]) == "28" and f"{shape[2]}" == "28"
    assert shape[0] is None  # TF1: Dimension(None); nnplug keeps None so `is None` checks work
    assert shape[1] * shape[2] == 784 and int(shape[1]) == 28
    assert shape.as_list() == [None, 28, 28, 1] and list(shape) == [None, 28, 28, 1]
    assert isinstance(shape[1:], tf.TensorShape) and shape[1:].as_list() == [28, 28, 1]
    assert [d.value for d in shape.dims] == [None, 28, 28, 1]


def test_the_flatten_idiom_of_tf1_programs_builds_and_runs():
    x = tf.placeholder(tf.float32, (None, 3, 4))
    shape = x.get_shape()
    flat = tf.reshape(x, [-1, shape[1].value * shape[2].value])
    units = int(np.prod(shape[1:]))
    assert flat.get_shape().as_list() == [None, units]
    with tf.Session() as sess:
        out = sess.run(flat, {x: np.arange(24, dtype=np.float32).reshape(2, 3, 4)})
    np.testing.assert_array_equal(out, np.arange(24, dtype=np.float32).reshape(2, 12))


def test_dimension_objects():
    assert tf.Dimension(3).value == 3 and tf.Dimension(tf.Dimension(3)) == 3
    unknown = tf.Dimension(None)
    assert unknown.value is None and str(unknown) == "?" and repr(unknown) == "Dimension(None)"
    assert (unknown == 3) is None  # unknown compared with anything is unknown
    assert tf.Dimension(3).is_compatible_with(None) and not tf.Dimension(3).is_compatible_with(4)
    assert tf.Dimension(None).merge_with(5).value == 5
    with pytest.raises(ValueError, match=r"Dimensions 3 and 4 are not compatible"):
        tf.Dimension(3).merge_with(4)
    with pytest.raises(ValueError, match=r"Dimension -1 must be >= 0"):
        tf.Dimension(-1)
    with pytest.raises(ValueError, match=r"unknown dimension"):
        int(unknown)


def test_compatibility_merging_and_ranks():
    s = tf.TensorShape([None, 3])
    assert s.is_compatible_with([5, 3]) and s.is_compatible_with(tf.TensorShape(None))
    assert not s.is_compatible_with([5, 4]) and not s.is_compatible_with([5, 3, 1])
    assert s.merge_with([5, None]).as_list() == [5, 3]
    with pytest.raises(ValueError, match=r"Shapes \(\?, 3\) and \(5, 4\) are not compatible"):
        s.merge_with([5, 4])
    with pytest.raises(ValueError, match=r"Shapes \(\?, 3\) and \(2, 2\) are incompatible"):
        s.assert_is_compatible_with([2, 2])
    assert s.concatenate([7]).as_list() == [None, 3, 7]
    assert s.most_specific_compatible_shape([4, 3]).as_list() == [None, 3]
    assert s.with_rank(2) is s and tf.TensorShape(None).with_rank(3).as_list() == [None, None, None]
    with pytest.raises(ValueError, match=r"Shape \(\?, 3\) must have rank 3"):
        s.with_rank(3)
    with pytest.raises(ValueError, match=r"must have rank at least 3"):
        s.with_rank_at_least(3)
    with pytest.raises(ValueError, match=r"Shape \(\?, 3\) is not fully defined"):
        s.assert_is_fully_defined()
    unknown = tf.TensorShape(None)
    assert unknown.dims is None and unknown[0].value is None and unknown.merge_with(s) == s


def test_compat_namespace():
    assert tf.compat.v1 is tf and tf.compat.v1.placeholder is tf.placeholder
    x = tf.compat.v1.placeholder(tf.float32, (None, 5))
    assert tf.compat.dimension_value(x.shape[1]) == 5 and tf.compat.dimension_value(x.shape[0]) is None
    assert tf.dimension_value(tf.Dimension(None)) is None
    assert tf.compat.as_bytes("é") == "é".encode() and tf.compat.as_text(b"ab") == "ab"
    with pytest.raises(TypeError, match=r"Expected binary or unicode string, got int"):
        tf.compat.as_bytes(3)
