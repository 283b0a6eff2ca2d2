"""Iterators over datasets, TF1 style: `get_next()` gives graph tensors that advance once per
Session.run that needs them, and `initializer` (re)starts an initializable iterator. Both are host ops;
the iterator's position belongs to the session that runs them (`state.resource`), so two sessions
read a dataset independently, each from its start. IteratorGetNext is a source op: its elements' shapes
are known only when it runs (a short last batch), so the Session runs it before the plan and feeds its
results, and the plan is specialised to their shapes."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import dtypes as _dt
from .. import errors as _errors
from ..errors import FailedPreconditionError, InvalidArgumentError, OpError
from ..graph import Operation, get_default_graph, make_op
from ..ops.registry import register
from ..shapes import TensorShape, compatible, fmt
from . import structure as _st
from .._types import Shape
from ..dtypes import DType

if TYPE_CHECKING:
    from .dataset import Dataset


class _OutOfRangeError(OpError):
    """An iterator read past its dataset's end (TF1's tf.errors.OutOfRangeError)."""


OutOfRangeError = getattr(_errors, "OutOfRangeError", None) or _OutOfRangeError  # nnplug.errors' once it has one


class Iterator(_st.ElementSpec):
    """TF1's tf.data.Iterator. Make one with `dataset.make_one_shot_iterator()`,
    `dataset.make_initializable_iterator()` or `Iterator.from_structure(types, shapes)`."""

    def __init__(self, structure: Any, types: Sequence[DType], shapes: Sequence[Shape | None], name: str,
                 dataset: Dataset | None = None) -> None:
        self.graph = get_default_graph()
        self.name = self.graph.unique_name(name)  # reserved, so errors and graphs name it as TF1 does
        self._set_spec(structure, types, shapes)
        self._one_shot = dataset
        self._initializer = None
        self._key = ("nnplug.data.Iterator", self)

    @staticmethod
    def one_shot(dataset: Dataset) -> Iterator:
        return Iterator(dataset._structure, dataset._types, dataset._shapes, "OneShotIterator", dataset)

    @staticmethod
    def from_structure(output_types: Any, output_shapes: Any = None, shared_name: str | None = None,
                       output_classes: Any = None) -> Iterator:
        """An iterator of this element structure, started on a dataset by `make_initializer(dataset)`."""
        flat_types = [_dt.as_dtype(t) for t in _st.flatten(output_types)]
        if output_shapes is None:
            flat_shapes = [TensorShape(None)] * len(flat_types)
        else:
            flat_shapes = [TensorShape(s) for s in flatten_shapes(output_types, output_shapes)]
        return Iterator(_st.template(output_types), flat_types, flat_shapes, "Iterator")

    def __repr__(self) -> str:
        return f"<nnplug.data.Iterator '{self.name}': {_st.describe(self._structure, self._types, self._shapes)}>"

    # -- graph ops ------------------------------------------------------------------------------
    @property
    def initializer(self) -> Operation:
        if self._initializer is None:
            how = "it starts on its first get_next" if self._one_shot is not None else \
                "use make_initializer(dataset)"
            raise ValueError(f"iterator '{self.name}' has no initializer: {how}")
        return self._initializer

    @initializer.setter
    def initializer(self, op: Operation) -> None:
        self._initializer = op

    def make_initializer(self, dataset: Dataset, name: str | None = None) -> Operation:
        """An op that (re)starts this iterator on `dataset`, whose elements must fit its structure."""
        if not hasattr(dataset, "one_pass"):  # a Dataset (dataset.py builds iterators, not the reverse)
            raise TypeError(f"make_initializer of iterator '{self.name}' takes a Dataset, got {type(dataset).__name__}")
        if self._one_shot is not None:
            raise ValueError(f"iterator '{self.name}' is a one-shot iterator and cannot be re-initialized")
        fits = (dataset._structure == self._structure and dataset._types == self._types
                and all(compatible(s, d) for s, d in zip(self._shapes, dataset._shapes)))
        if not fits:
            raise TypeError(f"cannot initialize iterator '{self.name}' of elements "
                            f"{_st.describe(self._structure, self._types, self._shapes)} on {dataset!r}")
        with self.graph.as_default():
            return make_op("MakeIterator", list(dataset._captures), {"iterator": self, "dataset": dataset},
                           name=name or "MakeIterator")

    def get_next(self, name: str | None = None) -> Any:
        """The next element as graph tensors (nested like the dataset's elements); each Session.run that
        needs them reads one element, and raises OutOfRangeError after the last."""
        with self.graph.as_default():
            op = make_op("IteratorGetNext", [], {"iterator": self}, name=name or "IteratorGetNext")
        return _st.pack(self._structure, op.outputs)

    # -- per-session position -------------------------------------------------------------------
    def _position(self, state):
        start = self._one_shot.one_pass() if self._one_shot is not None else None
        return state.resource(self._key, lambda: _Position(start))

    def _check(self, element, op_name):
        for i, (a, t, s) in enumerate(zip(element, self._types, self._shapes)):
            if a.dtype != t.np or not compatible(s, a.shape):
                raise InvalidArgumentError(f"iterator '{self.name}' (op '{op_name}') got component {i} of dtype "
                                           f"{a.dtype} and shape {fmt(a.shape)}, but its elements are "
                                           f"{_st.describe(self._structure, self._types, self._shapes)}")


class _Position:
    """Where one iterator stands in one session: the open pass over its dataset, or None before its
    initializer runs."""

    def __init__(self, elements=None):
        self.elements = elements
        self._lock = threading.Lock()

    def restart(self, elements):
        with self._lock:
            self.close()
            self.elements = elements

    def next(self, iterator, op_name):
        with self._lock:
            if self.elements is None:
                raise FailedPreconditionError(
                    f"GetNext() failed because iterator '{iterator.name}' has not been initialized: run its "
                    f"initializer (sess.run(iterator.initializer)) before op '{op_name}'")
            element = next(self.elements, None)
        if element is None:
            raise OutOfRangeError(f"End of sequence: iterator '{iterator.name}' has no more elements "
                                  f"(op '{op_name}')")
        iterator._check(element, op_name)
        return tuple(a.copy() for a in element)  # the plan may write into its inputs; datasets keep theirs

    def close(self):
        if self.elements is not None:
            self.elements.close()


def _get_next_kernel(spec):
    iterator = spec.attrs["iterator"]
    position = iterator._position(spec.state)
    name = spec.name

    if len(iterator._types) == 1:
        return lambda: position.next(iterator, name)[0]
    return lambda: position.next(iterator, name)


def _make_iterator_kernel(spec):
    iterator, dataset = spec.attrs["iterator"], spec.attrs["dataset"]
    position = iterator._position(spec.state)

    def initialize(*captured):
        position.restart(dataset.one_pass(dict(zip(dataset._captures, captured))))
        return ()
    return initialize


def flatten_shapes(types, shapes):
    """Shapes given as TF's output_shapes, nested like the types (a shape is itself a tuple, so the
    two are walked side by side): one shape per component, in flatten's order."""
    if isinstance(types, dict):
        return [s for k in sorted(types) for s in flatten_shapes(types[k], shapes[k])]
    if isinstance(types, tuple):
        if not isinstance(shapes, (tuple, list)) or len(shapes) != len(types):
            raise ValueError(f"output_shapes {shapes!r} does not match the structure of output_types {types!r}")
        return [s for t, sh in zip(types, shapes) for s in flatten_shapes(t, sh)]
    return [shapes]


register("IteratorGetNext", lambda s, d, a: list(zip(a["iterator"]._shapes, a["iterator"]._types)),
         stateful=True, host=_get_next_kernel).source = True  # OpDef(source=True) once the core has it
register("MakeIterator", lambda s, d, a: [], stateful=True, host=_make_iterator_kernel)
