"""The benchmark suite loads and every benchmark runs once (asv, offline, against this interpreter), the
hand-written floor does the arithmetic it claims, and compare.py produces its table, chart and JSON."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import bench_ops, compare  # noqa: E402
from benchmarks.common import MODELS, ArrayFloorMLP, NnplugMLP, init_params, synthetic_data  # noqa: E402

ASV = [sys.executable, "-m", "asv"]


def _asv(*args, home):
    """asv with the project's config, but its machine file, results and html under `home` (a tmp dir)."""
    pytest.importorskip("asv", reason="asv is not installed here (pip install -e '.[dev]')")
    conf = json.loads("\n".join(ln for ln in (REPO / "asv.conf.json").read_text().splitlines()
                                if not ln.lstrip().startswith("//")))
    conf.update(repo=str(REPO), benchmark_dir=str(REPO / conf["benchmark_dir"]), results_dir=str(home / "results"),
                html_dir=str(home / "html"), env_dir=str(home / "env"))
    (home / "asv.conf.json").write_text(json.dumps(conf))
    env = dict(os.environ, HOME=str(home))  # asv keeps its machine file in $HOME; keep the user's untouched
    return subprocess.run(ASV + [args[0], "--config", str(home / "asv.conf.json"), *args[1:]], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_asv_check_finds_no_problems(tmp_path):
    r = _asv("check", "--python=same", home=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No problems found" in r.stdout


def test_every_asv_benchmark_runs_once(tmp_path):
    r = _asv("machine", "--yes", "--machine", "ci", home=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # the CNN and LSTM benchmarks train big models (minutes on 2 cores): tests/test_rnn_bench.py runs the
    # LSTM's bounded, test_conv_benchmarks.py checks the CNN's models
    r = _asv("run", "--python=same", "--quick", "--dry-run", "--machine", "ci", "--show-stderr",
             "-b", "^(?!.*(CNN|LSTM))", home=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and " failed" not in out, out[-6000:]
    for name in ("MatMul.time_matmul", "ElementwiseChain.time_chain", "Reduction.time_reduce_sum",
                 "time_forward_backward", "TrainStep.track_steps_per_s", "TrainEpoch.peakmem_epoch",
                 "FloorTrainStep.time_step"):
        assert name in out, f"benchmark {name} did not run:\n{out[-3000:]}"


def _loss64(params, x, y):
    """Mean softmax cross-entropy of the tanh MLP, in float64: an independent reference."""
    h = x.astype(np.float64)
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = np.tanh(h)
    m = h.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(h - m).sum(axis=1))
    return float(np.mean(lse - h[np.arange(len(y)), y]))


def test_floor_gradient_matches_finite_differences():
    spec = MODELS["chapter"]
    params = init_params(spec, seed=5)
    x, y = synthetic_data(16, seed=6)
    lr = 0.5
    floor = ArrayFloorMLP(spec, np, params, lr=lr, momentum=0.9)
    floor.step(x, y)  # first momentum step: w1 = w0 - lr * grad
    after = floor.weights()
    p64 = [(w.astype(np.float64), b.astype(np.float64)) for w, b in params]
    eps = 1e-5
    for layer, kind, idx in [(0, 0, (3, 7)), (1, 0, (10, 20)), (2, 0, (49, 9)), (2, 1, (4,)), (0, 1, (0,))]:
        grad = (params[layer][kind][idx] - after[2 * layer + kind][idx]) / lr
        plus = [[a.copy() for a in wb] for wb in p64]
        minus = [[a.copy() for a in wb] for wb in p64]
        plus[layer][kind][idx] += eps
        minus[layer][kind][idx] -= eps
        fd = (_loss64(plus, x, y) - _loss64(minus, x, y)) / (2 * eps)
        assert grad == pytest.approx(fd, rel=2e-3, abs=2e-6), (layer, kind, idx)


@pytest.mark.parametrize("model", ["chapter", "wide"])
def test_nnplug_and_floor_train_identically(model):
    spec = MODELS[model]
    x, y = synthetic_data(spec.batch * 2, seed=2)
    nn, floor = NnplugMLP(spec, "numpy"), ArrayFloorMLP(spec, np)
    for m in (nn, floor):
        for i in range(3):
            m.step(x[i % 2 * spec.batch:][:spec.batch], y[i % 2 * spec.batch:][:spec.batch])
    for a, b in zip(nn.weights(), floor.weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert nn.loss_value(x, y) == pytest.approx(floor.loss_value(x, y), rel=1e-5)


def test_op_benchmarks_compute_the_op():
    mm = bench_ops.MatMul()
    mm.setup("numpy", 64)
    mm.time_matmul("numpy", 64)
    a, b, out = (mm.sess.variable_value(v) for v in mm.variables)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)

    xe = bench_ops.SoftmaxCrossEntropy()
    xe.setup("numpy", "64x10")
    xe.time_forward_backward("numpy", "64x10")
    logits, labels, loss, grad = (xe.sess.variable_value(v) for v in xe.variables)
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert float(loss) == pytest.approx(np.mean(-np.sum(labels * np.log(p), axis=1)), rel=1e-5)
    np.testing.assert_allclose(grad, (p - labels) / len(z), rtol=1e-4, atol=1e-7)


def test_compare_quick_writes_table_chart_and_json(tmp_path, capsys):
    out_json, out_png = tmp_path / "cmp.json", tmp_path / "cmp.png"
    assert compare.main(["--quick", "--no-progress", "--no-jax", "--no-tf", "--json", str(out_json),
                         "--png", str(out_png)]) == 0
    printed = capsys.readouterr().out
    assert "| chapter | nnplug[numpy] |" in printed and "| wide | numpy loop (floor) |" in printed
    assert out_png.stat().st_size > 1000 and out_png.read_bytes()[:4] == b"\x89PNG"
    data = json.loads(out_json.read_text())
    steps = {(r["model"], r["contender"]): r for r in data["steps"]}
    for model in ("chapter", "wide"):
        assert steps[(model, "nnplug[numpy]")]["steps_per_s"] > 0
        assert steps[(model, "numpy loop (floor)")]["vs_floor"] == pytest.approx(1.0)
    epoch = {r["contender"]: r for r in data["epoch"]}
    assert epoch["numpy loop (floor)"]["steps"] == 32  # --quick: 2000 rows in batches of 64
    assert epoch["nnplug[numpy]"]["peak_traced_bytes"] > 0


def test_rounds_are_merged_into_medians_per_contender():
    rows = [dict(model="chapter", contender="c", kind="nnplug", steps_per_s=v, epoch_s=None) for v in (10.0, 30.0, 20.0)]
    merged = compare.merge_rounds(rows)
    assert merged["steps_per_s"] == 20.0 and merged["steps_per_s_rounds"] == [10.0, 30.0, 20.0]
    assert merged["epoch_s"] is None and "epoch_s_rounds" not in merged
