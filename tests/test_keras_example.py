"""The chapter's Keras program (examples/keras_mlp.py) as a user meets it: every option documented, the
backend named before training, a missing backend library reported with its install commands before any data
is read, and a short run on a small MNIST-format data set."""
import contextlib
import importlib.util
import io
import struct
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "keras_mlp.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("keras_mlp_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_option_has_help_text(example):
    parser = example.make_parser()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} >= {"data", "epochs", "batch_size", "seed", "verbose", "out", "backend"}
    for action in options:
        assert action.help and len(action.help) > 10, action.dest


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_a_missing_backend_extra_is_reported_before_data_loads(example, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        example.main(["--backend", "cuda", "--data", str(tmp_path / "no-such-folder")])
    message = str(exit_info.value.code)
    assert "cannot use backend 'cuda'" in message
    assert 'pip install -e ".[cuda]"' in message and 'pip install "nnplug[cuda]"' in message


def _write_idx(folder, kind, images, labels):
    prefix = "train" if kind == "train" else "t10k"
    with open(folder / f"{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), 28, 28) + images.tobytes())
    with open(folder / f"{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + labels.tobytes())


def test_a_short_run_names_the_backend_first_and_prints_one_line_per_epoch(example, tmp_path):
    rng = np.random.RandomState(0)
    for kind, n in (("train", 200), ("t10k", 50)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        _write_idx(tmp_path, kind, rng.randint(0, 256, (n, 28, 28)).astype(np.uint8), labels)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.warns(DeprecationWarning):
        example.main(["--data", str(tmp_path), "--epochs", "2", "--out", str(tmp_path / "out")])
    text = out.getvalue()
    assert text.startswith("Backend: numpy")
    assert "\r" not in text  # not a terminal: no progress-bar frames
    lines = [ln for ln in text.splitlines() if ln.startswith("180/180 [")]
    assert len(lines) == 2 and all(" - val_loss: " in ln for ln in lines)
    assert "Test accuracy:" in text
