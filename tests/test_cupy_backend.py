"""The CuPy backend against the numpy backend (float64 references where it matters).

The GPU tests skip, with the reason printed by `pytest -ra`, where CuPy or a CUDA device is missing; the
kernel table's own tests at the end run everywhere (the backend's modules import without CuPy).
"""
import importlib
import subprocess
import sys

import numpy as np
import pytest

import nnplug as tf
from nnplug import plugins

_cls = plugins.backend_classes().get("cupy", (None,))[0]
_ok, _why = (False, "the cupy backend plugin is not installed (pip install -e .)") if _cls is None else \
    _cls.is_available()
needs_gpu = pytest.mark.skipif(not _ok, reason=f"cupy backend unavailable: {_why}")
if _ok:
    import cupy


def run_both(build, feeds_np, fetch_grads=True):
    """Build the graph twice, run on numpy (float64 inputs) and on cupy; return both results."""
    out = {}
    for name in ("numpy", "cupy"):
        g = tf.Graph()
        with g.as_default():
            fetches = build()
            feeds = {g.get_tensor_by_name(k): v for k, v in feeds_np.items()}
            with tf.Session(backend=name) as s:
                s.run(tf.global_variables_initializer())
                out[name] = s.run(fetches, feeds)
    return out["numpy"], out["cupy"]


def close(a, b, tol):
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(y, np.float64), np.asarray(x, np.float64), rtol=tol, atol=tol)


rs = np.random.RandomState(0)
X = rs.randn(7, 10)
Y = rs.randint(0, 10, 7)
W = rs.randn(10, 4)


@needs_gpu
@pytest.mark.parametrize("dtype,tol", [(tf.float64, 1e-12), (tf.float32, 2e-5)])
def test_elementwise_reductions_and_grads(dtype, tol):
    def build():
        x = tf.placeholder(dtype, [None, 10], name="x")
        w = tf.constant(W, dtype=dtype)
        h = tf.matmul(x, w)
        ys = [tf.tanh(h), tf.sigmoid(h), tf.nn.relu(h), tf.exp(-tf.square(h)), tf.reduce_sum(h, 0),
              tf.reduce_max(h, 1), tf.reduce_mean(h), tf.transpose(h), tf.concat([h, x], 1)[:, 2:9:2],
              tf.gather(h, [0, 2, 2], axis=0), tf.matmul(h, x, transpose_a=True)]
        loss = tf.add_n([tf.reduce_sum(y) for y in ys[:4]]) + tf.reduce_sum(tf.gather(h, [1, 1, 3]))
        return ys + tf.gradients(loss, [x])
    ref, got = run_both(build, {"x:0": X.astype(dtype.np)})
    close(ref, got, tol)


@needs_gpu
@pytest.mark.parametrize("dtype,tol", [(tf.float64, 1e-12), (tf.float32, 2e-5)])
def test_fused_softmax_family_matches_numpy(dtype, tol):
    def build():
        x = tf.placeholder(dtype, [None, 10], name="x")
        y = tf.placeholder(tf.int32, [None], name="y")
        sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
        dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, 10, dtype=dtype) * 0.7 + 0.03,
                                                           logits=x)
        return [tf.nn.softmax(x), tf.nn.log_softmax(x), sparse, dense,
                tf.gradients(tf.reduce_sum(sparse), x)[0], tf.gradients(tf.reduce_sum(dense), x)[0]]
    ref, got = run_both(build, {"x:0": X.astype(dtype.np), "y:0": Y.astype(np.int32)})
    close(ref, got, tol)
    p = np.exp(X - X.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)  # independent float64 reference for the softmax
    np.testing.assert_allclose(got[0], p, rtol=tol, atol=tol)


@needs_gpu
def test_out_of_range_sparse_label_gives_nan_without_sync():
    x = tf.placeholder(tf.float32, [None, 4])
    y = tf.placeholder(tf.int64, [None])
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
    with tf.Session(backend="cupy") as s:
        out = s.run(loss, {x: np.zeros((3, 4), np.float32), y: np.array([0, 4, -1])})
    assert out[0] == pytest.approx(np.log(4)) and np.isnan(out[1]) and np.isnan(out[2])


def small_mlp():
    """20-16-5 tanh MLP with fixed initial weights, in the default graph: (x, y, [w1, b1, w2], loss)."""
    x = tf.placeholder(tf.float32, [None, 20])
    y = tf.placeholder(tf.int32, [None])
    w1 = tf.Variable(np.random.RandomState(1).randn(20, 16).astype(np.float32) * 0.3)
    b1 = tf.Variable(tf.zeros([16]))
    w2 = tf.Variable(np.random.RandomState(2).randn(16, 5).astype(np.float32) * 0.3)
    logits = tf.matmul(tf.tanh(tf.matmul(x, w1) + b1), w2)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return x, y, [w1, b1, w2], loss


def mlp(backend, steps=5):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        x, y, (w1, _, _), loss = small_mlp()
        step = tf.train.AdamOptimizer(0.05).minimize(loss)
        data = np.random.RandomState(0)
        X, Y = data.randn(32, 20).astype(np.float32), data.randint(0, 5, 32)
        with tf.Session(backend=backend) as s:
            s.run(tf.global_variables_initializer())
            losses = [s.run([loss, step], {x: X, y: Y})[0] for _ in range(steps)]
            return np.array(losses), s.run(w1), s, (step, {x: X, y: Y})


@needs_gpu
def test_mlp_training_steps_match_numpy():
    ref, w_ref, _, _ = mlp("numpy")
    got, w_got, _, _ = mlp("cupy")
    np.testing.assert_allclose(got, ref, rtol=1e-4)
    np.testing.assert_allclose(w_got, w_ref, rtol=1e-3, atol=1e-4)
    assert got[-1] < got[0]


@needs_gpu
def test_training_step_never_waits_for_the_device():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 20])
        y = tf.placeholder(tf.int32, [None])
        w = tf.Variable(np.ones((20, 5), np.float32) * 0.1)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=tf.matmul(x, w)))
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session(backend="cupy") as s:
            s.run(tf.global_variables_initializer())
            feed = {x: np.ones((8, 20), np.float32), y: np.arange(8) % 5}
            plan = s.plan_for([loss, step], feed)
            args = [s.backend.to_device(v) for v in feed.values()]
            import cupyx
            if not hasattr(cupyx, "allow_synchronize"):
                pytest.skip("this CuPy has no cupyx.allow_synchronize to detect host syncs")
            with cupyx.allow_synchronize(False):  # raises DeviceSynchronized on any host sync
                for _ in range(3):
                    out = plan.fn(s._values, *args)
            assert isinstance(out[0], cupy.ndarray)


@needs_gpu
def test_random_ops_same_seed_same_numbers_on_device():
    def draw():
        g = tf.Graph()
        with g.as_default():
            tf.set_random_seed(7)
            ops = [tf.random_normal([1000], seed=1), tf.random_uniform([1000], seed=2),
                   tf.truncated_normal([20000], seed=3)]
            with tf.Session(backend="cupy") as s:
                return s.run(ops)
    a, b = draw(), draw()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    normal, uniform, trunc = a
    assert abs(normal.mean()) < 0.15 and 0.85 < normal.std() < 1.15
    assert uniform.min() >= 0 and uniform.max() < 1
    assert np.abs(trunc).max() <= 2 and 0.83 < trunc.std() < 0.93  # std of N(0,1) cut at 2 sigma: 0.880


@needs_gpu
def test_device_index_and_aliases():
    assert plugins.get_backend("gpu") is plugins.get_backend("cupy")
    assert plugins.get_backend("cuda:0").index == 0
    with pytest.raises(tf.errors.BackendError, match="CUDA device 99 does not exist"):
        plugins.get_backend("cuda:99")


@needs_gpu
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_direct_cublas_gemm_matches_numpy(dtype, tol, ta, tb):
    from nnplug_cupy.cublas import Gemm
    gemm = Gemm(cupy)
    rs = np.random.RandomState(4)
    a, b = rs.randn(7, 5).astype(dtype), rs.randn(5, 3).astype(dtype)
    sa, sb = (a.T.copy() if ta else a), (b.T.copy() if tb else b)
    got = gemm(cupy.asarray(sa), cupy.asarray(sb), ta, tb).get()
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol)
    # an F-ordered (transposed) view is used as stored, not copied: same numbers
    f_a = cupy.asarray(a.T.copy()).T
    np.testing.assert_allclose(gemm(f_a, cupy.asarray(b)).get(), a.astype(np.float64) @ b, rtol=tol, atol=tol)


def chapter_like_training(monkeypatch, graphs, steps=12):
    """A small tanh MLP trained with momentum on changing batches; returns losses, weights and the runner."""
    monkeypatch.setenv("NNPLUG_CUDA_GRAPHS", "1" if graphs else "0")
    g = tf.Graph()
    with g.as_default():
        x, y, weights, loss = small_mlp()
        step = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        data = np.random.RandomState(0)
        batches = [(data.randn(16, 20).astype(np.float32), data.randint(0, 5, 16)) for _ in range(steps)]
        with tf.Session(backend="cupy") as s:
            s.run(tf.global_variables_initializer())
            losses = [s.run([loss, step], {x: bx, y: by})[0] for bx, by in batches]
            runner = s._plans[next(reversed(s._plans))].run  # the training step's plan, compiled last
            return np.array(losses), s.run(weights), runner


@needs_gpu
def test_training_steps_replay_as_a_cuda_graph_with_eager_numbers(monkeypatch):
    eager, w_eager, r_eager = chapter_like_training(monkeypatch, graphs=False)
    replayed, w_replayed, runner = chapter_like_training(monkeypatch, graphs=True)
    assert r_eager.graph is None and "NNPLUG_CUDA_GRAPHS" in r_eager.why
    assert runner.why is None and runner.graph is not None and runner.captures == 1, runner.why
    np.testing.assert_allclose(replayed, eager, rtol=1e-5, atol=1e-6)
    for a, b in zip(w_replayed, w_eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert replayed[-1] < replayed[0]


@needs_gpu
def test_captured_step_sees_variables_loaded_after_capture(monkeypatch):
    monkeypatch.setenv("NNPLUG_CUDA_GRAPHS", "1")
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.Variable(np.zeros((3, 1), np.float32))
    loss = tf.reduce_sum(tf.matmul(x, w))
    step = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    ones = np.ones((2, 3), np.float32)
    with tf.Session(backend="cupy") as s:
        s.run(w.initializer)
        for _ in range(4):  # two eager warm-up runs, then capture and a replay
            s.run(step, {x: ones})
        np.testing.assert_allclose(s.run(w), -8 * np.ones((3, 1)))
        w.load(np.full((3, 1), 5, np.float32), s)  # rebinds the variable's buffer
        s.run(step, {x: ones})
        np.testing.assert_allclose(s.run(w), 3 * np.ones((3, 1)))  # 5 - 2: the new buffer was updated


@needs_gpu
def test_steps_with_random_ops_stay_eager(monkeypatch):
    monkeypatch.setenv("NNPLUG_CUDA_GRAPHS", "1")
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.Variable(np.ones((3, 1), np.float32))
    loss = tf.reduce_sum(tf.matmul(tf.nn.dropout(x, rate=0.5, seed=1), w))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session(backend="cupy") as s:
        s.run(w.initializer)
        for _ in range(4):
            s.run(step, {x: np.ones((8, 3), np.float32)})
        runner = s._plans[next(reversed(s._plans))].run
        assert runner.graph is None and "random" in runner.why


@needs_gpu
def test_device_arrays_feed_without_a_host_round_trip():
    x = tf.placeholder(tf.float32, [None, 3], name="x_dev")
    y = tf.reduce_sum(x * 2.0, axis=1)
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    with tf.Session(backend="cupy") as s:
        np.testing.assert_allclose(s.run(y, {x: cupy.asarray(host)}), host.astype(np.float64).sum(1) * 2)
        with pytest.raises(TypeError, match=r"device array of dtype float64 to 'x_dev:0', which expects float32"):
            s.run(y, {x: cupy.asarray(host, dtype=np.float64)})
        with pytest.raises(ValueError, match=r"shape \(2, 2\) for Tensor 'x_dev:0', which has shape \(\?, 3\)"):
            s.run(y, {x: cupy.zeros((2, 2), np.float32)})


@needs_gpu
def test_keras_fit_keeps_the_training_set_on_the_device_with_the_same_numbers(monkeypatch):
    from nnplug import keras
    from nnplug.keras import models as keras_models
    rs = np.random.RandomState(0)
    X, Y = rs.randn(96, 8).astype(np.float32), keras.utils.to_categorical(rs.randint(0, 3, 96), 3)
    gathered = []
    real = keras_models.Sequential._training_data

    def spy(self, x, y):
        out = real(self, x, y)
        gathered.append(type(out[0]).__module__.split(".")[0])
        return out

    monkeypatch.setattr(keras_models.Sequential, "_training_data", spy)

    def train(backend, weights=None):
        with tf.backend(backend):
            m = keras.models.Sequential([keras.layers.Dense(6, input_dim=8, activation="tanh"),
                                         keras.layers.Dense(3, activation="softmax")])
            m.compile(keras.optimizers.SGD(lr=0.1, momentum=0.9), "categorical_crossentropy", ["accuracy"])
            if weights is not None:  # each backend draws its own initial weights: start both from the same
                m.set_weights(weights)
            start = m.get_weights()
            np.random.seed(1)  # the same shuffles
            return m.fit(X, Y, batch_size=16, epochs=3, verbose=0, validation_split=0.25).history, start
    ref, start = train("numpy")
    got, _ = train("cupy", start)
    assert gathered == ["numpy", "cupy"]
    assert {"loss", "val_loss"} < set(ref) and set(got) == set(ref)
    for key in ref:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-4, atol=1e-5)


# -- the kernel table, without a GPU --------------------------------------------------------------------------
CUPY_FACTORIES = {  # the kernels the CuPy backend runs instead of the shared Array-API ones, by module
    "kernels": {"Relu", "Sigmoid", "TanhGrad", "SigmoidGrad", "ReluGrad"},
    "matmul": {"MatMul"},
    "reductions": {"SumTo", "ReduceSum"},
    "softmax": {"Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits"},
    "arrays": {"GatherGrad"},
    "random": {"RandomStandardNormal", "RandomUniform", "TruncatedNormal", "RandomUniformInt"},
}


def test_the_backend_modules_import_without_cupy():
    code = ("import sys; sys.modules['cupy'] = None\n"  # `import cupy` raises even where it is installed
            "import nnplug_cupy.backend, nnplug_cupy.graphs, nnplug_cupy.kernels as k\n"
            "print(len(k.KERNELS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and int(out.stdout) > 60, out.stderr[-2000:]


def test_every_cupy_kernel_is_a_module_level_factory_in_the_table():
    from nnplug.xp_kernels import XP_KERNELS
    from nnplug_cupy.backend import CupyBackend
    from nnplug_cupy.kernels import KERNELS
    assert CupyBackend.kernels is KERNELS and set(XP_KERNELS) <= set(KERNELS)
    own = {op: f for op, f in KERNELS.items() if f is not XP_KERNELS.get(op)}
    assert set(own) == set().union(*CUPY_FACTORIES.values())
    for module, ops in CUPY_FACTORIES.items():
        mod = importlib.import_module(f"nnplug_cupy.{module}")
        for op in ops:
            assert getattr(mod, own[op].__name__) is own[op] and mod.KERNELS[op] is own[op], op
    assert "MatMul" in CupyBackend.fresh_ops and not CupyBackend.inplace_ops and not CupyBackend.out_ops


def _table_on_numpy():
    """A plugin whose backend runs the CuPy table with NumPy standing in for CuPy: no cuBLAS and no
    ElementwiseKernel there, so the factories take their Array-API fallbacks; `cupy.add.at` and
    `cupy.zeros` (GatherGrad's scatter-add) are NumPy's."""
    from nnplug.hookspecs import hookimpl
    from nnplug_cupy.kernels import KERNELS
    from nnplug_numpy.backend import NumpyBackend

    class Backend(NumpyBackend):
        name = "cupy-table-on-numpy"
        aliases = ()
        kernels = KERNELS
        cupy = np

    class Plugin:
        @staticmethod
        @hookimpl
        def nnplug_backends():
            return [Backend]
    return Plugin


def test_the_cupy_factories_fallbacks_compute_numpys_numbers():
    name = plugins.register_plugin(_table_on_numpy(), name="test-cupy-table-on-numpy")
    try:
        rs = np.random.RandomState(3)
        x, w, idx = rs.randn(5, 3), rs.randn(3, 2), np.array([4, 0, 4, 2])
        results = {}
        for backend in ("numpy", "cupy-table-on-numpy"):
            g = tf.Graph()
            with g.as_default():
                xp, wp, ip = tf.placeholder(tf.float64, (5, 3)), tf.placeholder(tf.float64, (3, 2)), \
                    tf.placeholder(tf.int64, (4,))
                y = tf.matmul(tf.gather(xp, ip), wp)  # MatMul without cuBLAS; GatherGrad by add.at
                relu = tf.cast(tf.reduce_sum(tf.nn.relu(ip - 1)), tf.float64)  # an integer Relu: Array-API
                loss = tf.reduce_sum(tf.reduce_sum(y, axis=0) ** 2) + relu
                fetches = [loss] + tf.gradients(loss, [xp, wp]) + [tf.nn.softmax(tf.cast(ip, tf.float16))]
                with tf.Session(backend=backend) as s:
                    results[backend] = s.run(fetches, {xp: x, wp: w, ip: idx})
    finally:
        plugins.unregister_plugin(name)
    col = (x[idx] @ w).sum(0)  # float64 by hand: loss = sum(col^2) + sum(relu(idx - 1))
    gy = np.broadcast_to(2 * col, (4, 2))
    gx = np.zeros_like(x)
    np.add.at(gx, idx, gy @ w.T)
    want = [np.sum(col ** 2) + np.maximum(idx - 1, 0).sum(), gx, x[idx].T @ gy]
    for got in results.values():
        for a, b in zip(got[:3], want):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        e = np.exp(idx - idx.max())
        np.testing.assert_allclose(got[3], e / e.sum(), rtol=1e-3)
