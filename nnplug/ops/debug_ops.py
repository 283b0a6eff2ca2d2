"""Run-time checks and printing: `tf.Print` and the `tf.assert_*` family.

Both are stateful host ops (never folded, merged or dropped; every backend runs them on the host), so they
run on every `Session.run` that needs them — an assert through `tf.control_dependencies`, Print through
the tensor it passes on. User text (messages) lives in attrs and reaches only error messages and stderr.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Operation, Tensor, convert_to_tensor, make, name_scope
from ..shapes import TensorShape
from . import elementwise as E
from .registry import register
from .._types import BinaryOp, TensorLike


def _entry(v):
    """One value as TF1's Print shows it: floats in 6 significant digits where they read back, else 9 (1,
    0.1, 0.333333343; float64: 15, else 17), bools as 1 and 0, bytes decoded, the rest as str."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.bool_):
        return str(int(v))
    if isinstance(v, np.floating):
        short, full = (".15g", ".17g") if v.dtype == np.float64 else (".6g", ".9g")
        text = format(float(v), short)
        return text if not np.isfinite(v) or type(v)(text) == v else format(float(v), full)
    return str(v)


def _summarized(value, n):
    """The first `n` entries of `value` in TF1's bracketed form ([1 2 3...])."""
    flat = np.asarray(value).reshape(-1)
    text = " ".join(_entry(v) for v in flat[:max(n, 0)])
    text += "..." if flat.size > n else ""
    return text if np.ndim(value) == 0 else f"[{text}]"


def _bracketed(value, n):
    """One Print datum as TF1 shows it: [3] for a scalar, [1 2 3...] for an array."""
    text = _summarized(value, n)
    return text if np.ndim(value) else f"[{text}]"


# -- tf.Print ------------------------------------------------------------------------------------
def _print_host(spec):
    message, summarize, first_n = spec.attrs["message"], spec.attrs["summarize"], spec.attrs["first_n"]
    count = [0]

    def print_(x, *data):
        if first_n < 0 or count[0] < first_n:
            count[0] += 1
            sys.stderr.write(message + "".join(_bracketed(d, summarize) for d in data) + "\n")
            sys.stderr.flush()
        return x
    return print_


register("Print", lambda shapes, dtypes, attrs: [(shapes[0], dtypes[0])], stateful=True, host=_print_host,
         grad=lambda op, g: [g] + [None] * (len(op.inputs) - 1))


def Print(input_: TensorLike, data: Sequence[TensorLike] | None, message: str | None = None,  # noqa: N802 - TF1's name
          first_n: int | None = None, summarize: int | None = None, name: str | None = None) -> Tensor:
    """Returns `input_`, printing `message` and the values of `data` to stderr each time it runs (the
    first `first_n` times when given, `summarize` entries of each, default 3)."""
    x = convert_to_tensor(input_)
    data = [convert_to_tensor(d) for d in (data or [])]
    attrs = {"message": "" if message is None else str(message),
             "summarize": 3 if summarize is None else int(summarize), "first_n": -1 if first_n is None else int(first_n)}
    return make("Print", [x] + data, attrs, name=name)


# -- asserts -------------------------------------------------------------------------------------
def _assert_host(spec):
    message, names, summarize, op_name = (spec.attrs["message"], spec.attrs["names"], spec.attrs["summarize"],
                                          spec.name)

    def check(condition, *data):
        if not np.all(condition):
            shown = " ".join(f"{n} = {_summarized(d, summarize)}" for n, d in zip(names, data))
            raise InvalidArgumentError(f"assertion failed in op '{op_name}': {message} {shown}".rstrip())
        return np.asarray(True)
    return check


register("Assert", lambda shapes, dtypes, attrs: [(TensorShape([]), _dt.bool_)], stateful=True, host=_assert_host)


def Assert(condition: TensorLike, data: Sequence[TensorLike], summarize: int | None = None,  # noqa: N802 - TF1's name
           name: str | None = None) -> Operation:
    """An op that fails the run with InvalidArgumentError (showing `data`) when `condition` is not all true."""
    cond = convert_to_tensor(condition)
    if cond.dtype != _dt.bool_:
        raise TypeError(f"Assert: condition '{cond.name}' must be bool, got {cond.dtype.name}")
    data = [convert_to_tensor(d) for d in data]
    return _assert(cond, data, [d.name for d in data], "", summarize, name or "Assert")


def _assert(cond, data, names, message, summarize, name):
    attrs = {"message": message, "names": tuple(names), "summarize": 3 if summarize is None else int(summarize)}
    return make("Assert", [cond] + list(data), attrs, name=name).op


def _elementwise_check(operands, symbol, compare, default, data, summarize, message, name):
    """The Assert op for `x symbol y` (or `x symbol 0` for one operand), naming the tensors compared."""
    x = convert_to_tensor(operands[0])
    y = convert_to_tensor(operands[1], dtype=x.dtype) if len(operands) == 2 else convert_to_tensor(0, dtype=x.dtype)
    with name_scope(name, default):
        what = f"x ('{x.name}') and y ('{y.name}')" if len(operands) == 2 else f"x ('{x.name}')"
        text = (f"{message}: " if message else "") + \
            f"Condition x {symbol} {'y' if len(operands) == 2 else 0} did not hold element-wise: {what}"
        shown = [x, y][:len(operands)] + [convert_to_tensor(d) for d in (data or [])]
        names = ["x", "y"][:len(operands)] + [d.name for d in shown[len(operands):]]
        return _assert(compare(x, y), shown, names, text, summarize, "Assert")


def _named(fn, default, doc):
    fn.__name__ = fn.__qualname__ = default
    fn.__doc__ = f"An op failing the run unless {doc} element-wise (use it in tf.control_dependencies)."
    return fn


def _comparison(symbol: str, compare: BinaryOp, default: str) -> Callable[..., Operation]:
    def assert_fn(x: TensorLike, y: TensorLike, data: Sequence[TensorLike] | None = None, summarize: int | None = None,
                  message: str | None = None, name: str | None = None) -> Operation:
        return _elementwise_check((x, y), symbol, compare, default, data, summarize, message, name)
    return _named(assert_fn, default, f"x {symbol} y")


def _sign_check(symbol: str, compare: BinaryOp, default: str) -> Callable[..., Operation]:
    def assert_fn(x: TensorLike, data: Sequence[TensorLike] | None = None, summarize: int | None = None,
                  message: str | None = None, name: str | None = None) -> Operation:
        return _elementwise_check((x,), symbol, compare, default, data, summarize, message, name)
    return _named(assert_fn, default, f"x {symbol} 0")


assert_equal = _comparison("==", E.equal, "assert_equal")
assert_none_equal = _comparison("!=", E.not_equal, "assert_none_equal")
assert_less = _comparison("<", E.less, "assert_less")
assert_less_equal = _comparison("<=", E.less_equal, "assert_less_equal")
assert_greater = _comparison(">", E.greater, "assert_greater")
assert_greater_equal = _comparison(">=", E.greater_equal, "assert_greater_equal")
assert_positive = _sign_check(">", E.greater, "assert_positive")
assert_negative = _sign_check("<", E.less, "assert_negative")
assert_non_negative = _sign_check(">=", E.greater_equal, "assert_non_negative")
assert_non_positive = _sign_check("<=", E.less_equal, "assert_non_positive")
