"""examples/keras_lstm.py as a user meets it: every option documented, the backend named first, and a short
run on a small MNIST-format data set whose digits are easy to tell apart learns them."""
import contextlib
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest

from test_keras_example import _write_idx

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "keras_lstm.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("keras_lstm_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_option_has_help_text(example):
    options = [a for a in example.make_parser()._actions if a.option_strings and a.dest != "help"]
    assert {a.dest for a in options} >= {"data", "epochs", "batch_size", "units", "learning_rate", "train_rows",
                                         "seed", "verbose", "backend"}
    for action in options:
        assert action.help and len(action.help) > 10, action.dest


def test_a_short_run_learns_digits_drawn_as_bright_rows(example, tmp_path):
    """Digit k is drawn as a bright row 2k (plus noise): the LSTM must carry what it saw at that step."""
    rng = np.random.RandomState(0)
    for kind, n in (("train", 400), ("t10k", 100)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.randint(0, 60, (n, 28, 28)).astype(np.uint8)
        images[np.arange(n), 2 * labels.astype(int) + 3] = 255
        _write_idx(tmp_path, kind, images, labels)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        accuracy = example.main(["--data", str(tmp_path), "--epochs", "4", "--units", "16", "--batch-size", "20",
                                 "--learning-rate", "0.02"])
    text = out.getvalue()
    assert text.startswith("Backend: numpy")
    assert "(LSTM)" in text and "test accuracy:" in text
    assert accuracy > 0.8, text[-600:]
