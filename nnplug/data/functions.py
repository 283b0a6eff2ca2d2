"""Functions passed to Dataset.map and Dataset.filter, traced as TF1 traces them: called once with
placeholders shaped like the dataset's components, in a graph of their own; each element then runs that
graph on the host, in a private Session on the numpy backend."""
import threading

import numpy as np

from .. import graph as _graph
from ..graph import Graph, convert_to_tensor
from ..ops.array_ops import placeholder
from ..session import Session
from . import structure as _st


class TracedFunction:
    """A dataset function as a graph: call it with an element's flat arrays, get the result's."""

    def __init__(self, fn, dataset, what):
        self.graph = Graph()
        self.what = what
        with self.graph.as_default():
            self.inputs = [placeholder(t, s, name=f"arg{i}")
                           for i, (t, s) in enumerate(zip(dataset._types, dataset._shapes))]
            args = _st.pack(dataset._structure, self.inputs)
            out = fn(*args) if isinstance(args, tuple) and not hasattr(args, "_fields") else fn(args)
            out = _tuples(out)
            self.outputs = [_as_tensor(x, what, i) for i, x in enumerate(_st.flatten(out))]
        if self.graph.get_collection(_graph.GraphKeys.GLOBAL_VARIABLES):
            raise ValueError(f"the function passed to Dataset.{what} creates variables; dataset functions "
                             f"are stateless (compute from the element, or feed values in as constants)")
        self.structure = _st.template(out)
        self.types = tuple(t.dtype for t in self.outputs)
        self.shapes = tuple(t.shape for t in self.outputs)
        self._session = None
        self._lock = threading.Lock()

    def __call__(self, element):
        with self._lock:
            if self._session is None:
                self._session = Session(graph=self.graph, backend="numpy")
            values = self._session.run(self.outputs, dict(zip(self.inputs, element)))
        return tuple(np.asarray(v, t.np) for v, t in zip(values, self.types))


def trace(fn, dataset, what):
    if not callable(fn):
        raise TypeError(f"Dataset.{what} takes a function, got {type(fn).__name__}")
    return TracedFunction(fn, dataset, what)


def _tuples(value):
    """TF turns a list returned by a dataset function into a tuple."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_tuples(v) for v in value)
    return value


def _as_tensor(x, what, index):
    try:
        return convert_to_tensor(x)
    except TypeError as e:
        raise TypeError(f"the function passed to Dataset.{what} returned {x!r:.60} as component {index}, "
                        f"which is not a tensor: {e}") from None
