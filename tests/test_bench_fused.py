"""The fused-kernel benchmarks run and report what they claim: benchmarks/optimizer_step.py (one optimizer
step, fused vs expanded) and benchmarks/keras_fit.py (Keras fit vs the Session loops), on tiny sizes."""
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import keras_fit, optimizer_step  # noqa: E402


def test_optimizer_step_times_both_forms_of_every_update(capsys):
    pytest.importorskip("numba", reason="the fused update kernels need numba (the 'fast' extra)")
    assert optimizer_step.main(["--model", "chapter", "--rounds", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [r[1] for r in rows] == list(optimizer_step.OPTIMIZERS)
    for r in rows:
        fused, expanded, speedup = float(r[2]), float(r[3]), float(r[4].rstrip("x"))
        assert fused > 0 and expanded > 0 and speedup == pytest.approx(expanded / fused, rel=0.02)


def test_keras_fit_measures_fit_and_the_loops_before_and_after(tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert keras_fit.main(["--rows", "128", "--epochs", "1", "--rounds", "1", "--shuffle", "no", "--fused", "both",
                           "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {(r["contender"], r["fused_kernels"]) for r in rows} == \
        {(c, f) for c in ("fit", "keras loop", "tf1 loop", "numpy floor") for f in (False, True)}
    assert all(r["steps_per_s"] > 0 and len(r["times_s"]) == 1 for r in rows)
    table = capsys.readouterr().out
    assert "keras loop" in table and "fit vs it" in table
