"""`keras.utils`: label encoding and the name look-up shared by activations, losses, optimizers, metrics."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from collections.abc import Sequence as Seq
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> ValueError:
    """The ValueError for an unknown `kind` name: lists the valid names and suggests the closest one."""
    typed = str(name).lower()
    swapped = [v for v in valid if sorted(v) == sorted(typed)]  # letters transposed: 'adma' is 'adam', not 'adamax'
    close = swapped[:1] or difflib.get_close_matches(typed, list(valid), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ValueError(f"unknown {kind} '{name}'.{hint} Valid {kind} names: {', '.join(sorted(valid))}")


def to_categorical(y: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = "float32") -> np.ndarray:
    """Class ids (any shape) -> one-hot rows with `num_classes` columns (default: max id + 1)."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("to_categorical needs integer class ids; got non-integer float values")
    elif y.dtype.kind not in "iub":
        raise TypeError(f"to_categorical needs integer class ids, got an array of dtype {y.dtype}")
    shape = y.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    y = y.reshape(-1).astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class ids must be >= 0, got {y.min()}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: class id {int(y.max())} does not fit num_classes={num_classes}")
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x: ArrayLike, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale `x` to unit `order`-norm along `axis` (zero rows stay zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def pad_sequences(sequences: Seq[Seq[Any]], maxlen: int | None = None, dtype: DTypeLike = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Keras 3's keras.utils.pad_sequences: keras.preprocessing.sequence.pad_sequences."""
    from .preprocessing.sequence import pad_sequences as pad
    return pad(sequences, maxlen, dtype, padding, truncating, value)


class Sequence:
    """Keras's `keras.utils.Sequence`: batches by index (`__getitem__`, `__len__` batches per epoch), for
    fit/fit_generator, which call `on_epoch_end` after each epoch (e.g. to reshuffle)."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning one batch")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__() (the number of batches)")

    def on_epoch_end(self) -> None:
        """Called after each epoch of fit; does nothing unless overridden."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
