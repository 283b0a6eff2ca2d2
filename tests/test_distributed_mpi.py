"""nnplug.distributed with real ranks: each test starts `mpiexec -n N python tests/distributed/<script>.py`
in a subprocess with a timeout and reads its exit status and output.

- N ranks training on 1/N of each batch with DistributedOptimizer end where one process training on the
  whole batch ends (GradientDescent, Momentum, Adam; 3 ranks with uneven shards), the allreduce
  overlapped with the backward pass ends where the blocking one does, broadcasts make
  differently seeded ranks equal, Keras fit ranks agree (tests/distributed/agreement.py);
- a rank that raises, exits or stalls ends the job, non-zero and within seconds, naming the rank
  (tests/distributed/failure.py); ranks on different backends stop at init with both named;
- the scaling benchmark (benchmarks/distributed.py) runs and reports every phase.
Skipped, with the reason, where mpi4py or mpiexec is missing.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnplug.distributed import launch

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "tests" / "distributed"
LIMIT = 120  # seconds for one job; a hang fails the test instead of stalling CI


def _mpiexec():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip('mpi4py is not installed (pip install -e ".[mpi]")')
    try:
        return launch.find_mpiexec()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def _env(**extra):
    path = os.pathsep.join([str(REPO), str(REPO / "backends"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "NNPLUG_COLLECTIVE_TIMEOUT": "60", **extra}


def _run(cmd, **env):
    start = time.monotonic()
    try:
        out = subprocess.run(cmd, cwd=REPO, env=_env(**env), capture_output=True, text=True, timeout=LIMIT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} still ran after {LIMIT} s: a rank hangs\n{e.stdout}\n{e.stderr}")
    return out.returncode, out.stdout + out.stderr, time.monotonic() - start


def _mpi(n, script, *args, **env):
    return _run([_mpiexec(), "-n", str(n), sys.executable, str(SCRIPTS / script), *args], **env)


def _passed(output, case, n):
    """Every rank printed `PASS <case> rank <r>` (mpiexec interleaves the ranks' lines, so unanchored)."""
    return sorted(int(r) for r in re.findall(rf"PASS {re.escape(case)} rank (\d+)\b", output)) == list(range(n))


def test_two_ranks_match_one_process_and_agree():
    rc, out, _ = _mpi(2, "agreement.py")
    assert rc == 0, out[-6000:]
    for case in ("GradientDescent", "Momentum", "Adam", "GradientDescent uneven", "Momentum uneven", "Adam uneven",
                 "fusion", "progress", "shared memory room", "overlap GradientDescent", "overlap Momentum",
                 "overlap Adam", "numpy collectives", "graph gradients", "shared results", "broadcast", "keras fit",
                 "keras warmup", "mismatched shapes"):
        assert _passed(out, case, 2), f"case {case!r} did not pass on both ranks:\n{out[-6000:]}"
    for case in ("backend mismatch", "arrayapi backend"):  # need the arrayapi plugin
        assert _passed(out, case, 2) or "SKIP" in out, out[-6000:]


def test_three_ranks_with_uneven_shards():
    rc, out, _ = _mpi(3, "agreement.py", "uneven", "optimizers", "overlap", "keras", "mismatch", "gradients", "shared")
    assert rc == 0, out[-6000:]
    for case in ("GradientDescent uneven", "Momentum uneven", "Adam uneven", "Adam", "overlap GradientDescent",
                 "overlap Momentum", "overlap Adam", "keras fit", "mismatched shapes", "graph gradients",
                 "shared results"):
        assert _passed(out, case, 3), f"case {case!r} did not pass on all three ranks:\n{out[-6000:]}"


@pytest.mark.parametrize("n", [2, 3])
def test_ranks_agree_on_nccl_and_share_its_unique_id(n):
    """The NCCL setup protocol with a stand-in for CuPy's binding (runs without a GPU)."""
    rc, out, _ = _mpi(n, "nccl_setup.py")
    assert rc == 0, out[-6000:]
    for case in ("nccl own gpus", "nccl shared gpu", "nccl missing library", "nccl duplicates"):
        assert _passed(out, case, n), f"case {case!r} did not pass on every rank:\n{out[-6000:]}"


def test_two_ranks_train_on_the_cupy_backend():
    """On a GPU machine: NCCL where each rank has a GPU, the host kernels where they share one."""
    from nnplug import plugins
    cls = plugins.backend_classes().get("cupy", (None,))[0]
    ok, why = (False, "the cupy backend plugin is not installed") if cls is None else cls.is_available()
    if not ok:
        pytest.skip(f"cupy backend unavailable: {why}")
    rc, out, _ = _mpi(2, "nccl_setup.py", "gpu")
    assert rc == 0, out[-6000:]
    assert _passed(out, "nccl gpu training", 2), out[-6000:]
    said = re.findall(r"NCCL rank \d: (.*)", out)
    print(said)
    assert len(said) == 2 and len(set(said)) == 1, said  # the ranks agree on the path
    from nnplug_cupy.device import device_count
    if device_count()[0] < 2:  # NCCL refuses two ranks on one GPU: both stay on MPI, saying so
        assert said[0].startswith("not used (rank 0: local ranks 0 and 1 share the GPU") or "NCCL" in said[0], said


RAISED = r"nnplug.distributed: rank 1 of 2 failed with RuntimeError: rank 1 fails on purpose; aborting all 2"
TIMED_OUT = r"timed out after 2 s on rank 0 of 2 \(collective #\d+\): rank 1 did not arrive"


@pytest.mark.parametrize("mode,what,message", [
    ("raise", "allreduce", RAISED),
    ("exit", "allreduce", None),  # no Python cleanup runs; mpiexec reports the exit status and ends the job
    ("stall", "allreduce", r"allreduce 'doubled' " + TIMED_OUT),
    # the training step's bucket allreduces are posted during the backward pass and waited for at the updates
    ("raise", "training", RAISED),
    ("exit", "training", None),
    ("stall", "training", r"allreduce '\S*DistributedAllreduce/start_\d+' " + TIMED_OUT),
])
def test_a_failing_rank_ends_the_job_naming_it(mode, what, message):
    rc, out, seconds = _mpi(2, "failure.py", mode, what, NNPLUG_COLLECTIVE_TIMEOUT="2")
    assert rc != 0, out[-4000:]
    assert "was never stopped" not in out, out[-4000:]
    assert seconds < 30, f"the job took {seconds:.0f} s to end"
    if message:
        assert re.search(message, out), out[-4000:]


def test_ranks_on_different_backends_stop_at_init():
    from nnplug import plugins
    if not any(d["name"] == "arrayapi" and d["available"] for d in plugins.describe_backends()):
        pytest.skip("needs the arrayapi plugin as a second backend (pip install -e plugins/nnplug-arrayapi)")
    mpiexec = _mpiexec()
    setenv = (lambda k, v: ["-x", f"{k}={v}"]) if launch.is_open_mpi(mpiexec) else (lambda k, v: ["-env", k, v])
    rank = [sys.executable, str(SCRIPTS / "failure.py"), "raise"]
    cmd = [mpiexec, "-n", "1", *setenv("NNPLUG_BACKEND", "numpy"), *rank, ":",
           "-n", "1", *setenv("NNPLUG_BACKEND", "arrayapi"), *rank]
    rc, out, _ = _run(cmd)
    assert rc != 0, out[-4000:]
    assert "init: ranks disagree: rank 1 runs backend 'arrayapi' but rank 0 runs 'numpy'" in out, out[-4000:]
    assert "first step" not in out


def test_nnplug_launch_runs_a_script_on_two_ranks():
    _mpiexec()
    rc, out, _ = _run([sys.executable, "-m", "nnplug.distributed.launch", "-n", "2", "--collective-timeout", "30",
                       str(SCRIPTS / "agreement.py"), "numpy", "broadcast"])
    assert rc == 0, out[-4000:]
    assert _passed(out, "numpy collectives", 2) and _passed(out, "broadcast", 2), out[-4000:]


def test_distributed_mlp_example_trains_on_mnist():
    data = Path(os.environ.get("NNPLUG_DATA_DIR") or REPO.parent / "shared" / "data" / "mnist")
    if not data.is_dir():
        pytest.skip(f"no MNIST files at {data}")
    _mpiexec()
    rc, out, _ = _run([sys.executable, "-m", "nnplug.distributed.launch", "-n", "2", str(REPO / "examples" /
                       "distributed_mlp.py"), "--data", str(data), "--epochs", "2", "--train-rows", "12000",
                       "--lr", "0.01", "--verbose", "0"])
    assert rc == 0, out[-4000:]
    accuracy = re.search(r"^Test accuracy: ([\d.]+)%", out, re.M)
    assert accuracy and out.count("Test accuracy") == 1, out[-4000:]  # printed by rank 0 only
    assert float(accuracy.group(1)) > 80, out[-4000:]


def test_the_scaling_benchmark_runs_and_reports_every_phase(tmp_path):
    _mpiexec()
    out_json = tmp_path / "scaling.json"
    rc, out, _ = _run([sys.executable, str(REPO / "benchmarks" / "distributed.py"), "--model", "chapter",
                       "--batch", "8", "--rounds", "2", "--block", "2", "--warmup", "1", "--json", str(out_json)])
    assert rc == 0, out[-4000:]
    row = json.loads(out_json.read_text())[0]
    assert set(row["phases"]) == {"solo", "overlap", "blocking", "mpi", "ideal"}
    for phase, numbers in row["phases"].items():
        assert numbers["steps_per_s"] > 0 and len(numbers["efficiency_rounds"]) == 2, (phase, numbers)
        assert numbers["fused_buffers_per_step"] == (0 if phase in ("solo", "ideal") else 1), (phase, numbers)
    assert "of the ideal (allreduce-free) throughput" in out and "load average" in out
