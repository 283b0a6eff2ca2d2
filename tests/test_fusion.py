"""The elementwise-fusion pass: chains become one kernel on a backend that opts in, with the same results."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import plugins
from nnplug.backend import KernelSpec
from nnplug.hookspecs import hookimpl
from nnplug_numpy.backend import NumpyBackend
from nnplug_numpy.kernels import KERNELS

ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Tanh", "Exp", "Neg", "Square", "Maximum", "Relu", "Sigmoid", "Select",
               "TanhGrad", "Cast", "Greater"}


class FusingNumpy(NumpyBackend):
    """NumPy, but elementwise chains are run by one interpreted call (a stand-in for a generated kernel)."""

    name = "fusing-numpy"
    aliases = ()
    fusable_ops = frozenset(ELEMENTWISE)
    chains = []
    calls = []

    def fuse_elementwise(self, chain):
        FusingNumpy.chains.append(chain)
        fns = []
        for op_type, attrs, args in chain.nodes:
            shapes = [chain.inputs[i][0] if kind == "in" else chain.out_shape for kind, i in args]
            dtypes = [chain.inputs[i][1] if kind == "in" else chain.out_dtype for kind, i in args]
            fns.append(KERNELS[op_type](KernelSpec(op_type, "fused", attrs, shapes, dtypes,
                                                   [chain.out_shape], [chain.out_dtype], backend=self)))

        def run(*ins):
            FusingNumpy.calls.append((chain, ins))
            results = []
            for fn, (_, _, args) in zip(fns, chain.nodes):
                results.append(fn(*[ins[i] if kind == "in" else results[i] for kind, i in args]))
            return results[-1]
        return run


class _Plugin:
    @staticmethod
    @hookimpl
    def nnplug_backends():
        return [FusingNumpy]


@pytest.fixture
def fusing_backend():
    name = plugins.register_plugin(_Plugin, name="test-fusing-numpy")
    FusingNumpy.chains.clear()
    FusingNumpy.calls.clear()
    yield "fusing-numpy"
    plugins.unregister_plugin(name)


def test_chain_becomes_one_kernel_with_same_values(fusing_backend):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 5))
        b = tf.constant(np.linspace(-1, 1, 5).astype(np.float32))
        y = tf.tanh(x * 2.0 + b) - tf.square(x)  # Mul, Add, Tanh, Square, Sub: one chain
        loss = tf.reduce_sum(y)
        (gx,) = tf.gradients(loss, [x])
    xv = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    with tf.Session(graph=g, backend=fusing_backend) as s:
        forward_only = s.plan_for(y, {x: xv}).source
        got_y, got_g = s.run([y, gx], {x: xv})
        both = s.plan_for([y, gx], {x: xv}).source
    x64 = xv.astype(np.float64)
    t = np.tanh(x64 * 2 + np.linspace(-1, 1, 5))
    np.testing.assert_allclose(got_y, t - x64 ** 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_g, 2 * (1 - t ** 2) - 2 * x64, rtol=1e-4, atol=1e-5)
    # forward alone: the five ops are one kernel
    assert forward_only.count(" = k") == 1 and "Fused" in forward_only, forward_only
    assert sorted(t for t, _, _ in FusingNumpy.chains[0].nodes) == ["Add", "Mul", "Square", "Sub", "Tanh"]
    # with the gradient, tanh's output is read twice, so it is materialised: three fused kernels in all
    assert both.count(" = k") == 3 and both.count("Fused") == 3, both


def test_values_used_twice_are_not_fused_away(fusing_backend):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (3,))
        h = tf.exp(x)  # read by two consumers and fetched: must stay materialised
        y = h * 2.0 + h
    xv = np.array([0.0, 1.0, -1.0], np.float32)
    with tf.Session(graph=g, backend=fusing_backend) as s:
        hv, yv = s.run([h, y], {x: xv})
    np.testing.assert_allclose(hv, np.exp(xv.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(yv, 3 * np.exp(xv.astype(np.float64)), rtol=1e-6)


def _run_c(chain, arrays):
    """Compile the chain's generated C with gcc, run it on `arrays`, return the output as float64."""
    import math
    import shutil
    import subprocess
    import tempfile
    from nnplug import fusion
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: cannot compile the generated C")
    n = math.prod(chain.out_shape)
    exprs = [f"x{k}[{fusion.broadcast_index(shape, chain.out_shape)}]" for k, (shape, _) in enumerate(chain.inputs)]
    body, result = fusion.c_statements(chain, exprs)
    decls = []
    for k, ((shape, dtype), arr) in enumerate(zip(chain.inputs, arrays)):
        values = ", ".join(repr(float(v)) if dtype.is_floating else str(int(v)) for v in np.ravel(arr)) or "0"
        decls.append(f"static const {fusion.C_TYPES[dtype.name]} x{k}[] = {{{values}}};")
    src = ("#include <math.h>\n#include <stdio.h>\ntypedef unsigned char uchar;\n" + "\n".join(decls)
           + f"\nint main(void) {{ for (long i = 0; i < {n}; i++) {{ " + " ".join(body)
           + f" printf(\"%.17g\\n\", (double){result}); }} return 0; }}\n")
    with tempfile.TemporaryDirectory() as d:
        with open(f"{d}/k.c", "w") as f:
            f.write(src)
        subprocess.run(["gcc", "-O1", "-o", f"{d}/k", f"{d}/k.c", "-lm"], check=True, capture_output=True)
        out = subprocess.run([f"{d}/k"], check=True, capture_output=True, text=True).stdout
    return np.array([float(v) for v in out.split()]).reshape(chain.out_shape)


def test_generated_c_matches_numpy(fusing_backend):
    """The C source OpenCL and CUDA backends compile for a chain computes what the ops define."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float64, (3, 4))
        b = tf.placeholder(tf.float64, (4,))
        y = tf.where(x > b, tf.tanh(x) * b, tf.cast(tf.cast(x * 3.0, tf.int32), tf.float64)) + tf.sigmoid(-x)
    rng = np.random.default_rng(1)
    xv, bv = rng.standard_normal((3, 4)), rng.standard_normal(4)
    with tf.Session(graph=g, backend=fusing_backend) as s:
        got = s.run(y, {x: xv, b: bv})
    chain, ins = max(FusingNumpy.calls, key=lambda call: len(call[0].nodes))
    assert {"Select", "Greater", "Cast", "Tanh", "Sigmoid"} <= {t for t, _, _ in chain.nodes}
    c_out = _run_c(chain, ins)
    want = np.where(xv > bv, np.tanh(xv) * bv, np.trunc(xv * 3)) + 1 / (1 + np.exp(xv))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(c_out, want, rtol=1e-12)
