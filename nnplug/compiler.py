"""Turns the subgraph a Session.run needs into a Plan: one generated Python function of flat kernel
calls on locals, specialised to the concrete feed shapes, built once and cached by the Session.

Passes, in one walk over the pruned ops in topological order: shape specialisation (every op's rule
re-run on concrete shapes), constant folding, common-subexpression elimination, algebraic simplification
(simplify.py), expansion of composite ops the backend has no fused kernel for. Then over the steps: dead
step elimination, elementwise fusion (fusion.py), in-place reuse of dying buffers and variables, a static
buffer plan by liveness, and code generation.
"""
import itertools
import threading

import numpy as np

from .backend import IDENTITY, KernelSpec
from .errors import InvalidArgumentError
from .fusion import fuse_elementwise
from .kernels import on_host
from .ops import registry
from .shapes import ShapeError, TensorShape, fmt
from .simplify import simplify
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


class Step:
    """One line of a plan: `outs = kernel(ins)`, or a variable store `V[slot] = ins[0]` (kernel None)."""

    __slots__ = ("kernel", "outs", "ins", "comment", "op_type", "fresh", "keep", "out_kw", "spec")

    def __init__(self, kernel, outs, ins, comment, op_type=None, fresh=False, keep=False, spec=None):
        self.kernel, self.outs, self.ins, self.comment = kernel, outs, ins, comment
        self.op_type = op_type
        self.spec = spec
        self.fresh = fresh  # outputs are new buffers nobody else holds
        self.keep = keep  # has effects beyond its outputs (stores, random streams)
        self.out_kw = None  # an input buffer to write the result into

    def render(self):
        if self.kernel is None:
            return f"{self.outs[0]} = {self.ins[0]}  # {self.comment}"
        args = ", ".join(self.ins) + (f", out={self.out_kw}" if self.out_kw else "")
        targets = self.outs[0] if len(self.outs) == 1 else ", ".join(self.outs) + ","
        return f"{targets} = {self.kernel}({args})  # {self.comment}"


def eliminate_dead_steps(steps, live_out):
    """Drop steps whose outputs nothing uses (folding and fusion leave such steps behind)."""
    live, kept = set(live_out), []
    for step in reversed(steps):
        if step.keep or any(o in live for o in step.outs):
            kept.append(step)
            live.update(step.ins)
    return kept[::-1]


def liveness(steps, live_out):
    """Buffers and when they die. Returns (owned, root, last_use): `owned` are temporaries a fresh-output
    kernel made and no variable keeps; `root` maps a possible view to the buffers it may alias; `last_use`
    gives each buffer's last reading step (len(steps) for fetched ones), views included."""
    owned, root = set(), {}
    for step in steps:
        if step.kernel is None:
            owned.discard(root.get(step.ins[0], step.ins[0]))  # stored into a variable: now session state
        elif step.fresh:
            owned.update(step.outs)
        else:  # the outputs may be views of any input: they keep those buffers alive
            parents = [root.get(n, n) for n in step.ins]
            for o in step.outs:
                root[o] = parents[0] if len(parents) == 1 else tuple(parents)
    last_use = {}

    def touch(name, i):
        r = root.get(name, name)
        for b in (r if isinstance(r, tuple) else (r,)):
            last_use[b] = max(last_use.get(b, -1), i)

    for i, step in enumerate(steps):
        for name in step.ins:
            touch(name, i)
    for name in live_out:
        touch(name, len(steps))
    return owned, root, last_use


def _fits(values_by_expr, name, out_name):
    v, out = values_by_expr.get(name), values_by_expr[out_name]
    # rank 0 never: a kernel may return a 0-d result as a NumPy scalar, which cannot be written into
    return v is not None and v.shape == out.shape and v.dtype == out.dtype and len(out.shape) > 0


def reuse_dying_buffers(steps, live_out, inplace_ops, values_by_expr):
    """Let an elementwise kernel write into an input buffer that dies at that step (liveness), so a
    training step allocates far less. Only buffers a fresh-output kernel made, never state or feeds."""
    owned, root, last_use = liveness(steps, live_out)
    for i, step in enumerate(steps):
        if step.kernel is None or step.op_type not in inplace_ops or len(step.outs) != 1:
            continue
        for name in step.ins:
            if (name in owned and name not in root and last_use.get(name) == i and step.ins.count(name) == 1
                    and _fits(values_by_expr, name, step.outs[0])):
                step.out_kw = name
                break


def update_variables_in_place(steps, live_out, inplace_ops, values_by_expr):
    """`V[k] = f(V[k], ...)` becomes an in-place update of V[k]'s buffer when nothing reads V[k] (or a
    view of it) after that step and the result ends up stored in V[k] — as optimizer updates do."""
    dest = {}  # temporary -> slot expr it is finally stored into, following in-place writes backwards
    for step in reversed(steps):
        if step.kernel is None:
            dest.setdefault(step.ins[0], step.outs[0])
        elif step.out_kw and step.outs[0] in dest:
            dest.setdefault(step.out_kw, dest[step.outs[0]])
    _, _, last_use = liveness(steps, live_out)
    for i, step in enumerate(steps):
        if step.kernel is None or step.op_type not in inplace_ops or len(step.outs) != 1:
            continue
        slot = dest.get(step.outs[0])
        if (slot is not None and slot in step.ins and step.ins.count(slot) == 1 and last_use.get(slot) == i
                and _fits(values_by_expr, slot, step.outs[0])):
            step.out_kw = slot


def _storages(steps):
    """Which physical buffers each name may live in: an in-place write (`out=`) continues its target's
    buffer; a fresh kernel starts one (keyed by its output's name); a view-returning kernel may alias all
    its inputs'. Returns (of(name) -> tuple of storages, {storage: index of the step that starts it})."""
    home, views, born = {}, {}, {}

    def of(name):
        return views.get(name) or (home.get(name, name),)

    for i, step in enumerate(steps):
        if step.kernel is None:
            continue
        if step.out_kw is not None:
            home[step.outs[0]] = home.get(step.out_kw, step.out_kw)
        elif step.fresh:
            for o in step.outs:
                home[o] = o
                born[o] = i
        else:
            parents = tuple(s for n in step.ins for s in of(n))
            for o in step.outs:
                views[o] = parents
    return of, born


def plan_buffers(steps, live_out, out_ops, values_by_expr, allocate, make_name):
    """Static buffer plan by liveness: every temporary a kernel in `out_ops` makes is written (`out=`) into
    a buffer allocated here, once, and shared with later temporaries of the same shape and dtype once it is
    dead — so a step allocates nothing after its first run. Never for fetched values, nor anything stored
    into a variable. Returns {global name: buffer}."""
    if not out_ops:
        return {}
    of, born = _storages(steps)
    end, barred = {}, set()
    for i, step in enumerate(steps):
        for name in step.ins:
            for s in of(name):
                end[s] = max(end.get(s, -1), i)
                if step.kernel is None:  # stored into a variable: session state from now on
                    barred.add(s)
    for name in live_out:
        barred.update(of(name))
    free, buffers, dying = {}, {}, {}
    for s, i in born.items():
        dying.setdefault(max(end.get(s, i), i), []).append(s)
    held = {}
    for i, step in enumerate(steps):
        if (step.kernel is not None and step.out_kw is None and step.op_type in out_ops and len(step.outs) == 1
                and not step.keep and step.outs[0] not in barred):
            v = values_by_expr.get(step.outs[0])
            if v is not None and len(v.shape) > 0:
                key = (v.shape, v.dtype)
                pool = free.get(key)
                if pool:
                    bname = pool.pop()
                else:
                    bname = make_name()
                    buffers[bname] = allocate(v.shape, v.dtype.np)
                step.out_kw = bname
                held[step.outs[0]] = (key, bname)
        for s in dying.get(i, ()):
            if s in held:
                key, bname = held.pop(s)
                free.setdefault(key, []).append(bname)
    return buffers


class Plan:
    """A compiled step: `fn(V, *feeds)` returns the fetched backend arrays; `run(V, feeds)` is how the
    session calls it (the backend's plan_runner: feeds copied in, or a captured device graph replayed)."""

    def __init__(self, fn, source, fetch_persistent, var_reads, has_assign, kernels, buffers=None, wrapped=False):
        self.fn = fn
        self.wrapped = wrapped  # some kernel is wrapped by a plugin (timed, checked) and must really run
        self.run = None
        self.source = source
        self.fetch_persistent = fetch_persistent
        self.var_reads = var_reads
        self.has_assign = has_assign
        self.kernels = kernels  # [(name, KernelSpec)] in call order, for explain()
        self.buffers = buffers or {}  # planned temporaries, reused by every run
        # a plan that writes into its own buffers must not run twice at once (the session serialises
        # variable-updating plans anyway; others take this lock)
        self.lock = threading.Lock() if self.buffers else None

    def replay_obstacle(self):
        """Why a device runner may not record this step once and replay it (a CUDA graph, an OpenCL
        command list), or None."""
        if not self.has_assign:
            return "only steps that update variables are replayed (Session.run serialises them)"
        if any(spec.rng is not None for _, spec in self.kernels):
            return "the step draws random numbers on the host (a replay would repeat them)"
        if self.wrapped:
            return "a plugin wraps the kernels (a profiler, check_numerics): they must really run"
        return None


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


def _snapshot(x):
    """Binds a variable's current buffer to a local; updates rebind or skip it (the buffer stays live)."""
    return x


def _foldable(op_type, inputs):
    """Every input whose value the kernel reads is a constant (ops without inputs are sources, not folded)."""
    shape_only = registry.get(op_type).shape_inputs
    return bool(inputs) and all(v.const is not None for i, v in enumerate(inputs) if i not in shape_only)


class Lowering:
    """Builds one plan's code; composite-op expansions call `emit` and `scalar` on it."""

    def __init__(self, session):
        self.session = session
        self.backend = session.backend
        self.steps = []
        self.by_expr = {}
        self.globals = {}
        self.kernels = []
        self._n = itertools.count()
        self._cse = {}
        self._alive = []
        self.producers = {}  # expr -> (op type, input Values, attrs) of the step that makes it (simplify.py)
        self._wrappers = plugins.wrappers()
        self.wrapped = False  # a plugin wrapped some kernel (a profiler): device runners then stay eager
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
            simpler = simplify(self, op_type, inputs, attrs, shapes, dtypes)
            if simpler is not None:
                if key is not None:
                    self._cse[key] = [simpler]
                return simpler
        spec = KernelSpec(op_type, name, attrs, [v.shape for v in inputs], [v.dtype for v in inputs],
                          shapes, dtypes, rng)
        if self.backend.has_kernel(op_type):
            kernel = self.backend.kernel(spec)
        elif opdef.host is not None:
            spec.backend = self.backend
            kernel = on_host(self.backend, opdef.host(spec), len(outs))
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
        elif not opdef.stateful and _foldable(op_type, inputs):
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
                if wrapped is not None:
                    kernel, self.wrapped = wrapped, True
            kname = self._name("k")
            self.globals[kname] = kernel
            self.kernels.append((kname, spec))
            result = [Value(s, d, self._name("t")) for s, d in zip(shapes, dtypes)]
            for v in result:
                self.by_expr[v.expr] = v
            if single:
                self.producers[result[0].expr] = (op_type, inputs, attrs)
            self.steps.append(Step(kname, [v.expr for v in result], [v.expr for v in inputs], f"{op_type} {name}",
                                   op_type, fresh=op_type in self.backend.fresh_ops, keep=opdef.stateful,
                                   spec=spec))
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
        values[id(t)] = Value(arr.shape, t.dtype, f"f{fed[id(t)]}", persistent=True)  # the caller's array
    var_reads, has_assign = [], False
    fetched_ids = {id(t) for t in fetch_tensors}
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
            v = Value(op.attrs["variable"].shape, op.outputs[0].dtype, f"V[{slot}]", persistent=True)
            low.by_expr[v.expr] = v
            if id(op.outputs[0]) in fetched_ids:  # a fetched variable shows its value before this step's updates
                snap = Value(v.shape, v.dtype, low._name("t"), persistent=True)
                low.globals["snapshot"] = _snapshot
                low.steps.append(Step("snapshot", [snap.expr], [v.expr], f"read {op.name}", "Snapshot"))
                low.by_expr[snap.expr] = v = snap
            values[id(op.outputs[0])] = v
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
                current = low.by_expr[f"V[{slot}]"] = Value(var.shape, var.dtype, f"V[{slot}]", persistent=True)
                new = low.emit("Add" if kind == "AssignAdd" else "Sub", [current, new], name=op.name)
            if new.persistent or new.const is not None:  # a buffer someone else owns: store a copy
                new = low.emit("Copy", [new], name=op.name) if low.backend.has_kernel("Copy") else new
            low.steps.append(Step(None, [f"V[{slot}]"], [new.expr], f"{kind} {op.name}", keep=True))
            values[id(op.outputs[0])] = Value(new.shape, new.dtype, new.expr, persistent=True)
            continue
        rng = session.rng_for(op) if registry.get(kind).stateful else None
        out = low.emit(kind, inputs, op.attrs, name=op.name, rng=rng)
        outs = out if isinstance(out, list) else [out]
        for t, v in zip(op.outputs, outs):
            values[id(t)] = v
    fetched = [values[id(t)] for t in fetch_tensors]
    live_out = {v.expr for v in fetched}
    steps = eliminate_dead_steps(low.steps, live_out)
    if low.backend.fusable_ops:
        steps = fuse_elementwise(steps, live_out, low)
    reuse_dying_buffers(steps, live_out, low.backend.inplace_ops, low.by_expr)
    # without a Copy kernel an assigned constant or feed is stored as that very buffer: never write into it
    var_inplace = low.backend.inplace_ops if low.backend.has_kernel("Copy") else frozenset()
    update_variables_in_place(steps, live_out, var_inplace, low.by_expr)
    allocate = session.step_buffer_allocator() if has_assign else low.backend.empty
    buffers = plan_buffers(steps, live_out, low.backend.out_ops, low.by_expr, allocate, lambda: low._name("b"))
    low.globals.update(buffers)
    n = next(_plan_ids)
    args = "".join(f", f{i}" for i in range(len(feed_tensors)))
    body = [step.render() for step in steps] or ["pass"]
    ret = ", ".join(v.expr for v in fetched)
    source = (f"def plan_{n}(V{args}):\n" + "".join(f"    {line}\n" for line in body)
              + f"    return ({ret}{',' if len(fetched) == 1 else ''})\n")
    namespace = dict(low.globals)
    exec(compile(source, f"<nnplug plan {n}>", "exec"), namespace)  # noqa: S102 - our own generated code
    used = {step.kernel for step in steps}
    plan = Plan(namespace[f"plan_{n}"], source, [v.persistent for v in fetched], sorted(set(var_reads)),
                has_assign, [(k, spec) for k, spec in low.kernels if k in used], buffers, low.wrapped)
    plan.run = session.backend.plan_runner(plan)
    return plan
