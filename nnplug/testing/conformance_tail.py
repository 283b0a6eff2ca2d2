"""Conformance cases for the TF1 long-tail ops (rows and ops of nnplug/ops/elementwise.py's long-tail
section, math_extra_ops, debug_ops and script_ops): values against float64 NumPy, gradients against
finite differences. Imported by nnplug.testing.conformance, whose `covers` they extend."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.graph import make
from nnplug.testing import assert_close, run
from nnplug.testing.cases import FLOATS, NUMERIC, check_case, covers, data, f64

# -- elementwise rows that the generic unary table does not pick up ------------------------------
covers("IsNan", "IsInf", "IsFinite")


@pytest.mark.parametrize("dtype", FLOATS)
def test_float_classes(backend, dtype):
    x = data((3, 4), dtype)
    x.flat[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    got = run(lambda t: [tf.is_nan(t), tf.is_inf(t), tf.is_finite(t)], [x], backend)
    for g, want, what in zip(got, (np.isnan(x), np.isinf(x), np.isfinite(x)), ("is_nan", "is_inf", "is_finite")):
        assert_close(g, want, "bool", what=f"{what} {dtype}")


covers("LogicalXor")


@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 1), (1, 4))])
def test_logical_xor(backend, sa, sb):
    x, y = data(sa, bool, seed=1), data(sb, bool, seed=2)
    assert_close(run(tf.logical_xor, [x, y], backend), np.logical_xor(x, y), "bool")


TAIL_BINARY = {  # op type: (function, float64 reference, dtypes)
    "Atan2": (tf.atan2, np.arctan2, FLOATS),
    "FloorMod": (tf.floormod, np.remainder, NUMERIC + ("int64",)),
    "SquaredDifference": (tf.squared_difference, lambda a, b: (a - b) ** 2, NUMERIC),
    "TruncateDiv": (tf.truncatediv, lambda a, b: np.trunc(a / b), ("int32", "int64")),
}
covers(*TAIL_BINARY)


def _signed_pairs(dtype, bcast):
    """Every sign combination, exact multiples and zeros in the dividend; the divisor is never zero."""
    x = np.array([[7, -7, 7, -7], [6, -6, 0, 1], [-1, 5, -5, 3]], np.float64)
    y = np.array([3, -2, 5, -4], np.float64) if bcast else \
        np.array([[2, 2, -2, -2], [3, -3, 3, -3], [4, 4, -4, -4]], np.float64)
    if np.dtype(dtype).kind == "f":
        x, y = x * 1.25, y * 0.75
    return x.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("op,dtype", [(op, d) for op, spec in TAIL_BINARY.items() for d in spec[2]])
@pytest.mark.parametrize("bcast", [False, True], ids=["same", "bcast"])
def test_tail_binary(backend, op, dtype, bcast):
    fn, ref, _ = TAIL_BINARY[op]
    x, y = _signed_pairs(dtype, bcast)
    got = run(fn, [x, y], backend)
    assert_close(got, ref(f64(x), f64(y)), dtype, what=f"{op} {dtype}")


def test_tail_binary_refuses_wrong_dtypes():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="truncatediv.*float32.*integer"):
            tf.truncatediv(tf.constant([1.0]), tf.constant([2.0]))
        with pytest.raises(TypeError, match="is_nan.*int32.*floating"):
            tf.is_nan(tf.constant([1]))


def _g(shape, domain="any", seed=0):
    return data(shape, np.float64, domain, seed)


TAIL_GRADS = [
    ("Atan2", ("Atan2",), tf.atan2, [_g((2, 3), seed=1), _g((3,), "away", seed=2)], {}),
    ("FloorMod", ("FloorMod",), tf.floormod, [_g((2, 3), seed=1), _g((3,), "away", seed=2) * 0.7], {}),
    ("SquaredDifference", ("SquaredDifference",), tf.squared_difference, [_g((2, 3), seed=1), _g((2, 1), seed=2)],
     {}),
]
for _case in TAIL_GRADS:
    covers(*_case[1], grad=True)


@pytest.mark.parametrize("case", TAIL_GRADS, ids=[c[0] for c in TAIL_GRADS])
def test_tail_gradient(backend, case):
    check_case(backend, case)


# -- host ops (run on the host for every backend) ---------------------------------------------------
covers("Unique", "Bincount", "GatherNd", "GatherNdGrad", "MatrixInverse", "RandomShuffle", "Print", "Assert",
       "PyFunc")


def test_unique_keeps_first_occurrence_order(backend):
    x = np.array([4, 1, 4, 7, 1, 1, 9, 7], np.int32)
    y, idx = run(lambda t: list(tf.unique(t)), [x], backend)
    assert_close(y, np.array([4, 1, 7, 9]), "int32")
    assert_close(idx, np.array([0, 1, 0, 2, 1, 1, 3, 2]), "int32")
    assert_close(y[idx], x, "int32")


def test_bincount(backend):
    x = np.array([1, 1, 2, 5, 5, 5], np.int32)
    w = data((6,), np.float64)
    plain, weighted, bounded = run(lambda t, v: [tf.bincount(t), tf.bincount(t, weights=v),
                                                 tf.bincount(t, minlength=8, maxlength=3)], [x, w], backend)
    assert_close(plain, np.bincount(x), "int32")
    assert_close(weighted, np.bincount(x, weights=w), "float64")
    assert_close(bounded, np.bincount(x)[:3], "int32")


@pytest.mark.parametrize("pshape,ishape", [((3, 4), (2, 2)), ((3, 4), (2, 1)), ((2, 3, 4), (5, 2)),
                                           ((2, 3, 4), (2, 2, 3))])
def test_gather_nd(backend, pshape, ishape):
    p = data(pshape, np.float32)
    rng = np.random.default_rng(1)
    idx = np.stack([rng.integers(0, pshape[k], ishape[:-1]) for k in range(ishape[-1])], -1).astype(np.int32)
    want = p[tuple(np.moveaxis(idx, -1, 0))]
    assert_close(run(tf.gather_nd, [p, idx], backend), want, "float32")


def test_gather_nd_refuses_an_index_out_of_bounds(backend):
    from nnplug.errors import InvalidArgumentError
    with pytest.raises(InvalidArgumentError, match=r"GatherNd.*\[0, 4\].*\(3, 4\)"):
        run(tf.gather_nd, [data((3, 4), np.float32), np.array([[0, 4]], np.int32)], backend)


@pytest.mark.parametrize("dtype", FLOATS)
def test_matrix_inverse(backend, dtype):
    a = data((2, 3, 3), dtype) + 3 * np.eye(3, dtype=dtype)
    inv, adj = run(lambda t: [tf.matrix_inverse(t), tf.matrix_inverse(t, adjoint=True)], [a], backend)
    assert_close(inv, np.linalg.inv(f64(a)), dtype, rtol=1e-4 if dtype == "float32" else 1e-10)
    assert_close(adj, np.linalg.inv(np.swapaxes(f64(a), -1, -2)), dtype, rtol=1e-4 if dtype == "float32" else 1e-10)


def test_random_shuffle_permutes_and_repeats_with_a_seed(backend):
    x = np.arange(20, dtype=np.int32).reshape(10, 2)

    def draw():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(3)
            y = tf.random_shuffle(tf.constant(x))
            with tf.Session(backend=backend) as s:
                return s.run(y), s.run(y)
    first, second = draw()
    assert sorted(first[:, 0].tolist()) == list(range(0, 20, 2)) and np.all(first[:, 1] == first[:, 0] + 1)
    assert not np.array_equal(first, second) or not np.array_equal(first, x)  # each run draws anew
    again = draw()
    np.testing.assert_array_equal(again[0], first)  # same seeds, same stream in a new Session


def test_print_passes_its_input_and_prints(backend, capfd):
    """Values formatted as TensorFlow 2.21's tf.compat.v1.Print printed them: floats in 6 (float64: 15)
    significant digits where that reads back, else 9 (17); bools as 1 and 0."""
    x = np.array([0.5, 0.1, 1 / 3, 2.0], np.float64)
    got = run(lambda t: tf.Print(t * 2.0, [t, tf.reduce_sum(t[:2]), tf.cast(t, tf.float32), t > 0.4],
                                 message="here: ", summarize=3), [x], backend)
    assert_close(got, 2 * x, "float64")
    err = capfd.readouterr().err
    assert err.count("here: ") >= 1
    assert "here: [0.5 0.1 0.33333333333333331...][0.6][0.5 0.1 0.333333343...][1 0 0...]" in err


def test_assert_runs_through_control_dependencies(backend):
    from nnplug.errors import InvalidArgumentError
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, (3,), name="a")
        b = tf.placeholder(tf.float32, (3,), name="b")
        with tf.control_dependencies([tf.assert_less(a, b), tf.assert_positive(a)]):
            y = a + b
        with tf.Session(backend=backend) as s:
            assert_close(s.run(y, {a: [1, 2, 3], b: [2, 3, 4]}), np.array([3, 5, 7]), "float32")
            with pytest.raises(InvalidArgumentError, match=r"x < y.*'a:0'.*'b:0'"):
                s.run(y, {a: [1, 2, 3], b: [2, 1, 4]})
            with pytest.raises(InvalidArgumentError, match=r"x > 0.*'a:0'"):
                s.run(y, {a: [-1, 2, 3], b: [2, 3, 4]})
            s.run(tf.assert_equal(a, a), {a: [1, 2, 3]})


def test_py_func_runs_the_function_on_numpy_values(backend):
    calls = []

    def f(x, y):
        calls.append((x.dtype, y.dtype))
        return x * y, np.int64(x.size)
    a, b = data((2, 3), np.float32), data((3,), np.float32, seed=1)
    prod, size = run(lambda t, u: tf.py_func(f, [t, u], [tf.float32, tf.int32]), [a, b], backend)
    assert_close(prod, f64(a) * f64(b), "float32")
    assert_close(size, np.array(6), "int32")
    assert calls and calls[0] == (np.float32, np.float32)


TAIL_HOST_GRADS = [
    ("GatherNd", ("GatherNd", "GatherNdGrad"), lambda p: tf.gather_nd(p, [[0, 1], [2, 3], [0, 1]]), [_g((3, 4))], {}),
    ("GatherNd-slices", ("GatherNd", "GatherNdGrad"), lambda p: tf.gather_nd(p, [[1], [1], [0]]), [_g((2, 3))], {}),
    ("GatherNdGrad", ("GatherNdGrad",),
     lambda g: make("GatherNdGrad", [g, tf.constant([[2], [0], [2]]), tf.zeros((3, 2), tf.float64)]),
     [_g((3, 2))], {}),
    ("MatrixInverse", ("MatrixInverse",), tf.matrix_inverse, [_g((2, 3, 3)) + 3 * np.eye(3)], {}),
    ("MatrixInverse-adjoint", ("MatrixInverse",), lambda a: tf.matrix_inverse(a, adjoint=True),
     [_g((3, 3)) + 3 * np.eye(3)], {}),
    ("Print", ("Print",), lambda x: tf.Print(x * x, [x]), [_g((2, 3))], {}),
]
for _case in TAIL_HOST_GRADS:
    covers(*_case[1], grad=True)


@pytest.mark.parametrize("case", TAIL_HOST_GRADS, ids=[c[0] for c in TAIL_HOST_GRADS])
def test_tail_host_gradient(backend, case):
    check_case(backend, case)
