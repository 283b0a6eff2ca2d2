"""tf.SparseTensor, tf.sparse_placeholder and the sparse ops against NumPy references; the sparse-dense
matmul's gradients (values and dense operand) against finite differences; bad indices named."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.shapes import ShapeError
from nnplug.testing import assert_close, check_gradient

IDX = np.array([[0, 1], [0, 3], [2, 0], [3, 2]], np.int64)
VALS = np.array([1.5, -2.0, 3.0, 0.5], np.float32)
SHAPE = (4, 5)


def _dense(idx=IDX, vals=VALS, shape=SHAPE, default=0.0):
    out = np.full(shape, default, np.float64)
    out[tuple(idx.T)] = vals
    return out


def test_constant_sparse_tensor_to_dense_and_fetch(backend):
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        sp = tf.SparseTensor(IDX, VALS, SHAPE)
        assert sp.shape.as_list() == [4, 5] and sp.dtype == tf.float32
        dense, filled, fetched = s.run([tf.sparse_tensor_to_dense(sp), tf.sparse_tensor_to_dense(sp, -1.0), sp])
    assert_close(dense, _dense(), "float32")
    assert_close(filled, _dense(default=-1.0), "float32")
    assert isinstance(fetched, tf.SparseTensorValue)
    assert_close(fetched.indices, IDX, "int64")
    assert_close(fetched.values, VALS, "float32")
    assert_close(fetched.dense_shape, np.array(SHAPE), "int64")


def test_sparse_placeholder_feeds(backend):
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        sp = tf.sparse_placeholder(tf.float32, shape=[None, 5])
        assert sp.shape.as_list() == [None, 5]
        dense = tf.sparse_tensor_to_dense(sp)
        for idx, vals, shape in [(IDX, VALS, SHAPE), (IDX[:2], VALS[:2], (1, 5)),
                                 (np.zeros((0, 2), np.int64), np.zeros(0, np.float32), (3, 5))]:
            for feed in (tf.SparseTensorValue(idx, vals, shape), (idx, vals, shape)):
                got, value = s.run([dense, sp], {sp: feed})
                assert_close(got, _dense(idx, vals, shape), "float32")
                assert tuple(value.dense_shape) == shape
        with pytest.raises(ValueError, match=r"dense_shape \(4, 6\).*SparsePlaceholder.*\(\?, 5\)"):
            s.run(dense, {sp: (IDX, VALS, (4, 6))})
        with pytest.raises(TypeError, match="SparseTensorValue"):
            s.run(dense, {sp: _dense()})


def test_unknown_rank_placeholder_and_sparse_to_dense(backend):
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        sp = tf.sparse_placeholder(tf.float64)
        total = tf.sparse_reduce_sum(sp, axis=0)
        idx3 = np.array([[0, 0, 1], [1, 2, 0]])
        got = s.run(total, {sp: (idx3, np.array([2.0, 5.0]), (2, 3, 2))})
        want = np.zeros((2, 3, 2))
        want[0, 0, 1], want[1, 2, 0] = 2.0, 5.0
        assert_close(got, want.sum(0), "float64")
        vec = tf.sparse_to_dense([1, 3], [5], [7, 8], default_value=-1)
        scalar_values = tf.sparse_to_dense([[0, 1], [1, 0]], [2, 2], 4.0)
        v, sv = s.run([vec, scalar_values])
    assert_close(v, np.array([-1, 7, -1, 8, -1]), "int32")
    assert_close(sv, np.array([[0.0, 4.0], [4.0, 0.0]]), "float32")


@pytest.mark.parametrize("adjoint_a,adjoint_b", [(False, False), (True, False), (False, True), (True, True)])
def test_sparse_dense_matmul(backend, adjoint_a, adjoint_b):
    a = _dense()
    a_op = a.T if adjoint_a else a
    b = np.random.default_rng(0).standard_normal((a_op.shape[1], 3))
    b_in = b.T if adjoint_b else b
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        sp = tf.SparseTensor(IDX, VALS.astype(np.float64), SHAPE)
        out = tf.sparse_tensor_dense_matmul(sp, tf.constant(b_in), adjoint_a=adjoint_a, adjoint_b=adjoint_b)
        assert out.shape.as_list() == [a_op.shape[0], 3]
        assert_close(s.run(out), a_op @ b, "float64")


@pytest.mark.parametrize("adjoint_a,adjoint_b", [(False, False), (True, True)])
def test_sparse_dense_matmul_gradients(backend, adjoint_a, adjoint_b):
    k = SHAPE[0] if adjoint_a else SHAPE[1]
    b = np.random.default_rng(1).standard_normal((3, k) if adjoint_b else (k, 3))

    def build(values, dense):
        return tf.sparse_tensor_dense_matmul(tf.SparseTensor(IDX, values, SHAPE), dense, adjoint_a=adjoint_a,
                                             adjoint_b=adjoint_b)
    check_gradient(build, [VALS.astype(np.float64), b], backend)


def test_placeholder_matmul_trains_like_dense():
    """A sparse batch through a weight matrix: loss and gradient equal the dense computation's."""
    w0 = np.random.default_rng(2).standard_normal((5, 2)).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as s:
        sp = tf.sparse_placeholder(tf.float32, [None, 5])
        w = tf.Variable(w0)
        loss = tf.reduce_sum(tf.square(tf.sparse_tensor_dense_matmul(sp, w)))
        grad, = tf.gradients(loss, [w])
        s.run(tf.global_variables_initializer())
        got_loss, got_grad = s.run([loss, grad], {sp: (IDX, VALS, SHAPE)})
    a = _dense()
    assert_close(got_loss, np.sum((a @ w0) ** 2), "float32")
    assert_close(got_grad, 2 * a.T @ (a @ w0), "float32")


def test_to_dense_gradient_and_reduce_sum(backend):
    check_gradient(lambda v: tf.sparse_tensor_to_dense(tf.SparseTensor(IDX, v, SHAPE)), [VALS.astype(np.float64)],
                   backend)
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        sp = tf.SparseTensor(IDX, VALS, SHAPE)
        dense = np.arange(20, dtype=np.float32).reshape(SHAPE)
        total, rows, kept, plus, plus_r = s.run([
            tf.sparse_reduce_sum(sp), tf.sparse_reduce_sum(sp, 1), tf.sparse_reduce_sum(sp, 0, keepdims=True),
            tf.sparse_add(sp, dense), tf.sparse_add(tf.constant(dense), sp)])
    assert_close(total, _dense().sum(), "float32")
    assert_close(rows, _dense().sum(1), "float32")
    assert_close(kept, _dense().sum(0, keepdims=True), "float32")
    assert_close(plus, _dense() + dense, "float32")
    assert_close(plus_r, _dense() + dense, "float32")


def test_bad_indices_are_named(backend):
    with tf.Graph().as_default(), tf.Session(backend=backend) as s:
        sp = tf.sparse_placeholder(tf.float32, [None, 5], name="feats")
        dense = tf.sparse_tensor_to_dense(sp, name="dense")
        product = tf.sparse_tensor_dense_matmul(sp, tf.ones([5, 2]), name="product")
        out_of_shape = (np.array([[0, 1], [4, 2]]), VALS[:2], (4, 5))
        with pytest.raises(InvalidArgumentError, match=r"sparse_tensor_to_dense 'dense'.*indices\[1\] = \[4, 2\] "
                                                       r"is out of bounds of the dense shape \[4, 5\]"):
            s.run(dense, {sp: out_of_shape})
        with pytest.raises(InvalidArgumentError, match=r"'product'.*indices\[1\] = \[4, 2\] is out of bounds"):
            s.run(product, {sp: out_of_shape})
        with pytest.raises(InvalidArgumentError, match=r"indices\[1\] = \[0, 1\] is repeated"):
            s.run(dense, {sp: (np.array([[0, 1], [0, 1]]), VALS[:2], (4, 5))})
        with pytest.raises(InvalidArgumentError, match=r"indices\[1\] = \[0, 1\] is out of order"):
            s.run(dense, {sp: (np.array([[2, 0], [0, 1]]), VALS[:2], (4, 5))})
        unordered = tf.sparse_tensor_to_dense(sp, validate_indices=False)
        got = s.run(unordered, {sp: (np.array([[2, 0], [0, 1]]), VALS[:2], (4, 5))})
        assert_close(got, _dense(np.array([[2, 0], [0, 1]]), VALS[:2], (4, 5)), "float32")
    with tf.Graph().as_default():
        with pytest.raises(ShapeError, match="3 indices.*4 values"):
            tf.SparseTensor(IDX[:3], VALS, SHAPE)
        with pytest.raises(ShapeError, match="rank 3"):
            tf.SparseTensor(IDX, VALS, (4, 5, 6))
        with pytest.raises(ShapeError, match=r"inner dimensions differ.*sparse operand gives 5"):
            tf.sparse_tensor_dense_matmul(tf.SparseTensor(IDX, VALS, SHAPE), tf.ones([4, 2]))
        with pytest.raises(TypeError, match="sparse_tensor_to_dense: expected a SparseTensor"):
            tf.sparse_tensor_to_dense(tf.ones([2]))
