"""`tf.train.write_graph`: a Graph or GraphDef written to `logdir/name` whole or not at all, as nnplug's
JSON GraphDef (indented when `as_text`); `GraphDef().ParseFromString(open(path, 'rb').read())` reads
either form back."""
from __future__ import annotations

import os

from .files import atomic_write
from .graph import Graph
from .graph_def import GraphDef, _dumps, as_graph_def
from ._types import StrPath


def write_graph(graph_or_graph_def: Graph | GraphDef, logdir: StrPath, name: StrPath, as_text: bool = True) -> str:
    """Write the graph; returns the file's path. The folder is made if missing."""
    if isinstance(graph_or_graph_def, Graph):
        graph_or_graph_def = as_graph_def(graph_or_graph_def)
    if not isinstance(graph_or_graph_def, GraphDef):
        raise TypeError(f"write_graph needs a Graph or a GraphDef, got {type(graph_or_graph_def).__name__}")
    path = os.path.join(os.fspath(logdir), os.fspath(name))
    data = _dumps(graph_or_graph_def, indent=1 if as_text else None)
    atomic_write(path, lambda f: f.write(data))
    return path
