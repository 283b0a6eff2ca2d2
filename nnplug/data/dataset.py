"""tf.data.Dataset, TF1 style: a pipeline described in Python. Each dataset knows its element structure,
dtypes and static shapes, and yields its elements as flat tuples of NumPy arrays when an iterator reads
it (on the host, in the Session that runs the iterator's ops); nothing runs before then."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor
from ..ops.random_ops import get_seed
from ..shapes import TensorShape, fmt
from . import structure as _st
from .functions import trace
from .iterator import Iterator
from .._types import Shape
from ..dtypes import DType

AUTOTUNE = -1


class Run:
    """One pass of an iterator over a pipeline (one initializer run, or a one-shot iterator, in one
    session): the random state of its shuffles, so a seeded pipeline repeats exactly each time."""

    def __init__(self):
        self._rngs = {}
        self._seeds = {}

    def rng(self, key, seed):
        """The stream of shuffle `key` for this whole pass (advances across its repeats)."""
        if key not in self._rngs:
            self._rngs[key] = np.random.default_rng(self.seed(key, seed))
        return self._rngs[key]

    def seed(self, key, seed):
        """`seed`, or one drawn afresh for this pass when the program set none."""
        if key not in self._seeds:
            self._seeds[key] = np.random.SeedSequence().entropy if seed is None else seed
        return self._seeds[key]


class Dataset(_st.ElementSpec):
    """A sequence of elements (nested tuples/dicts of arrays). Build with the static constructors, chain
    the transformations, read with `make_one_shot_iterator()` / `make_initializable_iterator()`, or on
    the host with `as_numpy_iterator()`."""

    def __init__(self, elements: Callable[[Run], Iterable[tuple[np.ndarray, ...]]], structure: Any,
                 types: Sequence[DType], shapes: Sequence[Shape | None], name: str) -> None:
        self._elements = elements  # Run -> iterator of flat tuples of NumPy arrays
        self._set_spec(structure, types, shapes)
        self.name = name

    # -- element spec (output_types, output_shapes from ElementSpec) ----------------------------
    @property
    def output_classes(self) -> Any:
        return _st.pack(self._structure, [Tensor] * len(self._types))

    def __repr__(self) -> str:
        spec = _st.describe(self._structure, self._types, self._shapes)
        return f"<nnplug.data.Dataset {self.name}: {spec}>"

    def _derive(self, elements, name, structure=None, types=None, shapes=None):
        """A dataset with this one's element spec unless another is given."""
        return Dataset(elements, self._structure if structure is None else structure,
                       self._types if types is None else types, self._shapes if shapes is None else shapes, name)

    # -- sources --------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """One element per row of the components (all must have the same first dimension)."""
        flat = [_as_array(x, "from_tensor_slices", i) for i, x in enumerate(_st.flatten(tensors))]
        for i, a in enumerate(flat):
            if a.ndim == 0:
                raise ValueError(f"Dataset.from_tensor_slices: component {i} is a scalar; slicing needs "
                                 f"rank >= 1 (use from_tensors for a single element)")
        rows = {a.shape[0] for a in flat}
        if len(rows) > 1:
            shapes = ", ".join(f"component {i}: {fmt(a.shape)}" for i, a in enumerate(flat))
            raise ValueError(f"Dataset.from_tensor_slices: the components must have the same first "
                             f"dimension, got {shapes}")

        def elements(run):
            for i in range(flat[0].shape[0]):
                yield tuple(a[i] for a in flat)
        return Dataset(elements, _st.template(tensors), [_dt.as_dtype(a.dtype) for a in flat],
                       [a.shape[1:] for a in flat], "TensorSliceDataset")

    @staticmethod
    def from_tensors(tensors: Any) -> Dataset:
        """A dataset of one element: `tensors` itself."""
        flat = tuple(_as_array(x, "from_tensors", i) for i, x in enumerate(_st.flatten(tensors)))
        return Dataset(lambda run: iter([flat]), _st.template(tensors), [_dt.as_dtype(a.dtype) for a in flat],
                       [a.shape for a in flat], "TensorDataset")

    @staticmethod
    def range(*args: int) -> Dataset:
        """int64 scalars as Python's range(start, stop, step) gives them."""
        numbers = range(*(int(a) for a in args))
        return Dataset(lambda run: ((np.array(i, np.int64),) for i in numbers), None, [_dt.int64], [()],
                       "RangeDataset")

    @staticmethod
    def zip(datasets: tuple[Dataset, ...] | dict[str, Dataset] | Dataset) -> Dataset:
        """Elements of several datasets side by side (a tuple or dict of datasets), as long as the shortest."""
        flat = _st.flatten(datasets)
        for d in flat:
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip takes a tuple or dict of datasets, got {type(d).__name__}")

        def elements(run):
            for parts in zip(*(d._elements(run) for d in flat)):
                yield tuple(c for part in parts for c in part)
        structure = _st.pack(_st.template(datasets), [d._structure for d in flat])
        return Dataset(elements, structure, [t for d in flat for t in d._types],
                       [s for d in flat for s in d._shapes], "ZipDataset")

    # -- transformations ------------------------------------------------------------------------
    def concatenate(self, dataset: Dataset) -> Dataset:
        if (dataset._structure, dataset._types) != (self._structure, self._types):
            raise TypeError(f"Dataset.concatenate: {dataset!r} does not have the element structure of {self!r}")
        shapes = [_most_specific(a, b) for a, b in zip(self._shapes, dataset._shapes)]
        return self._derive(lambda run: itertools.chain(self._elements(run), dataset._elements(run)),
                            "ConcatenateDataset", shapes=shapes)

    def batch(self, batch_size: int, drop_remainder: bool = False) -> Dataset:
        """Stack `batch_size` consecutive elements; the last, shorter batch is kept unless drop_remainder."""
        n = _count(batch_size, "batch", "batch_size", minimum=1)

        def elements(run):
            source = self._elements(run)
            while True:
                chunk = list(itertools.islice(source, n))
                if not chunk or (drop_remainder and len(chunk) < n):
                    return
                yield tuple(_stack(chunk, j, self) for j in range(len(self._types)))
        lead = n if drop_remainder else None
        return self._derive(elements, "BatchDataset", shapes=[(lead,) + tuple(s) for s in self._shapes])

    def shuffle(self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool = True) -> Dataset:
        """TF's shuffle: a buffer of `buffer_size` elements, each output drawn uniformly from it and its
        place refilled from the input. With a seed (or a graph seed) every iterator pass gives the same
        order; reshuffle_each_iteration draws a new order for each repeat within a pass."""
        n = _count(buffer_size, "shuffle", "buffer_size", minimum=1)
        seed = get_seed(seed)
        key = object()  # this shuffle's identity in a Run

        def elements(run):
            if reshuffle_each_iteration:
                rng = run.rng(key, seed)
            else:
                rng = np.random.default_rng(run.seed(key, seed))
            source = self._elements(run)
            buffer = list(itertools.islice(source, n))
            while buffer:
                i = int(rng.integers(len(buffer)))
                yield buffer[i]
                nxt = next(source, None)
                if nxt is not None:
                    buffer[i] = nxt
                else:
                    buffer[i] = buffer[-1]
                    buffer.pop()
        return self._derive(elements, "ShuffleDataset")

    def repeat(self, count: int | None = None) -> Dataset:
        """The elements `count` times over (None or -1: forever; an empty input stays empty)."""
        count = None if count is None or int(count) < 0 else int(count)

        def elements(run):
            epochs = itertools.count() if count is None else range(count)
            for _ in epochs:
                empty = True
                for e in self._elements(run):
                    empty = False
                    yield e
                if empty:
                    return
        return self._derive(elements, "RepeatDataset")

    def take(self, count: int) -> Dataset:
        """The first `count` elements (-1: all)."""
        count = int(count)
        return self._derive(lambda run: itertools.islice(self._elements(run), None if count < 0 else count),
                            "TakeDataset")

    def skip(self, count: int) -> Dataset:
        """All but the first `count` elements (-1: none)."""
        count = int(count)

        def elements(run):
            source = self._elements(run)
            if count < 0:
                return
            yield from itertools.islice(source, count, None)
        return self._derive(elements, "SkipDataset")

    def map(self, map_func: Callable[..., Any], num_parallel_calls: int | None = None) -> Dataset:
        """`map_func` applied to each element. As in TF1 it is traced once with tensors: it may use nnplug
        ops on its arguments (not NumPy), and runs on the host in a small graph of its own on the numpy
        backend. A tuple element is passed as separate arguments."""
        fn = trace(map_func, self, "map")

        def elements(run):
            for e in self._elements(run):
                yield fn(e)
        return self._derive(elements, "MapDataset", fn.structure, fn.types, fn.shapes)

    def filter(self, predicate: Callable[..., Any]) -> Dataset:
        """The elements for which `predicate` (traced like map's function) gives a scalar True."""
        fn = trace(predicate, self, "filter")
        if fn.types != (_dt.bool_,) or fn.structure is not None or fn.shapes[0].rank not in (0, None):
            raise TypeError(f"the predicate passed to Dataset.filter must return a scalar bool tensor, "
                            f"got {_st.describe(fn.structure, fn.types, fn.shapes)}")

        def elements(run):
            for e in self._elements(run):
                if fn(e)[0]:
                    yield e
        return self._derive(elements, "FilterDataset")

    def prefetch(self, buffer_size: int) -> Dataset:
        """Accepted for TF programs; elements are produced when read, so this changes nothing."""
        _count(buffer_size, "prefetch", "buffer_size", minimum=AUTOTUNE)
        return self._derive(self._elements, "PrefetchDataset")

    def apply(self, transformation_func: Callable[[Dataset], Dataset]) -> Dataset:
        return transformation_func(self)

    # -- reading --------------------------------------------------------------------------------
    def make_one_shot_iterator(self) -> Iterator:
        return Iterator.one_shot(self)

    def make_initializable_iterator(self, shared_name: str | None = None) -> Iterator:
        it = Iterator.from_structure(self.output_types, self.output_shapes)
        it.initializer = it.make_initializer(self)
        return it

    def one_pass(self) -> Generator[tuple[np.ndarray, ...], None, None]:
        """One pass over the elements: flat tuples of NumPy arrays (a generator, so it can be closed)."""
        return iterate(self)

    def as_numpy_iterator(self) -> Generator[Any, None, None]:
        """The elements as nested NumPy values, read on the host (scalars as NumPy scalars)."""
        for e in iterate(self):
            yield _st.pack(self._structure, [a[()] if a.ndim == 0 else a for a in e])


def iterate(dataset: Dataset) -> Generator[tuple[np.ndarray, ...], None, None]:
    """One pass over `dataset`: flat tuples of NumPy arrays (a generator, so it can be closed)."""
    yield from dataset._elements(Run())


def _as_array(value, where, index):
    """A component given to from_tensor_slices/from_tensors as a NumPy array with TF1's dtype rule."""
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        t = value._as_tensor() if hasattr(value, "_as_tensor") else value
        if t.op.type != "Const":
            raise TypeError(f"Dataset.{where}: component {index} is the tensor '{t.name}', computed in the graph; "
                            f"datasets are built from NumPy arrays or constants")
        return np.asarray(t.op.attrs["value"])
    try:
        dtype = _dt.infer_dtype(value)
    except TypeError as e:
        raise TypeError(f"Dataset.{where}: component {index}: {e}") from None
    if dtype.name == "string":
        raise TypeError(f"Dataset.{where}: component {index} holds strings; datasets of strings are not "
                        f"supported yet (encode them as integer ids)")
    return np.asarray(value, dtype=dtype.np)


def _count(value, where, what, minimum):
    n = int(value)
    if n != value or n < minimum:
        raise ValueError(f"Dataset.{where}: {what} must be an integer >= {minimum}, got {value!r}")
    return n


def _stack(chunk, j, dataset):
    try:
        return np.stack([e[j] for e in chunk])
    except ValueError:
        shapes = sorted({fmt(e[j].shape) for e in chunk})
        raise InvalidArgumentError(f"Dataset.batch: cannot batch component {j} of {dataset!r}: its elements have "
                                   f"different shapes {', '.join(shapes)}") from None


def _most_specific(a, b):
    if a.rank != b.rank:
        return TensorShape(None)
    return TensorShape(x if x == y else None for x, y in zip(a, b))
