"""Reading checkpoints without a graph, as TF1's checkpoint utilities do: the folder's index
(`get_checkpoint_state`), whether a prefix has a checkpoint, and the variables a checkpoint holds
(`list_variables`, `load_variable`, `NewCheckpointReader`). They read the Saver's own files
(nnplug/train/saver.py: `<prefix>.npz` and the JSON `checkpoint` index) through its checked reader, so a
damaged or foreign file is a CheckpointError naming it; `global_step` reads the step counter's value.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from ..graph import Tensor
from .saver import INDEX, MAX_INDEX_BYTES, MAX_ITEMSIZE, SUFFIX, CheckpointError, _Reader, checkpoint_file, \
    latest_checkpoint
from .._types import StrPath


class CheckpointState:
    """TF1's CheckpointState: the newest checkpoint's prefix and all the kept ones, oldest first."""

    def __init__(self, model_checkpoint_path: str, all_model_checkpoint_paths: list[str]) -> None:
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)

    def __repr__(self) -> str:
        return (f"model_checkpoint_path: {self.model_checkpoint_path!r}\n"
                + "".join(f"all_model_checkpoint_paths: {p!r}\n" for p in self.all_model_checkpoint_paths))


def _kept(index_path, checkpoint_dir):
    """The prefixes the index lists under 'all' (each a file name in the folder), or an error naming it."""
    with open(index_path, "rb") as f:
        raw = f.read(MAX_INDEX_BYTES + 1)
    try:
        names = json.loads(raw.decode("utf-8")).get("all", [])
    except (ValueError, AttributeError, RecursionError) as e:
        raise CheckpointError(f"checkpoint index '{index_path}' is corrupted: {e}", index_path) from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"checkpoint index '{index_path}': 'all' must be a list of file names", index_path)
    out = []
    for n in names:
        base = os.path.basename(n)
        if base in ("", ".", "..") or "\x00" in base:
            raise CheckpointError(f"checkpoint index '{index_path}' names {n!r:.80}, not a file in the folder",
                                  index_path)
        out.append(os.path.join(checkpoint_dir, base).removesuffix(SUFFIX))
    return out


def get_checkpoint_state(checkpoint_dir: StrPath, latest_filename: str | None = None) -> CheckpointState | None:
    """The folder's checkpoint index (None when there is none, or its newest checkpoint is gone)."""
    checkpoint_dir = os.fspath(checkpoint_dir)
    latest = latest_checkpoint(checkpoint_dir, latest_filename)  # validates the index and the newest file
    if latest is None:
        return None
    kept = _kept(os.path.join(checkpoint_dir, latest_filename or INDEX), checkpoint_dir)
    return CheckpointState(latest, kept if latest in kept else kept + [latest])


def checkpoint_exists(checkpoint_prefix: StrPath) -> bool:
    """Whether a checkpoint file exists for this prefix (or file name)."""
    try:
        checkpoint_file(checkpoint_prefix)
    except CheckpointError:
        return False
    return True


def _open(ckpt_dir_or_file):
    """A checked reader of the checkpoint a prefix, file or folder (its newest) names."""
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"no checkpoint found in folder '{path}'", path)
        path = latest
    return _Reader(checkpoint_file(path))


class CheckpointReader:
    """TF1's NewCheckpointReader: the variables of one checkpoint by name, their shapes and values."""

    def __init__(self, ckpt_dir_or_file: StrPath) -> None:
        with _open(ckpt_dir_or_file) as reader:
            self._path = reader.path
            self._shapes, self._dtypes = {}, {}
            for name in sorted(reader._members):
                shape, dtype = self._header(reader, name)
                self._shapes[name], self._dtypes[name] = shape, dtype

    @staticmethod
    def _header(reader, name):
        seen = {}

        def look(shape, dtype):  # the reader checks the member's header, then stops here
            seen["shape"], seen["dtype"] = list(shape), dtype
            raise _HeaderRead
        try:
            reader._read(reader._members[name], reader._members[name].file_size, look)
        except _HeaderRead:
            return seen["shape"], seen["dtype"]
        raise CheckpointError(f"checkpoint '{reader.path}': member for '{name}' has no header", reader.path)

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {n: list(s) for n, s in self._shapes.items()}

    def get_variable_to_dtype_map(self) -> dict[str, Any]:
        from ..dtypes import as_dtype
        return {n: as_dtype(d) for n, d in self._dtypes.items()}

    def has_tensor(self, tensor_str: str) -> bool:
        return tensor_str in self._shapes

    def get_tensor(self, tensor_str: str) -> np.ndarray:
        """The value of one variable (a NumPy array); a name the checkpoint lacks is a NotFoundError
        listing a few it holds."""
        if tensor_str not in self._shapes:
            from ..errors import NotFoundError
            held = ", ".join(sorted(self._shapes)[:10])
            raise NotFoundError(f"Key {tensor_str} not found in checkpoint '{self._path}' (it holds: "
                                f"{held or 'nothing'})")
        shape, dtype = self._shapes[tensor_str], self._dtypes[tensor_str]
        with _Reader(self._path) as reader:
            value = reader._read(reader._members[tensor_str], math.prod(shape) * MAX_ITEMSIZE, lambda s, d: None)
        return np.array(value, dtype=dtype)

    def debug_string(self) -> bytes:
        return "".join(f"{n} ({self._dtypes[n]}) {s}\n" for n, s in self._shapes.items()).encode()


class _HeaderRead(CheckpointError):
    """Stops the checked reader once a member's header is read (it passes CheckpointErrors through)."""

    def __init__(self) -> None:
        super().__init__("header read")


def NewCheckpointReader(filepattern: StrPath) -> CheckpointReader:  # noqa: N802 - TF1's name
    return CheckpointReader(filepattern)


def list_variables(ckpt_dir_or_file: StrPath) -> list[tuple[str, list[int]]]:
    """(name, shape) of every variable in the checkpoint, sorted by name."""
    return sorted(CheckpointReader(ckpt_dir_or_file).get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file: StrPath, name: str) -> np.ndarray:
    """One variable's value from the checkpoint (a trailing ':0' is ignored, as TF1)."""
    return CheckpointReader(ckpt_dir_or_file).get_tensor(name.removesuffix(":0"))


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The value of the global step counter (a variable or tensor) as a Python int."""
    target = global_step_tensor._as_tensor() if hasattr(global_step_tensor, "_as_tensor") else global_step_tensor
    if not isinstance(target, Tensor) or not target.dtype.is_integer:
        raise TypeError(f"global_step: expected an integer step variable or tensor, got {global_step_tensor!r:.80}")
    return int(sess.run(target))
