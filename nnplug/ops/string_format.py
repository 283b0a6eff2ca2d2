"""`tf.strings.format`: a template with each placeholder replaced by a tensor printed as TF prints them
(`[1 2 3]`, strings in quotes, nested brackets, the middle of long dimensions elided after `summarize`
entries at each end). A host op; the template is split when the graph is built, never executed."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make
from ..shapes import TensorShape
from .registry import register
from .._types import TensorLike


def string_format(template: str, inputs: TensorLike | Sequence[TensorLike], placeholder: str = "{}",
                  summarize: int = 3, name: str | None = None) -> Tensor:
    """A scalar string: `template` with its placeholders replaced, in order, by the printed `inputs`."""
    if not isinstance(template, str) or not isinstance(placeholder, str) or not placeholder:
        raise TypeError("tf.strings.format takes a template string and a non-empty placeholder string")
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    parts = template.split(placeholder)
    if len(parts) - 1 != len(items):
        raise ValueError(f"tf.strings.format: the template has {len(parts) - 1} placeholders ({placeholder!r}) "
                         f"but {len(items)} inputs were given")
    if not isinstance(summarize, int) or summarize == 0 or summarize < -1:
        raise ValueError(f"tf.strings.format: summarize must be a positive int or -1 (everything), got {summarize!r}")
    tensors = [convert_to_tensor(x) for x in items]
    return make("StringFormat", tensors, {"parts": tuple(p.encode() for p in parts), "summarize": summarize},
                name=name or "StringFormat")


def _scalar(v: Any, string: bool) -> str:
    if string:
        return '"' + bytes(v).decode("utf-8", errors="replace") + '"'
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, np.floating):
        return _shortest(v)
    return str(v)


def _shortest(v: np.floating) -> str:
    """C++'s float printing as TF does it: the type's guaranteed digits (6 or 15) when they read back to the
    same value, else enough for every value (9 or 17)."""
    few, many = (6, 9) if v.dtype.itemsize <= 4 else (15, 17)
    short = "%.*g" % (few, v)
    return short if type(v)(short) == v else "%.*g" % (many, v)


def render(x: np.ndarray, summarize: int) -> str:
    """A value as TF's format and Print show it."""
    string = x.dtype.kind == "O"
    if x.ndim == 0:
        return _scalar(x[()], string)

    def rows(a, depth):
        n = a.shape[0]
        idx = list(range(n)) if summarize == -1 or n <= 2 * summarize else \
            list(range(summarize)) + [None] + list(range(n - summarize, n))
        if a.ndim == 1:
            return "[" + " ".join("..." if i is None else _scalar(a[i], string) for i in idx) + "]"
        sep = "\n" * (a.ndim - 1) + " " * (depth + 1)
        return "[" + sep.join("..." if i is None else rows(a[i], depth + 1) for i in idx) + "]"
    return rows(x, 0)


def _format_host(spec):
    parts, summarize = spec.attrs["parts"], spec.attrs["summarize"]

    def fmt(*values):
        out = [parts[0]]
        for v, p in zip(values, parts[1:]):
            out += [render(np.asarray(v), summarize).encode(), p]
        arr = np.empty((), object)
        arr[()] = b"".join(out)
        return arr
    return fmt


register("StringFormat", lambda shapes, dtypes, attrs: [(TensorShape(()), _dt.string)], host=_format_host)
