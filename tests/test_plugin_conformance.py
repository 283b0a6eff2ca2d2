"""The conformance suite catches a plugin backend with one wrong kernel, and names the op and the backend.

`FaultyBackend` below is the NumPy backend with its Tanh kernel replaced by a plausible bug (a Padé
approximant: right near 0, 2% off at |x| = 1, unbounded for large |x|). A plugin object registers it, with a
correct twin (`FaithfulBackend`: the same subclass without the bad kernel), through the public
`nnplug.plugins.register_plugin` (as tests/test_fusion.py and the profiler plugin do). The shipped suite then
runs on each exactly as a backend author runs it (`python -m nnplug.testing BACKEND`, i.e.
nnplug.testing.__main__.main), in a child process that registers the plugin first: the faulty backend fails,
in Tanh cases only, with reports that name Tanh and the backend; the faithful one passes every case, so the
check can tell them apart.

Also: one plugin providing a backend name twice (and the built-in numpy backend's name) is reported by name,
the first class is kept, the impostor is refused, and numpy keeps working. (A name clash between two entry-point
plugins is covered in tests/test_plugins.py::test_duplicate_third_party_backend_name_warns_and_keeps_the_first.)
"""
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import nnplug as tf
from nnplug import plugins
from nnplug.hookspecs import hookimpl
from nnplug_numpy.backend import NumpyBackend


def _pade_tanh(spec):
    """tanh(x) ~ x (27 + x^2) / (27 + 9 x^2): the kind of cheap approximation a backend might ship by mistake."""
    def tanh(x, out=None):  # Tanh is an in-place op on numpy: honour out=
        x2 = np.multiply(x, x)
        return np.divide(x * (27 + x2), 27 + 9 * x2, out=out)
    return tanh


class FaultyBackend(NumpyBackend):
    name = "faulty"
    aliases = ()
    kernels = {**NumpyBackend.kernels, "Tanh": _pade_tanh}


class FaithfulBackend(NumpyBackend):
    name = "faithful"
    aliases = ()


class FaultyPlugin:
    """A third-party plugin object: one hook implementation providing both backends."""

    @staticmethod
    @hookimpl
    def nnplug_backends():
        return [FaultyBackend, FaithfulBackend]


PLUGIN_NAME = "test-faulty-plugin"

# The child process: register the plugin object, then do what `python -m nnplug.testing BACKEND ...` does.
_CHILD = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from nnplug import plugins
from test_plugin_conformance import FaultyPlugin
plugins.register_plugin(FaultyPlugin, name={PLUGIN_NAME!r})
from nnplug.testing.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def run_conformance(backend, tmp_path):
    """Run the whole conformance suite on `backend`: (exit code, {test id: failure report}, cases run, output)."""
    report = tmp_path / f"{backend}.xml"
    done = subprocess.run([sys.executable, "-c", _CHILD, backend, "-q", f"--junitxml={report}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert report.exists(), done.stdout + done.stderr
    cases = ET.parse(report).getroot().iter("testcase")
    failures, n = {}, 0
    for case in cases:
        n += 1
        for bad in list(case.iter("failure")) + list(case.iter("error")):
            failures[case.get("name")] = (bad.get("message") or "") + "\n" + (bad.text or "")
    return done.returncode, failures, n, done.stdout + done.stderr


# Conformance cases that run tanh: value cases (by op), the chains in test_unary_shapes, the saturation
# check, the gradient cases built on tanh, and the fused LSTM (its cell state goes through tanh). A wrong Tanh
# kernel may fail these and nothing else.
TANH_CASES = ("test_unary[faulty-Tanh-", "test_unary_shapes[faulty-", "test_unary_extremes_stay_finite[faulty]",
              "test_gradient[faulty-Tanh]", "test_gradient[faulty-second-order-tanh]",
              "test_gradient[faulty-rank0-chain]", "test_lstm_sequence[faulty-", "test_lstm_sequence_gradient[faulty-")


def test_suite_catches_a_wrong_kernel_and_names_op_and_backend(tmp_path):
    code, failures, n, output = run_conformance("faulty", tmp_path)
    assert code == 1, output  # pytest: tests failed
    assert n > 300, output  # the whole suite ran, not a handful of cases
    # the value cases of the broken op fail, and their reports name the op and the backend
    for dtype in ("float32", "float64"):
        case = f"test_unary[faulty-Tanh-{dtype}]"
        assert case in failures, sorted(failures)
        assert f"Tanh {dtype}" in failures[case], failures[case]
    assert "Tanh on shape" in failures["test_unary_shapes[faulty-shape0-float32]"]
    assert "(backend faulty)" in failures["test_gradient[faulty-Tanh]"]  # gradient reports name the backend
    # ... and nothing unrelated to tanh fails: the suite pinpoints the kernel
    unrelated = [c for c in failures if not c.startswith(TANH_CASES)]
    assert not unrelated, f"cases that do not use tanh failed: {unrelated}"
    assert "FAILED" in output and "test_unary[faulty-Tanh-float32]" in output  # the terminal summary too


def test_same_suite_passes_the_correct_backend(tmp_path):
    code, failures, n, output = run_conformance("faithful", tmp_path)
    assert code == 0 and not failures, output
    assert n > 300, output


@pytest.fixture
def restore_plugins():
    """Unregister the test's plugin even when the test fails half-way."""
    yield
    if plugins.plugin_manager().get_plugin("test-duplicating-plugin") is not None:
        plugins.unregister_plugin("test-duplicating-plugin")


class _Impostor(NumpyBackend):
    name = "numpy"  # the built-in backend's name
    kernels = {**NumpyBackend.kernels, "Tanh": _pade_tanh}


class _FaultyAgain(FaithfulBackend):
    name = "faulty"  # already provided by this same plugin, two entries up


class DuplicatingPlugin:
    @staticmethod
    @hookimpl
    def nnplug_backends():
        return [FaultyBackend, _FaultyAgain, _Impostor]


def test_plugin_providing_a_backend_name_twice_is_reported_and_numpy_keeps_working(restore_plugins):
    with pytest.warns(RuntimeWarning) as caught:
        plugins.register_plugin(DuplicatingPlugin, name="test-duplicating-plugin")
    messages = [str(w.message) for w in caught]
    assert ("backend 'faulty' from plugin 'test-duplicating-plugin' is already provided by "
            "'test-duplicating-plugin'; the first one is kept") in messages, messages
    assert ("backend 'numpy' from plugin 'test-duplicating-plugin' was refused: it claims the name 'numpy', "
            "which belongs to a built-in backend") in messages, messages
    classes = plugins.backend_classes()
    assert classes["faulty"] == (FaultyBackend, "test-duplicating-plugin")
    assert classes["numpy"] == (NumpyBackend, "numpy")
    assert "numpy" not in plugins.broken_plugins() and "test-duplicating-plugin" not in plugins.broken_plugins()
    x = np.linspace(-3, 3, 7)
    g = tf.Graph()
    with g.as_default():
        t = tf.placeholder(tf.float64, (7,))
        with tf.Session(backend="numpy") as s:
            assert type(s.backend) is NumpyBackend
            np.testing.assert_allclose(s.run(tf.tanh(t), {t: x}), np.tanh(x), rtol=1e-12)
    plugins.unregister_plugin("test-duplicating-plugin")
    assert "faulty" not in plugins.backend_classes() and plugins.backend_classes()["numpy"][0] is NumpyBackend
