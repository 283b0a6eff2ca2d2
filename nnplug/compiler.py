"""Turns the subgraph a Session.run needs into a Plan: one generated Python function of flat kernel
calls on locals, specialised to the concrete feed shapes, built once and cached by the Session.

Passes, in one walk over the pruned ops in topological order: shape specialisation (every op's rule
re-run on concrete shapes), constant folding, common-subexpression elimination, expansion of
composite ops the backend has no fused kernel for, then code generation.
"""
import itertools

import numpy as np

from .backend import IDENTITY, KernelSpec
from .errors import InvalidArgumentError
from .ops import registry
from .shapes import ShapeError, TensorShape, fmt
from . import plugins

_plan_ids = itertools.count()


class Value:
    """A value in a plan: its concrete shape and dtype and the Python expression that holds it."""

    __slots__ = ("shape", "dtype", "expr", "const", "persistent")

    def __init__(self, shape, dtype, expr, const=None, persistent=False):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.expr = expr
        self.const = const  # the backend array when known at compile time
        self.persistent = persistent  # aliases session state or a constant: copy before handing out


class Plan:
    """A compiled step: `fn(V, *feeds)` returns the fetched backend arrays."""

    def __init__(self, fn, source, fetch_persistent, var_reads, has_assign, kernels):
        self.fn = fn
        self.source = source
        self.fetch_persistent = fetch_persistent
        self.var_reads = var_reads
        self.has_assign = has_assign
        self.kernels = kernels  # [(name, KernelSpec)] in call order, for explain()


def prune(graph, targets, fed):
    """Ops the targets need, in creation order (which is a topological order), stopping at fed tensors."""
    needed, stack = {}, list(targets)
    while stack:
        op = stack.pop()
        if op._id in needed:
            continue
        needed[op._id] = op
        if all(id(t) in fed for t in op.outputs) and op.outputs:
            continue
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return [needed[i] for i in sorted(needed)]


class Lowering:
    """Builds one plan's code; composite-op expansions call `emit` and `scalar` on it."""

    def __init__(self, session):
        self.session = session
        self.backend = session.backend
        self.lines = []
        self.globals = {}
        self.kernels = []
        self._n = itertools.count()
        self._cse = {}
        self._alive = []
        self._wrappers = plugins.wrappers()
        self.current = None  # the graph op being lowered, for names in errors

    def _name(self, prefix):
        return f"{prefix}{next(self._n)}"

    def constant(self, array, dtype):
        name = self._name("c")
        arr = self.backend.to_device(np.asarray(array, dtype=dtype.np))
        self.globals[name] = arr
        return Value(np.shape(array), dtype, name, const=arr, persistent=True)

    def scalar(self, value, like):
        key = ("scalar", value, like.dtype.name)
        if key not in self._cse:
            self._cse[key] = [self.constant(np.array(value, dtype=like.dtype.np), like.dtype)]
        return self._cse[key][0]

    def emit(self, op_type, inputs, attrs=None, name=None, rng=None):
        """Lower one op on concrete inputs; returns a Value, or a list for multi-output ops."""
        attrs = attrs or {}
        opdef = registry.get(op_type)
        self._alive.extend(inputs)  # CSE keys use id(): keep every keyed Value alive
        name = name or (self.current.name if self.current is not None else op_type)
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
            try:
                key = (op_type, tuple(sorted(attrs.items())), tuple(id(v) for v in inputs))
                hash(key)
            except TypeError:
                key = None
            if key is not None and key in self._cse:
                hit = self._cse[key]
                return hit[0] if single else hit
        spec = KernelSpec(op_type, name, attrs, [v.shape for v in inputs], [v.dtype for v in inputs],
                          shapes, dtypes, rng)
        if self.backend.has_kernel(op_type):
            kernel = self.backend.kernel(spec)
        elif opdef.expand is not None:
            result = opdef.expand(self, inputs, attrs)
            if key is not None:
                self._cse[key] = result
            return result[0] if single else result
        else:
            raise NotImplementedError(f"backend '{self.backend.name}' has no kernel for op type '{op_type}' "
                                      f"(needed by '{name}') and the op has no expansion into primitives")
        if kernel is IDENTITY:
            result = [inputs[0]]
        elif not opdef.stateful and inputs and all(v.const is not None for v in inputs):
            folded = kernel(*[v.const for v in inputs])
            folded = [folded] if single else list(folded)
            result = []
            for arr, d in zip(folded, dtypes):
                gname = self._name("c")
                self.globals[gname] = arr
                result.append(Value(np.shape(arr), d, gname, const=arr, persistent=True))
        else:
            for impl in self._wrappers:
                wrapped = impl.function(spec=spec, kernel=kernel)
                kernel = wrapped if wrapped is not None else kernel
            kname = self._name("k")
            self.globals[kname] = kernel
            self.kernels.append((kname, spec))
            result = [Value(s, d, self._name("t")) for s, d in zip(shapes, dtypes)]
            args = ", ".join(v.expr for v in inputs)
            targets = result[0].expr if single else ", ".join(v.expr for v in result) + ","
            self.lines.append(f"{targets} = {kname}({args})  # {op_type} {name}")
        if key is not None:
            self._cse[key] = result
        return result[0] if single else result


def compile_plan(session, fetch_tensors, fetch_ops, feed_tensors, feed_arrays):
    """Build the Plan for these fetches and feeds (arrays give the concrete shapes and dtypes)."""
    graph = session.graph
    fed = {id(t): i for i, t in enumerate(feed_tensors)}
    targets = [t.op for t in fetch_tensors] + list(fetch_ops)
    ops = prune(graph, targets, fed)
    low = Lowering(session)
    values = {}  # id(graph tensor) -> Value
    for t, arr in zip(feed_tensors, feed_arrays):
        values[id(t)] = Value(arr.shape, t.dtype, f"f{fed[id(t)]}")
    var_reads, has_assign = [], False
    for op in ops:
        if all(id(t) in values for t in op.outputs) and op.outputs:
            continue
        low.current = op
        kind = op.type
        if kind == "Placeholder":
            t = op.outputs[0]
            raise InvalidArgumentError(f"You must feed a value for placeholder tensor '{op.name}' with dtype "
                                       f"{t.dtype.name} and shape {fmt(t.shape)}", op)
        if kind == "Const":
            values[id(op.outputs[0])] = session.constant_value(op, low)
            continue
        if kind == "VariableV2":
            slot = session.variable_slot(op.attrs["variable"])
            var_reads.append(slot)
            # read at each use, so a use ordered after an assign (by control dependencies) sees the new value
            values[id(op.outputs[0])] = Value(op.attrs["variable"].shape, op.outputs[0].dtype, f"V[{slot}]",
                                              persistent=True)
            continue
        if kind in ("NoOp",):
            continue
        inputs = [values[id(t)] for t in op.inputs]
        if kind in ("Identity", "StopGradient", "PlaceholderWithDefault"):
            values[id(op.outputs[0])] = inputs[0]
            continue
        if kind in ("Assign", "AssignAdd", "AssignSub"):
            has_assign = True
            var = op.attrs["variable"]
            slot = session.variable_slot(var)
            new = inputs[0]
            if kind != "Assign":
                current = Value(var.shape, var.dtype, f"V[{slot}]", persistent=True)
                new = low.emit("Add" if kind == "AssignAdd" else "Sub", [current, new], name=op.name)
            low.lines.append(f"V[{slot}] = {new.expr}  # {kind} {op.name}")
            values[id(op.outputs[0])] = Value(new.shape, new.dtype, new.expr, persistent=True)
            continue
        rng = session.rng_for(op) if registry.get(kind).stateful else None
        out = low.emit(kind, inputs, op.attrs, name=op.name, rng=rng)
        outs = out if isinstance(out, list) else [out]
        for t, v in zip(op.outputs, outs):
            values[id(t)] = v
    fetched = [values[id(t)] for t in fetch_tensors]
    n = next(_plan_ids)
    args = "".join(f", f{i}" for i in range(len(feed_tensors)))
    body = low.lines or ["pass"]
    ret = ", ".join(v.expr for v in fetched)
    source = (f"def plan_{n}(V{args}):\n" + "".join(f"    {line}\n" for line in body)
              + f"    return ({ret}{',' if len(fetched) == 1 else ''})\n")
    namespace = dict(low.globals)
    exec(compile(source, f"<nnplug plan {n}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return Plan(namespace[f"plan_{n}"], source, [v.persistent for v in fetched], sorted(set(var_reads)),
                has_assign, low.kernels)
