"""TF1's tf.summary.FileWriter: TensorBoard event files written by TensorBoard's own EventFileWriter,
holding the summaries that Session.run gives, the graph, and (for Keras' TensorBoard callback) plain
scalars and histograms of NumPy values."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _tensorboard
from .graph_def import graph_def as _graph_def
from .histogram import histogram_proto
from .ops import _parse
from .._types import StrPath
from ..graph import Graph


class FileWriter:
    """Writes an event file in `logdir` (made if missing). With `graph`, the graph is written first.

        writer = tf.summary.FileWriter("logs/run1", sess.graph)
        writer.add_summary(sess.run(merged), step)
        writer.add_scalars(step, {"loss": 0.25})   # values computed outside the graph
    """

    def __init__(self, logdir: StrPath, graph: Graph | None = None, max_queue: int = 10, flush_secs: int = 120,
                 graph_def: Any = None, filename_suffix: str | None = None, session: Any = None) -> None:
        self._logdir = _writable_dir(logdir)
        event_file_writer = _tensorboard.module("summary.writer.event_file_writer")
        self._event_pb2 = _tensorboard.proto("event_pb2")
        self._summary_pb2 = _tensorboard.proto("summary_pb2")
        self._writer = event_file_writer.EventFileWriter(self._logdir, max_queue, flush_secs, filename_suffix or "")
        self._closed = False
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, event: Any) -> None:
        if self._closed:
            raise RuntimeError(f"the FileWriter of '{self._logdir}' is closed")
        self._writer.add_event(event)

    def add_summary(self, summary: Any, global_step: int | None = None) -> None:
        """`summary`: the bytes a summary op gives (sess.run(merged)), or a Summary protobuf."""
        if not isinstance(summary, self._summary_pb2.Summary):
            summary = _parse(self._summary_pb2, summary, "the summary given to FileWriter.add_summary")
        self.add_event(self._event(global_step, summary=summary))

    def add_graph(self, graph: Graph | None, global_step: int | None = None, graph_def: Any = None) -> None:
        """The graph for TensorBoard's graph dashboard (an nnplug Graph, or a GraphDef)."""
        if graph_def is None:
            if graph is None:
                raise ValueError("add_graph needs a graph or a graph_def")
            graph_def = _graph_def(graph)
        else:
            graph_def = _tensorboard_graph_def(graph_def)
        self.add_event(self._event(global_step, graph_def=graph_def.SerializeToString()))

    def add_run_metadata(self, run_metadata: Any, tag: str, global_step: int | None = None) -> None:
        """TF1's record of a traced step under `tag` (`run_metadata`: a tf.RunMetadata, or its bytes)."""
        data = run_metadata if isinstance(run_metadata, bytes) else run_metadata.SerializeToString()
        tagged = self._event_pb2.TaggedRunMetadata(tag=str(tag), run_metadata=data)
        self.add_event(self._event(global_step, tagged_run_metadata=tagged))

    def add_scalars(self, step: int, values: Mapping[str, float]) -> None:
        """One event at `step` with a scalar per tag: {"loss": 0.25, "val/accuracy": 0.9}."""
        value = self._summary_pb2.Summary.Value
        self.add_summary(self._summary_pb2.Summary(value=[value(tag=tag, simple_value=float(v))
                                                          for tag, v in values.items()]), step)

    def add_histograms(self, step: int, values: Mapping[str, Any]) -> None:
        """One event at `step` with TF1's histogram per tag: {"dense/kernel": weights}."""
        value = self._summary_pb2.Summary.Value
        self.add_summary(self._summary_pb2.Summary(value=[value(tag=tag, histo=histogram_proto(np.asarray(v)))
                                                          for tag, v in values.items()]), step)

    def flush(self) -> None:
        if not self._closed:
            self._writer.flush()

    def close(self) -> None:
        if not self._closed:
            self._writer.close()
            self._closed = True

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _event(self, step, **fields):
        return self._event_pb2.Event(wall_time=time.time(), step=int(step or 0), **fields)


def _writable_dir(logdir):
    """`logdir` made if missing, or an error naming it (nothing is written then)."""
    path = os.fspath(logdir)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f"cannot write TensorBoard events to logdir '{path}': {e.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write TensorBoard events to logdir '{path}': permission denied")
    return path


class FileWriterCache:
    """One FileWriter per logdir, shared (TF1's tf.summary.FileWriterCache)."""

    @staticmethod
    def get(logdir: StrPath) -> FileWriter:
        with _cache_lock:
            writer = _cache.get(logdir)
            if writer is None or writer._closed:
                writer = _cache[logdir] = FileWriter(logdir)
            return writer

    @staticmethod
    def clear() -> None:
        with _cache_lock:
            for writer in _cache.values():
                writer.close()
            _cache.clear()


_cache = {}  # logdir -> FileWriter (FileWriterCache)
_cache_lock = threading.Lock()


def _tensorboard_graph_def(graph_def):
    """An nnplug GraphDef (`sess.graph_def`) is nnplug's own serialisation: TensorBoard reads TF's protobuf,
    so it is imported into a fresh graph and written from there; a protobuf GraphDef passes as it is."""
    from ..graph import Graph
    from ..graph_def import GraphDef
    from ..importer import import_graph_def
    if not isinstance(graph_def, GraphDef):
        return graph_def
    graph = Graph()
    with graph.as_default():
        import_graph_def(graph_def, name="")
    return _graph_def(graph)
