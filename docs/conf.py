"""Sphinx configuration: the API reference, built from the docstrings with autodoc.

Build it with `pip install -e ".[docs]"` and `sphinx-build -W -b html docs build/docs` (build/ is ignored by git).
"""
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "backends")]  # document this tree, installed or not

project = "nnplug"
author = "nnplug developers"
copyright = "2026, nnplug developers"  # noqa: A001 - Sphinx's name
try:
    release = metadata.version("nnplug")
except metadata.PackageNotFoundError:
    release = "unknown"
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "*.md"]  # design.md and plugins.md are read on GitHub, not built here
root_doc = "index"
html_theme = "alabaster"

# The docstrings are short prose that quotes code in `single backticks` (Markdown style): in
# reStructuredText that is the default role, here made a cross-reference that falls back to code.
default_role = "py:obj"
nitpicky = False
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_preserve_defaults = True
# Names re-exported in several modules (nnplug.float32 is nnplug.dtypes.float32) are documented more than
# once; that is the point of a per-module reference.
suppress_warnings = ["ref.python", "autodoc.import_object"]


# The docstrings are plain text (maths such as |x| and f(*args) included), not reStructuredText: outside
# `code`, a "|" is a literal bar rather than a substitution, and a "*" that opens no emphasis is a literal
# star. Everything else is left to reStructuredText, so genuine markup mistakes still fail the -W build.
_CODE = re.compile(r"(``.*?``|`[^`]*`)")
_LONE_STAR = re.compile(r"(?<![\w*\\])\*(?=[\w(])(?![^*]*\*(?!\w))")


def _plain_text(line):
    parts = _CODE.split(line)
    for i in range(0, len(parts), 2):  # even parts are outside backticks
        parts[i] = _LONE_STAR.sub(r"\\*", parts[i].replace("|", r"\|"))
    return "".join(parts)


def _escape_docstring(app, what, name, obj, options, lines):
    lines[:] = [_plain_text(line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _escape_docstring)
