"""compare.py's `lstm` model: nnplug's chapter-16 graph and PyTorch's nn.LSTM start from the same weights and
compute the same loss and gradients (so the benchmark times the same arithmetic)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import compare  # noqa: E402
from benchmarks.common import (  # noqa: E402
    LSTMSpec, NnplugLSTM, TorchLSTM, _torch_gates, char_batches, init_lstm_params,
)


def test_nnplug_and_pytorch_lstms_compute_the_same_loss_and_gradients():
    pytest.importorskip("torch", reason="PyTorch is only for the benchmarks (pip install torch)")
    import nnplug as tf
    spec = LSTMSpec("tiny", batch=4, steps=6, units=8, n_classes=5)
    params = [p + np.float32(0.1) * np.random.default_rng(3).standard_normal(p.shape).astype(np.float32)
              for p in init_lstm_params(spec)]  # non-zero biases: the gate order and the forget bias matter
    (x, y), = char_batches(spec, 1, seed=4)
    ours, theirs = NnplugLSTM(spec, "numpy", params), TorchLSTM(spec, "cpu", params)
    with ours.graph.as_default():
        grads = tf.gradients(ours.loss, ours.variables)
    loss, (g_kernel, g_bias, g_dense, g_dense_b) = ours.sess.run([ours.loss, grads], {ours.x: x, ours.y: y})
    tx, ty = theirs.to_device(x, y)
    torch_loss = theirs._loss(tx, ty)
    torch_loss.backward()
    lstm, dense, c, n = theirs.lstm, theirs.dense, spec.n_classes, spec.units
    np.testing.assert_allclose(loss, float(torch_loss.detach()), rtol=1e-5)
    for ours_g, theirs_g in ((_torch_gates(g_kernel[:c], n).T, lstm.weight_ih_l0.grad),
                             (_torch_gates(g_kernel[c:], n).T, lstm.weight_hh_l0.grad),
                             (_torch_gates(g_bias, n), lstm.bias_ih_l0.grad),
                             (g_dense.T, dense.weight.grad), (g_dense_b, dense.bias.grad)):
        np.testing.assert_allclose(ours_g, theirs_g.numpy(), rtol=1e-4, atol=1e-6)
    assert lstm.bias_hh_l0.grad is None


def test_compare_measures_the_lstm_model(tmp_path, capsys):
    out_json = tmp_path / "lstm.json"
    assert compare.main(["--models", "lstm", "--quick", "--no-epoch", "--no-progress", "--backends", "numpy",
                         "--json", str(out_json), "--png", str(tmp_path / "lstm.png")]) == 0
    assert "| lstm | nnplug[numpy] |" in capsys.readouterr().out
    rows = {r["contender"]: r for r in json.loads(out_json.read_text())["steps"]}
    assert rows["nnplug[numpy]"]["steps_per_s"] > 0 and "numpy loop (floor)" not in rows


def test_the_asv_lstm_benchmarks_run_a_step_and_report_steps_per_second():
    """The asv suite's LSTM classes, run as asv runs them (setup, a timed step, the tracked throughput), on
    numpy and, where PyTorch is installed, its nn.LSTM; bounded here because asv's run-everything test
    leaves them out."""
    from benchmarks import bench_training as bt
    classes = [(bt.LSTMTrainStep, "numpy")]
    if hasattr(bt, "TorchLSTMTrainStep"):
        classes.append((bt.TorchLSTMTrainStep, "cpu"))
    for cls, who in classes:
        bench = cls()
        bench.setup(who, "lstm")
        bench.time_step(who, "lstm")
        rate = bench.track_steps_per_s(who, "lstm")
        assert cls.track_steps_per_s.unit == "steps/s" and 0 < rate < 1e4, (cls.__name__, rate)
