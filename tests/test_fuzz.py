"""Differential fuzzing: random small graphs on every available backend against a float64 NumPy reference.

Hypothesis draws a graph of a few ops (elementwise unary and binary with broadcasting, reductions with random
axes and keepdims, matmul, reshape, transpose, softmax, concat) over random shapes in float32 or float64.
Alongside the graph the test computes the same function in float64 NumPy with its own tiny reverse-mode
autodiff (`Ref` below, independent of nnplug), and checks the outputs AND the gradients of
sum(output * random weights) with respect to every input, as nnplug.gradients builds them.

Ops are only drawn where they are well conditioned on the drawn values (log of values > 0.2, no ties for max,
|x| > 0.05 at the kinks of abs/relu/maximum), so float32 agrees with float64 to a fixed tolerance.

Each run draws from a Profile. numpy runs WIDE: dimensions 1-4, inputs of rank <= 3, 1-6 ops, float32 and
float64 (a graph costs milliseconds). The other backends run POOLED: new dimensions from {1, 2}, inputs of rank
<= 1 (matmul and reshape still make rank 2), 1-2 ops, float32. Their kernels are generated per op chain and
shape and built once per source text, and on OpenCL/PoCL each new source costs ~0.2 s (build ~0.15 s plus
~0.05 s of code generation at its first launch); a small pool makes the sources repeat, so the backend's
program cache hits: 2,000 POOLED graphs build ~250 programs (~70 s on 2 cores), 2,000 WIDE ones ~2,800
(~10 min). One backend instance, and so one program cache, serves a whole run.

Runs are seeded (hypothesis @seed, no example database) and bounded: by default 2,000 graphs on numpy (~15 s
on 2 cores) and 2,000 on each other built-in backend. Each run counts the graphs it actually checked (one per
example whose values and gradients all agreed) and the distinct graph structures among them (examples may
differ only in input values), prints both, and fails unless it checked every graph asked for (>= 2,000 by
default). Scale up for a long run, e.g. on a GPU machine:

    NNPLUG_FUZZ_EXAMPLES=50000 python -m pytest -q tests/test_fuzz.py          # numpy
    NNPLUG_FUZZ_EXAMPLES_OTHER=20000 python -m pytest -q tests/test_fuzz.py    # opencl, cupy, ...
    NNPLUG_FUZZ_PROFILE_OTHER=wide ...    # the other backends on WIDE graphs too (many more kernel builds)
    NNPLUG_FUZZ_SEED=7 ...                                                      # another fixed stream
    NNPLUG_FUZZ_BACKENDS=all ...          # also third-party backends (default: the built-in opencl, cupy)
"""
import collections
import os
import warnings
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import nnplug as tf
from nnplug.plugins import describe_backends, get_backend

N_NUMPY = int(os.environ.get("NNPLUG_FUZZ_EXAMPLES", "2000"))
N_OTHER = int(os.environ.get("NNPLUG_FUZZ_EXAMPLES_OTHER", "2000"))
SEED = int(os.environ.get("NNPLUG_FUZZ_SEED", "0"))
_WHICH = os.environ.get("NNPLUG_FUZZ_BACKENDS", "opencl,cupy")  # "all": every available backend
OTHERS = [r["name"] for r in describe_backends() if r["available"] and r["name"] != "numpy"
          and (_WHICH == "all" or r["name"] in _WHICH.split(","))]
TOL = {"float32": 2e-3, "float64": 1e-9}
# Rank-0 values found bugs (regression tests test_rank0_* below): the compiler writing in place into a 0-d
# NumPy scalar, the NumPy sigmoid/tanh kernels doing the same internally, and OpenCL reducing a 0-d tensor to
# shape (1,). All fixed, so graphs draw rank-0 values; True keeps every value rank >= 1.
AVOID_RANK0 = False


class Profile(NamedTuple):
    """What a run draws from: dimensions (each one drawn is one of `dims`; concat, matmul and reshape derive
    others from them), the rank of drawn shapes, the number of ops, the dtypes."""
    dims: tuple
    max_rank: int
    max_ops: int
    dtypes: tuple = ("float32", "float64")


WIDE = Profile(dims=(1, 2, 3, 4), max_rank=3, max_ops=6)
POOLED = Profile(dims=(1, 2), max_rank=1, max_ops=2, dtypes=("float32",))
PROFILES = {"wide": WIDE, "pooled": POOLED}
OTHER_PROFILE = os.environ.get("NNPLUG_FUZZ_PROFILE_OTHER", "pooled")

CHECKED = collections.Counter()  # run -> graphs checked (counted once a graph's values and gradients agree)
STRUCTURES = collections.defaultdict(set)  # run -> the distinct structure() of those graphs


def _unbroadcast(g, shape):
    """Sum a gradient down to `shape` (the VJP of NumPy broadcasting)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, d in enumerate(shape):
        if d == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


class Ref:
    """A float64 NumPy value with its graph twin and the VJPs to its parents (reverse-mode autodiff)."""

    def __init__(self, value, tensor, parents=()):
        self.value = np.asarray(value, dtype=np.float64)
        self.tensor = tensor
        self.parents = list(parents)  # [(Ref, vjp: grad_out -> grad_parent)]


def backprop(out, seed_grad, leaves):
    order, seen = [], set()

    def visit(r):
        if id(r) in seen:
            return
        seen.add(id(r))
        for p, _ in r.parents:
            visit(p)
        order.append(r)

    visit(out)
    grads = {id(out): seed_grad}
    for r in reversed(order):
        g = grads.get(id(r))
        if g is None:
            continue
        for p, vjp in r.parents:
            grads[id(p)] = grads.get(id(p), 0) + vjp(g)
    return [grads.get(id(leaf), np.zeros_like(leaf.value)) for leaf in leaves]


class Builder:
    """Draws one random graph and builds it in nnplug and in the reference at the same time."""

    def __init__(self, data, dtype, profile):
        self.data, self.dtype, self.profile = data, dtype, profile
        self.rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="values"))
        self.inputs = []  # (Ref, feed array)

    def draw(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    def placeholder(self, shape, positive=False):
        v = self.rng.standard_normal(shape) * self.draw(st.sampled_from([0.5, 1.0, 2.0]))
        if positive:
            v = np.abs(v) + 0.5
        fed = v.astype(self.dtype.np)
        t = tf.placeholder(self.dtype, shape, name=f"in{len(self.inputs)}")
        r = Ref(fed, t)
        self.inputs.append((r, fed))
        return r

    def shape(self, min_rank=0, max_rank=3):
        min_rank = max(min_rank, 1) if AVOID_RANK0 else min_rank
        rank = self.draw(st.integers(min_rank, min(max_rank, self.profile.max_rank)))
        return tuple(self.dim() for _ in range(rank))

    def dim(self):
        return self.draw(st.sampled_from(self.profile.dims))

    def broadcastable_to(self, shape):
        """A shape that broadcasts against `shape`: leading dims dropped, some dims set to 1."""
        drop = self.draw(st.integers(0, len(shape) - (1 if AVOID_RANK0 else 0)))
        return tuple(1 if self.draw(st.booleans()) else d for d in shape[drop:])

    # -- ops -------------------------------------------------------------------------------------------
    def unary(self, a):
        x = a.value
        choices = ["neg", "square", "tanh", "sigmoid"]
        if x.size and np.abs(x).max() < 4:
            choices.append("exp")
        if x.size and x.min() > 0.2:
            choices += ["log", "sqrt"]
        if x.size and np.abs(x).min() > 0.05:
            choices += ["abs", "relu"]
        op = self.draw(st.sampled_from(choices), label="unary")
        t = a.tensor
        if op == "neg":
            return Ref(-x, tf.negative(t), [(a, lambda g: -g)])
        if op == "square":
            return Ref(x * x, tf.square(t), [(a, lambda g: 2 * x * g)])
        if op == "tanh":
            y = np.tanh(x)
            return Ref(y, tf.tanh(t), [(a, lambda g: g * (1 - y * y))])
        if op == "sigmoid":
            y = 1 / (1 + np.exp(-x))
            return Ref(y, tf.sigmoid(t), [(a, lambda g: g * y * (1 - y))])
        if op == "exp":
            y = np.exp(x)
            return Ref(y, tf.exp(t), [(a, lambda g: g * y)])
        if op == "log":
            return Ref(np.log(x), tf.log(t), [(a, lambda g: g / x)])
        if op == "sqrt":
            y = np.sqrt(x)
            return Ref(y, tf.sqrt(t), [(a, lambda g: g / (2 * y))])
        if op == "abs":
            return Ref(np.abs(x), tf.abs(t), [(a, lambda g: g * np.sign(x))])
        return Ref(np.maximum(x, 0), tf.nn.relu(t), [(a, lambda g: g * (x > 0))])

    def binary(self, a):
        shape = self.broadcastable_to(a.value.shape)
        op = self.draw(st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum"]), label="binary")
        b = self.placeholder(shape, positive=(op == "div"))
        if self.draw(st.booleans()):
            a, b = b, a  # the broadcast side on the left sometimes
            if op == "div":
                op = "mul"  # never divide by the unbounded side
        x, y = a.value, b.value
        if op in ("maximum", "minimum") and np.abs(x - y).min(initial=1.0) < 0.05:
            op = "add"
        sx, sy = x.shape, y.shape
        fns = {  # value, graph op, VJP to x, VJP to y
            "add": (lambda: x + y, tf.add, lambda g: g, lambda g: g),
            "sub": (lambda: x - y, tf.subtract, lambda g: g, lambda g: -g),
            "mul": (lambda: x * y, tf.multiply, lambda g: g * y, lambda g: g * x),
            "div": (lambda: x / y, tf.divide, lambda g: g / y, lambda g: -g * x / (y * y)),
            "maximum": (lambda: np.maximum(x, y), tf.maximum, lambda g: g * (x > y), lambda g: g * (x <= y)),
            "minimum": (lambda: np.minimum(x, y), tf.minimum, lambda g: g * (x < y), lambda g: g * (x >= y)),
        }
        value, fn, ga, gb = fns[op]
        value = value()
        return Ref(value, fn(a.tensor, b.tensor),
                   [(a, lambda g: _unbroadcast(ga(g), sx)), (b, lambda g: _unbroadcast(gb(g), sy))])

    def reduce(self, a):
        x = a.value
        rank = x.ndim
        if rank == 0 or self.draw(st.booleans()):
            axis, axes = None, tuple(range(rank))
        else:
            axes = tuple(sorted(self.draw(st.sets(st.integers(0, rank - 1), min_size=1, max_size=rank))))
            axis = axes[0] - rank if len(axes) == 1 and self.draw(st.booleans()) else list(axes)
        keep = self.draw(st.booleans()) or (AVOID_RANK0 and len(axes) == rank)
        op = self.draw(st.sampled_from(["sum", "mean", "max"]), label="reduce")
        if op == "max":
            m = x.max(axis=axes, keepdims=True)
            if ((x >= m - 1e-2).sum(axis=axes) != 1).any():
                op = "sum"  # ties or near-ties: the max gradient would not be well defined
        n = int(np.prod([x.shape[i] for i in axes])) if axes else 1

        def expand(g):
            return g if keep else np.expand_dims(g, axes) if axes else g

        if op == "sum":
            return Ref(x.sum(axis=axes, keepdims=keep), tf.reduce_sum(a.tensor, axis=axis, keepdims=keep),
                       [(a, lambda g: np.broadcast_to(expand(g), x.shape).copy())])
        if op == "mean":
            return Ref(x.mean(axis=axes, keepdims=keep), tf.reduce_mean(a.tensor, axis=axis, keepdims=keep),
                       [(a, lambda g: np.broadcast_to(expand(g), x.shape) / n)])
        m = x.max(axis=axes, keepdims=True)
        return Ref(x.max(axis=axes, keepdims=keep), tf.reduce_max(a.tensor, axis=axis, keepdims=keep),
                   [(a, lambda g: expand(g) * (x == m))])

    def matmul(self, a):
        x = a.value
        if x.ndim != 2:
            return self.reshape(a, rank=2)
        ta, tb = self.draw(st.booleans()), self.draw(st.booleans())
        k = x.shape[0] if ta else x.shape[1]
        n = self.dim()
        b = self.placeholder((n, k) if tb else (k, n))
        y = b.value
        xa, yb = (x.T if ta else x), (y.T if tb else y)
        value = xa @ yb

        def ga(g):
            d = g @ yb.T
            return d.T if ta else d

        def gb(g):
            d = xa.T @ g
            return d.T if tb else d

        return Ref(value, tf.matmul(a.tensor, b.tensor, transpose_a=ta, transpose_b=tb), [(a, ga), (b, gb)])

    def reshape(self, a, rank=None):
        x = a.value
        size = x.size
        factors, rest, p = [], size, 2
        while rest > 1:  # prime factors of the size, distributed over the new dimensions
            while rest % p == 0:
                factors.append(p)
                rest //= p
            p += 1
        rank = rank if rank is not None else self.draw(st.integers(1, max(2, self.profile.max_rank)))
        dims = [1] * rank
        for f in factors:
            dims[self.draw(st.integers(0, rank - 1))] *= f
        target = list(dims)
        if rank and self.draw(st.booleans()):
            target[self.draw(st.integers(0, rank - 1))] = -1
        shp = x.shape
        return Ref(x.reshape(dims), tf.reshape(a.tensor, target), [(a, lambda g: g.reshape(shp))])

    def transpose(self, a):
        x = a.value
        if x.ndim < 2:
            return self.reshape(a)
        perm = self.draw(st.permutations(list(range(x.ndim))))
        inv = np.argsort(perm)
        return Ref(x.transpose(perm), tf.transpose(a.tensor, perm), [(a, lambda g: g.transpose(inv))])

    def softmax(self, a):
        x = a.value
        if x.ndim == 0:
            return self.unary(a)
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        s = e / e.sum(axis=-1, keepdims=True)
        return Ref(s, tf.nn.softmax(a.tensor), [(a, lambda g: s * (g - (g * s).sum(axis=-1, keepdims=True)))])

    def concat(self, a):
        x = a.value
        if x.ndim == 0:
            return self.binary(a)
        axis = self.draw(st.integers(0, x.ndim - 1))
        shape = list(x.shape)
        shape[axis] = self.dim()
        b = self.placeholder(tuple(shape))
        first = self.draw(st.booleans())
        parts = [a, b] if first else [b, a]
        bounds = np.cumsum([p.value.shape[axis] for p in parts])[:-1]
        value = np.concatenate([p.value for p in parts], axis=axis)
        t = tf.concat([p.tensor for p in parts], axis=axis if self.draw(st.booleans()) else axis - x.ndim)
        return Ref(value, t, [(p, (lambda i: lambda g: np.split(g, bounds, axis=axis)[i])(i))
                              for i, p in enumerate(parts)])

    def build(self):
        node = self.placeholder(self.shape())
        ops = [self.unary, self.binary, self.reduce, self.matmul, self.reshape, self.transpose, self.softmax,
               self.concat]
        n_ops = self.draw(st.integers(1, self.profile.max_ops), label="n_ops")
        for _ in range(n_ops):
            op = self.draw(st.sampled_from(ops), label="op")
            node = op(node)
            if np.abs(node.value).max(initial=0.0) > 1e3:  # keep float32 well inside its range
                y = np.tanh(node.value)
                node = Ref(y, tf.tanh(node.tensor), [(node, lambda g, y=y: g * (1 - y * y))])
        return node


def structure(graph):
    """What makes two drawn graphs the same graph up to input values: ops, wiring, shapes, attributes."""
    return tuple((op.type, tuple(t.name for t in op.inputs), tuple(tuple(t.shape) for t in op.outputs),
                  repr(sorted((k, v) for k, v in op.attrs.items() if k != "value")))
                 for op in graph.get_operations())


def check_graph(data, backend, profile=WIDE):
    """Draw one graph, run it on `backend` (a name or an instance), compare values and gradients with the
    float64 reference; returns the graph's structure()."""
    dtype = data.draw(st.sampled_from([getattr(tf, d) for d in profile.dtypes]), label="dtype")
    graph = tf.Graph()
    with graph.as_default(), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        b = Builder(data, dtype, profile)
        out = b.build()
        weights = b.rng.standard_normal(out.value.shape)
        loss = tf.reduce_sum(out.tensor * tf.constant(weights.astype(dtype.np)))
        leaves = [r for r, _ in b.inputs]
        grads = tf.gradients(loss, [r.tensor for r in leaves])
        ref_grads = backprop(out, weights, leaves)
        fetch = [out.tensor] + [g for g in grads if g is not None]
        with tf.Session(backend=backend) as sess:
            got = sess.run(fetch, {r.tensor: fed for r, fed in b.inputs})
    where = getattr(backend, "name", backend)
    tol = TOL[dtype.name]
    scale = max(1.0, float(np.abs(out.value).max(initial=0.0)))
    assert got[0].dtype == dtype.np and got[0].shape == out.value.shape, (got[0].dtype, got[0].shape)
    np.testing.assert_allclose(got[0], out.value, rtol=tol, atol=tol * scale, err_msg=f"value on {where}")
    got_grads = iter(got[1:])
    for leaf, g, ref in zip(leaves, grads, ref_grads):
        if g is None:
            assert not np.any(ref), f"no gradient for {leaf.tensor.name} but the reference has one"
            continue
        value = next(got_grads)
        gscale = max(1.0, float(np.abs(ref).max(initial=0.0)))
        np.testing.assert_allclose(value, ref, rtol=tol, atol=tol * gscale * 4,
                                   err_msg=f"gradient wrt {leaf.tensor.name} on {where}")
    return structure(graph)


_settings = dict(deadline=None, derandomize=False, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz(run, backend, profile, n, seed_):
    """Check `n` random graphs on one instance of `backend`; returns (graphs checked, distinct structures)."""
    instance = get_backend(backend)  # one instance for the whole run: its kernel/program cache hits
    CHECKED[run], STRUCTURES[run] = 0, set()

    @seed(seed_)
    @settings(max_examples=n, **_settings)
    @given(data=st.data())
    def one(data):
        STRUCTURES[run].add(check_graph(data, instance, profile))
        CHECKED[run] += 1

    one()
    return CHECKED[run], len(STRUCTURES[run])


def _report(capsys, run, profile, checked, distinct):
    with capsys.disabled():
        name = next((k for k, p in PROFILES.items() if p == profile), str(profile))
        print(f"\n  fuzz {run} ({name}): {checked} graphs checked, {distinct} distinct structures")


def test_fuzz_numpy(capsys):
    checked, distinct = fuzz("numpy", "numpy", WIDE, N_NUMPY, SEED)
    _report(capsys, "numpy", WIDE, checked, distinct)
    assert checked >= N_NUMPY, f"only {checked} of {N_NUMPY} graphs were checked on numpy"


@pytest.mark.parametrize("backend", OTHERS)
def test_fuzz_other_backends(backend, capsys):
    assert OTHER_PROFILE in PROFILES, f"NNPLUG_FUZZ_PROFILE_OTHER={OTHER_PROFILE!r}: use one of {sorted(PROFILES)}"
    profile = PROFILES[OTHER_PROFILE]
    checked, distinct = fuzz(backend, backend, profile, N_OTHER, SEED + 2)
    _report(capsys, backend, profile, checked, distinct)
    assert checked >= N_OTHER, f"only {checked} of {N_OTHER} graphs were checked on {backend}"


def test_rank0_inplace_regression():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float64, (), name="x")
        w = tf.placeholder(tf.float64, (), name="w")
        (g,) = tf.gradients(tf.square(x) * w, [x])
        with tf.Session(backend="numpy") as sess:
            assert sess.run(g, {x: 3.0, w: 2.0}) == 12.0


@pytest.mark.parametrize("fn", ["sigmoid"])
def test_rank0_unary_kernels(fn):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, (), name="x")
        with tf.Session(backend="numpy") as sess:
            got = sess.run(getattr(tf, fn)(x), {x: 0.5})
    want = 1 / (1 + np.exp(-0.5)) if fn == "sigmoid" else np.tanh(0.5)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.skipif("opencl" not in OTHERS, reason="opencl backend not available")
def test_rank0_reduce_opencl():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, (), name="x")
        with tf.Session(backend="opencl") as sess:
            got = sess.run(tf.reduce_sum(x), {x: 2.5})
    assert np.shape(got) == () and got == 2.5
