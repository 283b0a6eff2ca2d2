"""Type hints on the public API. Every public function and class that a user reaches through nnplug's
namespaces has annotated parameters and return (by introspection, so new API must come with hints); mypy
finds no error in the typed modules; and a typed user program (tests/typed_programs/user_program.py, a TF1
MLP and Keras models) type-checks against the package and runs, while the misuse in
tests/typed_programs/misuse.py is flagged line by line. The mypy runs are skipped, saying so, without mypy."""
import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).resolve().parent / "typed_programs"

# The namespaces users call: the TF1 surface (`import nnplug as tf`), Keras, and the plugin API.
PUBLIC_NAMESPACES = [
    "nnplug", "nnplug.nn", "nnplug.layers", "nnplug.losses", "nnplug.metrics", "nnplug.math", "nnplug.random",
    "nnplug.linalg", "nnplug.train", "nnplug.summary", "nnplug.data", "nnplug.initializers", "nnplug.errors",
    "nnplug.keras", "nnplug.keras.layers", "nnplug.keras.callbacks", "nnplug.keras.losses", "nnplug.keras.optimizers",
    "nnplug.keras.metrics", "nnplug.keras.activations", "nnplug.keras.initializers", "nnplug.keras.utils",
    "nnplug.keras.models", "nnplug.keras.saving", "nnplug.keras.datasets.mnist",
    "nnplug.keras.datasets.fashion_mnist", "nnplug.keras.datasets.cifar10",
    "nnplug.hookspecs", "nnplug.backend", "nnplug.kernels", "nnplug.plugins", "nnplug.distributed",
    "nnplug.distributed.keras", "nnplug.ops.rnn_cell",  # the module that is tf.nn.rnn_cell
    "nnplug.contrib.rnn", "nnplug.contrib.layers", "nnplug.contrib.seq2seq", "nnplug.app", "nnplug.gfile",
    "nnplug.logging", "nnplug.debugging",
]
# Modules (and packages) being rewritten elsewhere, whose hints come with that work: what they define is not
# checked yet (test_not_yet_typed_is_current fails once one is fully annotated, so the list only shrinks).
NOT_YET_TYPED: set[str] = set()

# The modules mypy checks (their bodies too); files, relative to the repository root.
TYPED_MODULES = [
    "nnplug/_types.py", "nnplug/dtypes.py", "nnplug/shapes.py", "nnplug/graph.py", "nnplug/variables.py",
    "nnplug/autodiff.py", "nnplug/initializers.py", "nnplug/errors.py", "nnplug/layers.py", "nnplug/losses.py",
    "nnplug/metrics.py", "nnplug/nn.py", "nnplug/math.py", "nnplug/random.py", "nnplug/linalg.py",
    "nnplug/hookspecs.py", "nnplug/backend.py", "nnplug/kernels.py", "nnplug/plugins.py", "nnplug/app.py",
    "nnplug/gfile.py", "nnplug/logging.py", "nnplug/debugging.py", "nnplug/session.py", "nnplug/devices.py",
    *(f"nnplug/contrib/{m}.py" for m in ("__init__", "layers", "rnn/__init__", "seq2seq/__init__", "seq2seq/loss")),
    *(f"nnplug/ops/{m}.py" for m in (
        "elementwise", "math_ops", "array_ops", "random_ops", "manip_ops", "sequence_ops", "clip_ops", "stats_ops",
        "math_extra_ops", "debug_ops", "nn_ops", "embedding_ops", "sort_ops", "split_ops", "norm_ops",
        "tensor_array", "control_flow", "script_ops", "rnn", "rnn_cell", "lstm_sequence", "training_ops",
        "conv_ops", "pool_ops")),
    "nnplug/train/saver.py", "nnplug/train/learning_rate_decay.py", "nnplug/train/meta_graph.py",
    "nnplug/train/optimizers.py", "nnplug/train/optimizers_extra.py", "nnplug/train/basic_session_run_hooks.py",
    "nnplug/train/monitored_session.py", "nnplug/train/moving_averages.py", "nnplug/train/supervisor.py",
    "nnplug/layers_classes.py", "nnplug/testing_tf.py", "nnplug/compat.py",
    "nnplug/summary/ops.py", "nnplug/summary/writer.py", "nnplug/summary/graph_def.py",
    "nnplug/data/__init__.py", "nnplug/data/dataset.py", "nnplug/data/iterator.py", "nnplug/data/structure.py",
    "nnplug/datasets/mnist.py", "nnplug/datasets/fashion_mnist.py", "nnplug/datasets/cifar10.py",
    *(f"nnplug/keras/{m}.py" for m in (
        "models", "trainer", "losses", "optimizers", "metrics", "activations", "initializers", "utils", "saving/__init__",
        "saving/errors", "layers/__init__", "layers/base", "layers/core", "layers/convolutional",
        "layers/normalization", "layers/pooling", "layers/reshaping", "layers/embeddings", "layers/recurrent")),
    *(f"nnplug/keras/callbacks/{m}.py" for m in (
        "base", "csv_logger", "early_stopping", "lambda_callback", "learning_rate", "model_checkpoint",
        "progbar_logger", "tensorboard", "terminate_on_nan")),
    *(f"nnplug/distributed/{m}.py" for m in (
        "__init__", "collectives", "data", "ops", "optimizer", "runtime", "keras/__init__", "keras/callbacks",
        "keras/optimizers")),
]
MYPY_SECONDS = 60  # the bound CI must keep (measured: see the report of issue 18)


# -- hints on every public callable --------------------------------------------------------------------
def _missing_hints(fn):
    """Names of `fn`'s parameters without an annotation (`self`/`cls` excepted), and 'return' if it has none."""
    sig = inspect.signature(fn)
    missing = [p.name for i, p in enumerate(sig.parameters.values())
               if p.annotation is inspect.Parameter.empty and not (i == 0 and p.name in ("self", "cls"))]
    return missing + (["return"] if sig.return_annotation is inspect.Signature.empty else [])


def _class_members(cls):
    """The functions defined in `cls`'s own body: public methods, __init__, __call__, property accessors."""
    for name, member in vars(cls).items():
        if name.startswith("_") and name not in ("__init__", "__call__"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        accessors = [member.fget, member.fset] if isinstance(member, property) else [member]
        for fn in accessors:
            # a function assigned from elsewhere (POOL = staticmethod(max_pool)) is checked where it is defined
            if inspect.isfunction(fn) and fn.__qualname__.startswith(cls.__qualname__ + "."):
                yield f"{cls.__qualname__}.{name}", fn


def _public_callables():
    """(where, function) for every function and class method reachable from PUBLIC_NAMESPACES, by module."""
    seen = set()
    for ns in PUBLIC_NAMESPACES:
        module = importlib.import_module(ns)
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if id(obj) in seen or not (getattr(obj, "__module__", None) or "").startswith("nnplug"):
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                for where, fn in _class_members(obj):
                    yield obj.__module__, where, fn
            elif callable(obj) and not inspect.ismodule(obj):
                yield obj.__module__, getattr(obj, "__qualname__", name), obj


def _within(module, entry):
    return module == entry or module.startswith(entry + ".")


def test_every_public_callable_has_annotated_parameters_and_return():
    missing = [f"{module}.{where}: {', '.join(_missing_hints(fn))}" for module, where, fn in _public_callables()
               if not any(_within(module, entry) for entry in NOT_YET_TYPED) and _missing_hints(fn)]
    assert not missing, "public API without type hints:\n  " + "\n  ".join(sorted(missing))


def test_not_yet_typed_is_current():
    """Each module in NOT_YET_TYPED still has a public callable without hints; once it has none, it must
    leave the list so that its API stays checked."""
    unannotated = [module for module, _, fn in _public_callables() if _missing_hints(fn)]
    done = {entry for entry in NOT_YET_TYPED if not any(_within(module, entry) for module in unannotated)}
    assert not done, f"fully annotated now, drop from NOT_YET_TYPED: {done}"


def test_the_hint_check_finds_a_missing_hint():
    def half(x, y: int) -> int:
        return y

    def no_return(x: int):
        return x

    assert _missing_hints(half) == ["x"] and _missing_hints(no_return) == ["return"]


def test_annotations_cost_nothing_at_run_time():
    """Annotations stay strings (`from __future__ import annotations`): nothing is evaluated at import or call."""
    import nnplug
    assert isinstance(inspect.signature(nnplug.placeholder).parameters["dtype"].annotation, str)
    assert nnplug.Tensor.__mro__ == (nnplug.Tensor, object)  # the operator declarations exist for mypy only


# -- mypy --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory):
    """mypy's messages for the typed modules and the two programs, in one run (a fresh cache: a cold run)."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it is in the dev extra: pip install -e '.[dev]')")
    cache = tmp_path_factory.mktemp("mypy_cache")
    files = [*TYPED_MODULES, str(PROGRAMS / "user_program.py"), str(PROGRAMS / "misuse.py")]
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                             "--cache-dir", str(cache), "--show-error-codes", "--no-pretty", "--no-color-output",
                             *files], cwd=ROOT, capture_output=True, text=True, timeout=MYPY_SECONDS * 3)
    seconds = time.perf_counter() - start
    messages = []
    for line in result.stdout.splitlines():
        m = re.match(r"(.+?):(\d+): (error|note): (.*)", line)
        if m:
            messages.append((Path(m[1]).as_posix(), int(m[2]), m[3], m[4]))
    assert messages or result.returncode == 0, f"mypy failed to run:\n{result.stdout}\n{result.stderr}"
    return messages, seconds


def _in(path, messages, kind="error"):
    return [(line, text) for p, line, k, text in messages if p.endswith(path) and k == kind]


def test_mypy_finds_no_error_in_the_typed_modules(mypy_report):
    messages, _ = mypy_report
    errors = [f"{p}:{line}: {text}" for p, line, kind, text in messages if kind == "error" and p.startswith("nnplug/")]
    assert not errors, "\n".join(errors)


def test_a_typed_user_program_type_checks(mypy_report):
    messages, _ = mypy_report
    assert not _in("user_program.py", messages)


def test_mypy_flags_the_misuse_and_sees_the_types(mypy_report):
    messages, _ = mypy_report
    source = (PROGRAMS / "misuse.py").read_text().splitlines()
    expected_errors = {(i, m[1]) for i, text in enumerate(source, 1)
                       if (m := re.search(r"  # error: ([\w-]+)$", text))}
    expected_types = {i: m[1] for i, text in enumerate(source, 1)
                      if (m := re.match(r"reveal_type.*  # reveal: (.+)$", text))}
    found_errors = {(line, m[1]) for line, text in _in("misuse.py", messages)
                    if (m := re.search(r"\[([\w-]+)\]$", text))}
    assert found_errors == expected_errors, _in("misuse.py", messages)
    revealed = {line: m[1] for line, text in _in("misuse.py", messages, "note")
                if (m := re.match(r'Revealed type is "(.+)"', text))}
    assert revealed == expected_types


def test_mypy_run_is_bounded(mypy_report):
    _, seconds = mypy_report
    assert seconds < MYPY_SECONDS, f"mypy took {seconds:.1f} s on the typed modules (bound {MYPY_SECONDS} s)"


# -- the user program runs ---------------------------------------------------------------------------------
def _user_program():
    sys.path.insert(0, str(PROGRAMS))
    try:
        return importlib.import_module("user_program")
    finally:
        sys.path.remove(str(PROGRAMS))


def test_the_typed_user_program_trains_both_ways():
    """Two blobs 5.7 standard deviations apart: any working classifier separates them almost perfectly."""
    program = _user_program()
    points, labels = program.blobs(256)
    assert program.train_tf1(points, labels) > 0.95
    sequential, functional = program.train_keras(points, labels)
    assert sequential > 0.95 and functional > 0.95


def test_the_typed_user_programs_loops_run():
    """The while_loop's TensorArray holds NumPy's running sums; dynamic_rnn's last output is its final h."""
    program = _user_program()
    rows = np.random.default_rng(3).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(program.running_sums(rows), np.cumsum(rows.astype(np.float64), axis=0), rtol=1e-5)
    last, h = program.lstm_last_step(np.random.default_rng(4).normal(size=(2, 6, 3)).astype(np.float32))
    assert last.shape == (2, 4) and np.abs(last).max() > 0
    np.testing.assert_array_equal(last, h)
