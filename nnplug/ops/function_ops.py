"""Python functions in graphs, TF2's spellings: `tf.py_function` and `tf.numpy_function` (both run as
tf.py_func's host op) and `tf.custom_gradient` (the function's ops give the value, the user's grad_fn
the gradient: one CustomGradient composite whose expansion is the identity of the function's outputs).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..graph import convert_to_tensor, make_op
from .math_ops import zeros_like
from .registry import register
from .script_ops import py_func
from .._types import TensorLike


class EagerValue(np.ndarray):
    """A NumPy array that also answers `.numpy()`, as the EagerTensors py_function's func receives."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self).view(np.ndarray)


def py_function(func: Callable[..., Any], inp: Sequence[TensorLike], Tout: Any,  # noqa: N803 - TF's name
                name: str | None = None) -> Any:
    """Runs `func` on the inputs' values each time the op runs (each has `.numpy()`); not differentiable
    here (TF2 differentiates it with its tape, which TF1 graphs do not have)."""
    def call(*args):
        return func(*[np.asarray(a).view(EagerValue) for a in args])
    call.__name__ = getattr(func, "__name__", "py_function")
    return py_func(call, inp, Tout, stateful=True, name=name)


def numpy_function(func: Callable[..., Any], inp: Sequence[TensorLike], Tout: Any,  # noqa: N803 - TF's name
                   stateful: bool = True, name: str | None = None) -> Any:
    """tf.py_func under its TF2 name: `func` gets and returns NumPy arrays."""
    return py_func(func, inp, Tout, stateful=stateful, name=name)


# -- custom_gradient --------------------------------------------------------------------------------
def _custom_rule(shapes, dtypes, attrs):
    n = attrs["n_x"]
    return list(zip(shapes[n:], dtypes[n:]))


def _custom_grad(op, *grads):
    n, ys = op.attrs["n_x"], op.outputs
    dys = [g if g is not None else zeros_like(y) for g, y in zip(grads, ys)]
    result = op.attrs["grad_fn"](*dys)
    result = list(result) if isinstance(result, (list, tuple)) else [result]
    if len(result) != n:
        raise ValueError(f"custom_gradient '{op.name}': grad_fn returned {len(result)} gradients for the "
                         f"function's {n} inputs")
    return [None if g is None else convert_to_tensor(g, dtype=x.dtype) for g, x in zip(result, op.inputs[:n])] + \
        [None] * (len(op.inputs) - n)


register("CustomGradient", _custom_rule, grad=_custom_grad,
         expand=lambda b, ins, attrs: list(ins[attrs["n_x"]:]))


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: f(*x) returns (y, grad_fn), grad_fn(*dy) the gradients for x. The wrapped function
    returns y, whose gradient with respect to x is grad_fn's (f's own ops are not differentiated).
    grad_fn taking `variables=` (gradients for variables f reads) is not supported."""
    import inspect

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        xs = [convert_to_tensor(a) for a in args]
        y, grad_fn = f(*xs, **kwargs)
        if not callable(grad_fn):
            raise TypeError(f"custom_gradient: {getattr(f, '__name__', 'f')} must return (outputs, grad_fn), got a "
                            f"{type(grad_fn).__name__} for grad_fn")
        if "variables" in inspect.signature(grad_fn).parameters:
            raise NotImplementedError("custom_gradient: grad_fn(..., variables=...) is not supported; pass the "
                                      "variables' values as inputs instead")
        single = not isinstance(y, (list, tuple))
        ys = [convert_to_tensor(t) for t in ([y] if single else y)]
        op = make_op("CustomGradient", xs + ys, {"grad_fn": grad_fn, "n_x": len(xs)}, name="CustomGradient")
        return op.outputs[0] if single else type(y)(op.outputs)
    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = f.__doc__
    return wrapped

