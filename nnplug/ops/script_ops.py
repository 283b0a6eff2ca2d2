"""Python callables in a graph: `tf.py_func` (the user's function run on NumPy values at run time) and the
higher-order functions `map_fn`, `foldl`, `foldr` and `scan`.

The higher-order functions run as TF1 runs them: a `tf.while_loop` over the leading dimension, reading the
elements from TensorArrays and writing the results to others, so the leading dimension may be unknown until
the graph runs and everything is differentiable. Over a leading dimension of at most `UNROLL_MAX` elements
known when the graph is built they are unrolled instead (unstack, call, stack): one plan of flat kernels,
several times faster than a loop's per-iteration sub-plan calls at such sizes (tests/test_control_flow_fn.py
measures it).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import convert_to_tensor, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .array_ops import shape, stack
from .control_flow import describe_template, flatten_structure, pack_structure, same_structure, while_loop
from .manip_ops import unstack
from .registry import register
from .tensor_array import TensorArray, constant_value
from .._types import DTypeLike, Structure, Tensor, TensorLike


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


@overload
def py_func(func: Callable[..., Any], inp: Sequence[TensorLike],
            Tout: list[DTypeLike] | tuple[DTypeLike, ...],  # noqa: N803 - TF1's argument name
            stateful: bool = True, name: str | None = None) -> list[Tensor]: ...


@overload
def py_func(func: Callable[..., Any], inp: Sequence[TensorLike], Tout: DTypeLike,  # noqa: N803
            stateful: bool = True, name: str | None = None) -> Tensor: ...


def py_func(func: Callable[..., Any], inp: Sequence[TensorLike],
            Tout: DTypeLike | list[DTypeLike] | tuple[DTypeLike, ...],  # noqa: N803 - TF1's argument name
            stateful: bool = True, name: str | None = None) -> Tensor | list[Tensor]:
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


# -- higher-order functions --------------------------------------------------------------------
UNROLL_MAX = 16  # leading sizes up to this, known when building, are unrolled


def _elements(elems, fn_name):
    """(flat tensors, their template, the leading size: an int if known when building, else a tensor)."""
    flat, template = flatten_structure(elems, f"{fn_name}'s elems")
    if not flat:
        raise ValueError(f"{fn_name}: elems is empty")
    for t in flat:
        if not t.shape.unknown_rank and len(t.shape) == 0:
            raise ValueError(f"{fn_name}: the element '{t.name}' is a scalar; elems need a leading axis to run over")
    sizes = {t.shape[0] for t in flat if not t.shape.unknown_rank and t.shape[0] is not None}
    if len(sizes) > 1:
        shown = ", ".join(f"'{t.name}' {fmt(t.shape)}" for t in flat)
        raise ShapeError(f"{fn_name}: the elements have different leading sizes: {shown}")
    n = sizes.pop() if sizes else None
    return flat, template, (n if n is not None else shape(flat[0])[0])


def _unrolled(n):
    return isinstance(n, int) and 0 < n <= UNROLL_MAX


def _items(tensors, template, n, reverse=False):
    columns = [unstack(t, num=n) for t in tensors]
    rows = [pack_structure(template, [c[i] for c in columns]) for i in range(n)]
    return rows[::-1] if reverse else rows


def _stacked(results):
    """Stack per-element results, which are tensors or (nested) structures of tensors."""
    flats = [flatten_structure(r, "the function")[0] for r in results]
    template = flatten_structure(results[0], "the function")[1]
    return pack_structure(template, [stack(list(column)) for column in zip(*flats)])


def _reader(flat, n, fn_name):
    """TensorArrays holding the elements, one per flat tensor, and a function reading element i of them."""
    arrays = [TensorArray(t.dtype, size=n, element_shape=t.shape[1:] if not t.shape.unknown_rank else None,
                          tensor_array_name=f"{fn_name}_elems_{k}").unstack(t) for k, t in enumerate(flat)]
    return lambda i: [ta.read(i) for ta in arrays]


def _checked(structure, template, dtypes, fn_name, what):
    """The flat tensors of what fn returned, after checking its nesting and dtypes against the expected."""
    flat, got = flatten_structure(structure, f"{fn_name}'s fn")
    if not same_structure(got, template) or len(flat) != len(dtypes):
        raise ValueError(f"{fn_name}: fn returns {describe_template(got)} where {what} {describe_template(template)}")
    for k, (t, d) in enumerate(zip(flat, dtypes)):
        if t.dtype != d:
            raise TypeError(f"{fn_name}: output {k} of fn ('{t.name}') is {t.dtype.name}, expected {d.name}")
    return flat


def _dtype_structure(dtype):
    """(flat DTypes, template) of a nested dtype structure (as map_fn's `dtype`)."""
    if isinstance(dtype, (list, tuple)):
        parts = [_dtype_structure(d) for d in dtype]
        return [x for flat, _ in parts for x in flat], (type(dtype), [tpl for _, tpl in parts])
    if isinstance(dtype, dict):
        keys = sorted(dtype)
        parts = [_dtype_structure(dtype[k]) for k in keys]
        return [x for flat, _ in parts for x in flat], (dict, list(zip(keys, [tpl for _, tpl in parts])))
    return [_dt.as_dtype(dtype)], None


def _results(arrays, template, n):
    """The output arrays stacked, with the leading size set where it is known when building."""
    static = n if isinstance(n, int) else constant_value(n)
    outs = []
    for ta in arrays:
        t = ta.stack()
        if static is not None and not t.shape.unknown_rank:
            t.set_shape([int(static)] + list(t.shape)[1:])
        outs.append(t)
    return pack_structure(template, outs)


def map_fn(fn: Callable[[Structure], Structure], elems: Structure, dtype: Structure = None,
           parallel_iterations: int | None = None, back_prop: bool = True, swap_memory: bool = False,
           infer_shape: bool = True, name: str | None = None) -> Structure:
    """fn applied to each slice elems[i] (elems may be a nested structure: fn gets the same structure of
    slices), the results stacked. fn returns the structure of elems unless `dtype` (a nested structure of
    dtypes) says otherwise."""
    flat, template, n = _elements(elems, "map_fn")
    if dtype is None:
        dtypes, out_template, what = [t.dtype for t in flat], template, "elems (pass dtype for another) are"
    else:
        (dtypes, out_template), what = _dtype_structure(dtype), "dtype says"
    with name_scope(name, "map"):
        if _unrolled(n):
            results = [fn(x) for x in _items(flat, template, n)]
            for r in results:
                _checked(r, out_template, dtypes, "map_fn", what)
            return _stacked(results)
        read = _reader(flat, n, "map")
        outputs = [TensorArray(d, size=n, infer_shape=infer_shape, tensor_array_name=f"map_out_{k}")
                   for k, d in enumerate(dtypes)]

        def body(i, *arrays):
            y = _checked(fn(pack_structure(template, read(i))), out_template, dtypes, "map_fn", what)
            return (i + 1,) + tuple(ta.write(i, v) for ta, v in zip(arrays, y))
        _, *arrays = while_loop(lambda i, *_: i < n, body, [0] + outputs, back_prop=back_prop)
        return _results(arrays, out_template, n)


def _fold(fn, elems, initializer, back_prop, name, default, reverse, collect):
    """What foldl/foldr (collect=False) and scan (collect=True, every accumulator stacked) compute."""
    flat, template, n = _elements(elems, default)
    with name_scope(name, default):
        if _unrolled(n):
            items = _items(flat, template, n, reverse)
            acc, items = (items[0], items[1:]) if initializer is None else (initializer, items)
            outs = [acc] if initializer is None else []
            for x in items:
                acc = fn(acc, x)
                outs.append(acc)
            if not collect:
                return acc
            return _stacked(outs[::-1] if reverse else outs)
        read = _reader(flat, n, default)
        last = n - 1

        def index(k):
            return last - k if reverse else k
        start = 0
        if initializer is None:
            acc, start = pack_structure(template, read(index(0))), 1  # an empty elems fails here, naming the array
        else:
            acc = initializer
        acc_flat, acc_template = flatten_structure(acc, f"{default}'s initializer")
        dtypes = [t.dtype for t in acc_flat]
        arrays = []
        if collect:
            arrays = [TensorArray(d, size=n, tensor_array_name=f"{default}_out_{k}") for k, d in enumerate(dtypes)]
            if initializer is None:
                arrays = [ta.write(index(0), v) for ta, v in zip(arrays, acc_flat)]

        def body(k, acc, *arrays):
            new = _checked(fn(acc, pack_structure(template, read(index(k)))), acc_template, dtypes, default,
                           "the accumulator is")
            written = tuple(ta.write(index(k), v) for ta, v in zip(arrays, new))
            return (k + 1, pack_structure(acc_template, new)) + written
        _, acc, *arrays = while_loop(lambda k, *_: k < n, body, [start, acc] + arrays, back_prop=back_prop)
        return _results(arrays, acc_template, n) if collect else acc


def foldl(fn: Callable[[Structure, Structure], Structure], elems: Structure, initializer: Structure = None,
          parallel_iterations: int = 10, back_prop: bool = True, swap_memory: bool = False,
          name: str | None = None) -> Structure:
    """acc = fn(acc, elems[i]) from the first element on (acc starts at initializer, else elems[0])."""
    return _fold(fn, elems, initializer, back_prop, name, "foldl", reverse=False, collect=False)


def foldr(fn: Callable[[Structure, Structure], Structure], elems: Structure, initializer: Structure = None,
          parallel_iterations: int = 10, back_prop: bool = True, swap_memory: bool = False,
          name: str | None = None) -> Structure:
    """foldl from the last element back."""
    return _fold(fn, elems, initializer, back_prop, name, "foldr", reverse=True, collect=False)


def scan(fn: Callable[[Structure, Structure], Structure], elems: Structure, initializer: Structure = None,
         parallel_iterations: int = 10, back_prop: bool = True, swap_memory: bool = False, infer_shape: bool = True,
         reverse: bool = False, name: str | None = None) -> Structure:
    """Every intermediate acc of a fold, stacked in the order of elems (the first is elems[0] when no
    initializer is given; with reverse=True the fold runs from the last element)."""
    return _fold(fn, elems, initializer, back_prop, name, "scan", reverse=reverse, collect=True)
