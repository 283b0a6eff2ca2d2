"""Lowering of the TensorArray ops (nnplug/ops/tensor_array.py): each becomes one step calling the run's
`Store` (the array's elements as backend arrays), with indices read on the host.

What a plan knows of an array when it is compiled — its size when fixed and constant, the element shape
its writes have (in this plan or in the sub-plans of its loops, which are compiled first) — is the fact
of its handle (nnplug/compiler/control.py). It gives reads and stacks their concrete shapes: the element
shape must be known by the time a read is lowered (from a write or `element_shape`); a stack of an array
whose size is not (dynamic_size, or a size computed from fed values) has a first dimension known only
when it runs, so it can be fetched but not fed to another op in the same run.

Rows unstacked or split into an array are slices the compiler emits as usual; stacking, concatenating,
adding (gradient arrays) and zeros run as small plans compiled once per shape and session."""
import types

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..ops.tensor_array import Store, variant
from ..shapes import fmt
from .control import control_step, fact, set_fact
from .ir import Value


class ArrayFact:
    """What one plan knows of one array: its fixed size (or None), and its element shape: the declared
    one, narrowed by the concrete shapes of the writes lowered so far (None where they differ)."""

    def __init__(self, name, size, declared):
        self.name, self.size, self.declared = name, size, declared
        self.seen = None  # the concrete element shape of the writes, None where they differ
        self.varied_rank = False
        self.firsts = {}  # index -> first dimension, for elements written at indices known when compiling

    def lengths(self):
        """The elements' first dimensions (what concat splits at), or None when unknown here."""
        if self.size is None or not self.seen:
            return None
        if self.seen[0] is not None:
            return (self.seen[0],) * self.size
        if all(i in self.firsts for i in range(self.size)):
            return tuple(self.firsts[i] for i in range(self.size))
        return None

    def learn(self, shape):
        shape = tuple(shape)
        if self.seen is None:
            self.seen = shape
        elif len(self.seen) != len(shape):
            self.varied_rank = True  # elements of different ranks: no shape to stack them into
        else:
            self.seen = tuple(a if a == b else None for a, b in zip(self.seen, shape))

    def element(self, op):
        """The element shape as a tuple (None where it varies), raising when nothing says what it is."""
        if self.varied_rank:
            raise InvalidArgumentError(f"TensorArray '{self.name}': its elements have different ranks; "
                                       f"'{op.name}' ({op.type}) cannot give them one shape", op)
        if self.seen is not None:
            return self.seen
        if not self.declared.unknown_rank and self.declared.is_fully_defined():
            return tuple(self.declared)
        raise InvalidArgumentError(f"TensorArray '{self.name}': '{op.name}' ({op.type}) needs the element shape, "
                                   f"but no write to the array comes before it and its element_shape is "
                                   f"{fmt(self.declared)}; give TensorArray(..., element_shape=...)", op)


class _Kit:
    """The backend array work of a Store, as small plans compiled on first use per shape and session."""

    def __init__(self, state):
        self.state, self.backend = state, state.backend
        self.plans = state.resource(("nnplug.tensor_array", "plans"), dict)
        self._zeros = {}

    def _run(self, key, build, specs, arrays):
        fn = self.plans.get(key)
        if fn is None:
            fn = self.plans[key] = _small_plan(self.state, build, specs)
        return fn(*arrays)

    def add(self, a, b, dtype):
        spec = (tuple(np.shape(a)), dtype)
        from ..ops.math_ops import add
        return self._run(("add",) + spec, add, [spec, spec], [a, b])

    def stack(self, values, dtype):
        specs = [(tuple(np.shape(v)), dtype) for v in values]
        from ..ops.array_ops import stack
        return self._run(("stack", dtype, tuple(s for s, _ in specs)), lambda *xs: stack(list(xs)), specs, values)

    def concat(self, values, dtype):
        specs = [(tuple(np.shape(v)), dtype) for v in values]
        from ..ops.array_ops import concat, identity
        return self._run(("concat", dtype, tuple(s for s, _ in specs)),
                         lambda *xs: concat(list(xs), 0) if len(xs) > 1 else identity(xs[0]), specs, values)

    def zeros(self, shape, dtype):
        """Shared zeros: a plan never writes into a value a TensorArray op returns (it is not fresh)."""
        key = (tuple(shape), dtype)
        z = self._zeros.get(key)
        if z is None:
            z = self._zeros[key] = self.backend.to_device(np.zeros(tuple(shape), dtype.np))
        return z


def _small_plan(state, build, specs):
    """A nested plan of build(*placeholders), for arrays of these (shape, dtype)s: fn(*arrays) -> array."""
    from ..graph import Graph
    from ..ops.array_ops import placeholder
    from . import compile_plan
    g = Graph()
    with g.as_default():
        phs = [placeholder(d, s) for s, d in specs]
        out = build(*phs)
    plan = compile_plan(state, g, [out], [], phs, [types.SimpleNamespace(shape=s) for s, _ in specs], nested=True)
    return lambda *xs: plan.fn(None, *xs)[0]


def _array(low, handle, op):
    found = fact(low, handle)
    if not isinstance(found, ArrayFact):
        raise InvalidArgumentError(f"'{op.name}' ({op.type}): nnplug cannot tell which TensorArray its handle is "
                                   f"when compiling (a handle fed or passed where the compiler cannot follow it)", op)
    return found


def _flow():
    return Value((), _dt.float32, persistent=True)  # the flow that came in, passed on


def _host_int(to_host, v):
    """An index or size read on the host."""
    return int(np.asarray(to_host(v)).reshape(()))


def _rows(low, op, value):
    """The rows of a value along its first axis, as the compiler's own slices."""
    n = value.shape[0]
    if n == 0:
        return []
    rows = low.emit("Unpack", [value], {"axis": 0, "sizes": (1,) * n}, name=op.name)
    return rows if isinstance(rows, list) else [rows]


# -- one function per op: (output Values, variable slots read, whether it assigns) -------------------------
def lower_create(low, op, inputs):
    a = op.attrs
    (size,) = inputs
    static = None
    if size.const is not None and not a["dynamic_size"]:
        static = _host_int(low.backend.to_host, size.const)
    kit, to_host = _Kit(low.state), low.backend.to_host

    def create(n):
        n = _host_int(to_host, n)
        if n < 0:
            raise InvalidArgumentError(f"TensorArray '{a['array']}': size must be >= 0, got {n}", op)
        return Store(a["array"], a["dtype"], n, a["dynamic_size"], a["clear_after_read"], a["element_shape"],
                     a["infer_shape"], kit)

    handle = Value((), variant)
    control_step(low, op, create, [size], [handle])
    set_fact(low, handle, ArrayFact(a["array"], static, a["element_shape"]), op.outputs[0])
    return [handle, low.constant(np.zeros((), np.float32), _dt.float32)], set(), False


def lower_write(low, op, inputs):
    handle, value = inputs[0], inputs[2]
    _array(low, handle, op).learn(value.shape)
    to_host = low.backend.to_host

    def write(store, i, x, f):
        store.write(_host_int(to_host, i), x)
        return f
    out = _flow()
    control_step(low, op, write, inputs, [out])
    return [out], set(), False


def lower_read(low, op, inputs):
    shape = _array(low, inputs[0], op).element(op)
    to_host = low.backend.to_host

    def read(store, i, f):
        return store.read(_host_int(to_host, i))
    out = Value(shape, op.attrs["dtype"], persistent=True)  # an element: it may alias a feed or a variable
    control_step(low, op, read, inputs, [out])
    return [out], set(), False


def _checked(op, out_shape):
    """A check that a stacked result has the shape the plan was compiled for (where that is known)."""
    def check(x):
        shape = np.shape(x)
        if len(shape) != len(out_shape) or any(d is not None and d != s for d, s in zip(out_shape, shape)):
            raise InvalidArgumentError(f"'{op.name}' ({op.type}): TensorArray '{op.attrs['array']}' gave shape "
                                       f"{fmt(shape)} where the plan expects {fmt(out_shape)}", op)
        return x
    return check


def lower_stack(low, op, inputs):
    array = _array(low, inputs[0], op)
    elem = array.element(op)
    out = Value((array.size,) + elem, op.attrs["dtype"], persistent=True)
    check = _checked(op, out.shape)
    control_step(low, op, lambda store, f: check(store.stack(elem)), inputs, [out])
    return [out], set(), False


def lower_gather(low, op, inputs):
    handle, indices = inputs[:2]
    elem = _array(low, handle, op).element(op)
    to_host = low.backend.to_host
    out = Value(tuple(indices.shape) + elem, op.attrs["dtype"], persistent=True)
    control_step(low, op, lambda store, i, f: store.gather(np.asarray(to_host(i)).reshape(-1), elem), inputs, [out])
    return [out], set(), False


def lower_unstack(low, op, inputs):
    handle, value, flow = inputs
    array = _array(low, handle, op)
    array.learn(value.shape[1:])
    return _unstacked(low, op, handle, flow, _rows(low, op, value))


def _unstacked(low, op, handle, flow, rows):
    """A step storing the rows as elements 0, 1, ... (rows the compiler sliced)."""
    def unstack(store, f, *parts):
        store.unstack(parts)
        return f
    out = _flow()
    control_step(low, op, unstack, [handle, flow] + rows, [out])
    return [out], set(), False


def lower_scatter(low, op, inputs):
    handle, indices, value, flow = inputs
    _array(low, handle, op).learn(value.shape[1:])
    rows = _rows(low, op, value)
    to_host = low.backend.to_host

    def scatter(store, i, f, *parts):
        store.scatter(np.asarray(to_host(i)).reshape(-1), parts)
        return f
    out = _flow()
    control_step(low, op, scatter, [handle, indices, flow] + rows, [out])
    return [out], set(), False


def lower_split(low, op, inputs):
    handle, value, lengths, flow = inputs
    array = _array(low, handle, op)
    if lengths.const is None:
        raise InvalidArgumentError(f"'{op.name}': the lengths TensorArray '{op.attrs['array']}' is split into must "
                                   f"be known when the plan is compiled (constants, or computed from shapes)", op)
    sizes = tuple(int(s) for s in np.asarray(low.backend.to_host(lengths.const)).reshape(-1))
    if sum(sizes) != value.shape[0] or any(s < 0 for s in sizes):
        raise InvalidArgumentError(f"'{op.name}': TensorArray '{op.attrs['array']}' cannot split {fmt(value.shape)} "
                                   f"into lengths {list(sizes)}", op)
    parts = low.emit("SplitV", [value], {"axis": 0, "sizes": sizes}, name=op.name) if sizes else []
    parts = parts if isinstance(parts, list) else [parts]
    for i, p in enumerate(parts):
        array.learn(p.shape)
        array.firsts[i] = p.shape[0]
    return _unstacked(low, op, handle, flow, parts)


def lower_concat(low, op, inputs):
    array = _array(low, inputs[0], op)
    elem = array.element(op)
    if not elem:
        raise InvalidArgumentError(f"'{op.name}': TensorArray '{op.attrs['array']}' holds scalars; concat needs "
                                   f"elements with a leading axis", op)
    known = array.lengths()
    value = Value((sum(known) if known is not None else None,) + elem[1:], op.attrs["dtype"], persistent=True)
    lengths = Value((array.size,), _dt.int64)
    to_device = low.backend.to_device

    def concat(store, f):
        joined, sizes = store.concat()
        return joined, to_device(sizes)
    control_step(low, op, concat, inputs, [value, lengths])
    if known is not None:  # a constant, so that a split by these lengths (concat's gradient) compiles
        lengths = low.constant(np.array(known, np.int64), _dt.int64)
    return [value, lengths], set(), False


def lower_size(low, op, inputs):
    array = _array(low, inputs[0], op)
    if array.size is not None:
        return [low.constant(np.array(array.size, np.int32), _dt.int32)], set(), False
    to_device = low.backend.to_device
    out = Value((), _dt.int32)
    control_step(low, op, lambda store, f: to_device(np.array(store.size(), np.int32)), inputs, [out])
    return [out], set(), False


def lower_close(low, op, inputs):
    control_step(low, op, lambda store: store.close(), inputs, [], keep=True)
    return [], set(), False


def lower_grad(low, op, inputs):
    array = _array(low, inputs[0], op)
    source = op.attrs["source"]
    grad = Value((), variant)
    out = _flow()
    control_step(low, op, lambda store, f: (store.grad(source), f), inputs, [grad, out])
    set_fact(low, grad, array, op.outputs[0])  # the gradient array has the forward one's size and elements
    return [grad, out], set(), False


LOWERINGS = {"TensorArrayV3": lower_create, "TensorArrayWriteV3": lower_write, "TensorArrayReadV3": lower_read,
             "TensorArrayStackV3": lower_stack, "TensorArrayGatherV3": lower_gather,
             "TensorArrayUnstackV3": lower_unstack, "TensorArrayScatterV3": lower_scatter,
             "TensorArraySplitV3": lower_split, "TensorArrayConcatV3": lower_concat,
             "TensorArraySizeV3": lower_size, "TensorArrayCloseV3": lower_close, "TensorArrayGradV3": lower_grad}
