"""TF1's manipulation, sequence, norm/clipping, statistics and top-k functions on every backend, against
NumPy float64 references, TF1's documented examples and finite differences; bad input names the op and
the shapes."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.shapes import ShapeError
from nnplug.testing import assert_close, check_gradient, run


def data(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(-2, 2, shape).astype(dtype)


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


# -- split / unstack / slice / strided_slice / reverse ----------------------------------------
@pytest.mark.parametrize("splits,axis", [(2, 1), (3, 0), ([1, 4, 1], 1), ([2, -1], 1), ([-1, 2, 1], 1)])
def test_split(backend, splits, axis):
    x = data((6, 6)).astype(np.float32)
    got = run(lambda t: tf.split(t, splits, axis=axis), [x], backend)
    if isinstance(splits, int):
        want = np.split(x, splits, axis)
    else:
        sizes = [6 - sum(s for s in splits if s != -1) if s == -1 else s for s in splits]
        want = np.split(x, np.cumsum(sizes)[:-1], axis)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_close(g, w, "float32")


def test_split_of_an_unknown_axis_with_sizes(backend):
    x = tf.placeholder(tf.float32, (None, 3))
    parts = tf.split(x, [1, -1], axis=0)
    v = data((4, 3)).astype(np.float32)
    with tf.Session(backend=backend) as s:
        a, b = s.run(parts, {x: v})
    assert_close(a, v[:1], "float32")
    assert_close(b, v[1:], "float32")


def test_split_gradient(backend):
    def build(x):
        parts = tf.split(x, [1, -1, 2], axis=1)
        return tf.concat([p * float(i + 1) for i, p in enumerate(parts)], 1)
    check_gradient(build, [data((2, 6))], backend)


def test_split_errors_name_the_tensor_and_shape():
    x = tf.placeholder(tf.float32, (3, 7), name="x")
    with pytest.raises(ValueError, match=r"split of 'x:0' with shape \(3, 7\) along axis 1: 7 elements cannot be "
                                         r"split into 2 equal parts"):
        tf.split(x, 2, axis=1)
    with pytest.raises(ValueError, match=r"size_splits \[3, 3\] do not add up to the 7"):
        tf.split(x, [3, 3], axis=1)
    with pytest.raises(ValueError, match="unknown size"):
        tf.split(tf.placeholder(tf.float32, (None, 2)), 2, axis=0)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_unstack(backend, axis):
    x = data((2, 3, 4)).astype(np.float32)
    got = run(lambda t: tf.unstack(t, axis=axis), [x], backend)
    want = [np.take(x, i, axis) for i in range(x.shape[axis])]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_close(g, w, "float32")


def test_unstack_num_must_match():
    x = tf.placeholder(tf.float32, (2, 3), name="x")
    with pytest.raises(ValueError, match=r"'x:0'.*num=2 but axis 1 has size 3"):
        tf.unstack(x, num=2, axis=1)
    assert len(tf.unstack(tf.placeholder(tf.float32, (None, 3)), num=4)) == 4


@pytest.mark.parametrize("begin,size", [([0, 0], [-1, -1]), ([1, 2], [2, 1]), ([2, 0], [1, -1]), ([0, 3], [3, 0])])
def test_slice(backend, begin, size):
    x = data((3, 4)).astype(np.float32)
    key = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))
    assert_close(run(lambda t: tf.slice(t, begin, size), [x], backend), x[key], "float32")


def test_slice_errors():
    x = tf.placeholder(tf.float32, (3, 4), name="x")
    with pytest.raises(ShapeError, match=r"slice of 'x:0' with shape \(3, 4\): begin 2 and size 3 do not fit axis 0"):
        tf.slice(x, [2, 0], [3, 1])
    with pytest.raises(ShapeError, match="one entry per axis"):
        tf.slice(x, [0], [1])


@pytest.mark.parametrize("begin,size", [([1, 2], [2, 2]), ([0, 0], [3, 4]), ([2, 1], [1, 3]), ([1, 4], [2, 0])])
def test_slice_with_a_begin_known_only_when_the_step_runs(backend, begin, size):
    x = data((3, 4)).astype(np.float32)
    b = np.array(begin, np.int32)
    key = tuple(slice(i, i + n) for i, n in zip(begin, size))
    assert_close(run(lambda t, at: tf.slice(t, at, size), [x, b], backend), x[key], "float32")
    check_gradient(lambda t, at: tf.slice(t, at, size), [x.astype(np.float64), b], backend, wrt=[0])


def test_slice_at_a_loop_counter(backend):
    """The TF1 pattern the tensor begin is for: a window that moves with a while_loop's counter."""
    x = data((3, 5)).astype(np.float32)

    def build(t):
        def body(i, acc):
            return i + 1, acc + tf.reduce_sum(tf.slice(t, tf.stack([0, i]), [3, 2]))
        return tf.while_loop(lambda i, acc: i < 4, body, [tf.constant(0), tf.constant(0.0)])[1]
    want = sum(x[:, i:i + 2].sum() for i in range(4))
    assert_close(run(build, [x], backend), np.float32(want), "float32", rtol=1e-5)


def test_slice_with_a_tensor_begin_errors():
    x = tf.placeholder(tf.float32, (3, 4), name="x")
    at = tf.placeholder(tf.int32, (2,), name="at")
    with pytest.raises(ShapeError, match=r"size -1 on axis 1 needs a begin known when the graph is built"):
        tf.slice(x, at, [1, -1])
    with pytest.raises(ShapeError, match=r"begin 'at:0' of shape \(2,\) and size \[1\] need one entry per axis"):
        tf.slice(x, at, [1])
    y = tf.slice(x, at, [2, 2])
    with tf.Session() as sess:
        with pytest.raises(InvalidArgumentError, match=r"begin \[2, 0\] and size \[2, 2\] do not fit axis 0"):
            sess.run(y, {x: np.zeros((3, 4), np.float32), at: [2, 0]})


def test_strided_slice_tf1_examples(backend):
    """The examples in TF1's strided_slice documentation."""
    t = np.array([[[1, 1, 1], [2, 2, 2]], [[3, 3, 3], [4, 4, 4]], [[5, 5, 5], [6, 6, 6]]], np.int32)
    got = run(lambda x: [tf.strided_slice(x, [1, 0, 0], [2, 1, 3], [1, 1, 1]),
                         tf.strided_slice(x, [1, 0, 0], [2, 2, 3], [1, 1, 1]),
                         tf.strided_slice(x, [1, -1, 0], [2, -3, 3], [1, -1, 1])], [t], backend)
    assert_close(got[0], [[[3, 3, 3]]], "int32")
    assert_close(got[1], [[[3, 3, 3], [4, 4, 4]]], "int32")
    assert_close(got[2], [[[4, 4, 4], [3, 3, 3]]], "int32")


def test_strided_slice_masks(backend):
    x = data((4, 5, 6)).astype(np.float32)
    got = run(lambda t: [
        tf.strided_slice(t, [1, 0, 2], [0, 5, 0], [1, 2, 1], begin_mask=0b001, end_mask=0b101),  # x[:, 0:5:2, 2:]
        tf.strided_slice(t, [2, 0], [3, 0], [1, 1], shrink_axis_mask=0b01, end_mask=0b10),  # x[2, :]
        tf.strided_slice(t, [0, 0, 1], [0, 0, 3], [1, 1, 1], ellipsis_mask=0b001, new_axis_mask=0b010),  # x[..., None, 1:3]
    ], [x], backend)
    assert_close(got[0], x[:, 0:5:2, 2:], "float32")
    assert_close(got[1], x[2, :], "float32")
    assert_close(got[2], x[..., None, 1:3], "float32")


@pytest.mark.parametrize("axis", [[0], [1], [-1], [0, 2]])
def test_reverse(backend, axis):
    x = data((2, 3, 4)).astype(np.float32)
    assert_close(run(lambda t: tf.reverse(t, axis), [x], backend), np.flip(x, axis), "float32")


def test_reverse_gradient(backend):
    check_gradient(lambda x: tf.reverse(x, [1]) * tf.constant(data((3, 4), 1)), [data((3, 4))], backend)


# -- tile / pad / boolean_mask -----------------------------------------------------------------
def test_tile_with_unknown_dims_and_gradient(backend):
    x = tf.placeholder(tf.float64, (None, None))
    y = tf.tile(x, [2, 3])
    assert tuple(y.shape) == (None, None)
    w = tf.placeholder(tf.float64, (None, None))
    g = tf.gradients(tf.reduce_sum(y * w), x)[0]
    v, wv = data((2, 3)), data((4, 9), 1)
    with tf.Session(backend=backend) as s:
        got_y, got_g = s.run([y, g], {x: v, w: wv})
    assert_close(got_y, np.tile(v, (2, 3)), "float64")
    assert_close(got_g, wv.reshape(2, 2, 3, 3).sum(axis=(0, 2)), "float64")


def test_tile_gradient_with_multiples_from_a_shape(backend):
    def build(x, like):
        return tf.tile(x, [tf.shape(like)[0], 1]) * tf.constant(data((6, 3), 2))
    check_gradient(build, [data((2, 3)), np.zeros((3,), np.int32)], backend)


def test_tile_errors():
    x = tf.placeholder(tf.float32, (2, 3), name="x")
    with pytest.raises(ShapeError, match=r"Tile op 'Tile'.*multiples \[2\] has 1 entries for an input of rank 2.*"
                                         r"'x:0' \(2, 3\)"):
        tf.tile(x, [2])
    with pytest.raises(TypeError, match="multiples must be integers"):
        tf.tile(x, [1.5, 2])


def test_tile_multiples_computed_from_fed_values_are_refused(backend):
    x = tf.placeholder(tf.float32, (2,))
    m = tf.placeholder(tf.int32, (1,))
    y = tf.tile(x, m)
    with tf.Session(backend=backend) as s:
        with pytest.raises(InvalidArgumentError, match="multiples must be known when the plan is compiled"):
            s.run(y, {x: np.ones(2, np.float32), m: np.array([2], np.int32)})


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC", "constant"])
def test_pad_modes(backend, mode):
    x = data((3, 4)).astype(np.float32)
    paddings = [[1, 2], [2, 3 if mode != "REFLECT" else 1]]
    got = run(lambda t: tf.pad(t, paddings, mode), [x], backend)
    assert_close(got, np.pad(x, paddings, mode.lower()), "float32")


def test_pad_symmetric_gradient(backend):
    check_gradient(lambda x: tf.pad(x, [[2, 1], [0, 3]], "SYMMETRIC"), [data((3, 3))], backend)


def test_pad_errors():
    x = tf.placeholder(tf.float32, (3, 2), name="x")
    with pytest.raises(ValueError, match=r"paddings \[\[1, 1\]\] must be 2 pairs"):
        tf.pad(x, [[1, 1]])
    with pytest.raises(ValueError, match=r"REFLECT padding of axis 1 by \[2, 0\] needs .* at most 1 per side"):
        tf.pad(x, [[0, 0], [2, 0]], "REFLECT")
    with pytest.raises(ValueError, match="unknown mode 'WRAP'"):
        tf.pad(x, [[0, 0], [0, 0]], "wrap")


def test_boolean_mask_with_a_computed_mask(backend):
    x = tf.placeholder(tf.float32, (None, 3))
    kept = tf.boolean_mask(x, tf.greater(x[:, 0], 0.0))
    assert tuple(kept.shape) == (None, 3)
    v = data((6, 3)).astype(np.float32)
    with tf.Session(backend=backend) as s:
        assert_close(s.run(kept, {x: v}), v[v[:, 0] > 0], "float32")


def test_boolean_mask_errors():
    x = tf.placeholder(tf.float32, (4, 3), name="x")
    with pytest.raises(ShapeError, match=r"BooleanMask op .*mask of shape \(3,\) does not match the tensor of shape "
                                         r"\(4, 3\) at axes 0..0"):
        tf.boolean_mask(x, tf.placeholder(tf.bool, (3,)))
    with pytest.raises(ShapeError, match="the mask must be bool, got float32"):
        tf.boolean_mask(x, tf.placeholder(tf.float32, (4,)))


# -- shapes, sizes, transposes, sequences ------------------------------------------------------
def test_shape_n_size_and_matrix_transpose(backend):
    x, y = data((2, 3, 4)).astype(np.float32), data((5,)).astype(np.float32)
    got = run(lambda a, b: tf.shape_n([a, b]) + [tf.size(a), tf.size(b, out_type=tf.int64), tf.matrix_transpose(a),
                                                 tf.linalg.transpose(a)], [x, y], backend)
    assert_close(got[0], [2, 3, 4], "int32")
    assert_close(got[1], [5], "int32")
    assert_close(got[2], 24, "int32")
    assert_close(got[3], 5, "int64")
    assert_close(got[4], np.swapaxes(x, -1, -2), "float32")
    assert_close(got[5], np.swapaxes(x, -1, -2), "float32")


def test_eye(backend):
    got = run(lambda: [tf.eye(3), tf.eye(2, 4, dtype=tf.int32), tf.eye(2, batch_shape=[3]), tf.linalg.eye(1)], [],
              backend)
    assert_close(got[0], np.eye(3), "float32")
    assert_close(got[1], np.eye(2, 4), "int32")
    assert_close(got[2], np.broadcast_to(np.eye(2), (3, 2, 2)), "float32")
    assert_close(got[3], np.eye(1), "float32")


def test_range_and_linspace_of_numbers(backend):
    got = run(lambda: [tf.range(5), tf.range(2, 11, 3), tf.range(1.0, 2.0, 0.25), tf.range(3, dtype=tf.float64),
                       tf.range(5, 0, -2), tf.linspace(0.0, 1.0, 5), tf.lin_space(-1.0, 1.0, 3)], [], backend)
    assert_close(got[0], np.arange(5), "int32")
    assert_close(got[1], [2, 5, 8], "int32")
    assert_close(got[2], [1.0, 1.25, 1.5, 1.75], "float32")
    assert_close(got[3], [0.0, 1.0, 2.0], "float64")
    assert_close(got[4], [5, 3, 1], "int32")
    assert_close(got[5], [0.0, 0.25, 0.5, 0.75, 1.0], "float32")
    assert_close(got[6], [-1.0, 0.0, 1.0], "float32")


def test_range_errors(backend):
    with pytest.raises(ValueError, match="delta must not be zero"):
        tf.range(0, 3, 0)
    d = tf.placeholder(tf.int32, ())
    r = tf.range(0, 3, d)
    with tf.Session(backend=backend) as s:
        with pytest.raises(InvalidArgumentError, match="Range op .*delta must not be zero"):
            s.run(r, {d: 0})


def test_arg_max_and_arg_min_aliases(backend):
    x = data((3, 5)).astype(np.float32)
    got = run(lambda t: [tf.arg_max(t, 1), tf.arg_min(t, dimension=0)], [x], backend)
    assert_close(got[0], np.argmax(x, 1), "int64")
    assert_close(got[1], np.argmin(x, 0), "int64")


# -- norms and clipping ------------------------------------------------------------------------
NORMS = [("euclidean", None), ("euclidean", 1), (1, 0), (np.inf, -1), (2, 1), ("fro", (0, 1)), (1, (0, 1)),
         (np.inf, (0, 1)), ("euclidean", (1, 2))]


@pytest.mark.parametrize("ord_,axis", NORMS, ids=[f"{o}-{a}" for o, a in NORMS])
@pytest.mark.parametrize("keep", [False, True])
def test_norm(backend, ord_, axis, keep):
    x = data((3, 4) if not isinstance(axis, tuple) or axis == (0, 1) else (2, 3, 4))
    got = run(lambda t: tf.norm(t, ord=ord_, axis=axis, keepdims=keep), [x], backend)
    np_ord = {"euclidean": None, "fro": "fro"}.get(ord_, ord_)
    if axis is None:
        want = np.linalg.norm(x.reshape(-1))
        want = np.reshape(want, (1, 1)) if keep else want
    else:
        want = np.linalg.norm(x, ord=np_ord if not (isinstance(axis, tuple) and ord_ == "euclidean") else "fro",
                              axis=axis, keepdims=keep)
    assert_close(got, want, "float64")


def test_l2_normalize(backend):
    x = data((3, 4))
    x[1] = 0.0  # an all-zero row stays zero (epsilon)
    got = run(lambda t: [tf.nn.l2_normalize(t, axis=1), tf.nn.l2_normalize(t, 0, epsilon=1e-3)], [x], backend)
    assert_close(got[0], x / np.sqrt(np.maximum((x ** 2).sum(1, keepdims=True), 1e-12)), "float64")
    assert_close(got[1], x / np.sqrt(np.maximum((x ** 2).sum(0, keepdims=True), 1e-3)), "float64")
    check_gradient(lambda t: tf.nn.l2_normalize(t, 1), [data((3, 4), 1)], backend)


@pytest.mark.parametrize("clip,axes", [(1.0, None), (100.0, None), (1.0, [1]), (0.5, 0)])
def test_clip_by_norm(backend, clip, axes):
    x = data((3, 4))
    got = run(lambda t: tf.clip_by_norm(t, clip, axes=axes), [x], backend)
    n = np.sqrt((x ** 2).sum(axis=None if axes is None else tuple(np.atleast_1d(axes)), keepdims=True))
    assert_close(got, x * clip / np.maximum(n, clip), "float64")


def test_clip_by_norm_gradient_and_zero_input(backend):
    check_gradient(lambda t: tf.clip_by_norm(t, 1.0, axes=[1]), [data((3, 4))], backend)
    z = np.zeros((2, 2))
    got, grad = run(lambda t: [tf.clip_by_norm(t, 1.0), tf.gradients(tf.reduce_sum(tf.clip_by_norm(t, 1.0)), t)[0]],
                    [z], backend)
    assert_close(got, z, "float64")
    assert np.isfinite(grad).all(), "the gradient at zero must not be NaN"


def test_clip_by_global_norm(backend):
    a, b = data((2, 3)), data((4,), 1)
    norm = np.sqrt((a ** 2).sum() + (b ** 2).sum())
    def clipped(x, y):
        (cx, none, cy), gn = tf.clip_by_global_norm([x, None, y], clip)
        assert none is None  # None entries (variables without a gradient) stay None
        return [cx, cy], gn

    for clip in (0.5 * norm, 2 * norm):
        (ca, cb), gn = run(clipped, [a, b], backend)
        scale = clip / max(norm, clip)
        assert_close(gn, norm, "float64")
        assert_close(ca, a * scale, "float64")
        assert_close(cb, b * scale, "float64")
    (ca,), used = run(lambda x: tf.clip_by_global_norm([x], 1.0, use_norm=tf.constant(4.0, tf.float64)), [a], backend)
    assert_close(used, 4.0, "float64")
    assert_close(ca, a / 4.0, "float64")
    assert_close(run(lambda x, y: tf.global_norm([x, y]), [a, b], backend), norm, "float64")


def test_clip_by_global_norm_gradients_in_training(backend):
    """The corpus's pattern: clip the gradients of every trainable variable, then apply them."""
    w = tf.Variable(np.array([3.0, 4.0]), name="w")
    loss = tf.reduce_sum(w * w)  # gradient 2w = [6, 8], norm 10
    grads, gnorm = tf.clip_by_global_norm(tf.gradients(loss, [w]), 5.0)
    step = tf.train.GradientDescentOptimizer(0.1).apply_gradients(zip(grads, [w]))
    with tf.Session(backend=backend) as s:
        s.run(tf.global_variables_initializer())
        assert_close(s.run(gnorm), 10.0, "float64")
        s.run(step)
        assert_close(s.run(w), [3.0 - 0.1 * 3.0, 4.0 - 0.1 * 4.0], "float64")


# -- statistics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("axes,keep", [([0], False), ([0, 1], False), ([1], True), ([0, 2], True)])
def test_moments(backend, axes, keep):
    x = data((3, 4, 2))
    mean, var = run(lambda t: list(tf.nn.moments(t, axes, keep_dims=keep)), [x], backend)
    assert_close(mean, x.mean(axis=tuple(axes), keepdims=keep), "float64")
    assert_close(var, x.var(axis=tuple(axes), keepdims=keep), "float64")


def test_moments_gradient(backend):
    check_gradient(lambda t: tf.nn.moments(t, [0])[1] + tf.nn.moments(t, [1])[0][:, None], [data((3, 4))], backend)


def test_count_nonzero(backend):
    x = np.array([[0, 1.5, 0], [2, 0, -3]], np.float32)
    b = x != 0
    got = run(lambda t, m: [tf.count_nonzero(t), tf.count_nonzero(t, axis=1), tf.count_nonzero(t, 0, keepdims=True),
                            tf.count_nonzero(m, dtype=tf.int32)], [x, b], backend)
    assert_close(got[0], 3, "int64")
    assert_close(got[1], [1, 2], "int64")
    assert_close(got[2], [[1, 1, 1]], "int64")
    assert_close(got[3], 3, "int32")


# -- top_k / in_top_k ---------------------------------------------------------------------------
def test_top_k_ties_and_gradient(backend):
    x = np.array([[1.0, 3.0, 3.0, 2.0], [0.0, -1.0, 5.0, 5.0]])
    values, indices = run(lambda t: list(tf.nn.top_k(t, k=3)), [x], backend)
    assert_close(values, [[3, 3, 2], [5, 5, 0]], "float64")
    assert_close(indices, [[1, 2, 3], [2, 3, 0]], "int32")
    check_gradient(lambda t: tf.nn.top_k(t, 2, sorted=True)[0], [data((2, 3, 5))], backend)


def test_top_k_errors(backend):
    x = tf.placeholder(tf.float32, (2, 4), name="x")
    with pytest.raises(ShapeError, match=r"TopKV2 op .*k \(5\) must not exceed the last dimension \(4\) of the input "
                                         r"of shape \(2, 4\)"):
        tf.nn.top_k(x, 5)
    y = tf.placeholder(tf.float32, (None, None))
    top = tf.nn.top_k(y, 5)[0]
    with tf.Session(backend=backend) as s:
        with pytest.raises(InvalidArgumentError, match=r"k \(5\) must not exceed the last dimension \(3\)"):
            s.run(top, {y: np.zeros((2, 3), np.float32)})


def test_in_top_k_against_a_reference(backend):
    p = data((20, 6), 3).astype(np.float32)
    t = np.random.default_rng(4).integers(0, 6, 20).astype(np.int64)
    got = run(lambda a, b: tf.nn.in_top_k(a, b, 3), [p, t], backend)
    want = [(p[i] > p[i, t[i]]).sum() < 3 for i in range(20)]
    assert_close(got, np.array(want), "bool")
