"""The op conformance suite: every op type that needs a kernel, on the backend under test, against a
float64 NumPy reference written here; every differentiable op's gradient against finite differences.

Tests take the `backend` fixture (a backend name). Each table or test declares the op types it covers
with `covers(...)`; `test_every_op_type_has_a_case` fails when the registry holds an op type with no case,
so a new op cannot slip in untested.
"""
import numpy as np
import pytest

import nnplug as tf
from nnplug.graph import make
from nnplug.ops import registry
from nnplug.ops.array_ops import slice_spec
from nnplug.ops.elementwise import ROWS
from nnplug.testing import assert_close, run, selected_backends

# the shared pieces (coverage sets, inputs, gradient cases) live in cases.py, so the conformance_* modules
# of other op families import them from there, not from here
from nnplug.testing.cases import (  # noqa: E402
    COVERED, FLOATS, GRAD_COVERED, NO_GRADIENT, NUMERIC, check_case, covers, data, f64,
)


# -- backends ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,ok,why", selected_backends(), ids=[n for n, _, _ in selected_backends()])
def test_backend_is_available(name, ok, why):
    if not ok:
        pytest.skip(f"backend '{name}' cannot run here: {why}")
    with tf.Session(graph=tf.Graph(), backend=name) as s:
        assert s.backend is tf.get_backend(name)


# -- unary elementwise ---------------------------------------------------------------------
# op type: (function, float64 reference, input domain, dtypes), from the rows in nnplug/ops/elementwise.py
UNARY = {n: (row.function, row.ref, row.domain, row.dtypes) for n, row in ROWS.items()
         if row.arity == 1 and row.kind in ("float", "numeric")}
EDGES = [0, 2, -1, 0.5, 1.5, -2.5]  # exact zeros, integers and halves: where kinks and rounding live
covers(*UNARY)


@pytest.mark.parametrize("op,dtype", [(op, d) for op, spec in UNARY.items() for d in spec[3]])
def test_unary(backend, op, dtype):
    fn, ref, domain, _ = UNARY[op]
    x = data((3, 5), dtype, domain)
    if op in NO_GRADIENT or op in ("Relu", "Abs", "LeakyRelu", "Elu", "Selu"):
        x.flat[:len(EDGES)] = EDGES
    got = run(fn, [x], backend)
    assert_close(got, ref(f64(x)), dtype, what=f"{op} {dtype}")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4)])
def test_unary_shapes(backend, shape, dtype):
    """Every unary op alone and in a chain, on rank 0 (scalars), rank 1 and rank 3."""
    x = data(shape, dtype, "pos")
    ops = [op for op, spec in UNARY.items() if dtype in spec[3]]
    got = run(lambda t: [UNARY[op][0](t) for op in ops] + [tf.tanh(t) * tf.exp(-t) + tf.sigmoid(t)], [x], backend)
    refs = [UNARY[op][1](f64(x)) for op in ops] + [np.tanh(f64(x)) * np.exp(-f64(x)) + 1 / (1 + np.exp(-f64(x)))]
    for op, g, r in zip(ops + ["chain"], got, refs):
        assert_close(g, r, dtype, what=f"{op} on shape {shape}")


def test_unary_extremes_stay_finite(backend):
    x = np.array([-100.0, -30.0, 0.0, 30.0, 100.0], np.float32)
    s, t = run(lambda v: [tf.sigmoid(v), tf.tanh(v)], [x], backend)
    assert_close(s, 1.0 / (1.0 + np.exp(-f64(x))), "float32")
    assert_close(t, np.tanh(f64(x)), "float32")


covers("LogicalNot")


def test_logical_not(backend):
    x = data((4, 3), bool)
    assert_close(run(tf.logical_not, [x], backend), ~x, "bool")


# -- binary elementwise --------------------------------------------------------------------
BINARY = {  # op type: (function, float64 reference, domain of the second operand)
    "Add": (tf.add, np.add, "any"),
    "Sub": (tf.subtract, np.subtract, "any"),
    "Mul": (tf.multiply, np.multiply, "any"),
    "Div": (tf.divide, np.true_divide, "away"),
    "Pow": (tf.pow, np.power, "any"),
    "Maximum": (tf.maximum, np.maximum, "any"),
    "Minimum": (tf.minimum, np.minimum, "any"),
}
covers(*BINARY)
BROADCASTS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((), (2, 3)),
              ((2, 1, 4), (1, 3, 1))]


def _binary_inputs(op, sa, sb, dtype):
    x = data(sa, dtype, "pos" if op == "Pow" else "any", seed=1)
    y = data(sb, dtype, "away" if op == "Div" else "any", seed=2)
    if np.dtype(dtype).kind == "i":
        if op == "Div":
            y = np.where(y == 0, 3, y).astype(dtype)
        if op == "Pow":
            x = data(sa, dtype, seed=1) % 4 - 2  # bases -2..1, exponents 0..3: exact in int32
            y = np.abs(data(sb, dtype, seed=2)) % 4
    return x, y


@pytest.mark.parametrize("op,dtype", [(op, d) for op in BINARY for d in NUMERIC])
def test_binary_dtypes(backend, op, dtype):
    fn, ref, _ = BINARY[op]
    x, y = _binary_inputs(op, (3, 4), (3, 4), dtype)
    got = run(fn, [x, y], backend)
    # tf.divide of integers is true division in float64, as TF1's `/`
    want = "float64" if op == "Div" and dtype == "int32" else dtype
    assert_close(got, ref(f64(x), f64(y)), want, what=f"{op} {dtype}")


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("sa,sb", BROADCASTS, ids=[f"{a}{b}" for a, b in BROADCASTS])
def test_binary_broadcasting(backend, op, sa, sb):
    fn, ref, _ = BINARY[op]
    x, y = _binary_inputs(op, sa, sb, "float32")
    assert_close(run(fn, [x, y], backend), ref(f64(x), f64(y)), "float32", what=f"{op} {sa} {sb}")
    if op not in ("Div", "Pow"):  # the other operand order (their domains differ by side)
        assert_close(run(fn, [y, x], backend), ref(f64(y), f64(x)), "float32", what=f"{op} {sb} {sa}")


def test_integer_div_floors(backend):
    """A raw integer Div (what floordiv lowers to for ints) rounds toward minus infinity."""
    x = np.array([7, -7, 7, -7, 0, 9], np.int32)
    y = np.array([2, 2, -2, -2, 3, 3], np.int32)
    assert_close(run(lambda a, b: make("Div", [a, b]), [x, y], backend), np.floor_divide(x, y), "int32")
    assert_close(run(tf.floordiv, [x, y], backend), np.floor_divide(x, y), "int32")


def test_python_operators(backend):
    x, y = data((2, 3), np.float32, "pos", 1), data((3,), np.float32, "pos", 2)
    got = run(lambda a, b: [a + b, a - b, a * b, a / b, a ** 2.0, -a, 2.0 - a, 1.0 / b, a @ tf.transpose(a)],
              [x, y], backend)
    X, Y = f64(x), f64(y)
    refs = [X + Y, X - Y, X * Y, X / Y, X ** 2, -X, 2 - X, 1 / Y, X @ X.T]
    for i, (g, r) in enumerate(zip(got, refs)):
        assert_close(g, r, "float32", what=f"operator case {i}")


COMPARE = {"Equal": (tf.equal, np.equal), "NotEqual": (tf.not_equal, np.not_equal), "Less": (tf.less, np.less),
           "LessEqual": (tf.less_equal, np.less_equal), "Greater": (tf.greater, np.greater),
           "GreaterEqual": (tf.greater_equal, np.greater_equal)}
covers(*COMPARE)


@pytest.mark.parametrize("op", sorted(COMPARE))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 1), (4,))], ids=["same", "bcast"])
def test_comparisons(backend, op, dtype, sa, sb):
    fn, ref = COMPARE[op]
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, sa).astype(dtype) / (2 if dtype != "int32" else 1)  # small values: many ties
    y = rng.integers(-2, 3, sb).astype(dtype) / (2 if dtype != "int32" else 1)
    x, y = x.astype(dtype), y.astype(dtype)
    assert_close(run(fn, [x, y], backend), ref(x, y), "bool", what=f"{op} {dtype}")


@pytest.mark.parametrize("op", ["Equal", "NotEqual"])
def test_bool_equality(backend, op):
    fn, ref = COMPARE[op]
    x, y = data((3, 4), bool, seed=1), data((4,), bool, seed=2)
    assert_close(run(fn, [x, y], backend), ref(x, y), "bool")


covers("LogicalAnd", "LogicalOr")


@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (5,))])
def test_logical_binary(backend, sa, sb):
    x, y = data(sa, bool, seed=1), data(sb, bool, seed=2)
    a, o = run(lambda p, q: [tf.logical_and(p, q), tf.logical_or(p, q)], [x, y], backend)
    assert_close(a, np.logical_and(x, y), "bool")
    assert_close(o, np.logical_or(x, y), "bool")


covers("Select")


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("sc,sx,sy", [((3, 4), (3, 4), (3, 4)), ((3, 1), (3, 4), (4,)), ((), (2, 3), (2, 3))])
def test_select(backend, dtype, sc, sx, sy):
    c, x, y = data(sc, bool, seed=1), data(sx, dtype, seed=2), data(sy, dtype, seed=3)
    assert_close(run(tf.where, [c, x, y], backend), np.where(c, f64(x), f64(y)), dtype)


covers("Cast")
CASTS = [("float32", "int32"), ("float64", "int32"), ("int32", "float32"), ("float64", "float32"),
         ("float32", "float64"), ("float32", "bool"), ("bool", "float32"), ("int32", "int64"), ("int64", "int32"),
         ("bool", "int32"), ("int32", "bool"), ("int32", "float64")]


@pytest.mark.parametrize("src,dst", CASTS, ids=[f"{a}-{b}" for a, b in CASTS])
def test_cast(backend, src, dst):
    x = data((3, 4), src)
    if np.dtype(src).kind == "f":
        x.flat[:6] = [-2.7, -0.5, 0.0, 0.5, 2.7, 3.0]  # float -> int truncates toward zero, as TF1
    ref = np.trunc(x) if np.dtype(dst).kind in "iu" and np.dtype(src).kind == "f" else x
    assert_close(run(lambda t: tf.cast(t, dst), [x], backend), np.asarray(ref).astype(dst), dst)


# -- reductions ----------------------------------------------------------------------------
REDUCE = {"ReduceSum": (tf.reduce_sum, np.sum), "ReduceMean": (tf.reduce_mean, np.mean),
          "ReduceMax": (tf.reduce_max, np.max), "ReduceMin": (tf.reduce_min, np.min),
          "ReduceProd": (tf.reduce_prod, np.prod)}
covers(*REDUCE)
AXES = [(None, False), (0, False), (1, True), (-1, False), ((0, 2), False), ((0, 2), True), ((), False)]


@pytest.mark.parametrize("op", sorted(REDUCE))
@pytest.mark.parametrize("axis,keep", AXES, ids=[f"{a}-{k}" for a, k in AXES])
def test_reductions(backend, op, axis, keep):
    fn, ref = REDUCE[op]
    x = data((2, 5, 3), np.float32, "pos" if op == "ReduceProd" else "any")
    got = run(lambda t: fn(t, axis=axis, keepdims=keep), [x], backend)
    assert_close(got, ref(f64(x), axis=axis, keepdims=keep), "float32", what=f"{op} axis={axis} keepdims={keep}")


@pytest.mark.parametrize("op", sorted(REDUCE))
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_reduction_dtypes(backend, op, dtype):
    fn, ref = REDUCE[op]
    x = data((4, 6), dtype, seed=5)
    if op == "ReduceProd" and dtype == "int32":
        x = x % 3 - 1  # -1, 0, 1: products stay small
    got = run(lambda t: [fn(t, axis=1), fn(t)], [x], backend)
    for g, axis in zip(got, (1, None)):
        want = ref(f64(x), axis=axis)
        if op == "ReduceMean" and dtype == "int32":
            want = np.trunc(f64(x).sum(axis=axis) / (x.shape[1] if axis == 1 else x.size))  # TF1: toward zero
        assert_close(g, np.asarray(want).astype(dtype), dtype, what=f"{op} {dtype} axis={axis}")


def test_reduce_large_row(backend):
    """Long rows exercise a backend's parallel (work-group) reduction path."""
    x = data((3, 1000), np.float32, seed=6)
    s, m = run(lambda t: [tf.reduce_sum(t, 1), tf.reduce_max(t, 0)], [x], backend)
    assert_close(s, f64(x).sum(1), "float32", rtol=1e-5, atol=1e-4)
    assert_close(m, f64(x).max(0), "float32")


covers("ArgMax", "ArgMin")


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("out", ["int64", "int32"])
def test_argmax_argmin(backend, axis, out):
    x = np.random.default_rng(7).integers(0, 4, (3, 5, 4)).astype(np.float32)  # ties: the first index wins
    hi, lo = run(lambda t: [tf.argmax(t, axis=axis, output_type=out), tf.argmin(t, axis=axis, output_type=out)],
                 [x], backend)
    assert_close(hi, np.argmax(x, axis=axis), out)
    assert_close(lo, np.argmin(x, axis=axis), out)


def test_argmax_int32_input(backend):
    x = data((4, 6), np.int32, seed=8)
    assert_close(run(lambda t: tf.argmax(t, 1), [x], backend), np.argmax(x, 1), "int64")


# -- matrix product ------------------------------------------------------------------------
covers("MatMul")
MATMULS = [((3, 4), (4, 5), False, False), ((4, 3), (4, 5), True, False), ((3, 4), (5, 4), False, True),
           ((4, 3), (5, 4), True, True), ((1, 1), (1, 1), False, False), ((1, 7), (7, 1), False, False),
           ((17, 33), (33, 9), False, False), ((2, 3, 4), (2, 4, 5), False, False), ((2, 3, 4), (4, 5), False, False),
           ((2, 4, 3), (2, 5, 4), True, True)]


@pytest.mark.parametrize("sa,sb,ta,tb", MATMULS, ids=[f"{a}{b}{ta:d}{tb:d}" for a, b, ta, tb in MATMULS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul(backend, sa, sb, ta, tb, dtype):
    a, b = data(sa, dtype, seed=1), data(sb, dtype, seed=2)
    got = run(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a, b], backend)
    A, B = f64(a), f64(b)
    ref = (np.swapaxes(A, -1, -2) if ta else A) @ (np.swapaxes(B, -1, -2) if tb else B)
    assert_close(got, ref, dtype, rtol=1e-5 if dtype == "float32" else 1e-10, atol=1e-5 if dtype == "float32" else 1e-12)


def test_matmul_int32(backend):
    a, b = data((3, 4), np.int32, seed=1), data((4, 2), np.int32, seed=2)
    assert_close(run(tf.matmul, [a, b], backend), a.astype(np.int64) @ b, "int32")


# -- shapes --------------------------------------------------------------------------------
covers("Reshape", "ReshapeLike", "ExpandDims", "Squeeze", "Transpose")


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
@pytest.mark.parametrize("target", [(-1, 6), (4, -1), (24,), (2, 12), (1, 2, 3, 4)])
def test_reshape(backend, dtype, target):
    x = data((2, 3, 4), dtype)
    got = run(lambda t: tf.reshape(t, target) * 1 if dtype != "bool" else tf.reshape(t, target), [x], backend)
    assert_close(got, x.reshape(target), dtype)


def test_reshape_like_expand_squeeze(backend):
    x, like = data((2, 6), np.float32), np.zeros((3, 4), np.float32)
    got = run(lambda t, l: [make("ReshapeLike", [t, l]) + 1.0, tf.expand_dims(t, 0) + 1.0,
                            tf.expand_dims(t, -1) + 1.0, tf.expand_dims(t, 1) + 1.0,
                            tf.squeeze(tf.reshape(t, (1, 2, 1, 6))) + 1.0,
                            tf.squeeze(tf.reshape(t, (1, 2, 1, 6)), axis=[2]) + 1.0], [x, like], backend)
    refs = [x.reshape(3, 4), x[None], x[..., None], x[:, None], x, x.reshape(1, 2, 6)]
    for i, (g, r) in enumerate(zip(got, refs)):
        assert_close(g, f64(r) + 1, "float32", what=f"case {i}")


@pytest.mark.parametrize("perm", [None, (1, 0, 2), (2, 0, 1), (0, 1, 2)])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_transpose(backend, perm, dtype):
    x = data((2, 3, 4), dtype)
    assert_close(run(lambda t: tf.transpose(t, perm), [x], backend), np.transpose(x, perm), dtype)


covers("Concat", "ConcatGrad")


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_concat(backend, axis, dtype):
    sizes = [1, 3, 2]
    shapes = [tuple(s if i == axis % 3 else (2, 4, 3)[i] for i in range(3)) for s in sizes]
    xs = [data(s, dtype, seed=i) for i, s in enumerate(shapes)]
    assert_close(run(lambda *ts: tf.concat(list(ts), axis), xs, backend), np.concatenate(xs, axis), dtype)


def test_stack(backend):
    xs = [data((2, 3), np.float32, seed=i) for i in range(3)]
    assert_close(run(lambda *ts: tf.stack(list(ts), axis=1), xs, backend), np.stack(xs, 1), "float32")


@pytest.mark.parametrize("index", [0, 1, 2])
def test_concat_grad(backend, index):
    parts = [data((2, n), np.float32, seed=n) for n in (1, 3, 2)]
    g = data((2, 6), np.float32, seed=9)
    got = run(lambda gg, *ps: make("ConcatGrad", [gg] + list(ps), {"axis": 1, "index": index}), [g] + parts, backend)
    start = sum(p.shape[1] for p in parts[:index])
    assert_close(got, g[:, start:start + parts[index].shape[1]], "float32")


covers("StridedSlice", "SliceGrad")
SLICES = [1, -1, (slice(None), slice(1, 3)), slice(None, None, 2), slice(None, None, -1), (Ellipsis, 0),
          (None, 1), (slice(1, None), None, slice(None, None, -2)), (slice(None), slice(-3, -1), 1),
          (slice(None), 2, slice(None, None, 3))]


@pytest.mark.parametrize("key", SLICES, ids=[repr(k) for k in SLICES])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_strided_slice(backend, key, dtype):
    x = data((4, 5, 6), dtype)
    assert_close(run(lambda t: t[key], [x], backend), x[key], dtype, what=f"x[{key!r}]")


@pytest.mark.parametrize("key", SLICES[:6], ids=[repr(k) for k in SLICES[:6]])
def test_slice_grad(backend, key):
    x = data((4, 5, 6), np.float32)
    g = data(x[key].shape, np.float32, seed=4)
    want = np.zeros_like(x)
    want[key] = g
    got = run(lambda gg, t: make("SliceGrad", [gg, t], {"spec": slice_spec(key)}), [g, x], backend)
    assert_close(got, want, "float32")


covers("Gather", "GatherGrad")


@pytest.mark.parametrize("axis,ishape", [(0, (4,)), (1, (2, 3)), (0, (2, 2)), (-1, (3,))])
@pytest.mark.parametrize("dtype,itype", [("float32", "int32"), ("float64", "int64"), ("int32", "int32")])
def test_gather(backend, axis, ishape, dtype, itype):
    params = data((5, 4, 3), dtype)
    idx = np.random.default_rng(2).integers(0, params.shape[axis], ishape).astype(itype)
    assert_close(run(lambda p, i: tf.gather(p, i, axis=axis), [params, idx], backend), np.take(params, idx, axis),
                 dtype)


@pytest.mark.parametrize("axis", [0, 1])
def test_gather_grad_accumulates_repeats(backend, axis):
    params = data((5, 4), np.float32)
    idx = np.array([0, 2, 2, 3, 0, 2], np.int32)[: params.shape[axis] + 1]
    g = data(np.take(params, idx, axis).shape, np.float32, seed=3)
    want = np.zeros(params.shape)
    np.add.at(want, (slice(None),) * axis + (idx,), f64(g))
    got = run(lambda gg, i, p: make("GatherGrad", [gg, i, p], {"axis": axis}), [g, idx, params], backend)
    assert_close(got, want, "float32")


covers("OneHot")


@pytest.mark.parametrize("itype", ["int32", "int64"])
def test_one_hot(backend, itype):
    idx = np.array([0, 2, -1, 1, 3], itype)  # out-of-range ids give a row of off values, as TF1
    want = (idx[:, None] == np.arange(3)).astype(np.float64)
    assert_close(run(lambda i: tf.one_hot(i, 3), [idx], backend), want, "float32")
    got = run(lambda i: tf.one_hot(i, 3, on_value=5, off_value=-1, dtype=tf.int32), [idx], backend)
    assert_close(got, np.where(want > 0, 5, -1), "int32")


def test_one_hot_axis0(backend):
    idx = np.array([[0, 1], [2, 0]], np.int32)
    want = np.moveaxis((idx[..., None] == np.arange(4)).astype(np.float64), -1, 0)
    assert_close(run(lambda i: tf.one_hot(i, 4, axis=0), [idx], backend), want, "float32")


covers("Shape", "FullLike")


def test_shape_and_fill_like(backend):
    x = data((2, 3, 4), np.float32)
    s32, s64, z, o, oi = run(lambda t: [tf.shape(t), tf.shape(t, out_type=tf.int64), tf.zeros_like(t) + t,
                                        tf.ones_like(t) * 2.0, tf.ones_like(t, dtype=tf.int32)], [x], backend)
    assert_close(s32, np.array([2, 3, 4]), "int32")
    assert_close(s64, np.array([2, 3, 4]), "int64")
    assert_close(z, x, "float32")
    assert_close(o, np.full(x.shape, 2.0), "float32")
    assert_close(oi, np.ones(x.shape), "int32")


def test_shape_of_partly_known_placeholder(backend):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        s = tf.shape(x)
        with tf.Session(backend=backend) as sess:
            for n in (1, 4):
                assert_close(sess.run(s, {x: np.zeros((n, 3), np.float32)}), np.array([n, 3]), "int32")


# -- the gradient-helper ops ---------------------------------------------------------------
covers("SumTo", "ReduceGrad", "BroadcastLike")


@pytest.mark.parametrize("gs,xs", [((2, 3, 4), (3, 1)), ((2, 3, 4), (4,)), ((2, 3, 4), ()), ((3, 4), (3, 4)),
                                   ((2, 3, 4), (2, 1, 4))])
def test_sum_to(backend, gs, xs):
    g, x = data(gs, np.float32, seed=1), np.zeros(xs, np.float32)
    lead = len(gs) - len(xs)
    want = f64(g).sum(axis=tuple(range(lead)))
    want = want.sum(axis=tuple(i for i, d in enumerate(xs) if d == 1), keepdims=True).reshape(xs)
    assert_close(run(lambda a, b: make("SumTo", [a, b]), [g, x], backend), want, "float32")


@pytest.mark.parametrize("kind", ["sum", "mean"])
@pytest.mark.parametrize("axes,keep", [((1,), False), ((1,), True), ((0, 2), False), ((0, 1, 2), False)])
def test_reduce_grad(backend, kind, axes, keep):
    x = np.zeros((2, 3, 4), np.float32)
    gshape = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keep else \
        tuple(d for i, d in enumerate(x.shape) if i not in axes)
    g = data(gshape, np.float32, seed=2)
    want = np.broadcast_to(f64(g).reshape([1 if i in axes else d for i, d in enumerate(x.shape)]), x.shape)
    if kind == "mean":
        want = want / np.prod([x.shape[a] for a in axes])
    got = run(lambda a, b: make("ReduceGrad", [a, b], {"axes": axes, "keepdims": keep, "kind": kind}), [g, x], backend)
    assert_close(got, want, "float32")


@pytest.mark.parametrize("gs,xs", [((3, 1), (2, 3, 4)), ((), (2, 3)), ((4,), (3, 4)), ((3, 4), (3, 4))])
def test_broadcast_like(backend, gs, xs):
    g, x = data(gs, np.float32, seed=3), np.zeros(xs, np.float32)
    got = run(lambda a, b: make("BroadcastLike", [a, b]) * 1.0, [g, x], backend)
    assert_close(got, np.broadcast_to(f64(g), xs), "float32")


# -- random ops ----------------------------------------------------------------------------
covers("RandomStandardNormal", "RandomUniform", "TruncatedNormal", "RandomUniformInt")
RANDOM = {
    "normal": lambda dt, seed: tf.random_normal((200, 100), dtype=dt, seed=seed),
    "uniform": lambda dt, seed: tf.random_uniform((200, 100), dtype=dt, seed=seed),
    "truncated": lambda dt, seed: tf.truncated_normal((200, 100), dtype=dt, seed=seed),
}


@pytest.mark.parametrize("kind", sorted(RANDOM))
@pytest.mark.parametrize("dtype", FLOATS)
def test_random_distributions(backend, kind, dtype):
    x = f64(run(lambda: RANDOM[kind](dtype, 3), [], backend))
    n = x.size
    assert x.shape == (200, 100)
    assert np.unique(x).size > n * 0.99, "draws repeat"
    if kind == "uniform":
        assert x.min() >= 0 and x.max() < 1
        mean, var = 0.5, 1 / 12
    elif kind == "normal":
        mean, var = 0.0, 1.0
    else:  # normal truncated at two standard deviations: variance 1 - 2*2*phi(2)/(Phi(2)-Phi(-2))
        assert np.abs(x).max() <= 2.0
        mean, var = 0.0, 0.7737413
    # five standard errors: a correct backend fails this about once in a million runs
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / n)
    assert abs(x.var() - var) < 5 * np.sqrt(2 * var ** 2 / n) * (1.5 if kind != "normal" else 1)


def test_random_dtype(backend):
    for dt in FLOATS:
        assert run(lambda: tf.random_normal((3,), dtype=dt, seed=1), [], backend).dtype == np.dtype(dt)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_random_uniform_int(backend, dtype):
    x = run(lambda: tf.random_uniform((5000,), minval=-3, maxval=4, dtype=dtype, seed=5), [], backend)
    assert x.dtype == np.dtype(dtype)
    counts = np.bincount(x.astype(np.int64) + 3, minlength=7)
    assert counts.size == 7 and counts.min() > 5000 / 7 * 0.8, f"values -3..3 not uniform: {counts}"


def test_random_seeds_repeat_in_new_sessions(backend):
    """Graph seed + op seed: the same numbers in every new Session; distinct ops give distinct streams."""
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(42)
        a = tf.random_normal((4, 3))
        b = tf.random_uniform((4, 3), seed=7)
        c = tf.random_uniform((4, 3), seed=8)
        with tf.Session(backend=backend) as s1:
            first = s1.run([a, b, c])
            second = s1.run([a, b, c])
        with tf.Session(backend=backend) as s2:
            again = s2.run([a, b, c])
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], second[0]), "a second run of the same op repeated its draws"
    assert not np.array_equal(first[1], first[2]), "different op seeds gave the same draws"


def test_random_like_follows_fed_shape(backend):
    from nnplug.ops.random_ops import random_uniform_like
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        r = random_uniform_like(x, seed=1)
        with tf.Session(backend=backend) as s:
            for n in (2, 5):
                v = s.run(r, {x: np.zeros((n, 3), np.float32)})
                assert v.shape == (n, 3) and v.dtype == np.float32 and 0 <= v.min() and v.max() < 1


# -- composites: softmax, cross-entropy and the fused backward ops --------------------------
covers("Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits", "TanhGrad", "SigmoidGrad", "ReluGrad")


def np_log_softmax(x, axis=-1):
    x = f64(x)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax(backend, axis, dtype):
    x = data((4, 5), dtype) * 3
    s, ls = run(lambda t: [tf.nn.softmax(t, axis=axis), tf.nn.log_softmax(t, axis=axis)], [x], backend)
    assert_close(s, np.exp(np_log_softmax(x, axis)), dtype)
    assert_close(ls, np_log_softmax(x, axis), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_cross_entropy(backend, dtype):
    logits = data((6, 5), dtype) * 3
    labels = np.random.default_rng(1).dirichlet(np.ones(5), 6).astype(dtype)
    got = run(lambda l, y: tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=l), [logits, labels], backend)
    assert_close(got, -(f64(labels) * np_log_softmax(logits)).sum(-1), dtype)


@pytest.mark.parametrize("itype", ["int32", "int64"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_sparse_softmax_cross_entropy(backend, itype, dtype):
    logits = data((6, 5), dtype) * 3
    labels = np.array([0, 4, 2, 2, 1, 3], itype)
    got = run(lambda l, y: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=l), [logits, labels],
              backend)
    assert_close(got, -np_log_softmax(logits)[np.arange(6), labels], dtype)


def test_softmax_family_large_logits_finite(backend):
    logits = np.array([[1000.0, 0.0, -1000.0], [-5e4, 5e4, 0.0]], np.float32)
    labels = np.array([0, 2], np.int32)
    g = tf.Graph()
    with g.as_default():
        l = tf.placeholder(tf.float32, (2, 3))
        y = tf.placeholder(tf.int32, (2,))
        sm = tf.nn.softmax(l)
        lsm = tf.nn.log_softmax(l)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=l)
        dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, 3), logits=l)
        grad = tf.gradients(tf.reduce_sum(loss) + tf.reduce_sum(dense), l)[0]
        with tf.Session(backend=backend) as s:
            vals = s.run([sm, lsm, loss, dense, grad], {l: logits, y: labels})
    want_lsm = np_log_softmax(logits)
    want_loss = -want_lsm[np.arange(2), labels]
    assert_close(vals[0], np.exp(want_lsm), "float32")
    assert_close(vals[1], want_lsm, "float32")
    assert_close(vals[2], want_loss, "float32", rtol=1e-6)
    assert_close(vals[3], want_loss, "float32", rtol=1e-6)
    onehot = np.eye(3)[labels]
    assert_close(vals[4], 2 * (np.exp(want_lsm) - onehot), "float32")


FUSED_BACKWARD = [n for n, row in ROWS.items() if row.arity == 2 and n.endswith("Grad")]
covers(*FUSED_BACKWARD)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(3, 4), ()])
@pytest.mark.parametrize("op", FUSED_BACKWARD)
def test_fused_backward_ops(backend, op, dtype, shape):
    """The fused backward kernels against their rows' references (and, where a backend has no kernel of
    its own, the compiler's expansion into primitives)."""
    row = ROWS[op]
    a, b = data(shape, dtype, seed=1), data(shape, dtype, row.grad_domain, seed=2)
    got = run(lambda u, v: make(op, [u, v], dict(row.attrs)), [a, b], backend)
    assert_close(got, row.ref(f64(a), f64(b)), dtype, what=f"{op} {dtype} {shape}")


def test_leaky_relu_alpha(backend):
    x = data((4, 5), "float64", "away")
    got, grad = run(lambda t: [tf.nn.leaky_relu(t, alpha=0.3), tf.gradients(tf.nn.leaky_relu(t, 0.3) * t, t)[0]],
                    [x], backend)
    assert_close(got, np.where(x > 0, x, 0.3 * x), "float64")
    assert_close(grad, np.where(x > 0, 2 * x, 2 * 0.3 * x), "float64")


# -- gradients against central finite differences (float64) ---------------------------------
def _g(shape, domain="any", seed=0):
    return data(shape, np.float64, domain, seed)


GRADS = [(op, (op,), UNARY[op][0], [_g((3, 4), ROWS[op].grad_domain)], {}) for op in UNARY if op not in NO_GRADIENT]
for _op, (_fn, _ref, _dom) in BINARY.items():
    _a = _g((2, 3, 4), "pos" if _op == "Pow" else "any", 1)
    _b = _g((3, 1), "away" if _op == "Div" else "any", 2)
    GRADS.append((_op + "-bcast", (_op,), _fn, [_a, _b], {}))
    GRADS.append((_op + "-bcast-rev", (_op,), _fn, [_g((3, 1), "pos" if _op == "Pow" else "any", 4),
                                                      _g((4,), "away" if _op == "Div" else "any", 3)], {}))
GRADS += [
    ("Select", ("Select",), tf.where, [data((3, 1), bool, seed=1), _g((3, 4)), _g((4,), seed=2)], {}),
    ("Cast", ("Cast",), lambda x: tf.cast(tf.cast(x, tf.float32) * 3.0, tf.float64), [_g((3, 2))],
     {"eps": 1e-2, "rtol": 1e-4, "atol": 1e-4}),
    ("MatMul-batched", ("MatMul",), tf.matmul, [_g((2, 3, 4)), _g((2, 4, 2), seed=1)], {}),
    ("MatMul-bcast", ("MatMul",), tf.matmul, [_g((2, 3, 4)), _g((4, 2), seed=1)], {}),
    ("Reshape", ("Reshape",), lambda x: tf.reshape(x, (-1, 2)) * _g((6, 2), seed=5), [_g((3, 4))], {}),
    ("ReshapeLike", ("ReshapeLike",), lambda x, l: make("ReshapeLike", [x, l]) * _g((2, 6), seed=5),
     [_g((3, 4)), np.zeros((2, 6), np.int32)], {}),
    ("ExpandDims", ("ExpandDims",), lambda x: tf.expand_dims(x, 1) * _g((3, 1, 4), seed=5), [_g((3, 4))], {}),
    ("Squeeze", ("Squeeze",), lambda x: tf.squeeze(x) * _g((3, 4), seed=5), [_g((3, 1, 4))], {}),
    ("Transpose", ("Transpose",), lambda x: tf.transpose(x, (2, 0, 1)) * _g((4, 2, 3), seed=5), [_g((2, 3, 4))], {}),
    ("Concat", ("Concat",), lambda a, b: tf.concat([a, b, a], 1), [_g((2, 3)), _g((2, 1), seed=1)], {}),
    ("StridedSlice", ("StridedSlice",), lambda x: x[1:, ::-2] * 2.0, [_g((3, 5))], {}),
    ("SliceGrad", ("SliceGrad",), lambda g, x: make("SliceGrad", [g, x], {"spec": slice_spec((slice(1, None),))}),
     [_g((2, 5)), np.zeros((3, 5), np.int32)], {}),
    ("Gather", ("Gather",), lambda p, i: tf.gather(p, i, axis=1), [_g((3, 4)), np.array([3, 0, 3], np.int32)], {}),
    ("SumTo", ("SumTo",), lambda g, x: make("SumTo", [g, x]), [_g((2, 3, 4)), np.zeros((3, 1), np.int32)], {}),
    ("ReduceGrad-sum", ("ReduceGrad",),
     lambda g, x: make("ReduceGrad", [g, x], {"axes": (1,), "keepdims": False, "kind": "sum"}),
     [_g((2, 4)), np.zeros((2, 3, 4), np.int32)], {}),
    ("ReduceGrad-mean", ("ReduceGrad",),
     lambda g, x: make("ReduceGrad", [g, x], {"axes": (0, 2), "keepdims": True, "kind": "mean"}),
     [_g((1, 3, 1)), np.zeros((2, 3, 4), np.int32)], {}),
    ("BroadcastLike", ("BroadcastLike",), lambda g, x: make("BroadcastLike", [g, x]),
     [_g((3, 1)), np.zeros((2, 3, 4), np.int32)], {}),
    ("Softmax", ("Softmax",), tf.nn.softmax, [_g((3, 4)) * 2], {}),
    ("Softmax-axis0", ("Softmax",), lambda x: tf.nn.softmax(x, axis=0), [_g((3, 4)) * 2], {}),
    ("LogSoftmax", ("LogSoftmax",), tf.nn.log_softmax, [_g((3, 4)) * 2], {}),
    ("Xent-dense", ("SoftmaxCrossEntropyWithLogits",),
     lambda l, y: tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=l), [_g((3, 4)) * 2, _g((3, 4), "pos")],
     {}),
    ("Xent-sparse", ("SoftmaxCrossEntropyWithLogits",),
     lambda l, y: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=l),
     [_g((3, 4)) * 2, np.array([1, 3, 0], np.int64)], {}),
    ("TanhGrad", ("TanhGrad",), lambda y, g: make("TanhGrad", [y, g]), [_g((3, 4)), _g((3, 4), seed=1)], {}),
    ("SigmoidGrad", ("SigmoidGrad",), lambda y, g: make("SigmoidGrad", [y, g]), [_g((3, 4)), _g((3, 4), seed=1)], {}),
    ("ReluGrad", ("ReluGrad",), lambda g, x: make("ReluGrad", [g, x]), [_g((3, 4)), _g((3, 4), "away", seed=1)],
     {"wrt": [0]}),
    ("LeakyReluGrad", ("LeakyReluGrad",), lambda g, x: make("LeakyReluGrad", [g, x], {"alpha": 0.3}),
     [_g((3, 4)), _g((3, 4), "away", seed=1)], {"wrt": [0]}),
    ("second-order-tanh", ("Tanh", "TanhGrad"), lambda x: tf.gradients(tf.reduce_sum(tf.tanh(x) ** 2.0), x)[0],
     [_g((2, 3))], {}),
    ("rank0-chain", ("Tanh", "Sigmoid", "Mul"), lambda x, w: tf.tanh(x * w) * tf.sigmoid(x) + tf.exp(-x),
     [_g(()), _g((), seed=1)], {}),
]
for _ta in (False, True):
    for _tb in (False, True):
        GRADS.append((f"MatMul-{_ta:d}{_tb:d}", ("MatMul",),
                      (lambda ta, tb: lambda a, b: tf.matmul(a, b, transpose_a=ta, transpose_b=tb))(_ta, _tb),
                      [_g((4, 3) if _ta else (3, 4)), _g((2, 4) if _tb else (4, 2), seed=1)], {}))
for _op, (_fn, _ref) in REDUCE.items():
    for _axis, _keep in ((None, False), (1, True), ((0, 2), False)):
        _x = _g((2, 3, 4), "pos" if _op == "ReduceProd" else "any", seed=7)
        GRADS.append((f"{_op}-{_axis}-{_keep}", (_op,),
                      (lambda fn, ax, kp: lambda x: fn(x, axis=ax, keepdims=kp))(_fn, _axis, _keep), [_x], {}))
for _case in GRADS:
    covers(*_case[1], grad=True)


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradient(backend, case):
    check_case(backend, case)


def test_max_gradient_splits_ties(backend):
    """Tied maxima share the gradient equally, as TF1 does."""
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    got = run(lambda t: tf.gradients(tf.reduce_max(t, axis=1), t)[0], [x], backend)
    assert_close(got, np.array([[0, 0.5, 0.5], [1, 0, 0]]), "float64")


# -- TF1 surface ops (manip/clip/sort) --------------------------------------------------------
# The composites Tile, TileGrad and Pad (expanded into primitives on the compiled shapes) and the host ops
# TopKV2, TopKGrad, InTopK, BooleanMask, BooleanMaskGrad, Range and LinSpace (nnplug/ops/manip_ops.py,
# sort_ops.py, sequence_ops.py).
covers("Tile", "TileGrad", "Pad")
TILES = [((2, 3), (1, 1)), ((2, 3), (2, 3)), ((3,), (4,)), ((2, 1, 3), (1, 4, 2)), ((), ()), ((2, 3), (0, 2))]


@pytest.mark.parametrize("shape,multiples", TILES, ids=[f"{s}x{m}" for s, m in TILES])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_tile(backend, shape, multiples, dtype):
    x = data(shape, dtype)
    assert_close(run(lambda t: tf.tile(t, multiples), [x], backend), np.tile(x, multiples), dtype)


def test_tile_multiples_from_a_shape(backend):
    """Multiples computed from a fed shape are known when the plan is compiled."""
    x, y = data((2, 3), np.float32), np.zeros((4,), np.float32)
    got = run(lambda t, u: tf.tile(t, [tf.shape(u)[0], 1]), [x, y], backend)
    assert_close(got, np.tile(x, (4, 1)), "float32")


@pytest.mark.parametrize("xs,multiples", [((2, 3), (2, 1)), ((2, 3), (3, 2)), ((3,), (1,)), ((1, 2, 2), (2, 2, 2))])
def test_tile_grad(backend, xs, multiples):
    g = data(tuple(d * m for d, m in zip(xs, multiples)), np.float32, seed=2)
    split = f64(g).reshape([v for d, m in zip(xs, multiples) for v in (m, d)])
    want = split.sum(axis=tuple(range(0, 2 * len(xs), 2)))
    got = run(lambda a, b: make("TileGrad", [a, b], {"multiples": multiples}), [g, np.zeros(xs, np.float32)],
              backend)
    assert_close(got, want, "float32")


PADS = [((2, 3), ((1, 2), (0, 3)), 0), ((2, 3), ((0, 0), (0, 0)), 0), ((3,), ((2, 1),), 5), ((2, 2, 2), ((1, 0), (0, 1), (2, 2)), -1)]


@pytest.mark.parametrize("shape,paddings,value", PADS, ids=[f"{s}{p}{v}" for s, p, v in PADS])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_pad(backend, shape, paddings, value, dtype):
    x = data(shape, dtype)
    value = bool(value) if dtype == "bool" else value
    got = run(lambda t: tf.pad(t, paddings, constant_values=value), [x], backend)
    assert_close(got, np.pad(x, paddings, constant_values=value), dtype)


def test_pad_with_unknown_batch(backend):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 2, 2, 1))
        y = tf.pad(x, [[0, 0], [2, 2], [1, 0], [0, 0]])
        assert tuple(y.shape) == (None, 6, 3, 1)
        with tf.Session(backend=backend) as sess:
            for n in (1, 3):
                v = data((n, 2, 2, 1), np.float32, seed=n)
                assert_close(sess.run(y, {x: v}), np.pad(v, [[0, 0], [2, 2], [1, 0], [0, 0]]), "float32")


covers("TopKV2", "TopKGrad", "InTopK", "BooleanMask", "BooleanMaskGrad", "Range", "LinSpace")


def _top_k_reference(x, k):
    """Each row sorted by value, largest first, equal values by increasing index (a Python sort)."""
    rows = x.reshape(-1, x.shape[-1])
    idx = np.array([sorted(range(len(r)), key=lambda i: (-float(r[i]), i))[:k] for r in rows], np.int64)
    idx = idx.reshape(x.shape[:-1] + (k,))
    return np.take_along_axis(x, idx, -1), idx


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("shape,k", [((3, 6), 1), ((3, 6), 4), ((2, 3, 5), 5), ((7,), 0)])
def test_top_k(backend, dtype, shape, k):
    x = np.random.default_rng(4).integers(-3, 4, shape).astype(dtype)  # small integers: many ties
    values, indices = run(lambda t: list(tf.nn.top_k(t, k)), [x], backend)
    want_v, want_i = _top_k_reference(x, k)
    assert_close(values, want_v, dtype)
    assert_close(indices, want_i, "int32")


def test_top_k_grad_scatters_to_the_indices(backend):
    x = data((3, 5), np.float32)
    idx = np.array([[4, 0], [1, 2], [3, 4]], np.int32)
    g = data((3, 2), np.float32, seed=1)
    want = np.zeros((3, 5))
    for r in range(3):
        for j in range(2):
            want[r, idx[r, j]] = g[r, j]
    assert_close(run(lambda a, i, t: make("TopKGrad", [a, i, t]), [g, idx, x], backend), want, "float32")


def test_in_top_k(backend):
    p = np.array([[0.1, 0.5, 0.5, 0.2], [0.9, 0.1, 0.3, 0.2], [0.2, 0.2, 0.2, 0.2], [0.1, np.inf, 0.3, 0.2],
                  [0.4, 0.3, 0.2, 0.1]], np.float32)
    t = np.array([2, 2, 3, 0, 7], np.int32)  # a tie at the boundary, rank 2, all tied, a non-finite row, out of range
    k1, k2 = run(lambda a, b: [tf.nn.in_top_k(a, b, 1), tf.nn.in_top_k(a, b, 2)], [p, t], backend)
    assert_close(k1, np.array([True, False, True, False, False]), "bool")
    assert_close(k2, np.array([True, True, True, False, False]), "bool")


MASKS = [((4, 3), (4,), 0), ((4, 3, 2), (4, 3), 0), ((2, 4, 3), (4,), 1), ((5,), (5,), 0)]


@pytest.mark.parametrize("shape,mshape,axis", MASKS, ids=[f"{s}{m}{a}" for s, m, a in MASKS])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_boolean_mask(backend, shape, mshape, axis, dtype):
    x, m = data(shape, dtype), data(mshape, bool, seed=3)
    got = run(lambda t, u: tf.boolean_mask(t, u, axis=axis), [x, m], backend)
    assert_close(got, x[(slice(None),) * axis + (m,)], dtype)


@pytest.mark.parametrize("shape,mshape,axis", MASKS, ids=[f"{s}{m}{a}" for s, m, a in MASKS])
def test_boolean_mask_grad(backend, shape, mshape, axis):
    """The gradient puts each masked element's gradient back where it came from (zeros elsewhere)."""
    m = data(mshape, bool, seed=3)
    key = (slice(None),) * axis + (m,)
    x = data(shape, np.float64)
    g = data(x[key].shape, np.float64, seed=5)
    want = np.zeros(shape)
    want[key] = g
    direct = run(lambda a, u: make("BooleanMaskGrad", [a, u], {"axis": axis}), [g, m], backend)
    assert_close(direct, want, "float64")
    via_gradients = run(lambda t, u, gy: tf.gradients(tf.boolean_mask(t, u, axis=axis), t, grad_ys=gy)[0],
                        [x, m, g], backend)
    assert_close(via_gradients, want, "float64")


@pytest.mark.parametrize("start,limit,delta,dtype", [(0, 5, 1, "int32"), (3, -4, -2, "int64"), (0.5, 2.0, 0.25, "float32")])
def test_range_of_tensors(backend, start, limit, delta, dtype):
    args = [np.array(v, dtype) for v in (start, limit, delta)]
    got = run(lambda a, b, c: tf.range(a, b, c), args, backend)
    assert_close(got, np.arange(start, limit, delta), dtype)


def test_range_of_a_shape_folds(backend):
    got = run(lambda t: tf.range(tf.shape(t)[0]) * 2, [np.zeros((4, 2), np.float32)], backend)
    assert_close(got, np.arange(4) * 2, "int32")


@pytest.mark.parametrize("dtype", FLOATS)
def test_linspace_of_tensors(backend, dtype):
    got = run(lambda a, b, n: tf.linspace(a, b, n), [np.array(-1.0, dtype), np.array(2.0, dtype), np.array(7, np.int32)],
              backend)
    assert_close(got, np.linspace(-1.0, 2.0, 7), dtype)


TF1_GRADS = [
    ("Tile", ("Tile",), lambda x: tf.tile(x, [2, 1, 3]), [_g((2, 3, 1))], {}),
    ("TileGrad", ("TileGrad",), lambda g, x: make("TileGrad", [g, x], {"multiples": (2, 1)}),
     [_g((4, 3)), np.zeros((2, 3), np.int32)], {}),
    ("Pad", ("Pad",), lambda x: tf.pad(x, [[1, 0], [2, 1]], constant_values=1.5), [_g((2, 3))], {}),
    ("Pad-reflect", ("StridedSlice", "Concat"), lambda x: tf.pad(x, [[1, 1], [2, 2]], "REFLECT"), [_g((3, 4))], {}),
    ("TopKV2", ("TopKV2",), lambda x: tf.nn.top_k(x, 3)[0], [_g((3, 5))], {}),
]
for _case in TF1_GRADS:
    covers(*_case[1], grad=True)


@pytest.mark.parametrize("case", TF1_GRADS, ids=[c[0] for c in TF1_GRADS])
def test_tf1_gradient(backend, case):
    check_case(backend, case)


# -- end of the TF1 surface ops ---------------------------------------------------------------


# -- the meta-test -------------------------------------------------------------------------
def required_op_types():
    """Op types a backend must run: primitives, plus composites (fused kernel or expansion). A stateful
    composite (the overlapped allreduce, registered once nnplug.distributed is imported) expands into host
    collectives that need other processes: tests/test_distributed_mpi.py runs it under mpiexec."""
    return set(registry.primitives()) | {n for n in registry.names()
                                         if registry.get(n).composite and not registry.get(n).stateful}


def test_every_op_type_has_a_case():
    missing = sorted(required_op_types() - COVERED)
    assert not missing, f"op types with no conformance case in nnplug/testing/conformance.py: {missing}"


def test_every_differentiable_op_has_a_gradient_case():
    diff = {n for n in required_op_types() if registry.get(n).grad is not None} - NO_GRADIENT
    missing = sorted(diff - GRAD_COVERED)
    assert not missing, f"op types with a gradient rule but no finite-difference case: {missing}"


def test_no_gradient_ops_really_have_none():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, (3,))
        for y in [UNARY[op][0](x) for op in sorted(NO_GRADIENT) if op in UNARY] + [tf.zeros_like(x)]:
            assert tf.gradients(tf.reduce_sum(y), x)[0] is None
    assert NO_GRADIENT <= required_op_types()


from .conformance_tail import *  # noqa: E402,F401,F403
from .conformance_conv import *  # noqa: E402,F401,F403
from .conformance_rnn import *  # noqa: E402,F401,F403
from .conformance_train import *  # noqa: E402,F401,F403
from .conformance_image import *  # noqa: E402,F401,F403
from .conformance_more import *  # noqa: E402,F401,F403

__all__ = [n for n in dir() if n.startswith("test_")]
