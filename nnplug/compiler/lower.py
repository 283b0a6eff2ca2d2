"""Lowering: the graph ops a run needs become plan steps on concrete shapes, one op at a time in
topological order. Each op first goes through the local rewrites — common-subexpression elimination
and constant folding (fold.py), algebraic simplification (the op's `simplify` rule, nnplug/simplify.py)
and, for a composite op the backend has no kernel for, its expansion into primitives. Each op is lowered for
the backend it is placed on (`RunState.placement`, nnplug/devices.py): `backend` is that op's while it is
lowered, `main` the plan's own; constants it reads move to its device now, other values in place.py."""
import numpy as np

from .. import plugins
from ..backend import IDENTITY, KernelSpec
from ..errors import InvalidArgumentError
from ..kernels import on_host
from ..ops import registry
from ..shapes import ShapeError, TensorShape, fmt
from ..simplify import simplify
from . import fold, place
from .control import LOWERINGS as _CONTROL
from .tensor_arrays import LOWERINGS as _ARRAYS
from .ir import Step, Value

LOWERINGS = {**_CONTROL, **_ARRAYS}  # ops lowered by their own rule: control flow and TensorArrays


class NeedsStaging(InvalidArgumentError):
    """A graph tensor whose size (`bake` False) or value (`bake` True: it gives a shape) the plan needs but
    that depends on fed values: the Session may compute it first and compile again with it fed (or, for a
    value, baked in as a constant). Raised only for graph tensors; the message says what is missing."""

    def __init__(self, message, tensor, bake):
        super().__init__(message)
        self.tensor, self.bake = tensor, bake


def _snapshot(x):
    """Binds a variable's current buffer to a local; updates rebind or skip it (the buffer stays live)."""
    return x


class Lowering:
    """Builds one plan's steps against a run state (see state.py); composite-op expansions and
    simplification rules call `emit` and `scalar` on it."""

    def __init__(self, state):
        self.state = state
        self.main = self.backend = state.backend
        self._placement = getattr(state, "placement", None)
        self.spans = False  # some op runs on another backend than `main` (then place.py inserts copies)
        self._moved = {}  # (constant Value, backend) -> the constant on that backend
        self.steps = []
        self.kernels = []  # (kernel, spec) in emission order
        self.cse = fold.CSE()
        self.wrapped = False  # a plugin wrapped some kernel (a profiler): device runners then stay eager
        self.current = None  # the graph op being lowered, for names in errors
        self._vars = {}  # slot -> the one Value reading that variable in this plan
        self._consts = {}  # graph op -> its constant Value
        self._wrappers = plugins.wrappers()
        self.compile_sub = None  # compile_sub(fetches, feeds, feed shapes) -> Plan, set by compile_plan
        self.origin = {}  # id(Value) -> the graph tensor it is, for values lower_graph made (NeedsStaging)

    # -- values -----------------------------------------------------------------------------------
    def place(self, op):
        """`op` is lowered next, for the backend it is placed on."""
        self.current = op
        self.backend = self.placed(op)

    def placed(self, op):
        backend = self._placement(op) if self._placement is not None else self.main
        self.spans = self.spans or backend is not self.main
        return backend

    def _here(self):
        """The `device` of Values made on the current backend (None: the plan's own)."""
        return None if self.backend is self.main else self.backend

    def constant(self, array, dtype):
        arr = self.backend.to_device(np.asarray(array, dtype=dtype.np))
        return Value(np.shape(array), dtype, "const", const=arr, persistent=True, device=self._here())

    def scalar(self, value, like):
        return self.cse.scalar(self, value, like)

    def var(self, slot, variable):
        v = self._vars.get(slot)
        if v is None:
            device = self.placed(variable.op)
            v = self._vars[slot] = Value(variable.shape, variable.dtype, "var", index=slot, persistent=True,
                                         device=None if device is self.main else device)
        return v

    def graph_constant(self, op):
        v = self._consts.get(op)
        if v is None:
            arr = self.state.constant(op)
            v = self._consts[op] = Value(np.shape(arr), op.attrs["dtype"], "const", const=arr, persistent=True)
        return v

    # -- ops --------------------------------------------------------------------------------------
    def emit(self, op_type, inputs, attrs=None, name=None, rng=None):
        """Lower one op on concrete inputs; returns a Value, or a list for multi-output ops."""
        attrs = attrs or {}
        opdef = registry.get(op_type)
        name = name or (self.current.name if self.current is not None else op_type)
        if self.spans:
            inputs = [place.move_constant(v, self.backend, self.main, self._moved) for v in inputs]
        if opdef.value_inputs:
            attrs = self._read_values(opdef, inputs, attrs, name)
        for v in inputs:
            if None in v.shape:  # made by an op whose output size depends on values (boolean_mask, ...)
                self._needs(f"{op_type} op '{name}' reads a value whose size depends on fed values (shape "
                            f"{fmt(v.shape)}); nnplug compiles each step for known sizes: fetch that value and feed "
                            f"it to a second run", v, bake=False)
        try:
            outs = opdef.infer([TensorShape(v.shape) for v in inputs], [v.dtype for v in inputs], attrs)
        except ShapeError as e:
            shapes = ", ".join(fmt(v.shape) for v in inputs)
            raise InvalidArgumentError(f"{op_type} op '{name}' cannot run on the fed shapes: {e} "
                                       f"(input shapes {shapes})") from None
        shapes = [tuple(s) for s, _ in outs]
        dtypes = [d for _, d in outs]
        single = len(outs) == 1
        key = None
        if not opdef.stateful:
            key = self.cse.key(op_type, attrs, inputs)
            if key is not None and self.backend is not self.main:
                key = (key, self.backend)  # the same op on another device is another step
            hit = self.cse.get(key)
            if hit is not None:
                return hit[0] if single else hit
            simpler = simplify(self, op_type, inputs, attrs, shapes, dtypes) if single else None
            if simpler is not None:
                self.cse.put(key, [simpler])
                return simpler
        spec = KernelSpec(op_type, name, attrs, [v.shape for v in inputs], [v.dtype for v in inputs],
                          shapes, dtypes, rng, backend=self.backend, op=self.current)
        kernel = self._kernel(opdef, spec, len(outs))
        if kernel is None:  # a composite without a fused kernel: its expansion into primitives
            result = opdef.expand(self, inputs, attrs)
        elif kernel is IDENTITY:
            result = [inputs[0]]
        elif not opdef.stateful and fold.foldable(opdef, inputs):
            result = fold.evaluate(kernel, inputs, dtypes, single)
            if self.backend is not self.main:
                for v in result:
                    v.device = self.backend
        else:
            result = self._step(opdef, spec, kernel, inputs, shapes, dtypes, attrs, name)
        self.cse.put(key, result)
        return result[0] if single else result

    def _read_values(self, opdef, inputs, attrs, name):
        """Attrs with the values of the op's value inputs (shapes given as tensors) filled in."""
        attrs = dict(attrs)
        for i, attr in opdef.value_inputs.items():
            if i >= len(inputs):  # the op was given the shape as ints
                continue
            v = inputs[i]
            if v.const is None:
                self._needs(f"{opdef.name} op '{name}': its shape (input {i}) depends on fed values, not only on "
                            f"fed shapes; nnplug needs it when compiling", v, bake=True)
            attrs[attr] = tuple(int(d) for d in np.asarray((v.device or self.main).to_host(v.const)).reshape(-1))
        return attrs

    def _needs(self, message, value, bake):
        tensor = self.origin.get(id(value))
        if tensor is None:
            raise InvalidArgumentError(message)
        raise NeedsStaging(message, tensor, bake)

    def _kernel(self, opdef, spec, n_outputs):
        """The backend's kernel, a host kernel, or None for a composite to expand."""
        backend = spec.backend
        if backend.has_kernel(opdef.name):
            return backend.kernel(spec)
        provided = opdef.backend_kernels.get(backend.name)
        kernel = provided(spec) if provided is not None else None
        if kernel is not None:
            return kernel
        if opdef.host is not None:
            spec.state = self.state  # host kernels may keep per-session state (state.resource)
            return on_host(backend, opdef.host(spec), n_outputs)
        if opdef.expand is not None:
            return None
        raise NotImplementedError(f"backend '{backend.name}' has no kernel for op type '{opdef.name}' "
                                  f"(needed by '{spec.name}') and the op has no expansion into primitives")

    def _step(self, opdef, spec, kernel, inputs, shapes, dtypes, attrs, name):
        if self._wrappers:  # observers such as profilers (nnplug_wrap_kernel), each isolated
            kernel, wrapped = plugins.wrap_kernel(spec, kernel, self._wrappers)
            self.wrapped = self.wrapped or wrapped
        self.kernels.append((kernel, spec))
        # outputs a kernel writes again on a later run are copied before they are handed out or stored
        result = [Value(s, d, persistent=opdef.reuses_outputs, device=self._here()) for s, d in zip(shapes, dtypes)]
        if len(result) == 1:
            result[0].producer = (opdef.name, inputs, attrs)
        self.steps.append(Step(opdef.name, kernel, inputs, result, name, spec=spec,
                               fresh=opdef.name in spec.backend.fresh_ops, keep=opdef.stateful))
        return result


def lower_graph(low, ops, feed_tensors, feed_arrays, fetch_tensors, baked=()):
    """Lower the pruned graph ops; returns (fetched Values, variable slots read, whether it assigns).
    `baked`: (tensor, array) pairs lowered as constants (values the Session computed first: NeedsStaging)."""
    state = low.state
    values = {}  # id(graph tensor) -> Value
    for i, (t, arr) in enumerate(zip(feed_tensors, feed_arrays)):
        values[id(t)] = Value(arr.shape, t.dtype, "feed", index=i, persistent=True)  # the caller's array
        low.origin[id(values[id(t)])] = t
    for t, arr in baked:
        values[id(t)] = low.constant(arr, t.dtype)
    var_reads, has_assign = set(), False
    fetched_ids = {id(t) for t in fetch_tensors}
    for op in ops:
        if all(id(t) in values for t in op.outputs) and op.outputs:
            continue
        low.place(op)
        kind = op.type
        if kind == "Placeholder":
            t = op.outputs[0]
            raise InvalidArgumentError(f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                                       f"{t.dtype.name} and shape {fmt(t.shape)}", op)
        if kind == "Const":
            values[id(op.outputs[0])] = low.graph_constant(op)
        elif kind == "VariableV2":
            slot = state.variable_slot(op.attrs["variable"])
            var_reads.add(slot)
            # read at each use, so a use ordered after an assign (by control dependencies) sees the new value
            v = low.var(slot, op.attrs["variable"])
            if id(op.outputs[0]) in fetched_ids:  # a fetched variable shows its value before this step's updates
                snap = Value(v.shape, v.dtype, persistent=True)
                low.steps.append(Step("Snapshot", _snapshot, [v], [snap], op.name))
                v = snap
            values[id(op.outputs[0])] = v
        elif kind == "NoOp":
            continue
        elif kind in ("Identity", "StopGradient", "PlaceholderWithDefault"):
            values[id(op.outputs[0])] = values[id(op.inputs[0])]
        elif kind in LOWERINGS:  # control flow and TensorArrays (compiler/control.py, tensor_arrays.py)
            outs, reads, assigns = LOWERINGS[kind](low, op, [values[id(t)] for t in op.inputs])
            var_reads |= reads
            has_assign = has_assign or assigns
            for t, v in zip(op.outputs, outs):
                values[id(t)] = v
        elif kind in ("Assign", "AssignAdd", "AssignSub"):
            has_assign = True
            values[id(op.outputs[0])] = _assign(low, op, values[id(op.inputs[0])], var_reads)
        else:
            inputs = [values[id(t)] for t in op.inputs]
            rng = state.rng_for(op) if registry.get(kind).stateful else None
            out = low.emit(kind, inputs, op.attrs, name=op.name, rng=rng)
            for t, v in zip(op.outputs, out if isinstance(out, list) else [out]):
                values.setdefault(id(t), v)  # an output fed (or staged) by the caller keeps its fed value
        for t in op.outputs:
            if id(t) in values:
                low.origin.setdefault(id(values[id(t)]), t)
    return [values[id(t)] for t in fetch_tensors], sorted(var_reads), has_assign


def _assign(low, op, new, var_reads):
    var = op.attrs["variable"]
    slot = low.state.variable_slot(var)
    if op.type != "Assign":  # AssignAdd/AssignSub read the variable: it must be initialised
        var_reads.add(slot)
    target = low.var(slot, var)
    if op.type != "Assign":
        new = low.emit("Add" if op.type == "AssignAdd" else "Sub", [target, new], name=op.name)
    if (new.persistent or new.const is not None) and low.backend.has_kernel("Copy"):
        new = low.emit("Copy", [new], name=op.name)  # a buffer someone else owns: store a copy
    low.steps.append(Step(op.type, None, [new], [target], op.name, keep=True, store=slot))
    low.cse.stored(slot)  # later reads of the variable are new values to the common-subexpression merge
    new.persistent = True  # now also the variable's buffer: copied before it is handed out or stored again
    return new
