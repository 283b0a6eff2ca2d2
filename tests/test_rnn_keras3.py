"""Recurrent models written by Keras 3 itself (with its PyTorch backend, in a subprocess) load into nnplug and
predict what Keras predicted. Skipped where Keras 3 or PyTorch is not installed."""
import importlib.util
import json
import os
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from nnplug import keras

WRITER = r"""
import os, sys, json
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras
L = keras.layers
out = sys.argv[1]
x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
np.save(os.path.join(out, "x.npy"), x)
models = {
    "lstm": [L.LSTM(4)], "lstm_backwards": [L.LSTM(4, return_sequences=True, go_backwards=True), L.Flatten()],
    "gru": [L.GRU(4)], "gru_reset_before": [L.GRU(4, reset_after=False)], "simple_rnn": [L.SimpleRNN(4)],
    "bidirectional": [L.Bidirectional(L.GRU(2)), L.Dense(3)],
    "bidirectional_sum": [L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode="sum"), L.Flatten()],
}
for name, layers in models.items():
    m = keras.Sequential([keras.Input((5, 3))] + layers)
    for i, w in enumerate(m.weights):
        w.assign(np.random.default_rng(i).uniform(-0.5, 0.5, w.shape).astype("float32"))
    np.save(os.path.join(out, name + ".npy"), m.predict(x, verbose=0))
    m.save(os.path.join(out, name + ".h5"))
print(json.dumps(sorted(models)))
"""


@pytest.fixture(scope="module")
def keras3_files(tmp_path_factory):
    for module in ("keras", "torch"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: Keras 3 (with PyTorch) writes the reference files")
    if metadata.version("keras").split(".")[0] != "3":
        pytest.skip(f"Keras {metadata.version('keras')} is installed, not Keras 3")
    out = tmp_path_factory.mktemp("keras3")
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", WRITER, str(out)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return out, json.loads(done.stdout.strip().splitlines()[-1])


def test_keras_3_recurrent_models_load_and_predict_alike(keras3_files):
    out, names = keras3_files
    x = np.load(out / "x.npy")
    for name in names:
        model = keras.models.load_model(out / f"{name}.h5", compile=False)
        np.testing.assert_allclose(model.predict(x), np.load(out / f"{name}.npy"), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
