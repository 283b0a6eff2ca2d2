"""`tf.print` (TF2's PrintV2, in TF1 graphs): a stateful host op with no value, run through
`tf.control_dependencies` or by fetching it, that writes its inputs as TensorFlow formats them.

Python values among the inputs (strings, numbers, lists and dicts holding tensors) are kept in the op's
attrs as a template; only the tensors are inputs. Nothing the user passes reaches generated source.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Operation, Tensor, convert_to_tensor, make
from ..shapes import TensorShape
from .debug_ops import _entry
from .registry import register


class _Slot:
    """Where the i-th tensor input goes in the printed template."""

    def __init__(self, i: int) -> None:
        self.i = i


def _template(value, tensors):
    if isinstance(value, (list, tuple)):
        return type(value)(_template(v, tensors) for v in value)
    if isinstance(value, dict):
        return {k: _template(v, tensors) for k, v in value.items()}
    from ..variables import Variable
    if isinstance(value, (Tensor, Variable)):
        tensors.append(convert_to_tensor(value))
        return _Slot(len(tensors) - 1)
    return value


def _item(v):
    if isinstance(v, bytes):
        return '"' + v.decode(errors="replace") + '"'
    return _entry(v)


def _row(a, n):
    """One axis of `a`, its entries (or sub-arrays) summarised to the first and last n when longer than 2n."""
    k = a.shape[0]
    if n < 0 or k <= 2 * n:
        return list(range(k)), False
    return list(range(n)) + list(range(k - n, k)), True


def format_tensor(a: np.ndarray, summarize: int, depth: int = 0) -> str:
    """TensorFlow's text for an array: [[1 2 3]\\n [4 5 6]], '...' where summarised, strings quoted."""
    a = np.asarray(a)
    if a.ndim == 0:
        v = a[()]
        return v.decode(errors="replace") if isinstance(v, bytes) and depth == 0 else _item(v)
    if a.size == 0:
        return "[]"
    keep, cut = _row(a, summarize)
    if a.ndim == 1:
        parts = [_item(a[i]) for i in keep]
        if cut:
            parts.insert(len(parts) // 2, "...")
        return "[" + " ".join(parts) + "]"
    parts = [format_tensor(a[i], summarize, depth + 1) for i in keep]
    if cut:
        parts.insert(len(parts) // 2, "...")
    return "[" + ("\n" * (a.ndim - 1) + " " * (depth + 1)).join(parts) + "]"


def _render(value, arrays, summarize, top=True):
    if isinstance(value, _Slot):
        return format_tensor(arrays[value.i], summarize)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_render(v, arrays, summarize, False) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_render(v, arrays, summarize, False)}" for k, v in value.items()) + "}"
    return str(value) if top or not isinstance(value, str) else repr(value)


def _write(stream, text):
    if stream is None:
        stream = sys.stderr
    if isinstance(stream, str):  # "file://path": appended, as TF
        with open(stream[len("file://"):], "a", encoding="utf-8") as f:
            f.write(text)
        return
    if hasattr(stream, "write"):
        stream.write(text)
        if hasattr(stream, "flush"):
            stream.flush()
    else:  # a logging function, e.g. tf.compat.v1.logging.info: given the line without its end
        stream(text.rstrip("\n"))


def _print_host(spec):
    template, a = spec.attrs["template"], spec.attrs

    def run(*arrays):
        text = a["sep"].join(_render(v, arrays, a["summarize"]) for v in template) + a["end"]
        _write(a["output_stream"], text)
        return np.zeros((), np.bool_)
    return run


register("PrintV2", lambda shapes, dtypes, attrs: [(TensorShape([]), _dt.bool_)], stateful=True, host=_print_host)


def print_v2(*inputs: Any, output_stream: Any = None, summarize: int | None = 3, sep: str = " ", end: str = "\n",
             name: str | None = None) -> Operation:
    """An op printing `inputs` (tensors, and Python values holding them) each time it runs: run it with
    `tf.control_dependencies([tf.print(...)])` or `sess.run`. output_stream: sys.stderr (the default),
    sys.stdout, any object with write(), a logging function, or 'file://path' (appended to)."""
    if isinstance(output_stream, str) and not output_stream.startswith("file://"):
        raise ValueError(f"tf.print: a string output_stream must be 'file://path', got {output_stream!r:.80}")
    if output_stream is not None and not isinstance(output_stream, str) and not (
            hasattr(output_stream, "write") or callable(output_stream)):
        raise TypeError(f"tf.print: output_stream must be a stream, a logging function or 'file://path', got "
                        f"{type(output_stream).__name__}")
    tensors: list[Tensor] = []
    template = [_template(v, tensors) for v in inputs]
    attrs = {"template": template, "output_stream": output_stream, "sep": str(sep), "end": str(end),
             "summarize": -1 if summarize is None else int(summarize)}
    return make("PrintV2", tensors, attrs, name=name).op
