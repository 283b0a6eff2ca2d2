"""The wheel a user installs: it carries the licence, py.typed and the right metadata; the version is
written once (pyproject.toml) and read back at run time, with a fallback for an uninstalled tree."""
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nnplug

REPO = Path(__file__).resolve().parents[1]


def pyproject_version():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel from a copy of the tree (the build leaves build/ and *.egg-info behind)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", ".asv", "build", "dist", "*.egg-info",
                                                             "__pycache__", ".hypothesis", ".pytest_cache", "_build"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (path,) = (tmp / "dist").glob("nnplug-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_ships_license_py_typed_and_spdx_metadata(wheel):
    version = pyproject_version()
    names = wheel.namelist()
    info = f"nnplug-{version}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    assert wheel.read(f"{info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
    assert "nnplug/py.typed" in names
    metadata = wheel.read(f"{info}/METADATA").decode()
    assert re.search(r"^License-Expression: MIT$", metadata, re.MULTILINE)
    assert re.search(rf"^Version: {re.escape(version)}$", metadata, re.MULTILINE)
    assert "nnplug_numpy/__init__.py" in names  # the built-in backends ship with the core
    assert "nnplug/datasets/cifar10.py" in names and "nnplug/keras/datasets/mnist.py" in names


def test_license_is_mit_for_the_nnplug_developers():
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 nnplug developers" in text


def test_version_is_read_back_from_the_one_place_it_is_written():
    assert nnplug.__version__ == pyproject_version()


@pytest.mark.parametrize("pyproject, expected", [
    ('[project]\nname = "nnplug"\nversion = "9.8.7"\n\n[tool.other]\nversion = "1.0"\n', "9.8.7"),
    (None, "0+unknown"),
])
def test_uninstalled_source_tree_falls_back_to_its_pyproject(tmp_path, pyproject, expected):
    (tmp_path / "nnplug").mkdir()
    shutil.copy(REPO / "nnplug" / "_version.py", tmp_path / "nnplug" / "_version.py")
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('v', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); print(m.__version__)")
    # -I -S: no site-packages, so no installed nnplug distribution to read metadata from
    r = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(tmp_path / "nnplug" / "_version.py")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expected
