"""examples/keras_cnn.py as a user meets it: every option documented, and a short run on a small
MNIST-format set whose class is written into the pixels, learnt to a high test accuracy."""
import contextlib
import importlib.util
import io
import struct
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "keras_cnn.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("keras_cnn_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_option_has_help_text(example):
    options = [a for a in example.make_parser()._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} >= {"data", "epochs", "batch_size", "learning_rate", "limit", "seed",
                                         "verbose", "backend"}
    for action in options:
        assert action.help and len(action.help) > 10, action.dest


def _write(folder, kind, n, rng):
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label:4 + 2 * label, 4:24] = 255  # a bright bar whose height gives the class
    prefix = "train" if kind == "train" else "t10k"
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())


def test_a_short_run_learns_and_reports_accuracy(example, tmp_path):
    rng = np.random.default_rng(0)
    _write(tmp_path, "train", 320, rng)
    _write(tmp_path, "t10k", 60, rng)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        accuracy = example.main(["--data", str(tmp_path), "--epochs", "3", "--batch-size", "32", "--verbose", "2",
                                 "--limit", "300"])
    text = out.getvalue()
    assert text.startswith("Backend: numpy") and "x_train shape: (300, 28, 28, 1)" in text
    assert "Test accuracy:" in text and "Training time:" in text
    assert accuracy > 0.9
