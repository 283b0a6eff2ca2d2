"""The chapter-15 CNN of the benchmarks: nnplug's and PyTorch's versions compute the same network (checked
against a float64 NumPy forward pass), and compare.py measures it with both, per round, with peak memory."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import compare  # noqa: E402
from benchmarks.common import CNN_MODELS, NnplugCNN, TorchCNN, init_cnn_params, synthetic_data  # noqa: E402
from nnplug.testing.conformance_conv import ref_conv2d, ref_pool  # noqa: E402

SPEC = CNN_MODELS["cnn"]


def _loss64(params, x, y):
    """Mean softmax cross-entropy of the CNN (no dropout), in float64."""
    (w1, b1), (w2, b2), (w3, b3), (w4, b4) = [(w.astype(np.float64), b.astype(np.float64)) for w, b in params]
    h = x.reshape(-1, 28, 28, 1).astype(np.float64)
    for w, b in ((w1, b1), (w2, b2)):
        h = ref_pool(np.maximum(ref_conv2d(h, w, (1, 1), "SAME") + b, 0), (2, 2), (2, 2), "SAME", "max")
    logits = np.maximum(h.reshape(len(x), -1) @ w3 + b3, 0) @ w4 + b4
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return float(np.mean(lse - logits[np.arange(len(y)), y]))


def test_nnplug_cnn_matches_a_float64_reference_and_torch():
    params = init_cnn_params(SPEC, seed=3)
    x, y = synthetic_data(6, SPEC.n_in, SPEC.n_classes, seed=4)
    want = _loss64(params, x, y)
    assert NnplugCNN(SPEC, "numpy", params).loss_value(x, y) == pytest.approx(want, rel=1e-4)
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed: the PyTorch half is not checked")
    torch_model = TorchCNN(SPEC, "cpu", params)
    assert torch_model.loss_value(*torch_model.to_device(x, y)) == pytest.approx(want, rel=1e-4)


def test_compare_measures_the_cnn_per_round(tmp_path):
    """Bounded: NumPy only (PyTorch's side is the same code path), quick repeats, 2 rounds."""
    out = tmp_path / "cnn.json"
    assert compare.main(["--models", "cnn", "--quick", "--rounds", "2", "--threads", "1", "--backends", "numpy",
                         "--no-torch", "--no-png", "--no-progress", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    steps = {r["contender"]: r for r in result["steps"]}
    epoch = {r["contender"]: r for r in result["epoch"]}
    assert "numpy loop (floor)" not in steps  # no hand-written CNN floor
    for rows in (steps, epoch):
        r = rows["nnplug[numpy]"]
        assert r["model"] == "cnn" and len(r["load_rounds"]) == 2
    assert len(steps["nnplug[numpy]"]["steps_per_s_rounds"]) == 2
    assert epoch["nnplug[numpy]"]["peak_rss_bytes"] > 0 and epoch["nnplug[numpy]"]["peak_traced_bytes"] > 0


def test_opencl_cnn_gradients_match_numpy():
    """The whole CNN's gradients on OpenCL (its implicit-GEMM convolutions, pooling, and the dense layer's
    3136x1024 products, whose weights it reads packed into column panels) against the NumPy backend's."""
    from nnplug.testing import available_backends
    if "opencl" not in available_backends():
        pytest.skip("no OpenCL device")
    import nnplug as tf
    params = init_cnn_params(SPEC, seed=3)
    x, y = synthetic_data(32, SPEC.n_in, SPEC.n_classes, seed=4)
    grads = []
    for backend in ("numpy", "opencl"):
        model = NnplugCNN(SPEC, backend, params)
        with model.graph.as_default():
            fetch = tf.gradients(model.loss, model.variables)
        grads.append(model.sess.run(fetch, {model.x: x, model.y: y}))
    for var, want, got in zip(SPEC_VARIABLES, *grads):
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-5 * np.abs(want).max(), err_msg=var)


SPEC_VARIABLES = ["conv1/kernel", "conv1/bias", "conv2/kernel", "conv2/bias", "fc3/kernel", "fc3/bias", "fc4/kernel",
                  "fc4/bias"]
