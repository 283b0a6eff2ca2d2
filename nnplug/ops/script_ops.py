"""Python callables in a graph: `tf.py_func` (the user's function run on NumPy values at run time) and the
higher-order functions `map_fn`, `foldl`, `foldr` and `scan`, unrolled over a leading dimension known when
the graph is built (unstack, call, stack), so they need no loop op and have gradients.
"""
import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import convert_to_tensor, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .array_ops import stack
from .manip_ops import unstack
from .registry import register


# -- py_func -------------------------------------------------------------------------------------
def _py_func_rule(shapes, dtypes, attrs):
    """Unknown shapes unless the caller set them (Tensor.set_shape on the outputs), as TF1. When the op
    exists (a plan is compiled) an unknown shape reads as a vector of unknown size: fetchable, and refused
    with a clear message as another op's input."""
    outs = attrs["outputs"]
    if not outs:  # the op is being made
        return [(TensorShape(None), d) for d in attrs["Tout"]]
    return [(TensorShape([None]) if t.shape.unknown_rank else t.shape, d) for t, d in zip(outs, attrs["Tout"])]


def _py_func_host(spec):
    func, tout, name = spec.attrs["func"], spec.attrs["Tout"], spec.name
    shapes = [tuple(t.shape) if t.shape.is_fully_defined() else None for t in spec.attrs["outputs"]]

    def call(*args):
        result = func(*args)
        values = list(result) if isinstance(result, (list, tuple)) else [result]
        if len(values) != len(tout):
            raise InvalidArgumentError(f"py_func '{name}': the function returned {len(values)} values, "
                                       f"Tout declares {len(tout)}")
        out = []
        for i, (v, d, s) in enumerate(zip(values, tout, shapes)):
            arr = np.asarray(v)
            if arr.dtype.kind not in "biuf" or (d.is_integer and arr.dtype.kind == "f") or \
                    (d == _dt.bool_ and arr.dtype.kind != "b"):
                raise InvalidArgumentError(f"py_func '{name}': output {i} is {arr.dtype}, Tout declares {d.name}")
            if s is not None and arr.shape != s:
                raise InvalidArgumentError(f"py_func '{name}': output {i} has shape {arr.shape}, set to {s}")
            out.append(arr.astype(d.np, copy=False))
        return out[0] if len(out) == 1 else tuple(out)
    return call


register("PyFunc", _py_func_rule, stateful=True, host=_py_func_host,
         grad=lambda op, *gs: [None] * len(op.inputs))  # TF1: not differentiable


def py_func(func, inp, Tout, stateful=True, name=None):  # noqa: N803 - TF1's argument name
    """Run `func` on the NumPy values of `inp` each time the op runs; its results become tensors of the
    dtypes `Tout` (one dtype: one tensor; a list: a list). Outputs have unknown shapes until set_shape."""
    if not callable(func):
        raise TypeError(f"py_func: func must be callable, got {type(func).__name__}")
    single = not isinstance(Tout, (list, tuple))
    tout = tuple(_dt.as_dtype(d) for d in ([Tout] if single else Tout))
    inputs = [convert_to_tensor(x) for x in inp]
    outputs = []  # filled once the op exists: the compile-time rule then reads shapes set on them
    op = make_op("PyFunc", inputs, {"func": func, "Tout": tout, "outputs": outputs}, name=name)
    outputs.extend(op.outputs)
    return op.outputs[0] if single else list(op.outputs)


# -- unrolled higher-order functions -------------------------------------------------------------
def _flat(elems, fn_name):
    """elems as a list of tensors and whether it was a sequence; every one needs a known leading size."""
    seq = isinstance(elems, (list, tuple))
    tensors = [convert_to_tensor(e) for e in (elems if seq else [elems])]
    if not tensors:
        raise ValueError(f"{fn_name}: elems is empty")
    sizes = {t.shape[0] if t.shape.ndims else None for t in tensors}
    n = sizes.pop() if len(sizes) == 1 else None
    if n is None:
        shown = ", ".join(f"'{t.name}' {fmt(t.shape)}" for t in tensors)
        raise ShapeError(f"{fn_name}: nnplug unrolls over the first axis, which must have one size known when "
                         f"the graph is built; got {shown}")
    return tensors, seq, int(n)


def _items(tensors, seq, n, reverse=False):
    columns = [unstack(t, num=n) for t in tensors]
    rows = [tuple(c[i] for c in columns) if seq else columns[0][i] for i in range(n)]
    return rows[::-1] if reverse else rows


def _stacked(results):
    """Stack per-element results, which are tensors or (nested) lists/tuples of tensors."""
    first = results[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_stacked([r[i] for r in results]) for i in range(len(first)))
    return stack([convert_to_tensor(r) for r in results])


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False, infer_shape=True,
           name=None):
    """fn applied to each slice elems[i] (a tuple of slices when elems is a sequence), results stacked."""
    tensors, seq, n = _flat(elems, "map_fn")
    if n == 0:
        raise ShapeError("map_fn over a first axis of size 0 is not supported (nnplug unrolls it)")
    with name_scope(name, "map"):
        return _stacked([fn(x) for x in _items(tensors, seq, n)])


def _fold(fn, elems, initializer, name, default, reverse):
    tensors, seq, n = _flat(elems, default)
    items = _items(tensors, seq, n, reverse)
    with name_scope(name, default):
        if initializer is None:
            if n == 0:
                raise ShapeError(f"{default}: elems is empty and no initializer is given")
            acc, items = items[0], items[1:]
        else:
            acc = initializer
        for x in items:
            acc = fn(acc, x)
        return acc


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """acc = fn(acc, elems[i]) from the first element on (acc starts at initializer, else elems[0])."""
    return _fold(fn, elems, initializer, name, "foldl", reverse=False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False, name=None):
    """foldl from the last element back."""
    return _fold(fn, elems, initializer, name, "foldr", reverse=True)


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True, swap_memory=False,
         infer_shape=True, reverse=False, name=None):
    """Every intermediate acc of a fold, stacked (the first is elems[0] when no initializer is given)."""
    tensors, seq, n = _flat(elems, "scan")
    items = _items(tensors, seq, n, reverse)
    with name_scope(name, "scan"):
        if initializer is None:
            acc, items, outs = items[0], items[1:], [items[0]]
        else:
            acc, outs = initializer, []
        for x in items:
            acc = fn(acc, x)
            outs.append(acc)
        if not outs:
            raise ShapeError("scan over a first axis of size 0 is not supported (nnplug unrolls it)")
        return _stacked(outs[::-1] if reverse else outs)
