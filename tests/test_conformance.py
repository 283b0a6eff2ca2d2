"""The shipped backend conformance suite (nnplug.testing.conformance), run on every available backend,
and the one-command entry point a backend author uses."""
import subprocess
import sys

from nnplug.testing.conformance import *  # noqa: F401,F403 - the suite's test functions


def test_command_line_runs_the_suite_on_one_backend(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nnplug.testing", "numpy", "-q", "-k", "test_unary and Neg"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and " failed" not in done.stdout


def test_command_line_names_an_unknown_backend(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nnplug.testing", "nosuch"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "nosuch" in done.stderr and "numpy" in done.stderr
