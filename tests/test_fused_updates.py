"""The numpy backend's fused optimizer updates (backends/nnplug_numpy/optimizers.py) train exactly as the
update ops' expansion into primitives does: N steps of every TF1 optimizer give the same variables and
slots bit for bit, through the numba loops and through the NumPy ufunc forms, updated in place when the
step allows it and into copies when something reads the variable after its update."""
import os
import subprocess
import sys

import numpy as np
import pytest

import nnplug as tf
from nnplug_numpy import jit, optimizers
from nnplug_numpy.backend import NumpyBackend, expanding_backend

ExpandedNumpy = expanding_backend  # the numpy backend without the fused update kernels
needs_numba = pytest.mark.skipif(not jit.HAVE_NUMBA, reason="numba is not installed (the 'fast' extra): the numpy "
                                                            "backend has no fused update kernels to test")


class KerasMomentum(tf.train.Optimizer):
    """Keras SGD's momentum rule through ApplyKerasMomentum (what keras.optimizers.SGD computes)."""

    def __init__(self, learning_rate, momentum, nesterov=False):
        super().__init__(learning_rate, name="KerasMomentum")
        self._momentum, self._nesterov = momentum, nesterov

    def _apply(self, grad, var):
        mom = tf.convert_to_tensor(self._momentum, dtype=var.dtype)
        return self._update("ApplyKerasMomentum", var, [self._slot(var, "momentum")], [self._lr_for(var), grad, mom],
                            use_nesterov=self._nesterov)


OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: tf.train.MomentumOptimizer(0.1, 0.9),
    "nesterov": lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    "adam": lambda: tf.train.AdamOptimizer(0.01),
    "rmsprop": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5),
    "centered_rmsprop": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
    "keras_sgd": lambda: KerasMomentum(0.1, 0.9),
    "keras_nesterov": lambda: KerasMomentum(0.1, 0.9, nesterov=True),
}


@pytest.fixture
def no_numba(monkeypatch):
    """The fused kernels' NumPy ufunc forms, as without numba installed."""
    monkeypatch.setattr(jit, "compiled", lambda fn, helpers=(): None)


def _train(backend, make_opt, steps=5, dtype=tf.float32, fetch_weights=False, grads=None):
    """A small tanh layer (a matrix, a bias and a scalar) trained `steps` steps; returns every global
    variable's value (weights, slots, Adam's beta powers) and, with fetch_weights, the weights fetched
    beside each step."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype(dtype.np)
    y = rng.standard_normal((8, 3)).astype(dtype.np)
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(rng.standard_normal((5, 3)).astype(dtype.np), name="w")
        b = tf.Variable(np.zeros(3, dtype.np), name="b")
        s = tf.Variable(np.asarray(0.5, dtype.np), name="s")
        loss = tf.reduce_mean(tf.square(tf.tanh(tf.matmul(x, w) + b) * s - y))
        opt = make_opt()
        pairs = opt.compute_gradients(loss) if grads is None else grads(loss, w, b, s)
        train = opt.apply_gradients(pairs)
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            fetched = [sess.run([train, w])[1] if fetch_weights else sess.run(train) for _ in range(steps)]
            values = {v.op.name: sess.run(v) for v in tf.global_variables()}
    return values, fetched


def _assert_same(got, want):
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


@needs_numba
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_fused_training_equals_the_expansion_bit_for_bit(opt):
    fused, _ = _train(NumpyBackend(), OPTIMIZERS[opt])
    expanded, _ = _train(ExpandedNumpy(), OPTIMIZERS[opt])
    _assert_same(fused, expanded)
    initial, _ = _train(NumpyBackend(), OPTIMIZERS[opt], steps=0)
    assert all(not np.array_equal(fused[n], initial[n]) for n in ("w", "b", "s"))


@needs_numba
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_ufunc_forms_equal_the_expansion_bit_for_bit(opt, no_numba):
    _assert_same(_train(NumpyBackend(), OPTIMIZERS[opt])[0], _train(ExpandedNumpy(), OPTIMIZERS[opt])[0])


@needs_numba
@pytest.mark.parametrize("dtype,opt", [(tf.float64, "adam"), (tf.float16, "momentum")], ids=["float64", "float16"])
def test_other_float_dtypes_train_as_the_expansion(dtype, opt):
    _assert_same(_train(NumpyBackend(), OPTIMIZERS[opt], dtype=dtype)[0],
                 _train(ExpandedNumpy(), OPTIMIZERS[opt], dtype=dtype)[0])


@needs_numba
def test_the_update_runs_in_place_in_one_call_per_variable():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.ones((4, 3), np.float32))
        x = tf.placeholder(tf.float32, (2, 4))
        opt = tf.train.MomentumOptimizer(0.1, 0.9)
        train = opt.minimize(tf.reduce_sum(tf.matmul(x, w)))
        with tf.Session(backend=NumpyBackend()) as sess:
            sess.run(tf.global_variables_initializer())
            feed = {x: np.ones((2, 4), np.float32)}
            source = tf.debugging.explain(train, feed, session=sess)
            update = [line for line in source.splitlines() if "ApplyMomentum" in line]
            assert len(update) == 1 and "out=(V[" in update[0], source
            buffers = [id(a) for a in sess._values]
            sess.run(train, feed)
            sess.run(train, feed)
            assert [id(a) for a in sess._values] == buffers, "the variable and its slot keep their buffers"
            # accum = 1 then 1.9 (x.sum over the batch is 2 per weight): w = 1 - 0.1*2 - 0.1*3.8
            np.testing.assert_allclose(sess.run(opt.get_slot(w, "momentum")), np.full((4, 3), 3.8), rtol=1e-6)
            np.testing.assert_allclose(sess.run(w), np.full((4, 3), 1 - 0.2 - 0.38), rtol=1e-6)


@needs_numba
def test_a_variable_fetched_beside_its_update_shows_the_value_before_it():
    fused, fetched = _train(NumpyBackend(), OPTIMIZERS["momentum"], steps=3, fetch_weights=True)
    expanded, fetched_expanded = _train(ExpandedNumpy(), OPTIMIZERS["momentum"], steps=3, fetch_weights=True)
    _assert_same(fused, expanded)
    for a, b in zip(fetched, fetched_expanded):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(fetched[-1], fused["w"])  # fetched before the last update


def _transposed_gradient(loss, w, b, s):
    """w is square here: its own transpose as its gradient (a view into the buffer being updated)."""
    return [(tf.transpose(w), w)]


def _square_train(backend, of_slot):
    """Momentum on a 4x4 variable whose gradient is the transpose of the variable itself, or of its slot:
    a view into a buffer the update writes."""
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.arange(16, dtype=np.float32).reshape(4, 4))
        opt = tf.train.MomentumOptimizer(0.5, 0.9)
        slot = opt._slot(w, "momentum")  # the slot apply_gradients would make, made first to take its view
        train = opt.apply_gradients([(tf.transpose(slot.value() if of_slot else w.value()), w)])
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(slot.assign(np.ones((4, 4), np.float32)))
            for _ in range(2):
                sess.run(train)
            return sess.run(w), sess.run(slot)


@needs_numba
@pytest.mark.parametrize("of_slot", [False, True], ids=["variable", "slot"])
def test_a_gradient_that_views_a_buffer_being_updated_is_read_before_it_is_written(of_slot):
    w, accum = np.arange(16, dtype=np.float64).reshape(4, 4), np.ones((4, 4))
    for _ in range(2):
        grad = (accum if of_slot else w).T
        accum = accum * 0.9 + grad
        w = w - 0.5 * accum
    for backend in (NumpyBackend(), ExpandedNumpy()):
        got_w, got_accum = _square_train(backend, of_slot)
        np.testing.assert_allclose(got_w, w, rtol=1e-6, atol=1e-5, err_msg=backend.name)
        np.testing.assert_allclose(got_accum, accum, rtol=1e-6, atol=1e-5, err_msg=backend.name)


@needs_numba
def test_non_contiguous_gradients_take_the_ufunc_form():
    def grads(loss, w, b, s):  # the matrix's gradient doubled, as a transposed view of a (3, 5) array
        g_w, g_b, g_s = tf.gradients(loss, [w, b, s])
        return [(tf.transpose(tf.transpose(g_w) * 2.0), w), (g_b, b), (g_s, s)]
    _assert_same(_train(NumpyBackend(), OPTIMIZERS["rmsprop"], grads=grads)[0],
                 _train(ExpandedNumpy(), OPTIMIZERS["rmsprop"], grads=grads)[0])


@pytest.mark.parametrize("switch", ["NNPLUG_FUSED_KERNELS", "NNPLUG_NUMBA"])
def test_without_numba_or_with_the_switch_off_the_updates_are_expanded(switch):
    code = ("import nnplug as tf\nfrom nnplug_numpy.backend import NumpyBackend\n"
            "print('ApplyMomentum' in NumpyBackend.kernels)\n"
            "w = tf.Variable(1.0)\nt = tf.train.MomentumOptimizer(0.5, 0.9).minimize(w * w)\n"
            "s = tf.Session(); s.run(tf.global_variables_initializer()); s.run(t); print(s.run(w))\n")
    env = dict(os.environ, **{switch: "0"})
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "0.0"]  # w -= 0.5 * (2 * 1)


def test_the_comparison_backend_really_expands_the_updates():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.ones(3, np.float32))
        train = tf.train.AdamOptimizer().minimize(tf.reduce_sum(w * w))
        with tf.Session(backend=ExpandedNumpy()) as sess:
            sess.run(tf.global_variables_initializer())
            source = tf.debugging.explain(train, session=sess)
    assert "ApplyAdam" in source and "# Sqrt" in source  # the op's name on its expansion's primitives
    assert not any(ExpandedNumpy().has_kernel(op) for op in optimizers.UPDATES)


def test_centered_rmsprop_keeps_the_mean_gradient_as_tf1_does():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.array([1.0, -2.0], np.float32))
        opt = tf.train.RMSPropOptimizer(0.1, decay=0.9, momentum=0.5, epsilon=1e-6, centered=True)
        train = opt.minimize(tf.reduce_sum(w * w))
        assert opt.get_slot_names() == ["mg", "momentum", "rms"]
        with tf.Session(backend=NumpyBackend()) as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            got = [sess.run(v) for v in (w, opt.get_slot(w, "mg"), opt.get_slot(w, "rms"))]
    w0 = np.array([1.0, -2.0])
    grad = 2 * w0
    mg, ms = 0.1 * grad, 0.9 * 1.0 + 0.1 * grad ** 2
    want = [w0 - 0.1 * grad / np.sqrt(ms - mg ** 2 + 1e-6), mg, ms]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6)
