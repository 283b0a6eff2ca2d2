"""nnplug's version, written once (pyproject.toml's `version`) and read back at run time: from the
installed distribution's metadata, or, in a source tree that was never installed, from pyproject.toml."""
import re
from importlib import metadata
from pathlib import Path

_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _from_source_tree():
    try:
        text = _PYPROJECT.read_text(encoding="utf-8")
    except OSError:
        return None
    project = text.partition("[project]")[2].partition("\n[")[0]  # the [project] table only
    match = re.search(r'^version\s*=\s*"([^"]+)"', project, re.MULTILINE)
    return match.group(1) if match else None


def version():
    """The installed nnplug's version; else the source tree's; else "0+unknown"."""
    try:
        return metadata.version("nnplug")
    except metadata.PackageNotFoundError:
        return _from_source_tree() or "0+unknown"


__version__ = version()
