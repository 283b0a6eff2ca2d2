"""The `nnplug` command, run as a user runs it (a subprocess: `python -m nnplug`, and the console script
when installed), checked against what this interpreter itself reports (versions, BLAS threads)."""
import json
import os
import platform
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import nnplug
from nnplug import cli

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "backends"),
                                                   os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
ENV.pop("NNPLUG_BACKEND", None)  # the default selection is checked
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(*args, command=(sys.executable, "-m", "nnplug"), **env):
    r = subprocess.run([*command, *args], env=dict(ENV, **env), capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_info_reports_versions_backends_and_blas_threads():
    code, out, err = run("info", "--json", **ONE_THREAD)
    assert code == 0, err
    info = json.loads(out)
    assert info["nnplug"]["version"] == nnplug.__version__
    assert Path(info["nnplug"]["path"]) == Path(nnplug.__file__).parent
    assert info["python"]["version"] == platform.python_version()
    assert info["numpy"]["version"] == np.__version__
    names = {row["name"]: row for row in info["backends"]}
    assert names["numpy"]["available"] and names["numpy"]["devices"] == ["cpu"]
    assert info["selected_backend"] == "numpy"
    threadpoolctl = pytest.importorskip("threadpoolctl")
    # the CLI process loads what nnplug loads; this test process may hold more (scipy's own OpenBLAS, when an
    # earlier test imported scipy): each library the CLI reports is one loaded here too
    here = {p["filepath"]: p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"}
    reported = [p for p in info["threadpools"] if p["user_api"] == "blas"]
    assert reported and all(p["internal_api"] == here[p["filepath"]]["internal_api"] for p in reported)
    assert all(p["num_threads"] == 1 for p in reported)  # the environment's limit, as the library reports it


def test_info_text_names_each_part():
    code, out, err = run("info", **ONE_THREAD)
    assert code == 0, err
    assert out.startswith(f"nnplug  {nnplug.__version__}")
    assert f"python  {platform.python_version()}" in out and f"numpy   {np.__version__}" in out
    assert "numpy (aliases: cpu, np)" in out and "selected: numpy" in out
    blas = [line for line in out.splitlines() if line.startswith("BLAS")]
    assert len(blas) == 1 and (": 1 thread" in blas[0] or "none found" in blas[0])


def test_module_and_console_script_give_the_same_backends_listing():
    code, out, err = run("backends")
    assert code == 0, err
    assert "numpy (aliases: cpu, np)" in out and "status:  available" in out
    script = shutil.which("nnplug", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the nnplug console script is not installed next to this interpreter (pip install -e .)")
    assert run("backends", command=(script,))[1] == out


def test_every_option_has_help_and_bad_use_is_refused():
    code, out, _ = run("--help")
    assert code == 0 and "backends" in out and "info" in out and "--version" in out
    code, out, _ = run("info", "--help")
    assert code == 0 and "--json      print the report as JSON" in out
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"nnplug {nnplug.__version__}"
    code, _, err = run("frobnicate")
    assert code == 2 and "invalid choice: 'frobnicate'" in err
    parser = cli.build_parser()
    for action in parser._actions + [a for sp in parser._subparsers._group_actions for p in sp.choices.values()
                                     for a in p._actions]:
        assert action.help, f"option {action.option_strings or action.dest} has no help"


def test_launch_subcommand_is_registered_when_installed(monkeypatch, capsys):
    """`nnplug.distributed.launch.add_parser(subparsers)` adds `nnplug launch` when that module exists."""
    launch = types.ModuleType("nnplug.distributed.launch")

    def add_parser(subparsers):
        p = subparsers.add_parser("launch", help="start workers")
        p.add_argument("-n", type=int, default=1, help="how many")
        p.set_defaults(fn=lambda args: print(f"launching {args.n}") or 0)

    launch.add_parser = add_parser
    package = types.ModuleType("nnplug.distributed")
    package.launch = launch
    monkeypatch.setitem(sys.modules, "nnplug.distributed", package)
    monkeypatch.setitem(sys.modules, "nnplug.distributed.launch", launch)
    assert cli.main(["launch", "-n", "3"]) == 0
    assert capsys.readouterr().out == "launching 3\n"
    monkeypatch.setitem(sys.modules, "nnplug.distributed", None)  # not installed: no launch, the rest works
    with pytest.raises(SystemExit):
        cli.main(["launch"])
    assert "invalid choice: 'launch'" in capsys.readouterr().err
    assert cli.main(["backends"]) == 0
