"""Direct checks of the OpenCL backend (PoCL on the CPU in CI) against float64 NumPy: tiled matrix products
at edge sizes, reductions over arbitrary axes, broadcasting, slices and gathers, the fused softmax family,
and a small MLP's training steps matching the numpy backend."""
import gc

import numpy as np
import pytest

import nnplug as tf
from nnplug.shapes import ShapeError
from nnplug import plugins

_ok, _why = (False, "opencl backend not installed")
try:
    _cls = plugins.backend_classes().get("opencl")
    if _cls is not None:
        _ok, _why = _cls[0].is_available()
except Exception as e:  # noqa: BLE001
    _why = f"{type(e).__name__}: {e}"
pytestmark = pytest.mark.skipif(not _ok, reason=f"OpenCL backend unavailable: {_why}")

RS = np.random.RandomState(1234)


def run(build, feeds=(), backend="opencl"):
    """Build a graph with `build(*placeholders)` and run it on `backend`; feeds are NumPy arrays."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf.placeholder(tf.as_dtype(a.dtype), a.shape) for a in feeds]
        out = build(*phs)
        with tf.Session(backend=backend) as s:
            return s.run(out, dict(zip(phs, feeds)))


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (17, 33, 65), (32, 16, 32), (5, 70, 3)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("kind", ["tiled", "simple", "blocked"])  # GPUs: local-memory tiles; CPUs: blocked
def test_matmul_tiling_edges(m, k, n, ta, tb, kind, monkeypatch):
    monkeypatch.setattr(plugins.get_backend("opencl"), "matmul_kind", kind)
    a = RS.randn(*((k, m) if ta else (m, k))).astype(np.float32)
    b = RS.randn(*((n, k) if tb else (k, n))).astype(np.float32)
    got = run(lambda x, y: tf.matmul(x, y, transpose_a=ta, transpose_b=tb), [a, b])
    ref = (a.astype(np.float64).T if ta else a) @ (b.astype(np.float64).T if tb else b)
    assert got.shape == (m, n) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def test_matmul_batched_broadcast_float64():
    a = RS.randn(2, 3, 4, 5)
    b = RS.randn(5, 6)
    got = run(lambda x, y: tf.matmul(x, y), [a, b])
    np.testing.assert_allclose(got, a @ b, rtol=1e-12)


@pytest.mark.parametrize("axis,keep", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, False)])
@pytest.mark.parametrize("fn,ref", [(tf.reduce_sum, np.sum), (tf.reduce_max, np.max), (tf.reduce_min, np.min),
                                    (tf.reduce_mean, np.mean), (tf.reduce_prod, np.prod)])
@pytest.mark.parametrize("group_min", [64, 4096])  # GPUs' work-group-per-output path for rows >= 64; CPUs'
def test_reductions(fn, ref, axis, keep, group_min, monkeypatch):
    monkeypatch.setattr(plugins.get_backend("opencl"), "group_reduce_min", group_min)
    x = (RS.rand(3, 70, 5) + 0.5).astype(np.float32)  # 70 > 64: the work-group path for few outputs
    got = run(lambda t: fn(t, axis=axis, keepdims=keep), [x])
    np.testing.assert_allclose(got, ref(x.astype(np.float64), axis=axis, keepdims=keep), rtol=1e-4)


def test_integer_reductions_and_argmax():
    x = RS.randint(-9, 9, (4, 6)).astype(np.int32)
    s, m, amax, amin = run(lambda t: [tf.reduce_sum(t, 1), tf.reduce_mean(t, 0), tf.argmax(t, 1),
                                      tf.argmin(t, 0)], [x])
    np.testing.assert_array_equal(s, x.sum(1))
    np.testing.assert_array_equal(m, np.trunc(x.sum(0) / 4).astype(np.int32))  # TF1 truncates
    np.testing.assert_array_equal(amax, x.argmax(1))
    np.testing.assert_array_equal(amin, x.argmin(0))


def test_broadcasting_and_dtypes():
    a = RS.randn(3, 1, 4).astype(np.float32)
    b = RS.randn(5, 1).astype(np.float32)
    i = RS.randint(-7, 7, (2, 3)).astype(np.int64)
    j = np.array([2, -3, 4], np.int64)
    add, fdiv, sel, to_bool, eq = run(
        lambda x, y, p, q: [x + y, tf.floordiv(p, q), tf.where(x > 0, x, y * 0 + 1.0), tf.cast(p, tf.bool),
                            tf.equal(p, q)], [a, b, i, j])
    np.testing.assert_allclose(add, a.astype(np.float64) + b, rtol=1e-6)
    np.testing.assert_array_equal(fdiv, i // j)
    np.testing.assert_allclose(sel, np.where(a > 0, a, np.ones_like(b) + 0 * a))
    assert to_bool.dtype == np.bool_ and (to_bool == (i != 0)).all()
    np.testing.assert_array_equal(eq, i == j)


def test_slices_concat_transpose_gather_one_hot():
    x = RS.randn(4, 5, 6)
    idx = np.array([3, 0, 3, 1], np.int32)
    got = run(lambda t, i: [t[1:4:2, ::-2, 3], tf.concat([t, t[:, :2]], axis=1), tf.transpose(t, [2, 0, 1]),
                            tf.gather(t, i, axis=1), tf.one_hot(i, 5, axis=0)], [x, idx])
    np.testing.assert_array_equal(got[0], x[1:4:2, ::-2, 3])
    np.testing.assert_array_equal(got[1], np.concatenate([x, x[:, :2]], axis=1))
    np.testing.assert_array_equal(got[2], x.transpose(2, 0, 1))
    np.testing.assert_array_equal(got[3], np.take(x, idx, axis=1))
    np.testing.assert_array_equal(got[4], np.eye(5)[idx].T)


def test_gradients_of_gather_slice_concat_match_numpy_backend():
    x = RS.randn(5, 3)
    idx = np.array([4, 1, 4], np.int64)

    def build(t, i):
        y = tf.reduce_sum(tf.gather(t, i) * 2.0) + tf.reduce_sum(t[1:3] ** 2) + tf.reduce_sum(tf.concat([t, t], 0))
        return tf.gradients(y, [t])[0]
    np.testing.assert_allclose(run(build, [x, idx]), run(build, [x, idx], backend="numpy"), rtol=1e-12)


def test_softmax_family():
    x = RS.randn(6, 10) * 3
    lab = RS.rand(6, 10)
    lab /= lab.sum(1, keepdims=True)
    e = np.exp(x - x.max(0))
    sm0, lsm, loss, grad = run(lambda t, y: [
        tf.nn.softmax(t, axis=0), tf.nn.log_softmax(t),
        tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=t),
        tf.gradients(tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=t)), [t])[0]],
        [x, lab])
    np.testing.assert_allclose(sm0, e / e.sum(0), rtol=1e-12)
    ref_lsm = x - x.max(1, keepdims=True) - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True))
    np.testing.assert_allclose(lsm, ref_lsm, rtol=1e-12)
    np.testing.assert_allclose(loss, -(lab * ref_lsm).sum(1), rtol=1e-12)
    np.testing.assert_allclose(grad, np.exp(ref_lsm) - lab, atol=1e-12)


def test_elementwise_chain_is_one_kernel():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [4, 3])
        y = tf.tanh(x * 2.0 + 1.0) - tf.exp(-x)
        with tf.Session(backend="opencl") as s:
            xv = RS.randn(4, 3).astype(np.float32)
            got = s.run(y, {x: xv})
            source = s.plan_for([y], {x: xv}).source
    np.testing.assert_allclose(got, np.tanh(xv * 2.0 + 1.0) - np.exp(-xv), rtol=1e-5, atol=1e-6)
    assert source.count("Fused") == 1, source


def _mlp_losses(backend, steps=3):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(7)
        x = tf.placeholder(tf.float32, [None, 12])
        y = tf.placeholder(tf.int32, [None])
        h = tf.tanh(tf.matmul(x, tf.Variable(tf.random_normal([12, 9], seed=1) * 0.3)) + tf.Variable(tf.zeros([9])))
        w2 = tf.Variable(tf.random_normal([9, 4], seed=2) * 0.3)
        logits = tf.matmul(h, w2) + tf.Variable(tf.zeros([4]))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        rs = np.random.RandomState(0)
        xs, ys = rs.randn(16, 12).astype(np.float32), rs.randint(0, 4, 16).astype(np.int32)
        with tf.Session(backend=backend) as s:
            s.run(tf.global_variables_initializer())
            losses = [s.run([loss, train], {x: xs, y: ys})[0] for _ in range(steps)]
            return np.array(losses), s.run(w2)


def test_mlp_training_matches_numpy_backend():
    l_cl, w_cl = _mlp_losses("opencl")
    l_np, w_np = _mlp_losses("numpy")
    assert l_cl[-1] < l_cl[0]
    np.testing.assert_allclose(l_cl, l_np, rtol=1e-5)
    np.testing.assert_allclose(w_cl, w_np, rtol=1e-4, atol=1e-6)


def test_device_selection_errors_name_the_device(monkeypatch):
    from nnplug.errors import BackendError
    with pytest.raises(BackendError, match="OpenCL device 99 does not exist"):
        plugins.get_backend("opencl:99")
    monkeypatch.setenv("NNPLUG_OPENCL_DEVICE", "x")
    from nnplug_opencl import device
    with pytest.raises(BackendError, match="NNPLUG_OPENCL_DEVICE"):
        device.pick(None)


def test_fused_chains_write_into_dying_buffers_and_match_numpy():
    """Fused elementwise kernels take `out=` (the plan reuses a dying input's buffer, variables included),
    and the momentum update run in place gives the numpy backend's numbers."""
    w0 = RS.randn(30, 7).astype(np.float32)
    x = RS.randn(16, 30).astype(np.float32)
    results = {}
    for backend in ("numpy", "opencl"):
        g = tf.Graph()
        with g.as_default():
            xp = tf.placeholder(tf.float32, (None, 30))
            w = tf.Variable(w0)
            loss = tf.reduce_sum(tf.tanh(tf.matmul(xp, w) + 1.0) * 2.0)
            train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
            with tf.Session(backend=backend) as s:
                s.run(tf.global_variables_initializer())
                for _ in range(3):
                    s.run(train, {xp: x})
                if backend == "opencl":
                    src = s.plan_for(train, {xp: x}).source
                    assert any("Fused" in line and "out=V[" in line for line in src.splitlines()), src
                results[backend] = s.run(w)
    np.testing.assert_allclose(results["opencl"], results["numpy"], rtol=1e-4, atol=1e-5)


def test_float8_elementwise_chains_match_numpy():
    """float32 chains whose size is a multiple of 8 run as float8 vectors (one work-item per 8 outputs):
    full-shape inputs, a broadcast row, a broadcast column and a scalar each read correctly, and the
    results match float64 NumPy; a chain with a comparison stays scalar."""
    from nnplug import fusion
    from nnplug_opencl import codegen
    f32 = tf.float32
    add_tanh = fusion.Chain([((64, 50), f32), ((50,), f32)],
                            [("Add", {}, (("in", 0), ("in", 1))), ("Tanh", {}, (("node", 0),))], (64, 50), f32, ["t"])
    assert codegen.vector_width(add_tanh) == 8 and "vload8" in codegen.elementwise_source(add_tanh)
    relu = fusion.Chain([((64, 50), f32)], [("Relu", {}, (("in", 0),))], (64, 50), f32, ["r"])
    assert codegen.vector_width(relu) == 1
    x = (RS.randn(64, 50) * 3).astype(np.float32)
    x[0, :8] = [0, 1e-30, -1e-7, 1e-4, 20, -20, 0.5, -9]
    row, col = RS.randn(50).astype(np.float32), RS.randn(64, 1).astype(np.float32)
    got = run(lambda x_, r, c: [tf.tanh(x_ + r), tf.sigmoid(x_ * c) / (tf.abs(x_) + 2.0) - 1.5,
                                tf.tanh(x_ * 0.5) * tf.tanh(x_ * 0.5)], [x, row, col])
    x64 = x.astype(np.float64)
    want = [np.tanh(x64 + row), 1 / (1 + np.exp(-x64 * col)) / (np.abs(x64) + 2.0) - 1.5, np.tanh(x64 * 0.5) ** 2]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-6, atol=1e-7)


def test_feeds_are_copied_when_fed():
    """Feeds go to the device with COPY_HOST_PTR (no wait on the queue): a non-contiguous feed is read in
    NumPy order, and changing the host array afterwards does not change a result computed from it."""
    x = RS.randn(6, 8).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float32, (8, 6))
        y = p * 2.0
        with tf.Session(backend="opencl") as s:
            want = x.T * 2.0
            got = s.run(y, {p: x.T})
            x[...] = 0
    np.testing.assert_allclose(got, want)


# -- bad values get NumPy's errors, not zeros or infinities ------------------------------------------------
@pytest.mark.parametrize("bad", [5, -6, 1 << 40])
def test_gather_of_an_index_out_of_range_raises_naming_the_op_and_the_index(bad):
    x = RS.randn(5, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"Gather 'lookup': indices\[1\] = {bad} is out of "
                                                             r"range for axis 0 of size 5 \(valid: -5\.\.4\)"):
        run(lambda t, i: tf.gather(t, i, name="lookup"), [x, np.array([1, bad, 2], np.int64)])
    with pytest.raises(IndexError):  # what NumPy says about the same index
        np.take(x, [1, bad, 2], axis=0)
    ok = np.array([[-5, 4], [-1, 0]], np.int32)  # negative indices count from the end, as in np.take
    np.testing.assert_array_equal(run(lambda t, i: tf.gather(t, i, axis=0), [x, ok]), np.take(x, ok, axis=0))


def test_one_hot_of_an_id_out_of_range_is_a_row_of_off_values():
    ids = np.array([1, 3, -1, 7], np.int32)
    got = run(lambda i: tf.one_hot(i, 3, on_value=5.0, off_value=-1.0), [ids])
    want = np.where(ids[:, None] == np.arange(3), 5.0, -1.0)  # what TF documents: ids outside [0, depth)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn,op_type", [(tf.reduce_max, "ReduceMax"), (tf.reduce_min, "ReduceMin"),
                                        (tf.argmax, "ArgMax"), (tf.argmin, "ArgMin")])
def test_max_min_and_their_arguments_over_an_empty_axis_raise_naming_the_op(fn, op_type):
    x = np.zeros((0, 3), np.float32)
    # the op's shape rule refuses it when the graph is built (or, for a fed (?, 3), when the plan is compiled)
    with pytest.raises((tf.errors.InvalidArgumentError, ShapeError), match=rf"{op_type} op 'extreme'.*empty"):
        run(lambda t: fn(t, axis=0, name="extreme"), [x])
    with pytest.raises(ValueError):  # NumPy refuses the same
        getattr(np, fn.__name__.replace("reduce_", ""))(x, axis=0)
    assert run(lambda t: fn(t, axis=1), [x]).shape == (0,)  # nothing to reduce over no rows: no error


def test_sums_and_means_over_no_rows_are_zero_and_nan():
    x, i = np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
    s, m, si, mi, p = run(lambda t, n: [tf.reduce_sum(t, 0), tf.reduce_mean(t, 0), tf.reduce_sum(n, 0),
                                       tf.reduce_mean(n, 0), tf.reduce_prod(t, 0)], [x, i])
    np.testing.assert_array_equal(s, np.zeros(3))
    assert np.isnan(m).all() and m.dtype == np.float32
    np.testing.assert_array_equal(si, np.zeros(3))
    np.testing.assert_array_equal(mi, np.zeros(3))
    np.testing.assert_array_equal(p, np.ones(3))


# -- memory stays bounded -----------------------------------------------------------------------------------
def _regression_step():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 6))
        w = tf.Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(6, 2))
        loss = tf.reduce_mean(tf.square(tf.tanh(tf.matmul(x, w)) - 0.5))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return g, x, w, loss, train


def _regression_reference(xs, w, lr=0.1):
    """float64 NumPy: the loss before the step and the weights after it."""
    t = np.tanh(xs @ w)
    loss = np.mean((t - 0.5) ** 2)
    grad = xs.T @ (2 * (t - 0.5) * (1 - t * t) / t.size)
    return loss, w - lr * grad


def test_built_programs_stay_bounded_over_many_batch_sizes(monkeypatch):
    from nnplug_opencl import backend as cl_backend
    monkeypatch.setattr(cl_backend, "PROGRAM_CACHE", 12)
    be = cl_backend.OpenCLBackend()
    g, x, w, loss, train = _regression_step()
    rs = np.random.RandomState(5)
    with tf.Session(graph=g, backend=be) as s:
        s.run(w.initializer)
        for n in list(range(1, 9)) + [1, 2]:  # every batch size makes its own programs; 1 and 2 come back
            xs = rs.randn(n, 6).astype(np.float32)
            w_before = s.run(w).astype(np.float64)
            got_loss = s.run([loss, train], {x: xs})[0]
            want_loss, want_w = _regression_reference(xs.astype(np.float64), w_before)
            np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5)
            np.testing.assert_allclose(s.run(w), want_w, rtol=1e-5, atol=1e-6)
            assert be._programs.cache_info().currsize <= 12 and be._kernels.cache_info().currsize <= 12
    assert be._programs.cache_info().misses > 12  # programs were built, evicted and built again


def test_closed_sessions_leave_no_device_buffers_behind():
    from nnplug_opencl.backend import OpenCLBackend
    be = OpenCLBackend()
    g, x, w, loss, train = _regression_step()
    rs = np.random.RandomState(6)
    pools = []
    for n in (64, 3, 200, 17, 64):
        with tf.Session(graph=g, backend=be) as s:
            s.run(w.initializer)
            for _ in range(3):
                s.run(train, {x: rs.randn(n, 6).astype(np.float32)})
            pools.append(be.memory.pool)
            assert pools[-1].active_blocks > 0  # the step's temporaries come from the pool ...
            blocks = pools[-1].active_blocks + pools[-1].held_blocks
            s.run(train, {x: rs.randn(n, 6).astype(np.float32)})
            assert pools[-1].active_blocks + pools[-1].held_blocks == blocks  # ... which reuses them
        gc.collect()
        assert all(p.active_blocks == 0 and p.held_blocks == 0 for p in pools), \
            [(p.active_blocks, p.held_blocks) for p in pools]
