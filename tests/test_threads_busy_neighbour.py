"""benchmarks/busy_neighbour.py: its neighbour really spins (in a session of its own) only while asked, and a
tiny run reports busy/quiet ratios computed from the epochs it timed."""
import json
import os
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import busy_neighbour  # noqa: E402


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_the_neighbour_spins_in_its_own_session_and_stops():
    with busy_neighbour.Neighbour(settle=0.3) as n:
        pid = n.proc.pid
        assert n.proc.is_alive()
        assert os.getsid(pid) == pid != os.getsid(0)  # its own session: its own autogroup
        start = _cpu_seconds(pid)
        time.sleep(0.5)
        assert _cpu_seconds(pid) - start > 0.05  # it runs (even on a crowded machine) instead of sleeping
    assert not n.proc.is_alive()


def test_a_tiny_run_reports_ratios_of_its_own_epochs(tmp_path, capsys):
    out = tmp_path / "busy.json"
    assert busy_neighbour.main(["--rounds", "2", "--rows", "640", "--settle", "0.05", "--policies", "auto", "1",
                                "--data", str(tmp_path / "no-mnist"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "synthetic rows" in printed and "9 steps per epoch" in printed  # 576 training rows, batch 64
    data = json.loads(out.read_text())
    assert [r["policy"] for r in data["results"]] == ["auto", "1"]
    for r in data["results"]:
        assert len(r["rounds"]) == 2
        quiet = sorted(x["quiet_s"] for x in r["rounds"])
        busy = sorted(x["busy_s"] for x in r["rounds"])
        assert r["ratio"] == pytest.approx(((busy[0] + busy[1]) / 2) / ((quiet[0] + quiet[1]) / 2))
        assert f"| {r['policy']} | {r['quiet_s']:.3f} | {r['busy_s']:.3f} | **{r['ratio']:.2f}x**" in printed
    forced = data["results"][1]
    assert forced["blas_switches"] <= 1  # NNPLUG_BLAS_THREADS=1: set once, never switched
