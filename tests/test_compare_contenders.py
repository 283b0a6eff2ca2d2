"""compare.py's contenders do the same arithmetic (the loss after a pass from the same weights matches the
hand-written NumPy floor's), get the same thread settings, and the run reports its physical limit and any
load on the machine. JAX and TensorFlow are optional (`pip install -e ".[bench]"`): skipped when absent."""
import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import compare, contenders  # noqa: E402
from benchmarks.common import MODELS  # noqa: E402

CHECK = argparse.Namespace(seed=0, pool=8, threads=1)  # 8 steps of the chapter MLP, one thread each


def _needs(module):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed")


@pytest.fixture(scope="module")
def floor_loss():
    return compare.run_isolated(dict(mode="loss", model="chapter", kind="floor", arg="numpy"), CHECK)


@pytest.mark.parametrize("kind,arg", [
    ("nnplug", "numpy"),
    pytest.param("jax", "jit", marks=_needs("jax")),
    pytest.param("jax", "scan", marks=_needs("jax")),
    pytest.param("tf", "v1", marks=_needs("tensorflow")),
    pytest.param("tf", "keras", marks=_needs("tensorflow")),
])
def test_each_contender_trains_as_the_floor_does(floor_loss, kind, arg):
    row = compare.run_isolated(dict(mode="loss", model="chapter", kind=kind, arg=arg), CHECK)
    moved = floor_loss["loss_before"] - floor_loss["loss"]
    assert moved > 0.01  # 8 steps of lr 0.01 / momentum 0.9 move the loss enough to tell rules apart
    assert row["steps"] == 8
    assert row["worker_cpus"] == (1 if compare.worker_cpus(1) else len(compare._allowed_cpus()))  # --threads 1
    assert row["loss_before"] == pytest.approx(floor_loss["loss_before"], rel=1e-6)
    # float32 agreement to a thousandth of what training moved (lr 0.009 or no momentum would be off by > 5 %)
    assert abs(row["loss"] - floor_loss["loss"]) <= 1e-3 * moved, (row, floor_loss)


def test_the_loss_check_names_the_models_it_covers():
    with pytest.raises(ValueError, match="covers the MLPs, not the cnn model"):
        compare.measure_loss("floor", "numpy", compare.ALL_MODELS["cnn"], CHECK)


def test_every_library_gets_the_same_thread_count():
    env = compare.thread_settings(3)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                 "TF_NUM_INTEROP_THREADS", contenders.THREADS_ENV):
        assert env[name] == "3"
    assert "--xla_cpu_multi_thread_eigen=true" in env["XLA_FLAGS"] and "intra_op_parallelism_threads=3" in env["XLA_FLAGS"]
    assert "--xla_cpu_multi_thread_eigen=false" in contenders.xla_flags(1)
    assert contenders.xla_flags(2, "--xla_dump_to=/tmp/x").startswith("--xla_dump_to=/tmp/x ")
    assert compare.thread_settings(0) == {}  # 0: each library's own default
    cpus = compare._allowed_cpus()
    if len(cpus) > 1:  # fewer threads than cores: the worker is held to that many (XLA sizes its pool so)
        assert compare.worker_cpus(1) == cpus[:1]
    assert compare.worker_cpus(len(cpus)) is None and compare.worker_cpus(0) is None


def test_flops_per_step_counts_the_training_gemms():
    # chapter 784-50-50-10, batch 64: layer 1 forward + kernel gradient, layers 2-3 also the input gradient
    want = 2 * (2 * 64 * 784 * 50) + 3 * (2 * 64 * 50 * 50) + 3 * (2 * 64 * 50 * 10)
    assert compare.flops_per_step(MODELS["chapter"]) == want == 11_187_200
    assert compare.flops_per_step(compare.ALL_MODELS["cnn"]) is None


def test_ratios_are_medians_of_same_round_ratios():
    row = dict(steps_per_s=20.0, steps_per_s_rounds=[10.0, 30.0, 20.0])
    ref = dict(steps_per_s=10.0, steps_per_s_rounds=[10.0, 10.0, 40.0])
    assert compare.speedup(row, ref, "steps_per_s") == 1.0  # rounds: 1, 3, 0.5 (the medians' ratio would be 2)
    assert compare.speedup(ref, row, "steps_per_s", higher_is_better=False) == 1.0
    assert compare.speedup(dict(epoch_s=2.0), dict(epoch_s=3.0), "epoch_s", higher_is_better=False) == 1.5
    assert compare.speedup(row, dict(steps_per_s=5.0, steps_per_s_rounds=[5.0]), "steps_per_s") == 4.0


def test_load_warning_names_the_load_only_when_busy(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.2, 0.1))
    assert compare.load_warning("at the start", 2) is None
    monkeypatch.setattr(os, "getloadavg", lambda: (1.75, 0.2, 0.1))
    assert "busy at the start: load average 1.75" in compare.load_warning("at the start", 2)


def test_a_run_prints_its_limit_and_warns_of_load(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (2.5, 2.0, 1.0))  # the main process judges the load
    out = tmp_path / "cmp.json"
    assert compare.main(["--quick", "--models", "chapter", "--backends", "numpy", "--no-torch", "--no-jax",
                         "--no-tf", "--no-epoch", "--no-png", "--no-progress", "--threads", "1", "--rounds", "2",
                         "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    peak = max(p["gflops"] for p in data["sgemm_peak"])
    assert len(data["sgemm_peak"]) == 2 and peak > 0  # one peak measurement per round
    limit = data["limits"]["chapter"]
    assert limit["flops_per_step"] == 11_187_200 and limit["steps_per_s"] == pytest.approx(peak * 1e9 / 11_187_200)
    assert f"chapter limit: {limit['steps_per_s']:.0f} steps/s at {peak:.0f} GFLOP/s" in printed
    assert data["environment"]["thread_settings"]["OPENBLAS_NUM_THREADS"] == "1"
    assert [w.split(":")[1] for w in data["environment"]["load_warnings"]] == [
        " the machine is busy at the start", " the machine is busy before round 2"]
    assert "load average 2.50" in printed
    rows = {r["contender"]: r for r in data["steps"]}
    floor = rows["numpy loop (floor)"]
    assert floor["of_limit"] == pytest.approx(floor["steps_per_s"] / limit["steps_per_s"])
    assert compare.main(["--table-from", str(out)]) == 0  # the same tables again, from the JSON alone
    again = capsys.readouterr().out
    assert "| chapter | numpy loop (floor) |" in again and f"chapter limit: {limit['steps_per_s']:.0f}" in again
