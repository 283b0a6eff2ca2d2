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
from ..shapes import TensorShape, compatible, fmt
from . import structure as _st
from .functions import trace
from .iterator import Iterator, flatten_shapes
from .._types import Shape
from ..dtypes import DType

AUTOTUNE = -1


class Run:
    """One pass of an iterator over a pipeline (one initializer run, or a one-shot iterator, in one
    session): the random state of its shuffles, so a seeded pipeline repeats exactly each time, and the
    values its graph tensors (placeholders given to from_tensor_slices) had when the initializer ran."""

    def __init__(self, captured: dict[Tensor, np.ndarray] | None = None):
        self._rngs = {}
        self._seeds = {}
        self._captured = captured or {}

    def value(self, tensor: Tensor) -> np.ndarray:
        """The value `tensor` had when this pass's initializer ran."""
        return self._captured[tensor]

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
                 types: Sequence[DType], shapes: Sequence[Shape | None], name: str,
                 captures: Sequence[Tensor] = ()) -> None:
        self._elements = elements  # Run -> iterator of flat tuples of NumPy arrays
        self._set_spec(structure, types, shapes)
        self.name = name
        self._captures = tuple(captures)  # graph tensors read when an initializer runs (inputs of MakeIterator)

    # -- element spec (output_types, output_shapes from ElementSpec) ----------------------------
    @property
    def output_classes(self) -> Any:
        return _st.pack(self._structure, [Tensor] * len(self._types))

    def __repr__(self) -> str:
        spec = _st.describe(self._structure, self._types, self._shapes)
        return f"<nnplug.data.Dataset {self.name}: {spec}>"

    def _derive(self, elements, name, structure=None, types=None, shapes=None, also=()):
        """A dataset with this one's element spec unless another is given (and its graph tensors, with
        those of the datasets `also` it reads)."""
        return Dataset(elements, self._structure if structure is None else structure,
                       self._types if types is None else types, self._shapes if shapes is None else shapes, name,
                       _union(self, *also))

    # -- sources --------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """One element per row of the components (all must have the same first dimension). A component
        may be a graph tensor such as a placeholder: its value is read when an initializable iterator's
        initializer runs (fed through its feed_dict), as in TF1."""
        flat = [_component(x, "from_tensor_slices", i) for i, x in enumerate(_st.flatten(tensors))]
        for i, a in enumerate(flat):
            if len(a.shape) == 0:
                raise ValueError(f"Dataset.from_tensor_slices: component {i} is a scalar; slicing needs "
                                 f"rank >= 1 (use from_tensors for a single element)")
        _same_rows([a.shape for a in flat], "")

        def elements(run):
            arrays = [_value(a, run, i) for i, a in enumerate(flat)]
            _same_rows([a.shape for a in arrays], " (the values the initializer read)")
            for i in range(arrays[0].shape[0]):
                yield tuple(a[i] for a in arrays)
        return Dataset(elements, _st.template(tensors), [_dt.as_dtype(a.dtype) for a in flat],
                       [a.shape[1:] for a in flat], "TensorSliceDataset", _graph_tensors(flat))

    @staticmethod
    def from_tensors(tensors: Any) -> Dataset:
        """A dataset of one element: `tensors` itself (graph tensors are read as in from_tensor_slices)."""
        flat = [_component(x, "from_tensors", i) for i, x in enumerate(_st.flatten(tensors))]
        return Dataset(lambda run: iter([tuple(_value(a, run, i) for i, a in enumerate(flat))]),
                       _st.template(tensors), [_dt.as_dtype(a.dtype) for a in flat], [a.shape for a in flat],
                       "TensorDataset", _graph_tensors(flat))

    @staticmethod
    def from_generator(generator: Callable[..., Iterable[Any]], output_types: Any, output_shapes: Any = None,
                       args: Sequence[Any] | None = None) -> Dataset:
        """The elements a Python generator yields: `generator(*args)` is called afresh for each pass of an
        iterator; each element (nested like `output_types`) is converted to those dtypes and must fit
        `output_shapes` (unknown when not given)."""
        if not callable(generator):
            raise TypeError(f"Dataset.from_generator needs a callable that returns an iterable, got "
                            f"{type(generator).__name__}")
        types = [_dt.as_dtype(t) for t in _st.flatten(output_types)]
        shapes = ([TensorShape(None)] * len(types) if output_shapes is None else
                  [TensorShape(sh) for sh in flatten_shapes(output_types, output_shapes)])
        structure, args = _st.template(output_types), tuple(args or ())

        def elements(run):
            for count, value in enumerate(generator(*args)):
                flat = _st.flatten(value) if structure is not None else [value]
                if len(flat) != len(types):
                    raise InvalidArgumentError(f"Dataset.from_generator: element {count} from {generator!r} has "
                                               f"{len(flat)} components, but output_types has {len(types)}")
                yield tuple(_generated(v, t, sh, count, i) for i, (v, t, sh) in enumerate(zip(flat, types, shapes)))
        return Dataset(elements, structure, types, shapes, "FlatMapDataset")

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
                       [s for d in flat for s in d._shapes], "ZipDataset", _union(*flat))

    # -- transformations ------------------------------------------------------------------------
    def concatenate(self, dataset: Dataset) -> Dataset:
        if (dataset._structure, dataset._types) != (self._structure, self._types):
            raise TypeError(f"Dataset.concatenate: {dataset!r} does not have the element structure of {self!r}")
        shapes = [_most_specific(a, b) for a, b in zip(self._shapes, dataset._shapes)]
        return self._derive(lambda run: itertools.chain(self._elements(run), dataset._elements(run)),
                            "ConcatenateDataset", shapes=shapes, also=(dataset,))

    def batch(self, batch_size: int, drop_remainder: bool = False) -> Dataset:
        """Stack `batch_size` consecutive elements; the last, shorter batch is kept unless drop_remainder."""
        n = _count(batch_size, "batch", "batch_size", minimum=1)

        def elements(run):
            for chunk in _chunks(self._elements(run), n, drop_remainder):
                yield tuple(_stack(chunk, j, self) for j in range(len(self._types)))
        lead = n if drop_remainder else None
        return self._derive(elements, "BatchDataset", shapes=[(lead,) + tuple(s) for s in self._shapes])

    def padded_batch(self, batch_size: int, padded_shapes: Any = None, padding_values: Any = None,
                     drop_remainder: bool = False) -> Dataset:
        """Stack `batch_size` consecutive elements after padding each component to `padded_shapes`
        (nested like the elements; a None dimension pads to the batch's longest) with `padding_values`
        (default 0), as TF1's padded_batch."""
        n = _count(batch_size, "padded_batch", "batch_size", minimum=1)
        targets = list(self._shapes) if padded_shapes is None else \
            [TensorShape(sh) for sh in flatten_shapes(self.output_types, padded_shapes)]
        for j, (target, own) in enumerate(zip(targets, self._shapes)):
            if own.unknown_rank or target.unknown_rank or len(target) != len(own) or any(
                    t is not None and o is not None and t < o for t, o in zip(target, own)):
                raise ValueError(f"Dataset.padded_batch: padded shape {fmt(target)} of component {j} does not "
                                 f"hold its elements' shape {fmt(own)}")
        pads = [0] * len(self._types) if padding_values is None else _st.flatten(padding_values)
        if len(pads) != len(self._types):
            raise ValueError(f"Dataset.padded_batch: padding_values {padding_values!r} does not match the "
                             f"{len(self._types)} components of {self!r}")

        def elements(run):
            for chunk in _chunks(self._elements(run), n, drop_remainder):
                yield tuple(_pad_stack([e[j] for e in chunk], targets[j], pads[j], j)
                            for j in range(len(self._types)))
        lead = n if drop_remainder else None
        return self._derive(elements, "PaddedBatchDataset", shapes=[(lead,) + tuple(t) for t in targets])

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
        if self._captures:
            raise ValueError(f"make_one_shot_iterator of {self!r}: the pipeline reads the graph tensor "
                             f"'{self._captures[0].name}', which a one-shot iterator cannot feed (as in TF1); use "
                             f"make_initializable_iterator() and feed it to sess.run(iterator.initializer, ...)")
        return Iterator.one_shot(self)

    def make_initializable_iterator(self, shared_name: str | None = None) -> Iterator:
        it = Iterator.from_structure(self.output_types, self.output_shapes)
        it.initializer = it.make_initializer(self)
        return it

    def one_pass(self, captured: dict[Tensor, np.ndarray] | None = None
                 ) -> Generator[tuple[np.ndarray, ...], None, None]:
        """One pass over the elements: flat tuples of NumPy arrays (a generator, so it can be closed);
        `captured` holds the values of the graph tensors the pipeline reads."""
        return iterate(self, captured)

    def as_numpy_iterator(self) -> Generator[Any, None, None]:
        """The elements as nested NumPy values, read on the host (scalars as NumPy scalars)."""
        for e in iterate(self):
            yield _st.pack(self._structure, [a[()] if a.ndim == 0 else a for a in e])


def iterate(dataset: Dataset, captured: dict[Tensor, np.ndarray] | None = None
            ) -> Generator[tuple[np.ndarray, ...], None, None]:
    """One pass over `dataset`: flat tuples of NumPy arrays (a generator, so it can be closed).
    `captured`: the values of the graph tensors it reads (`dataset._captures`), needed when it has any."""
    missing = [t for t in dataset._captures if t not in (captured or {})]
    if missing:
        raise ValueError(f"{dataset!r} reads the graph tensor '{missing[0].name}' (given to from_tensor_slices "
                         f"or from_tensors): read it through make_initializable_iterator(), feeding the value "
                         f"to sess.run(iterator.initializer, feed_dict=...)")
    yield from dataset._elements(Run(captured))


def _union(*datasets):
    """The graph tensors the datasets read, each once, in order."""
    return tuple(dict.fromkeys(t for d in datasets for t in d._captures))


def _component(value, where, index):
    """A component of from_tensor_slices/from_tensors: a NumPy array (TF1's dtype rule; a constant's
    value), or a graph tensor read when the iterator's initializer runs."""
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        t = value._as_tensor() if hasattr(value, "_as_tensor") else value
        if t.op.type == "Const":
            return np.asarray(t.op.attrs["value"])
        if t.shape.unknown_rank:
            raise ValueError(f"Dataset.{where}: component {index} is the tensor '{t.name}' of unknown rank; "
                             f"give it a shape (placeholder(dtype, shape=[None, ...]))")
        return t
    return _as_array(value, where, index)


def _graph_tensors(components):
    return [c for c in components if isinstance(c, Tensor)]


def _value(component, run, index):
    """A component's array in this pass: its own, or the value its graph tensor had at initialization."""
    return run.value(component) if isinstance(component, Tensor) else component


def _same_rows(shapes, what):
    """Building (what == ''): ValueError; reading the values an initializer fed: InvalidArgumentError."""
    rows = {s[0] for s in shapes if s[0] is not None}
    if len(rows) > 1:
        listed = ", ".join(f"component {i}: {fmt(s)}" for i, s in enumerate(shapes))
        error = InvalidArgumentError if what else ValueError
        raise error(f"Dataset.from_tensor_slices: the components must have the same first "
                    f"dimension, got {listed}{what}")


def _as_array(value, where, index):
    """A Python or NumPy component as a NumPy array with TF1's dtype rule."""
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


def _chunks(source, n, drop_remainder):
    """Lists of `n` consecutive elements of `source`; the last, shorter one unless drop_remainder."""
    while True:
        chunk = list(itertools.islice(source, n))
        if not chunk or (drop_remainder and len(chunk) < n):
            return
        yield chunk


def _stack(chunk, j, dataset):
    try:
        return np.stack([e[j] for e in chunk])
    except ValueError:
        shapes = sorted({fmt(e[j].shape) for e in chunk})
        raise InvalidArgumentError(f"Dataset.batch: cannot batch component {j} of {dataset!r}: its elements have "
                                   f"different shapes {', '.join(shapes)}") from None


def _pad_stack(arrays, target, pad, j):
    """`arrays` padded with `pad` to `target` (None: the longest) and stacked."""
    size = tuple(max(a.shape[k] for a in arrays) if t is None else t for k, t in enumerate(target))
    out = np.full((len(arrays),) + size, pad, dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        if any(d > s for d, s in zip(a.shape, size)):
            raise InvalidArgumentError(f"Dataset.padded_batch: an element of component {j} has shape "
                                       f"{fmt(a.shape)}, larger than the padded shape {fmt(target)}")
        out[(i,) + tuple(slice(0, d) for d in a.shape)] = a
    return out


def _generated(value, dtype, shape, count, index):
    """Component `index` of the generator's element `count` as an array of `dtype` that fits `shape`."""
    try:
        array = np.asarray(value, dtype=dtype.np)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"Dataset.from_generator: component {index} of element {count} cannot be "
                                   f"converted to {dtype.name}: {e}") from None
    if not compatible(shape, array.shape):
        raise InvalidArgumentError(f"Dataset.from_generator: component {index} of element {count} has shape "
                                   f"{fmt(array.shape)}, which does not fit the declared {fmt(shape)}")
    return array


def _most_specific(a, b):
    if a.rank != b.rank:
        return TensorShape(None)
    return TensorShape(x if x == y else None for x, y in zip(a, b))
