"""`tf.lookup` and TF1's `tf.contrib.lookup`: tables from keys to values (`StaticHashTable`, its TF1 name
`HashTable`), vocabularies with out-of-vocabulary buckets (`StaticVocabularyTable`), their initializers
from tensors or text files, and `index_table_from_tensor`/`_file`, `index_to_string_table_from_*`.

A table's contents live in the session that runs its init op (`state.resource`), as TF1's do: two sessions
have two tables, and a lookup before `tf.tables_initializer()` ran is a FailedPreconditionError naming the
table. Every table registers its init op in `GraphKeys.TABLE_INITIALIZERS`. Initialized tables never
change (initializing again with the same data does nothing, with other data is an error), so lookups
and sizes are stateless host ops: lookups of constant keys fold when the plan is compiled. A table read
inside a `Dataset.map` function (another graph, run by a private session) is filled there from its
initializer's tensors on first use, which must not depend on feeds. Out-of-vocabulary buckets are
TensorFlow's: FarmHash Fingerprint64 of the key (of its decimal text for integer keys) modulo the number
of buckets, after the vocabulary's ids."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from .errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from .graph import GraphKeys, Operation, Tensor, add_to_collection, convert_to_tensor, get_collection, \
    get_default_graph, make, make_op, name_scope
from .lib.fingerprint import fingerprint64
from .ops.registry import register
from .shapes import ShapeError, TensorShape, fmt
from ._types import DTypeLike, TensorLike

_KEY_TYPES = ("string", "int32", "int64")


class TextFileIndex:
    """Which part of a line a TextFileInitializer takes: a column number, or the whole line / its number."""

    WHOLE_LINE = -2
    LINE_NUMBER = -1


# -- initializers ------------------------------------------------------------------------------------------
class TableInitializerBase:
    """What a table is filled from: tensors its init op reads, turned into (keys, values) by `contents`."""

    def __init__(self, key_dtype: DTypeLike, value_dtype: DTypeLike) -> None:
        self._key_dtype, self._value_dtype = _dt.as_dtype(key_dtype), _dt.as_dtype(value_dtype)

    @property
    def key_dtype(self) -> _dt.DType:
        return self._key_dtype

    @property
    def value_dtype(self) -> _dt.DType:
        return self._value_dtype

    def _inputs(self) -> list[Tensor]:
        raise NotImplementedError

    def _contents(self, arrays: Sequence[np.ndarray], where: str) -> tuple[list[Any], np.ndarray]:
        raise NotImplementedError


class KeyValueTensorInitializer(TableInitializerBase):
    """A table's keys and values given as two tensors of one length."""

    def __init__(self, keys: TensorLike, values: TensorLike, key_dtype: DTypeLike | None = None,
                 value_dtype: DTypeLike | None = None, name: str | None = None) -> None:
        with name_scope(name or "key_value_init"):
            self._keys = convert_to_tensor(keys, dtype=key_dtype)
            self._values = convert_to_tensor(values, dtype=value_dtype)
        for what, t in (("keys", self._keys), ("values", self._values)):
            if not t.shape.unknown_rank and len(t.shape) != 1:
                raise ShapeError(f"KeyValueTensorInitializer: {what} '{t.name}' must be a vector, got shape "
                                 f"{fmt(t.shape)}")
        n, m = self._keys.shape[0] if len(self._keys.shape) else None, \
            self._values.shape[0] if len(self._values.shape) else None
        if n is not None and m is not None and n != m:
            raise ShapeError(f"KeyValueTensorInitializer: {n} keys but {m} values")
        super().__init__(self._keys.dtype, self._values.dtype)

    def _inputs(self) -> list[Tensor]:
        return [self._keys, self._values]

    def _contents(self, arrays: Sequence[np.ndarray], where: str) -> tuple[list[Any], np.ndarray]:
        keys, values = (np.asarray(a).reshape(-1) for a in arrays)
        if len(keys) != len(values):
            raise InvalidArgumentError(f"{where}: {len(keys)} keys but {len(values)} values")
        return [_key(k) for k in keys], values


class TextFileInitializer(TableInitializerBase):
    """Keys and values from the lines of a text file: `key_index`/`value_index` name a column (split at
    `delimiter`), or TextFileIndex.WHOLE_LINE / LINE_NUMBER (+ `value_index_offset`); at most `vocab_size`
    lines are read, and a file with fewer is an error."""

    def __init__(self, filename: TensorLike, key_dtype: DTypeLike, key_index: int, value_dtype: DTypeLike,
                 value_index: int, vocab_size: int | None = None, delimiter: str = "\t", name: str | None = None,
                 value_index_offset: int = 0) -> None:
        super().__init__(key_dtype, value_dtype)
        for what, index, dtype in (("key", key_index, self._key_dtype), ("value", value_index, self._value_dtype)):
            if not isinstance(index, int) or index < TextFileIndex.WHOLE_LINE:
                raise ValueError(f"TextFileInitializer: {what}_index must be a column (>= 0) or a TextFileIndex, "
                                 f"got {index!r}")
            if index == TextFileIndex.LINE_NUMBER and not dtype.is_integer:
                raise ValueError(f"TextFileInitializer: a {what} from LINE_NUMBER must be an integer, not {dtype.name}")
            if index == TextFileIndex.WHOLE_LINE and dtype != _dt.string and what == "key" and dtype.name != "int64":
                raise ValueError("TextFileInitializer: a key from WHOLE_LINE must be a string or int64")
        if vocab_size is not None and (not isinstance(vocab_size, int) or vocab_size < 1):
            raise ValueError(f"TextFileInitializer: vocab_size must be a positive int, got {vocab_size!r}")
        if not isinstance(delimiter, str) or not delimiter:
            raise ValueError(f"TextFileInitializer: delimiter must be a non-empty string, got {delimiter!r}")
        with name_scope(name or "text_file_init"):
            self._filename = convert_to_tensor(filename, dtype=_dt.string)
        if not self._filename.shape.unknown_rank and len(self._filename.shape):
            raise ShapeError(f"TextFileInitializer: filename '{self._filename.name}' must be a scalar string")
        self._columns = (key_index, value_index)
        self._vocab_size, self._delimiter, self._offset = vocab_size, delimiter.encode(), int(value_index_offset)

    def _inputs(self) -> list[Tensor]:
        return [self._filename]

    def _contents(self, arrays: Sequence[np.ndarray], where: str) -> tuple[list[Any], np.ndarray]:
        import os
        path = os.fsdecode(bytes(np.asarray(arrays[0], object)[()]))
        try:
            with open(path, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            raise NotFoundError(f"{where}: {path}; No such file or directory") from None
        if self._vocab_size is not None:
            if len(lines) < self._vocab_size:
                raise InvalidArgumentError(f"{where}: invalid vocab_size in {path}: expected {self._vocab_size} "
                                           f"lines, the file has {len(lines)}")
            lines = lines[:self._vocab_size]
        keys, values = [], []
        for n, line in enumerate(lines):
            cells = line.split(self._delimiter)
            got = []
            for index, dtype in zip(self._columns, (self._key_dtype, self._value_dtype)):
                if index == TextFileIndex.LINE_NUMBER:
                    got.append(n + (self._offset if dtype is self._value_dtype else 0))
                    continue
                if index == TextFileIndex.WHOLE_LINE:
                    text = line
                elif index < len(cells):
                    text = cells[index]
                else:
                    raise InvalidArgumentError(f"{where}: line {n} of {path} has {len(cells)} columns, column "
                                               f"{index} is needed")
                got.append(_parse(text, dtype, f"{where}: line {n} of {path}"))
            keys.append(_key(got[0]))
            values.append(got[1])
        return keys, np.array(values, object if self._value_dtype == _dt.string else self._value_dtype.np)


class TextFileIdTableInitializer(TextFileInitializer):
    """Each line of a vocabulary file (or a column) is a key, its line number the id."""

    def __init__(self, filename: TensorLike, key_column_index: int = TextFileIndex.WHOLE_LINE,
                 value_column_index: int = TextFileIndex.LINE_NUMBER, vocab_size: int | None = None,
                 delimiter: str = "\t", name: str = "text_file_id_table_init",
                 key_dtype: DTypeLike = _dt.string) -> None:
        super().__init__(filename, key_dtype, key_column_index, _dt.int64, value_column_index, vocab_size,
                         delimiter, name)


class TextFileStringTableInitializer(TextFileInitializer):
    """Each line number of a vocabulary file is a key, the line (or a column) its string."""

    def __init__(self, filename: TensorLike, key_column_index: int = TextFileIndex.LINE_NUMBER,
                 value_column_index: int = TextFileIndex.WHOLE_LINE, vocab_size: int | None = None,
                 delimiter: str = "\t", name: str = "text_file_string_table_init") -> None:
        super().__init__(filename, _dt.int64, key_column_index, _dt.string, value_column_index, vocab_size,
                         delimiter, name)


def _parse(text: bytes, dtype: _dt.DType, where: str) -> Any:
    if dtype == _dt.string:
        return text
    from .ops.string_number_ops import parse_number
    v = parse_number(text, dtype)
    if v is None:
        raise InvalidArgumentError(f"{where}: {text!r:.60} is not a valid {dtype.name}")
    return v


def _key(k: Any) -> Any:
    """A key as the dict holds it: bytes for strings, a Python int for integers."""
    return bytes(k) if isinstance(k, (bytes, np.bytes_)) else int(k)


# -- tables ------------------------------------------------------------------------------------------------
class _Contents:
    """One table's contents in one session: a dict, once initialized."""

    def __init__(self) -> None:
        self.table: dict[Any, Any] | None = None
        self.lock = threading.Lock()


class StaticHashTable:
    """An immutable table from keys to values, filled by `initializer` when its init op runs; keys it does
    not hold look up as `default_value`."""

    _default_name = "hash_table"

    def __init__(self, initializer: TableInitializerBase, default_value: Any, name: str | None = None,
                 experimental_is_anonymous: bool = False) -> None:
        if not isinstance(initializer, TableInitializerBase):
            raise TypeError(f"{type(self).__name__} takes a table initializer (KeyValueTensorInitializer, "
                            f"TextFileInitializer), got {type(initializer).__name__}")
        if initializer.key_dtype.name not in _KEY_TYPES:
            raise TypeError(f"table keys are strings or integers, not {initializer.key_dtype.name}")
        self._initializer = initializer
        self._graph = get_default_graph()
        with name_scope(name or self._default_name) as scope:
            self._name = scope.rstrip("/")
            self._default = _default(default_value, initializer.value_dtype, self._name)
            self._init_op = make_op("InitializeTableV2", initializer._inputs(), {"table": self},
                                    name="table_init")
        add_to_collection(GraphKeys.TABLE_INITIALIZERS, self._init_op)
        self._key = ("nnplug.lookup", self)

    # -- the TF1 properties -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def key_dtype(self) -> _dt.DType:
        return self._initializer.key_dtype

    @property
    def value_dtype(self) -> _dt.DType:
        return self._initializer.value_dtype

    @property
    def default_value(self) -> Any:
        return self._default

    @property
    def initializer(self) -> Operation:
        return self._init_op

    @property
    def init(self) -> Operation:
        return self._init_op

    def __repr__(self) -> str:
        return f"<nnplug.{type(self).__name__} '{self._name}' {self.key_dtype.name} -> {self.value_dtype.name}>"

    # -- graph ops --------------------------------------------------------------------------------------
    def lookup(self, keys: Any, name: str | None = None) -> Any:
        """The values of `keys` (a tensor, or a SparseTensor whose values are looked up), default_value
        where a key is missing."""
        from .sparse import SparseTensor
        if isinstance(keys, SparseTensor):
            return SparseTensor(keys.indices, self.lookup(keys.values, name), keys.dense_shape)
        keys = self._keys(keys)
        return make("LookupTableFindV2", [keys], {"table": self}, name=name or f"{self._name}_Lookup")

    def size(self, name: str | None = None) -> Tensor:
        """The number of entries (for a vocabulary table, plus its out-of-vocabulary buckets)."""
        return make("LookupTableSizeV2", [], {"table": self}, name=name or f"{self._name}_Size")

    def _keys(self, keys: Any) -> Tensor:
        want = getattr(self, "_lookup_dtype", self.key_dtype)
        if isinstance(keys, Tensor):
            if keys.dtype != want:
                raise TypeError(f"table '{self._name}' has {want.name} keys; the keys '{keys.name}' are "
                                f"{keys.dtype.name}")
            return keys
        return convert_to_tensor(keys, dtype=want)

    # -- the contents in a session ----------------------------------------------------------------------
    def _state(self, state: Any) -> _Contents:
        return state.resource(self._key, _Contents)

    def _fill(self, contents: _Contents, arrays: Sequence[np.ndarray], where: str) -> None:
        keys, values = self._initializer._contents(arrays, where)
        table = dict(zip(keys, values.tolist() if values.dtype.kind != "O" else list(values)))
        with contents.lock:
            if contents.table is not None:
                if contents.table != table:
                    raise FailedPreconditionError(f"Table '{self._name}' was already initialized with different "
                                                  f"data ({where})")
                return
            contents.table = table

    def _table(self, state: Any, op: Any, where: str) -> dict[Any, Any]:
        contents = self._state(state)
        if contents.table is None and op is not None and op.graph is not self._graph:
            self._fill(contents, self._initializer_values(), where)  # read inside a dataset function
        if contents.table is None:
            raise FailedPreconditionError(f"Table '{self._name}' not initialized ({where}): run "
                                          f"tf.tables_initializer() (or its init op '{self._init_op.name}') first")
        return contents.table

    def _initializer_values(self) -> list[np.ndarray]:
        from .session import Session
        with Session(graph=self._graph, backend="numpy") as sess:
            return sess.run(self._initializer._inputs())

    def _find(self, table: dict[Any, Any], keys: np.ndarray) -> np.ndarray:
        flat = [table.get(_key(k), self._default) for k in keys.reshape(-1)]
        out = np.empty(len(flat), object) if self.value_dtype == _dt.string else None
        if out is None:
            return np.array(flat, self.value_dtype.np).reshape(keys.shape)
        out[:] = flat
        return out.reshape(keys.shape)

    def _size(self, table: dict[Any, Any]) -> int:
        return len(table)


class HashTable(StaticHashTable):
    """TF1's `tf.contrib.lookup.HashTable`: a StaticHashTable (`shared_name` is accepted; a table's contents
    always belong to the session that initialized it)."""

    def __init__(self, initializer: TableInitializerBase, default_value: Any, shared_name: str | None = None,
                 name: str | None = None) -> None:
        super().__init__(initializer, default_value, name)


class StaticVocabularyTable(StaticHashTable):
    """Keys to int64 ids: the initializer's ids for its keys, and for every other key one of
    `num_oov_buckets` ids after them, by its hash."""

    _default_name = "hash_table"

    def __init__(self, initializer: TableInitializerBase, num_oov_buckets: int,
                 lookup_key_dtype: DTypeLike | None = None, name: str | None = None,
                 experimental_is_anonymous: bool = False) -> None:
        if not isinstance(num_oov_buckets, int) or isinstance(num_oov_buckets, bool) or num_oov_buckets < 0:
            raise ValueError(f"StaticVocabularyTable: num_oov_buckets must be a non-negative int, got "
                             f"{num_oov_buckets!r}")
        if isinstance(initializer, TableInitializerBase) and initializer.value_dtype.name != "int64":
            raise TypeError(f"StaticVocabularyTable maps keys to int64 ids; the initializer gives "
                            f"{initializer.value_dtype.name}")
        self._buckets = num_oov_buckets
        super().__init__(initializer, -1, name)
        self._lookup_dtype = _dt.as_dtype(lookup_key_dtype) if lookup_key_dtype is not None else self.key_dtype
        if self._lookup_dtype != self.key_dtype and not (self._lookup_dtype.is_integer and self.key_dtype.is_integer):
            raise TypeError(f"StaticVocabularyTable: lookup_key_dtype {self._lookup_dtype.name} does not fit "
                            f"{self.key_dtype.name} keys")

    def _find(self, table: dict[Any, Any], keys: np.ndarray) -> np.ndarray:
        if not self._buckets:
            return super()._find(table, keys)
        size = len(table)
        ids = []
        for k in keys.reshape(-1):
            k = _key(k)
            v = table.get(k)
            if v is None:
                text = k if isinstance(k, bytes) else str(k).encode()
                v = size + fingerprint64(text) % self._buckets
            ids.append(v)
        return np.array(ids, np.int64).reshape(keys.shape)

    def _size(self, table: dict[Any, Any]) -> int:
        return len(table) + self._buckets


def _default(value: Any, dtype: _dt.DType, table: str) -> Any:
    """The default as a Python scalar of the table's value type (a constant tensor's value too)."""
    if isinstance(value, Tensor):
        from .ops.shape_values import constant_value
        v = constant_value(value)
        if v is None:
            raise ValueError(f"table '{table}': default_value '{value.name}' must be a constant")
        value = v
    arr = np.asarray(value, object if dtype == _dt.string else None)
    if arr.size != 1:
        raise ValueError(f"table '{table}': default_value must be a scalar, got shape {arr.shape}")
    v = arr.reshape(-1)[0]
    if dtype == _dt.string:
        if not isinstance(v, (str, bytes)):
            raise TypeError(f"table '{table}' has string values; default_value {value!r} is not a string")
        return v.encode() if isinstance(v, str) else bytes(v)
    if isinstance(v, (str, bytes)) or (dtype.is_integer and not float(v).is_integer()):
        raise TypeError(f"table '{table}' has {dtype.name} values; default_value {value!r} is not one")
    return np.asarray(v, dtype.np).item()


# -- the ops ---------------------------------------------------------------------------------------------
def _init_host(spec):
    table, where = spec.attrs["table"], f"op '{spec.name}'"

    def init(*arrays):
        table._fill(table._state(spec.state), arrays, where)
        return ()
    return init


def _find_rule(shapes, dtypes, attrs):
    return [(shapes[0], attrs["table"].value_dtype)]


def _find_host(spec):
    table, op, where = spec.attrs["table"], spec.op, f"op '{spec.name}'"
    return lambda keys: table._find(table._table(spec.state, op, where), np.asarray(keys))


def _size_host(spec):
    table, op, where = spec.attrs["table"], spec.op, f"op '{spec.name}'"
    return lambda: np.array(table._size(table._table(spec.state, op, where)), np.int64)


register("InitializeTableV2", lambda shapes, dtypes, attrs: [], stateful=True, host=_init_host)
register("LookupTableFindV2", _find_rule, host=_find_host)
register("LookupTableSizeV2", lambda shapes, dtypes, attrs: [(TensorShape(()), _dt.int64)], host=_size_host)


# -- TF1's constructors ------------------------------------------------------------------------------------
def tables_initializer(name: str = "init_all_tables") -> Operation:
    """One op that runs the init op of every table of the default graph."""
    from .variables import group, no_op
    ops = get_collection(GraphKeys.TABLE_INITIALIZERS)
    return group(*ops, name=name) if ops else no_op(name=name)


initialize_all_tables = tables_initializer


def _vocabulary(vocabulary_list: TensorLike, dtype: DTypeLike, what: str) -> Tensor:
    with name_scope(None, what):
        vocab = convert_to_tensor(vocabulary_list, dtype=dtype)
    if not vocab.shape.unknown_rank and len(vocab.shape) != 1:
        raise ShapeError(f"{what}: vocabulary_list '{vocab.name}' must be a vector, got shape {fmt(vocab.shape)}")
    return vocab


def _ids(vocab: Tensor) -> Tensor:
    from .ops.sequence_ops import range as _range
    from .ops.array_ops import size as _size
    from .ops.elementwise import cast
    return cast(_range(_size(vocab)), _dt.int64)


def _check_hasher(hasher_spec: Any, what: str) -> None:
    if hasher_spec is not None and hasher_spec is not FastHashSpec:
        raise ValueError(f"{what}: only FastHashSpec (Fingerprint64) buckets are supported, got {hasher_spec!r}")


FastHashSpec = "FastHashSpec"  # TF1's default hasher_spec: out-of-vocabulary buckets by Fingerprint64


def index_table_from_tensor(vocabulary_list: TensorLike, num_oov_buckets: int = 0, default_value: int = -1,
                            hasher_spec: Any = FastHashSpec, dtype: DTypeLike = _dt.string,
                            name: str | None = None) -> StaticHashTable:
    """A table from each word of `vocabulary_list` to its position (int64); other words get
    `default_value`, or with `num_oov_buckets` one of that many ids after the vocabulary."""
    _check_hasher(hasher_spec, "index_table_from_tensor")
    with name_scope(name or "string_to_index"):
        vocab = _vocabulary(vocabulary_list, dtype, "index_table_from_tensor")
        init = KeyValueTensorInitializer(vocab, _ids(vocab), name="table_init_values")
        if num_oov_buckets:
            return StaticVocabularyTable(init, num_oov_buckets, name="hash_table")
        return StaticHashTable(init, default_value, name="hash_table")


def index_table_from_file(vocabulary_file: TensorLike = None, num_oov_buckets: int = 0,
                          vocab_size: int | None = None, default_value: int = -1, hasher_spec: Any = FastHashSpec,
                          key_dtype: DTypeLike = _dt.string, name: str | None = None,
                          key_column_index: int = TextFileIndex.WHOLE_LINE,
                          value_column_index: int = TextFileIndex.LINE_NUMBER,
                          delimiter: str = "\t") -> StaticHashTable:
    """Like index_table_from_tensor, the vocabulary read from a file (a word per line, or a column)."""
    _check_hasher(hasher_spec, "index_table_from_file")
    if vocabulary_file is None or (isinstance(vocabulary_file, str) and not vocabulary_file):
        raise ValueError("index_table_from_file: vocabulary_file must be given")
    with name_scope(name or "string_to_index"):
        init = TextFileInitializer(vocabulary_file, key_dtype, key_column_index, _dt.int64, value_column_index,
                                   vocab_size, delimiter)
        if num_oov_buckets:
            return StaticVocabularyTable(init, num_oov_buckets, name="hash_table")
        return StaticHashTable(init, default_value, name="hash_table")


def index_to_string_table_from_tensor(vocabulary_list: TensorLike, default_value: str = "UNK",
                                      name: str | None = None) -> StaticHashTable:
    """A table from ids (int64 positions) to the words of `vocabulary_list`; other ids give `default_value`."""
    with name_scope(name or "index_to_string"):
        vocab = _vocabulary(vocabulary_list, _dt.string, "index_to_string_table_from_tensor")
        init = KeyValueTensorInitializer(_ids(vocab), vocab, name="table_init_values")
        return StaticHashTable(init, default_value, name="hash_table")


def index_to_string_table_from_file(vocabulary_file: TensorLike, vocab_size: int | None = None,
                                    default_value: str = "UNK", name: str | None = None,
                                    key_column_index: int = TextFileIndex.LINE_NUMBER,
                                    value_column_index: int = TextFileIndex.WHOLE_LINE,
                                    delimiter: str = "\t") -> StaticHashTable:
    """A table from line numbers of a vocabulary file to its words (or a column)."""
    with name_scope(name or "index_to_string"):
        init = TextFileInitializer(vocabulary_file, _dt.int64, key_column_index, _dt.string, value_column_index,
                                   vocab_size, delimiter)
        return StaticHashTable(init, default_value, name="hash_table")


__all__ = [
    "FastHashSpec", "HashTable", "KeyValueTensorInitializer", "StaticHashTable", "StaticVocabularyTable",
    "TableInitializerBase", "TextFileIdTableInitializer", "TextFileIndex", "TextFileInitializer",
    "TextFileStringTableInitializer", "index_table_from_file", "index_table_from_tensor",
    "index_to_string_table_from_file", "index_to_string_table_from_tensor", "initialize_all_tables",
    "tables_initializer",
]
