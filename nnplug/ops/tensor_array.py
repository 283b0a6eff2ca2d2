"""`tf.TensorArray`: a list of tensors written and read by index, what TF1 loops collect their per-step
results in (write once per iteration of a `tf.while_loop`, stack after it).

As in TF1 an array is two tensors: its `handle` (a variant: at run time the array's storage, a `Store`
made afresh by each run) and its `flow`, a float32 scalar whose value means nothing. Every op that changes
the array returns a new flow and every op that reads it takes one, so the ops run in the order the program
wrote them and gradients have a path to follow; loops carry the flow as a loop variable and capture the
handle. What the graph knows of the elements (dtype, the shape learned from writes) is shared by every
TensorArray object of one array, so a shape learned inside a loop body is known after the loop.

Gradients are TF1's: an array's gradient is a second array of its size (`grad`, found at run time from the
forward one and the name scope of the gradient computation), the gradient of a read is a write into it
(writes to one index add up) and the gradient of a write is a read of it (an index never written reads as
zeros). The compiler runs these ops itself (nnplug/compiler/tensor_arrays.py): they are session ops.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Operation, Tensor, convert_to_tensor, get_default_graph, make, make_op, name_scope
from ..shapes import UNKNOWN, TensorShape, fmt
from .registry import register
from .shape_values import constant_value
from .._types import DType, DTypeLike, Shape, TensorLike

# The dtype of handles (and of a loop's saved iterations): Python objects that live only inside a run.
variant = _dt.DType("variant", np.object_)

SCALAR = TensorShape(())


def merge_shapes(a, b):
    """The most specific shape both a and b allow, or None when they disagree (rank or a known size)."""
    if a.unknown_rank:
        return b
    if b.unknown_rank:
        return a
    if len(a) != len(b) or any(x is not None and y is not None and x != y for x, y in zip(a, b)):
        return None
    return TensorShape(x if x is not None else y for x, y in zip(a, b))


def _stacked(n, element_shape):
    return UNKNOWN if element_shape.unknown_rank else TensorShape((n,) + tuple(element_shape))


# -- the ops -----------------------------------------------------------------------------------------------
def _flow_out(shapes, dtypes, attrs):
    return [(SCALAR, _dt.float32)]


def _read_rule(shapes, dtypes, attrs):
    return [(attrs["element_shape"], attrs["dtype"])]


def _gather_rule(shapes, dtypes, attrs):
    n = shapes[1][0] if not shapes[1].unknown_rank and len(shapes[1]) == 1 else None
    return [(_stacked(n, attrs["element_shape"]), attrs["dtype"])]


def _concat_rule(shapes, dtypes, attrs):
    elem = attrs["element_shape"]
    value = UNKNOWN if elem.unknown_rank or not len(elem) else TensorShape((None,) + tuple(elem)[1:])
    return [(value, attrs["dtype"]), (TensorShape([None]), _dt.int64)]


def gradient_source():
    """Which gradient computation a gradient op belongs to: the first part of its name scope
    ('gradients', 'gradients_1', ...), as TF1 keys an array's gradient arrays (and nnplug a loop's)."""
    return get_default_graph()._name_stack.split("/")[0] or "gradients"


def _grad_of(handle, flow, array):
    op = make_op("TensorArrayGradV3", [handle, flow], {"source": gradient_source(), "array": array},
                 name="TensorArrayGrad")
    return op.outputs


def _attrs(op, value=None):
    a = {"array": op.attrs["array"]}
    if value is not None:
        a.update(dtype=value.dtype, element_shape=value.shape)
    return a


def _grad_write(op, g_flow):
    handle, index, value, _ = op.inputs
    gh, gf = _grad_of(handle, g_flow, op.attrs["array"])
    return [None, None, make("TensorArrayReadV3", [gh, index, gf], _attrs(op, value)), g_flow]


def _grad_read(op, g):
    handle, index, flow = op.inputs
    gh, gf = _grad_of(handle, flow, op.attrs["array"])
    return [None, None, make("TensorArrayWriteV3", [gh, index, g, gf], _attrs(op))]


def _grad_stack(op, g):
    handle, flow = op.inputs
    gh, gf = _grad_of(handle, flow, op.attrs["array"])
    return [None, make("TensorArrayUnstackV3", [gh, g, gf], _attrs(op))]


def _grad_unstack(op, g_flow):
    handle, value, _ = op.inputs
    gh, gf = _grad_of(handle, g_flow, op.attrs["array"])
    elem = TensorShape(value.shape[1:]) if not value.shape.unknown_rank else UNKNOWN
    size = value.shape[0] if elem is not UNKNOWN else None
    attrs = dict(_attrs(op), dtype=value.dtype, element_shape=elem, size=size)
    return [None, make("TensorArrayStackV3", [gh, gf], attrs), g_flow]


def _grad_gather(op, g):
    handle, indices, flow = op.inputs
    gh, gf = _grad_of(handle, flow, op.attrs["array"])
    return [None, None, make("TensorArrayScatterV3", [gh, indices, g, gf], _attrs(op))]


def _grad_scatter(op, g_flow):
    handle, indices, value, _ = op.inputs
    gh, gf = _grad_of(handle, g_flow, op.attrs["array"])
    elem = TensorShape(value.shape[1:]) if not value.shape.unknown_rank else UNKNOWN
    attrs = dict(_attrs(op), dtype=value.dtype, element_shape=elem)
    return [None, None, make("TensorArrayGatherV3", [gh, indices, gf], attrs), g_flow]


def _grad_concat(op, g, _g_lengths):
    handle, flow = op.inputs
    gh, gf = _grad_of(handle, flow, op.attrs["array"])
    return [None, make("TensorArraySplitV3", [gh, g, op.outputs[1], gf], _attrs(op))]


def _grad_split(op, g_flow):
    handle, value, _, _ = op.inputs
    gh, gf = _grad_of(handle, g_flow, op.attrs["array"])
    elem = UNKNOWN if value.shape.unknown_rank else TensorShape((None,) + tuple(value.shape)[1:])
    attrs = dict(_attrs(op), dtype=value.dtype, element_shape=elem)
    return [None, make_op("TensorArrayConcatV3", [gh, gf], attrs).outputs[0], None, g_flow]


def _none(op, *grads):
    return [None] * len(op.inputs)


def _refused(op, *grads):
    raise NotImplementedError(f"the gradient of a TensorArray's gradient ('{op.name}') is not supported")


for _name, _rule, _grad in (
        ("TensorArrayV3", lambda s, d, a: [(SCALAR, variant), (SCALAR, _dt.float32)], _none),
        ("TensorArrayWriteV3", _flow_out, _grad_write),
        ("TensorArrayReadV3", _read_rule, _grad_read),
        ("TensorArrayStackV3", lambda s, d, a: [(_stacked(a["size"], a["element_shape"]), a["dtype"])], _grad_stack),
        ("TensorArrayUnstackV3", _flow_out, _grad_unstack),
        ("TensorArrayGatherV3", _gather_rule, _grad_gather),
        ("TensorArrayScatterV3", _flow_out, _grad_scatter),
        ("TensorArrayConcatV3", _concat_rule, _grad_concat),
        ("TensorArraySplitV3", _flow_out, _grad_split),
        ("TensorArraySizeV3", lambda s, d, a: [(SCALAR, _dt.int32)], _none),
        ("TensorArrayCloseV3", lambda s, d, a: [], _none),
        ("TensorArrayGradV3", lambda s, d, a: [(SCALAR, variant), (SCALAR, _dt.float32)], _refused)):
    register(_name, _rule, grad=_grad, stateful=True, session_op=True)  # the compiler runs them


# -- the Python object -------------------------------------------------------------------------------------
class _Static:
    """What the graph knows of one array, shared by all its TensorArray objects."""

    def __init__(self, name, dtype, size, element_shape, infer_shape, dynamic_size, clear_after_read):
        self.name, self.dtype, self.size = name, dtype, size
        self.declared = TensorShape(element_shape)
        self.element_shape = self.declared  # narrowed by writes when infer_shape
        self.infer_shape, self.dynamic_size, self.clear_after_read = infer_shape, dynamic_size, clear_after_read


def _static_int(t):
    """The value of an int scalar tensor known when the graph is built (a constant, a known dimension
    from tf.shape), else None."""
    value = constant_value(t)
    return int(value) if value is not None and np.ndim(value) == 0 else None


class TensorArray:
    """TF1's TensorArray: `write(i, value)` returns the array with element i set (a new object; keep it),
    `read(i)`, `stack()`, `unstack(value)`, `gather`/`scatter`, `concat`/`split`, `size()`, `close()`.
    `size` is an int or an int32 scalar tensor; with `dynamic_size=True` writes past it grow the array.
    Each index is written once; with `clear_after_read` (the default) each is read once, too."""

    def __init__(self, dtype: DTypeLike, size: TensorLike | None = None, dynamic_size: bool | None = None,
                 clear_after_read: bool | None = None, tensor_array_name: str | None = None,
                 handle: Tensor | None = None, flow: TensorLike | None = None, infer_shape: bool = True,
                 element_shape: Shape | None = None, colocate_with_first_write_call: bool = True,
                 name: str | None = None) -> None:
        dtype = _dt.as_dtype(dtype)
        dynamic = bool(dynamic_size)
        clear = True if clear_after_read is None else bool(clear_after_read)
        elem = TensorShape(element_shape) if element_shape is not None else UNKNOWN
        if handle is not None:
            if flow is None:
                raise ValueError("TensorArray: a TensorArray made from a handle needs its flow too")
            self._handle, self._flow = handle, convert_to_tensor(flow)
            self._static = _Static(tensor_array_name or handle.op.name, dtype, None, elem, infer_shape, dynamic, clear)
            return
        if size is None:
            raise ValueError("TensorArray needs a size (the number of elements; with dynamic_size=True, the first)")
        size = convert_to_tensor(size)
        if not size.dtype.is_integer or not (size.shape.unknown_rank or len(size.shape) == 0):
            raise TypeError(f"TensorArray: size must be an int or an integer scalar, got {size.dtype.name} "
                            f"'{size.name}' of shape {fmt(size.shape)}")
        if size.dtype != _dt.int32:
            from .math_ops import cast
            size = cast(size, _dt.int32)
        static = _static_int(size)
        if static is not None and static < 0:
            raise ValueError(f"TensorArray: size must be >= 0, got {static}")
        op = make_op("TensorArrayV3", [size], {"dtype": dtype, "element_shape": elem, "dynamic_size": dynamic,
                                               "clear_after_read": clear, "infer_shape": bool(infer_shape),
                                               "array": None},
                     name=name or tensor_array_name or "TensorArray")
        array = tensor_array_name or op.name
        op.attrs["array"] = array
        self._handle, self._flow = op.outputs
        self._static = _Static(array, dtype, None if dynamic else static, elem, infer_shape, dynamic, clear)

    # -- properties ------------------------------------------------------------------------------------
    @property
    def handle(self) -> Tensor:
        return self._handle

    @property
    def flow(self) -> Tensor:
        return self._flow

    @property
    def dtype(self) -> DType:
        return self._static.dtype

    @property
    def element_shape(self) -> TensorShape:
        return self._static.element_shape

    @property
    def dynamic_size(self) -> bool:
        return self._static.dynamic_size

    @property
    def name(self) -> str:
        return self._static.name

    def __repr__(self):
        return f"<nnplug.TensorArray '{self.name}' dtype={self.dtype.name} element_shape={fmt(self.element_shape)}>"

    def _with_flow(self, flow):
        """The same array at a later point of its writes."""
        ta = TensorArray.__new__(TensorArray)
        ta._handle, ta._flow, ta._static = self._handle, flow, self._static
        return ta

    # -- checks ----------------------------------------------------------------------------------------
    def _value(self, value, what):
        if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
            value = convert_to_tensor(value)
            if value.dtype != self.dtype:
                raise TypeError(f"TensorArray '{self.name}' holds {self.dtype.name} elements; cannot {what} the "
                                f"{value.dtype.name} tensor '{value.name}'")
            return value
        try:
            return convert_to_tensor(value, dtype=self.dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"TensorArray '{self.name}' holds {self.dtype.name} elements; cannot {what} "
                            f"{value!r:.60}: {e}") from None

    def _index(self, index, what):
        if isinstance(index, (int, np.integer)):
            st = self._static
            if index < 0 or (st.size is not None and index >= st.size):
                raise ValueError(f"TensorArray '{self.name}': cannot {what} index {index}: out of range for its "
                                 f"size {st.size if st.size is not None else '(dynamic)'}" if index >= 0 else
                                 f"TensorArray '{self.name}': cannot {what} index {index}: indices are >= 0")
        index = convert_to_tensor(index)
        if not index.dtype.is_integer:
            raise TypeError(f"TensorArray '{self.name}': the index to {what} must be an integer, got "
                            f"{index.dtype.name} '{index.name}'")
        return index

    def _learn(self, shape, what):
        """Check an element shape against what is known, and narrow the known shape (infer_shape)."""
        st = self._static
        known = st.element_shape if st.infer_shape else st.declared
        merged = merge_shapes(known, shape)
        if merged is None:
            raise ValueError(f"TensorArray '{self.name}': {what} has elements of shape {fmt(shape)}, but the "
                             f"array's elements have shape {fmt(known)}" +
                             (" (pass infer_shape=False for elements of different shapes)" if st.infer_shape else ""))
        if st.infer_shape:
            st.element_shape = merged

    def _rows(self, value, what):
        value = self._value(value, what)
        if not value.shape.unknown_rank and len(value.shape) == 0:
            raise ValueError(f"TensorArray '{self.name}': cannot {what} the scalar '{value.name}'; it needs a "
                             f"leading axis")
        return value

    def _op(self, op_type, inputs, name, **attrs):
        attrs.setdefault("array", self.name)
        return make_op(op_type, [self._handle] + inputs + [self._flow], attrs, name=name or op_type)

    def _read_attrs(self):
        st = self._static
        return {"dtype": st.dtype, "element_shape": st.element_shape if st.infer_shape else st.declared}

    # -- writing ---------------------------------------------------------------------------------------
    def write(self, index: TensorLike, value: TensorLike, name: str | None = None) -> TensorArray:
        index = self._index(index, "write to")
        value = self._value(value, f"write to index {index.name} of it")
        self._learn(value.shape, f"the write of '{value.name}'")
        return self._with_flow(self._op("TensorArrayWriteV3", [index, value], name).outputs[0])

    def unstack(self, value: TensorLike, name: str | None = None) -> TensorArray:
        value = self._rows(value, "unstack")
        st = self._static
        if not value.shape.unknown_rank:
            n = value.shape[0]
            if n is not None and st.size is not None and n > st.size:
                raise ValueError(f"TensorArray '{self.name}': cannot unstack '{value.name}' {fmt(value.shape)}: "
                                 f"{n} rows for an array of size {st.size}")
            self._learn(TensorShape(value.shape[1:]), f"unstack of '{value.name}'")
        return self._with_flow(self._op("TensorArrayUnstackV3", [value], name).outputs[0])

    def scatter(self, indices: TensorLike, value: TensorLike, name: str | None = None) -> TensorArray:
        indices = convert_to_tensor(indices)
        value = self._rows(value, "scatter")
        if not indices.dtype.is_integer:
            raise TypeError(f"TensorArray '{self.name}': scatter indices must be integers, got {indices.dtype.name}")
        if not value.shape.unknown_rank:
            self._learn(TensorShape(value.shape[1:]), f"scatter of '{value.name}'")
        return self._with_flow(self._op("TensorArrayScatterV3", [indices, value], name).outputs[0])

    def split(self, value: TensorLike, lengths: TensorLike, name: str | None = None) -> TensorArray:
        value = self._rows(value, "split")
        lengths = convert_to_tensor(lengths)
        if not lengths.dtype.is_integer:
            raise TypeError(f"TensorArray '{self.name}': split lengths must be integers, got {lengths.dtype.name}")
        if not value.shape.unknown_rank:
            self._learn(TensorShape((None,) + tuple(value.shape)[1:]), f"split of '{value.name}'")
        return self._with_flow(self._op("TensorArraySplitV3", [value, lengths], name).outputs[0])

    # -- reading ---------------------------------------------------------------------------------------
    def read(self, index: TensorLike, name: str | None = None) -> Tensor:
        index = self._index(index, "read")
        return self._op("TensorArrayReadV3", [index], name, **self._read_attrs()).outputs[0]

    def gather(self, indices: TensorLike, name: str | None = None) -> Tensor:
        indices = convert_to_tensor(indices)
        if not indices.dtype.is_integer or (not indices.shape.unknown_rank and len(indices.shape) != 1):
            raise TypeError(f"TensorArray '{self.name}': gather takes a vector of integer indices, got "
                            f"{indices.dtype.name} '{indices.name}' {fmt(indices.shape)}")
        return self._op("TensorArrayGatherV3", [indices], name, **self._read_attrs()).outputs[0]

    def stack(self, name: str | None = None) -> Tensor:
        return self._op("TensorArrayStackV3", [], name, size=self._static.size, **self._read_attrs()).outputs[0]

    def concat(self, name: str | None = None) -> Tensor:
        return self._op("TensorArrayConcatV3", [], name, **self._read_attrs()).outputs[0]

    def size(self, name: str | None = None) -> Tensor:
        return self._op("TensorArraySizeV3", [], name).outputs[0]

    # -- the rest --------------------------------------------------------------------------------------
    def identity(self) -> TensorArray:
        from .array_ops import identity
        return self._with_flow(identity(self._flow))

    def close(self, name: str | None = None) -> Operation:
        return make_op("TensorArrayCloseV3", [self._handle], {"array": self.name}, name=name or "TensorArrayClose")

    def grad(self, source: str, flow: TensorLike | None = None, name: str | None = None) -> TensorArray:
        flow = self._flow if flow is None else convert_to_tensor(flow)
        with name_scope(name, "TensorArrayGrad"):
            op = make_op("TensorArrayGradV3", [self._handle, flow], {"source": str(source), "array": self.name})
        ta = TensorArray(self.dtype, handle=op.outputs[0], flow=op.outputs[1], element_shape=self.element_shape,
                         tensor_array_name=self.name, clear_after_read=False)
        return ta


# -- at run time -------------------------------------------------------------------------------------------
class Store:
    """One array in one run: its elements (backend arrays; None where not written, or cleared) and TF1's
    rules, with errors naming the array and the index. `kit` does the array work on the backend (adding,
    zeros, stacking, concatenating). A gradient array (`aggregate`) adds writes to one index up and reads
    zeros where nothing was written."""

    def __init__(self, name, dtype, size, dynamic, clear_after_read, declared, same_shapes, kit, aggregate=False):
        self.name, self.dtype, self.kit = name, dtype, kit
        self.items = [None] * size
        self.shapes = [None] * size  # each element's shape once written (kept when a read clears it)
        self.cleared = set()
        self.dynamic, self.clear, self.aggregate = dynamic, clear_after_read, aggregate
        self.declared = declared  # the TensorShape the program gave (may hold None)
        self.element_shape = None  # the first element's shape, which the others must have when same_shapes
        self.same_shapes = same_shapes
        self.grads = {}
        self.closed = False

    def _fail(self, message):
        raise InvalidArgumentError(f"TensorArray '{self.name}': {message}")

    def _at(self, index, what):
        if self.closed:
            self._fail(f"cannot {what} index {index}: the array has been closed")
        if index < 0:
            self._fail(f"cannot {what} index {index}: indices are >= 0")
        if index >= len(self.items):
            if what == "write to" and self.dynamic:
                grow = index + 1 - len(self.items)
                self.items += [None] * grow
                self.shapes += [None] * grow
            else:
                self._fail(f"cannot {what} index {index}: out of range for its size {len(self.items)}"
                           + ("" if self.dynamic else " (dynamic_size=False)"))
        return index

    def _check_shape(self, shape, index):
        shape = tuple(shape)
        if not self.declared.unknown_rank and (len(shape) != len(self.declared) or any(
                d is not None and d != s for d, s in zip(self.declared, shape))):
            self._fail(f"cannot write to index {index} a value of shape {fmt(shape)}: its elements have shape "
                       f"{fmt(self.declared)}")
        if self.element_shape is None:
            self.element_shape = shape
        elif self.same_shapes and shape != self.element_shape:
            self._fail(f"cannot write to index {index} a value of shape {fmt(shape)}: its elements have shape "
                       f"{fmt(self.element_shape)} (pass infer_shape=False for elements of different shapes)")

    def write(self, index, value):
        index = self._at(int(index), "write to")
        old = self.items[index]
        if old is not None or index in self.cleared:
            if not self.aggregate:
                self._fail(f"cannot write to index {index}: it has already been written (each index is written once)")
            if old is not None:
                value = self.kit.add(old, value, self.dtype)
        self._check_shape(np.shape(value), index)
        self.items[index], self.shapes[index] = value, tuple(np.shape(value))

    def read(self, index):
        index = self._at(int(index), "read")
        value = self.items[index]
        if value is None:
            if index in self.cleared:
                self._fail(f"cannot read index {index} again: it was cleared by an earlier read "
                           f"(clear_after_read=True; pass clear_after_read=False to read an index more than once)")
            if not self.aggregate:
                self._fail(f"cannot read index {index}: it has not been written")
            return self.kit.zeros(self._zeros_shape(index), self.dtype)
        if self.clear and not self.aggregate:
            self.items[index] = None
            self.cleared.add(index)
        return value

    def _zeros_shape(self, index):
        shape = self.shapes[index] if index < len(self.shapes) else None
        shape = shape if shape is not None else self.element_shape
        if shape is None:
            self._fail(f"cannot make the zeros of unwritten index {index}: the element shape is unknown")
        return shape

    def gather(self, indices, fallback_shape):
        """The elements at `indices` stacked (fallback_shape: the element shape when there are none)."""
        if not len(indices):
            shape = self.element_shape or fallback_shape
            if shape is None or None in shape:
                self._fail("cannot stack no elements: the element shape is unknown (give element_shape)")
            return self.kit.zeros((0,) + tuple(shape), self.dtype)
        values = [self.read(int(i)) for i in indices]
        shapes = {tuple(np.shape(v)) for v in values}
        if len(shapes) > 1:
            self._fail(f"cannot stack elements of different shapes {', '.join(fmt(s) for s in sorted(shapes))}; "
                       f"use concat()")
        return self.kit.stack(values, self.dtype)

    def stack(self, fallback_shape):
        return self.gather(range(len(self.items)), fallback_shape)

    def concat(self):
        """(the elements joined along their first axis, their first dimensions as int64)."""
        values = [self.read(i) for i in range(len(self.items))]
        if not values:
            shape = self.element_shape
            if shape is None:
                self._fail("cannot concat no elements: the element shape is unknown (give element_shape)")
            return self.kit.zeros((0,) + tuple(shape[1:]), self.dtype), np.zeros(0, np.int64)
        for i, v in enumerate(values):
            if np.ndim(v) == 0:
                self._fail(f"cannot concat the scalar at index {i}; elements need a leading axis")
        return self.kit.concat(values, self.dtype), np.array([np.shape(v)[0] for v in values], np.int64)

    def scatter(self, indices, rows):
        if len(indices) != len(rows):
            self._fail(f"cannot scatter {len(rows)} rows to {len(indices)} indices")
        for i, row in zip(indices, rows):
            self.write(int(i), row)

    def unstack(self, rows):
        self.scatter(range(len(rows)), rows)

    def size(self):
        return len(self.items)

    def grad(self, source):
        """The gradient array of this one for one gradient computation (made on first use)."""
        g = self.grads.get(source)
        if g is None:
            g = self.grads[source] = Store(self.name + "_grad", self.dtype, len(self.items), True, False,
                                           self.declared, False, self.kit, aggregate=True)
            g.shapes = list(self.shapes)
            g.element_shape = self.element_shape
        return g

    def close(self):
        self.items, self.shapes, self.closed = [], [], True
