"""Saver: checkpoints as plain-data `.npz` files (never pickle), crash-safe on disk, read with bounded memory.

A checkpoint is the file `<prefix>.npz`: a zip of `.npy` members, `v/<variable op name>.npy` per variable and
two markers. The folder's `checkpoint` file (JSON) names the latest and the kept ones. As in TF1, `save` and
`latest_checkpoint` return the prefix (`.../model.ckpt-100`) and `restore` takes it (or the file's name).

Writing: the checkpoint goes to a temporary file that is fsynced and renamed, then the index the same way, and
only then are checkpoints beyond `max_to_keep` deleted, so a kill at any point leaves an index naming whole
files. A temporary file's name is short (NAME_MAX-safe) and carries its writer's host and pid: the next write in
that folder removes those whose writer is dead.

Reading: each member is checked against the variable it restores (declared size, then the .npy header's shape
and dtype) before its data is read; decompression never goes past the declared size; members of variables
not being restored are never read; values must fit the variable's dtype. Nothing changes unless all pass.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib import format as npy_format

from ..errors import InvalidArgumentError
from ..files import atomic_write, remove_stale_temps  # noqa: F401 - Keras and tests import them from here
from .meta_graph import MetaGraphError, export_meta_graph, import_graph
from ..graph import GraphKeys, get_default_graph
from .._types import StrPath, TensorLike
from ..variables import Variable

if TYPE_CHECKING:
    from ..session import Session

FORMAT = "nnplug-checkpoint"
VERSION = 1
INDEX = "checkpoint"
SUFFIX = ".npz"
MARKERS = ("__format__", "__version__")
MAX_HEADER_BYTES = 4096  # the .npy header of any array nnplug saves is ~128 bytes
MAX_MARKER_BYTES = 1024
MAX_INDEX_BYTES = 1 << 20
MAX_ITEMSIZE = 8  # the widest value dtype a checkpoint may hold (int64, float64)

class CheckpointError(InvalidArgumentError):
    """A checkpoint that cannot be read or restored; the message names the file and what is at fault."""

    def __init__(self, message: str, path: StrPath | None = None) -> None:
        super().__init__(message)
        self.path = path


def _short(text, limit=80):
    text = str(text)
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def _key(var):
    return var.op.name


class Saver:
    def __init__(self, var_list: Sequence[Variable] | Mapping[str, Variable] | None = None, max_to_keep: int | None = 5,
                 name: str | None = None) -> None:
        if var_list is None:
            var_list = get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES)
        if isinstance(var_list, dict):
            self._vars = dict(var_list)
        else:
            self._vars = {_key(v): v for v in var_list}
        if not self._vars:
            raise ValueError("no variables to save")
        self.max_to_keep = max_to_keep
        self._kept = []  # checkpoint files this Saver wrote and keeps, oldest first

    def save(self, sess: Session, save_path: StrPath, global_step: int | TensorLike | None = None,
             latest_filename: str | None = None, meta_graph_suffix: str = "meta", write_meta_graph: bool = True,
             write_state: bool = True, strip_default_attrs: bool = False, save_debug_info: bool = False) -> str:
        """Write every variable's value to `<save_path>[-<step>].npz` and, as TF1 does by default, the graph to
        `<prefix>.meta` (plain JSON, nnplug.train.meta_graph); returns the prefix."""
        if global_step is not None:
            step = int(sess.run(global_step) if hasattr(global_step, "op") else global_step)
            save_path = f"{save_path}-{step}"
        prefix = str(save_path).removesuffix(SUFFIX)
        values = {}
        for name, var in self._vars.items():
            value = sess.variable_value(var)
            if value is None:
                raise ValueError(f"cannot save: variable '{var.name}' is not initialized in this session")
            values[name] = value
        path = prefix + SUFFIX
        if write_meta_graph:
            _write_meta_graph(f"{prefix}.{meta_graph_suffix}", sess.graph)
        write_checkpoint(path, values)
        self._remember(path)
        return prefix

    def _remember(self, path):
        """Index the new checkpoint, then (only then) delete the ones beyond max_to_keep."""
        kept = [p for p in self._kept if p != path] + [path]
        doomed = []
        while self.max_to_keep and len(kept) > self.max_to_keep:
            doomed.append(kept.pop(0))
        folder = os.path.dirname(os.path.abspath(path))
        here = [os.path.basename(p) for p in kept if os.path.dirname(os.path.abspath(p)) == folder]
        index = {"format": FORMAT, "version": VERSION, "latest": os.path.basename(path), "all": here}
        atomic_write(os.path.join(folder, INDEX), lambda f: f.write(json.dumps(index, indent=1).encode()))
        self._kept = kept
        for old in doomed:
            for path in (old, old.removesuffix(SUFFIX) + ".meta"):  # and its meta graph, if written
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def restore(self, sess: Session, save_path: StrPath) -> None:
        """Load every variable from a checkpoint prefix (or file); all are read and checked before any changes,
        so a bad or hostile file changes nothing and raises CheckpointError naming it."""
        path = checkpoint_file(save_path)
        with _Reader(path) as reader:
            staged = [(var, reader.value(name, var)) for name, var in self._vars.items()]
        for var, value in staged:
            sess.load_variable(var, value)


def write_checkpoint(path: str, values: Mapping[str, np.ndarray]) -> None:
    """Write {variable op name: value} as the checkpoint file `path`, whole or not at all (a SavedModel's
    variables are written so too)."""
    arrays = {"v/" + name: value for name, value in values.items()}
    arrays.update({"__format__": np.array(FORMAT), "__version__": np.array(VERSION)})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _write_meta_graph(filename, graph):
    """The graph beside the checkpoint; a graph holding what a meta graph cannot (a tf.data iterator over
    Python objects) gets none, with a warning naming the op, and the checkpoint is still written, as
    variables alone are what a Saver restores."""
    try:
        export_meta_graph(filename, graph=graph)
    except MetaGraphError as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(filename)  # a meta graph left by an earlier graph would not describe this one
        warnings.warn(f"Saver.save: no meta graph written to '{filename}' ({e}); the variables are saved, "
                      f"import_meta_graph cannot rebuild this graph", stacklevel=3)


def checkpoint_file(save_path: StrPath | None) -> str:
    """The file a checkpoint prefix (or file name) names."""
    if save_path is None:
        raise CheckpointError("cannot restore: the checkpoint path is None (did tf.train.latest_checkpoint find "
                              "no checkpoint?)")
    path = os.fspath(save_path)
    for candidate in ([path] if path.endswith(SUFFIX) else [path + SUFFIX, path]):
        if os.path.isfile(candidate):
            return candidate
    hint = " (it is a folder: restore tf.train.latest_checkpoint(folder))" if os.path.isdir(path) else ""
    if not path.endswith(SUFFIX):
        hint = hint or f" (there is no file '{path}{SUFFIX}')"
    raise CheckpointError(f"checkpoint '{path}' does not exist{hint}", path)


# -- reading -----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _reading(path, what):
    """Turn whatever zipfile, zlib or numpy raise about a damaged file into CheckpointError naming it."""
    try:
        yield
    except CheckpointError:
        raise
    except Exception as e:  # BadZipFile, zlib.error, EOFError, OSError, struct.error, ValueError ...
        raise CheckpointError(f"cannot read checkpoint '{path}': {what} ({type(e).__name__}: {e})", path) from e


def _plain_number(dtype):
    """bool, int, uint or float up to 8 bytes: no objects (pickle), strings, records or sub-arrays."""
    return (dtype.kind in "biuf" and not dtype.hasobject and dtype.fields is None and dtype.subdtype is None
            and dtype.itemsize <= MAX_ITEMSIZE)


def _convertible(src, target):
    """Kinds a value may change on restore (its values are then checked by _fitted): bool to any number,
    integers to integers or floats, floats to floats. Never floats to integers, nor numbers to bool."""
    if src.kind == "b":
        return True
    if target.kind == "b":
        return False
    return target.kind == "f" if src.kind == "f" else True


class _Reader:
    """One checkpoint file open for restoring: its members indexed by variable name, each read when asked."""

    def __init__(self, path):
        self.path = path
        with _reading(path, "the file cannot be opened"):
            self._file = open(path, "rb")
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()

    def _fail(self, message):
        return CheckpointError(f"cannot read checkpoint '{self.path}': {message}", self.path)

    def _open(self):
        magic = self._file.read(8)
        self._file.seek(0)
        if magic[:1] == b"\x80":
            raise self._fail("it is a Python pickle, which nnplug never loads")
        if magic.startswith(npy_format.MAGIC_PREFIX):
            raise self._fail("it is a bare .npy array, not an .npz checkpoint")
        with _reading(self.path, "it is not an .npz (zip) file or is damaged"):
            self._zip = zipfile.ZipFile(self._file)
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise self._fail(f"member {_short(twice)} appears twice")
        if "__format__.npy" not in names:
            raise CheckpointError(f"'{self.path}' is not an nnplug checkpoint (no '{FORMAT}' marker)", self.path)
        self._members, markers = {}, {}
        for info in infos:
            name = info.filename
            if name.endswith(".npy") and name[:-4] in MARKERS:
                markers[name[:-4]] = info
            elif name.startswith("v/") and name.endswith(".npy") and len(name) > 6:
                self._members[name[2:-4]] = info
            else:
                raise self._fail(f"unexpected member {_short(name)} (an nnplug checkpoint holds only "
                                 f"v/<variable>.npy members and its markers)")
        fmt = self._read(markers["__format__"], MAX_MARKER_BYTES, _marker_check("__format__", "U", "a string"))
        if str(fmt[()]) != FORMAT:
            raise CheckpointError(f"'{self.path}' is not an nnplug checkpoint (its marker says {_short(fmt[()])})",
                                  self.path)
        if "__version__" not in markers:
            raise self._fail("it has no '__version__' marker")
        version = self._read(markers["__version__"], MAX_MARKER_BYTES, _marker_check("__version__", "iu", "an integer"))
        if not 1 <= int(version[()]) <= VERSION:
            raise CheckpointError(f"checkpoint '{self.path}' has format version {int(version[()])}; this nnplug "
                                  f"reads versions 1 to {VERSION}", self.path)

    def _read(self, info, max_data, check):
        """The array in one .npy member. Its declared size, then its header (`check(shape, dtype)` returns what
        is wrong, or None) are checked before its data is read; zipfile never inflates past the declared size."""
        member = _short(info.filename)
        if info.file_size > MAX_HEADER_BYTES + max_data:
            raise self._fail(f"member {member} declares {info.file_size} bytes uncompressed, more than the "
                             f"{MAX_HEADER_BYTES + max_data} it can need")
        with _reading(self.path, f"member {member} is damaged"), self._zip.open(info) as f:
            version = npy_format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise self._fail(f"member {member} has .npy format version {version}")
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(f, max_header_size=MAX_HEADER_BYTES)
            problem = check(tuple(shape), dtype)
            if problem is not None:
                raise CheckpointError(f"checkpoint '{self.path}': {problem}", self.path)
            nbytes = math.prod(shape) * dtype.itemsize
            if f.tell() + nbytes != info.file_size:
                raise self._fail(f"member {member} holds {info.file_size} bytes, but its header describes "
                                 f"{f.tell() + nbytes}")
            data = f.read(nbytes)
            if len(data) != nbytes or f.read(1):  # reading to the end also checks the member's CRC
                raise self._fail(f"member {member} is truncated")
        return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")

    def value(self, name, var):
        """The value for `var`, checked against its shape and dtype, as an array of the variable's dtype."""
        info = self._members.get(name)
        if info is None:
            held = sorted(self._members)
            listed = ", ".join(_short(n, 40)[1:-1] for n in held[:10]) + (f" and {len(held) - 10} more"
                                                                         if len(held) > 10 else "")
            raise CheckpointError(f"checkpoint '{self.path}' has no value for variable '{var.name}' "
                                  f"(it holds: {listed or 'nothing'})", self.path)
        shape, target = tuple(var.shape), var.dtype.np

        def check(file_shape, dtype):
            if file_shape != shape:
                return f"variable '{var.name}' has shape {file_shape} in the file but {shape} in the graph"
            if not _plain_number(dtype) or not _convertible(dtype, np.dtype(target)):
                return f"variable '{var.name}' is stored as {dtype} in the file, which cannot become {var.dtype.name}"
            return None
        value = self._read(info, math.prod(shape) * MAX_ITEMSIZE, check)
        return _fitted(value, var, self.path)


def _marker_check(name, kinds, what):
    def check(shape, dtype):
        if shape == () and dtype.kind in kinds and not dtype.hasobject:
            return None
        return f"its '{name}' marker is stored as {dtype} of shape {shape}, not {what}"
    return check


def _fitted(value, var, path):
    """`value` as the variable's dtype, refusing (as TF1 does) values that dtype cannot hold: integers out of
    range or not exactly representable, finite floats that would overflow. Rounding of floats is allowed."""
    target = np.dtype(var.dtype.np)
    if value.dtype == target:
        return value  # read-only over the file's bytes; Session.load_variable copies it
    if value.size == 0:
        return value.astype(target)
    with np.errstate(all="ignore"):
        converted = value.astype(target)
        problem = None
        if target.kind in "iu" and value.dtype.kind in "iu":
            info = np.iinfo(target)
            lo, hi = value.min(), value.max()
            if lo < info.min or hi > info.max:
                problem = f"values from {lo} to {hi}, outside the range of {target} [{info.min}, {info.max}]"
        elif target.kind == "f" and value.dtype.kind == "f":
            finite = np.isfinite(value)
            if (finite & ~np.isfinite(converted)).any():
                problem = (f"finite values up to {np.abs(value[finite]).max():g} in magnitude, beyond the range of "
                           f"{target} (largest {np.finfo(target).max:g})")
        elif target.kind == "f" and value.dtype.kind in "iu":
            inexact = (converted.astype(value.dtype) != value) | ~np.isfinite(converted)
            if inexact.any():
                problem = (f"integers from {value.min()} to {value.max()} (e.g. {value[inexact].flat[0]}), which "
                           f"{target} cannot hold exactly")
    if problem is not None:
        raise CheckpointError(f"checkpoint '{path}': variable '{var.name}' ({target}) is stored as {value.dtype} "
                              f"with {problem}; nothing was restored", path)
    return converted


def latest_checkpoint(checkpoint_dir: StrPath, latest_filename: str | None = None) -> str | None:
    """The prefix of the newest checkpoint the folder's index names (as TF1: `.../model.ckpt-100`), or None."""
    index = os.path.join(checkpoint_dir, latest_filename or INDEX)
    try:
        with open(index, "rb") as f:
            raw = f.read(MAX_INDEX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CheckpointError(f"checkpoint index '{index}' cannot be read: {e}", index) from e
    if len(raw) > MAX_INDEX_BYTES:
        raise CheckpointError(f"checkpoint index '{index}' is over {MAX_INDEX_BYTES} bytes: not an nnplug index", index)
    try:
        latest = json.loads(raw.decode("utf-8")).get("latest")
    except (ValueError, AttributeError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        hint = " (a TensorFlow index? nnplug reads its own checkpoints only)" if b"model_checkpoint_path" in raw else ""
        raise CheckpointError(f"checkpoint index '{index}' is corrupted{hint}: {e}", index) from None
    if not isinstance(latest, str) or not latest:
        return None
    name = os.path.basename(latest)  # never a path outside the folder
    if name in ("", ".", "..") or "\x00" in name:
        raise CheckpointError(f"checkpoint index '{index}' names {_short(latest)}, not a file in the folder", index)
    path = os.path.join(checkpoint_dir, name)
    prefix = path.removesuffix(SUFFIX)
    if not (os.path.isfile(prefix + SUFFIX) or os.path.isfile(path)):
        return None  # as TF1: the index names a checkpoint whose file is gone
    return prefix


def import_meta_graph(meta_graph_or_file: StrPath | dict[str, Any], clear_devices: bool = False,
                      import_scope: str | None = None, **kw: Any) -> Saver | None:
    """Rebuild a graph saved by `export_meta_graph` (or `Saver.save`) into the default graph; returns a Saver
    for its variables (None if it has none), so `import_meta_graph(p + '.meta').restore(sess, p)` works."""
    variables = import_graph(meta_graph_or_file, import_scope)
    return Saver(variables) if variables else None
