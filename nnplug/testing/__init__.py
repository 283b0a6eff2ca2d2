"""Conformance testing for backends: the shipped op-by-op suite and the helpers it is written with.

A backend author checks a backend with one command:

    python -m nnplug.testing BACKEND [extra pytest arguments]

which runs `nnplug/testing/conformance.py` under pytest with the `backend` fixture set to BACKEND.
In a project's own test suite, put `from nnplug.testing.plugin import backend` in a conftest.py and
`from nnplug.testing.conformance import *` in a test module: the suite then runs on every available
backend (or on those named in `NNPLUG_TEST_BACKENDS=numpy,opencl`).

Every case compares a backend's result with a float64 NumPy reference written in the test itself, and
every differentiable op's gradient with central finite differences (`check_gradient`).
"""
import os

import numpy as np

from .. import dtypes as _dt
from ..autodiff import gradients
from ..errors import BackendError
from ..graph import Graph, constant
from ..ops.array_ops import placeholder
from ..ops import registry
from ..ops.math_ops import reduce_sum, where
from ..session import Session

ENV_BACKENDS = "NNPLUG_TEST_BACKENDS"

# (rtol, atol) for comparing a backend's result of a dtype with a float64 reference
TOLERANCES = {"float16": (1e-2, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}


# -- which backends to test ------------------------------------------------------------------
def selected_backends():
    """[(name, available, reason)]: the backends in NNPLUG_TEST_BACKENDS, else every discovered one."""
    from .. import plugins
    raw = os.environ.get(ENV_BACKENDS, "").strip()
    if not raw:
        return [(r["name"], r["available"], r["reason"]) for r in plugins.describe_backends()]
    chosen = []
    for name in (n.strip() for n in raw.split(",")):
        if not name:
            continue
        try:
            plugins.get_backend(name)
            chosen.append((name, True, ""))
        except BackendError as e:
            chosen.append((name, False, str(e)))
    return chosen


def available_backends():
    return [name for name, ok, _ in selected_backends() if ok]


# -- running small graphs --------------------------------------------------------------------
def _feedable(inputs):
    return [np.asarray(a) for a in inputs]


def run(build, inputs, backend, consts=False):
    """Build `build(*tensors)` in a new graph and run it in `Session(backend=backend)`.

    Each input array becomes a placeholder of its dtype and shape (fed at run time), or a constant
    when `consts` is true (then the backend's kernels also run when the compiler folds constants).
    The result has the nesting of what `build` returns.

    On a backend with planned buffers (`out_ops`), each result is also computed as an intermediate
    value (so its kernel writes into a planned buffer) and must come out the same.
    """
    arrays = _feedable(inputs)
    g = Graph()
    with g.as_default():
        if consts:
            tensors = [constant(a, dtype=_dt.as_dtype(a.dtype)) for a in arrays]
            feed = None
        else:
            tensors = [placeholder(_dt.as_dtype(a.dtype), a.shape, name=f"in{i}") for i, a in enumerate(arrays)]
            feed = dict(zip(tensors, arrays))
        out = build(*tensors)
        with Session(backend=backend) as sess:
            direct = sess.run(out, feed)
            if sess.backend.out_ops and not any(registry.get(op.type).stateful for op in g.get_operations()):
                _check_as_intermediates(sess, out, direct, feed)
            return direct


def _check_as_intermediates(sess, out, direct, feed):
    """Fetch where(all-true, t, t) for each result t: t is then a temporary the compiler plans a buffer for."""
    flat_t, flat_v = [], []

    def walk(t, v):
        if isinstance(t, (list, tuple)):
            for a, b in zip(t, v):
                walk(a, b)
        elif isinstance(t, dict):
            for k in t:
                walk(t[k], v[k])
        elif hasattr(t, "dtype") and t.shape.is_fully_defined() and t.shape.ndims:
            flat_t.append(t)
            flat_v.append(v)
    walk(out, direct)
    feed = dict(feed or {})
    wrapped = []
    for t in flat_t:
        keep = placeholder(_dt.bool_, t.shape, name="all_true")
        feed[keep] = np.ones(tuple(t.shape), bool)
        wrapped.append(where(keep, t, t))
    for t, v, w in zip(flat_t, flat_v, sess.run(wrapped, feed)):
        np.testing.assert_array_equal(w, v, err_msg=f"'{t.name}' written into a planned buffer differs from "
                                                    f"the same value fetched directly (backend {sess.backend.name})")


def assert_close(got, ref, dtype=None, rtol=None, atol=None, what="result"):
    """`got` (a backend's result) has `ref`'s shape, the expected dtype, and matches `ref` within the
    dtype's tolerance (exactly for integers and bools)."""
    got = np.asarray(got)
    ref = np.asarray(ref)
    want = np.dtype(_dt.as_dtype(dtype).np if dtype is not None else ref.dtype)
    assert got.dtype == want, f"{what}: dtype {got.dtype}, expected {want}"
    assert got.shape == ref.shape, f"{what}: shape {got.shape}, expected {ref.shape}"
    if want.kind in "biu":
        np.testing.assert_array_equal(got, ref.astype(want), err_msg=what)
        return
    r, a = TOLERANCES.get(want.name, (1e-5, 1e-6))
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64),
                               rtol=r if rtol is None else rtol, atol=a if atol is None else atol, err_msg=what)


# -- gradients against finite differences -----------------------------------------------------
def numeric_gradient(f, arrays, index, eps):
    """Central differences of the scalar f(arrays) with respect to arrays[index]."""
    x = arrays[index]
    grad = np.zeros(x.shape, np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(arrays)
        x[i] = old - eps
        down = f(arrays)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def check_gradient(build_fn, inputs, backend, wrt=None, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0):
    """Compare `nnplug.gradients` of y = build_fn(*inputs) with central finite differences.

    Inputs become placeholders (float64 for gradient checks, or integer/bool for indices and
    conditions). The scalar checked is sum(y * w) with fixed random weights w, so every element of y
    counts with a different weight. `wrt` lists the input positions to differentiate (default: every
    floating input). Returns the analytic gradients.
    """
    arrays = [np.array(a) for a in inputs]
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    g = Graph()
    with g.as_default():
        phs = [placeholder(_dt.as_dtype(a.dtype), a.shape, name=f"x{i}") for i, a in enumerate(arrays)]
        y = build_fn(*phs)
        assert y.shape.is_fully_defined(), f"output shape {y.shape} must be known to weight it"
        w = np.random.default_rng(seed).uniform(0.5, 1.5, tuple(y.shape))
        loss = reduce_sum(y * constant(w.astype(y.dtype.np), dtype=y.dtype))
        grads = gradients(loss, [phs[i] for i in wrt])
        for i, gr in zip(wrt, grads):
            assert gr is not None, f"gradients() returned None for input {i} ('{phs[i].name}')"
        with Session(backend=backend) as sess:
            analytic = sess.run(grads, dict(zip(phs, arrays)))

            def value(arrs):
                out = sess.run(y, dict(zip(phs, arrs)))
                return float(np.sum(np.asarray(out, np.float64) * w))

            for i, got in zip(wrt, analytic):
                num = numeric_gradient(value, arrays, i, eps)
                assert np.asarray(got).shape == arrays[i].shape, \
                    f"gradient for input {i}: shape {np.shape(got)}, expected {arrays[i].shape}"
                np.testing.assert_allclose(np.asarray(got, np.float64), num, rtol=rtol, atol=atol,
                                           err_msg=f"gradient for input {i} (backend {backend})")
    return analytic
