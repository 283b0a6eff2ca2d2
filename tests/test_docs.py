"""The API reference builds from the docstrings with warnings as errors, and documents the public API."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_sphinx_builds_the_api_reference_without_warnings(tmp_path):
    pytest.importorskip("sphinx", reason="Sphinx is not installed here (pip install -e '.[docs]')")
    out = tmp_path / "html"
    env = dict(os.environ, PYTHONWARNINGS="ignore")  # a Python warning from a plugin is not a docs problem
    r = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(REPO / "docs"), str(out)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    pages = {p.stem: p.read_text() for p in (out / "api").glob("*.html")}
    for page, anchor in [
        ("nnplug", "nnplug.session.Session"), ("nnplug", "nnplug.ops.math_ops.matmul"),
        ("nn", "module-nnplug.nn"), ("nn", "nnplug.ops.nn_ops.softmax_cross_entropy_with_logits_v2"),
        ("train", "nnplug.train.optimizers.GradientDescentOptimizer"), ("layers", "nnplug.layers.dense"),
        ("losses", "nnplug.losses.mean_squared_error"), ("keras", "nnplug.keras.models.Sequential"),
        ("keras", "nnplug.keras.callbacks.Callback"), ("keras", "nnplug.keras.optimizers.SGD"),
        ("keras", "nnplug.keras.layers.Dense"), ("keras", "nnplug.keras.datasets.mnist.load_data"),
        ("testing", "nnplug.testing.check_gradient"), ("backend", "nnplug.backend.Backend"),
        ("backend", "nnplug.hookspecs.nnplug_backends"), ("datasets", "nnplug.datasets.cifar10.load_data"),
    ]:
        assert f'id="{anchor}"' in pages[page], f"{anchor} is missing from api/{page}.html"


def _conf():
    spec = importlib.util.spec_from_file_location("docs_conf", REPO / "docs" / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("text, expected", [
    (r"0.5 e^2 where |e| <= delta", r"0.5 e^2 where \|e\| <= delta"),  # a bar is not a substitution
    (r"y = build_fn(*inputs)", r"y = build_fn(\*inputs)"),  # a lone star opens no emphasis
    (r"max(x, 0) - x*z", r"max(x, 0) - x*z"),  # a star inside a word is already literal
    (r"reads *rebound* values", r"reads *rebound* values"),  # real emphasis stays
    (r"`a | b` and ``f(*x)``", r"`a | b` and ``f(*x)``"),  # code is left alone
])
def test_docstrings_are_read_as_plain_text_outside_code(text, expected):
    assert _conf()._plain_text(text) == expected
