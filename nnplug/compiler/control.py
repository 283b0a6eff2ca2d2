"""Lowering of control flow (nnplug/ops/control_flow.py): a cond, a loop and a loop's gradient each become
one step that calls sub-plans. A sub-plan is compiled once per plan for the shapes it meets; a loop whose
variables change shape compiles its condition and body again for each new set of shapes, when it first
occurs at run time. Predicates are read on the host, so a step with control flow is never replayed as a
device graph.

A loop with a gradient saves, per iteration, the tensors the gradient reads (its trace, a Python list
that lives only during the run); its WhileGrad step runs the body's gradient sub-plan over the trace from
the last iteration to the first, so the trip count needs to be known only at run time.

Variant values (TensorArray handles, traces) carry facts the compiler learns as it lowers ops: an array's
size and the element shape its writes have, the shapes a loop saves. `fact`/`set_fact` keep them per
Value, and a sub-plan compiled here is given the facts of its variant feeds (and hands back those of the
variant values it makes)."""
import threading
import types

import numpy as np

from ..backend import KernelSpec
from ..errors import InvalidArgumentError
from ..ops.tensor_array import variant
from ..shapes import fmt
from .ir import Step, Value

_local = threading.local()


class _Context:
    """The facts of one sub-plan being compiled: of its feeds (by feed index), and of what it makes."""

    def __init__(self, feeds):
        self.feeds, self.made = feeds, {}


def _contexts():
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def set_fact(low, value, fact, tensor):
    """Record what the compiler knows of a variant Value made for the graph tensor `tensor`."""
    facts = getattr(low, "facts", None)
    if facts is None:
        facts = low.facts = {}
    facts[value] = fact
    stack = _contexts()
    if stack:
        stack[-1].made[id(tensor)] = fact


def fact(low, value):
    """The fact of a variant Value of this lowering (made here, or fed to this sub-plan), or None."""
    found = getattr(low, "facts", {}).get(value)
    stack = _contexts()
    if found is None and value.kind == "feed" and stack:
        found = stack[-1].feeds.get(value.index)
    return found


def _feed_facts(low, values):
    return {i: fact(low, v) for i, v in enumerate(values) if v.dtype is variant}


class SubPlans:
    """One list of fetches over one list of feeds, compiled per tuple of feed shapes on first use, with the
    facts of the variant feeds; each plan keeps the facts of the variant tensors it made (`plan.facts`)."""

    def __init__(self, low, fetches, feeds, facts):
        self.compile, self.fetches, self.feeds, self.facts = low.compile_sub, list(fetches), list(feeds), facts
        self.plans = {}

    def get(self, shapes):
        plan = self.plans.get(shapes)
        if plan is None:
            context = _Context(self.facts)
            stack = _contexts()
            stack.append(context)
            try:
                plan = self.compile(self.fetches, self.feeds, [types.SimpleNamespace(shape=s) for s in shapes])
            finally:
                stack.pop()
            plan.facts = context.made
            self.plans[shapes] = plan
        return plan


def control_step(low, op, kernel, inputs, outs, keep=False, with_vars=False):
    """Append a step whose kernel runs Python logic of the compiler's own (never replayed as a device graph)."""
    spec = KernelSpec(op.type, op.name, {}, [v.shape for v in inputs], [v.dtype for v in inputs],
                      [v.shape for v in outs], [v.dtype for v in outs], backend=low.backend, op=op)
    spec.state = low.state  # Plan.replay_obstacle: host logic runs in the step
    step = Step(op.type, kernel, inputs, outs, op.name, spec=spec, keep=keep)
    step.with_vars = with_vars
    low.steps.append(step)
    return step


def _reads(plans):
    return set().union(*(p.var_reads for p in plans)), any(p.has_assign for p in plans)


# -- cond --------------------------------------------------------------------------------------------------
def lower_cond(low, op, inputs):
    """(output Values, variable slots the branches read, whether they assign)."""
    caps, facts = list(op.inputs[1:]), _feed_facts(low, inputs[1:])
    shapes = tuple(v.shape for v in inputs[1:])
    t_plan, f_plan = (SubPlans(low, op.attrs[b], caps, facts).get(shapes) for b in ("then", "else"))
    outs = []
    for i, (a, b) in enumerate(zip(t_plan.out_specs, f_plan.out_specs)):
        if a != b:
            raise InvalidArgumentError(f"cond '{op.name}': output {i} is {fmt(a[0])} {a[1].name} in the true branch "
                                       f"but {fmt(b[0])} {b[1].name} in the false branch for these feeds", op)
        outs.append(Value(a[0], a[1], persistent=True))  # may be a capture or a variable: copied when fetched
    to_host, single = low.backend.to_host, len(outs) == 1

    def run(V, pred, *captures):
        out = (t_plan if bool(to_host(pred)) else f_plan).fn(V, *captures)
        return out[0] if single else out

    reads, assigns = _reads([t_plan, f_plan])
    control_step(low, op, run, inputs, outs, keep=assigns, with_vars=True)
    return outs, reads, assigns


# -- loops -------------------------------------------------------------------------------------------------
class _LoopFact:
    """What a loop's WhileGrad needs from the forward loop: where each saved tensor is in an iteration's
    saved tuple, their shapes (None when they change between iterations) and the facts of saved variants."""

    def __init__(self, saves, saved_shapes, saved_facts):
        self.position = {id(t): i for i, t in enumerate(saves)}
        self.saved_shapes, self.saved_facts = saved_shapes, saved_facts


def _changed(op, i, declared, shape, entering):
    """Raise unless a loop variable's new concrete shape fits what it was declared to keep."""
    if declared.unknown_rank or None in shape:
        return
    if len(declared) != len(shape) or any(d is not None and d != s for d, s in zip(declared, shape)):
        raise InvalidArgumentError(f"while_loop '{op.name}': loop variable {i} ('{op.inputs[i].name}') enters the "
                                   f"loop with shape {fmt(entering)} but the body makes it {fmt(shape)}; to let its "
                                   f"shape change between iterations, give shape_invariants with None where it may "
                                   f"change", op)


def _varying(declared, entering):
    """The output shape of a loop variable whose shape may change: the declared one (None where it may)."""
    if declared.unknown_rank:
        return (None,) * len(entering)
    return tuple(declared)


def lower_while(low, op, inputs):
    """(output Values, variable slots read, whether it assigns)."""
    a = op.attrs
    holders, feeds = list(a["holders"]), list(a["cap_feeds"])
    n, k = len(holders), len(feeds)
    loop_in, cap_in = inputs[:n], inputs[n:n + k]
    saves = list(a.get("saves", ()))
    record = "saves" in a  # a gradient was built: keep each iteration's saved tensors
    where = {id(h): j for j, h in enumerate(holders)}
    kept = [s for s in saves if id(s) not in where]  # fetched from the body besides its results
    order = [(0, where[id(s)]) if id(s) in where else (1, n + kept.index(s)) for s in saves]
    facts = _feed_facts(low, loop_in + cap_in)
    cond = SubPlans(low, [a["cond"]], holders + feeds, facts)
    body = SubPlans(low, list(a["body"]) + kept, holders + feeds, facts)
    cap_shapes = tuple(v.shape for v in cap_in)
    entering = tuple(v.shape for v in loop_in)
    declared = [h.shape for h in holders]
    first_cond = first_body = None
    dynamic = any(None in s for s in entering)  # sizes known only at run time: compile when they are
    if not dynamic:
        first_cond, first_body = cond.get(entering + cap_shapes), body.get(entering + cap_shapes)
        made = tuple(s for s, _ in first_body.out_specs[:n])
        for i, (d, s, e) in enumerate(zip(declared, made, entering)):
            _changed(op, i, d, s, e)
        dynamic = made != entering
    shapes_seen = set()

    def plans_for(loop):
        shapes = tuple(tuple(np.shape(x)) for x in loop)
        if shapes not in shapes_seen:
            for i, (d, s, e) in enumerate(zip(declared, shapes, entering)):
                _changed(op, i, d, s, e)
            shapes_seen.add(shapes)
        return cond.get(shapes + cap_shapes), body.get(shapes + cap_shapes)

    to_host = low.backend.to_host
    fixed_limit, limit_input = a["maximum_iterations"], a["limit_input"]

    def run(V, *values):
        loop, caps = list(values[:n]), values[n:n + k]
        limit = int(to_host(values[-1])) if limit_input else fixed_limit
        trace = [] if record else None
        cplan, bplan = first_cond, first_body
        count = 0
        while limit is None or count < limit:
            if dynamic:
                cplan, bplan = plans_for(loop)
            if not bool(to_host(cplan.fn(V, *loop, *caps)[0])):
                break
            out = bplan.fn(V, *loop, *caps)
            if trace is not None:
                trace.append(tuple(out[j] if src else loop[j] for src, j in order))
            loop = list(out[:n])
            count += 1
        return (*loop, trace)

    outs = [Value(_varying(d, e) if dynamic else e, v.dtype, persistent=True)
            for d, e, v in zip(declared, entering, loop_in)]
    trace = Value((), variant)
    control_step(low, op, run, inputs, outs + [trace], keep=True, with_vars=True)
    saved_shapes = saved_facts = None
    if first_body is not None:
        saved_facts = {i: first_body.facts.get(id(s)) for i, s in enumerate(saves) if s.dtype is variant}
        if not dynamic:
            specs = first_body.out_specs
            saved_shapes = tuple(specs[j][0] if src else entering[j] for src, j in order)
    set_fact(low, trace, _LoopFact(saves, saved_shapes, saved_facts or {}), op.outputs[-1])
    reads, assigns = _reads([p for p in (first_cond, first_body) if p is not None])
    return outs + [trace], reads, assigns


def lower_while_grad(low, op, inputs):
    """(output Values, variable slots read, whether it assigns): the body's gradient run once per saved
    iteration, last first, with the gradients of the captured tensors added up."""
    a = op.attrs
    saves, grad_feeds, acc_feeds, cap_feeds = (list(a[k]) for k in ("saves", "grad_feeds", "acc_feeds", "cap_feeds"))
    n_f, n_c, n_g = len(grad_feeds), len(acc_feeds), len(cap_feeds)
    trace_in, g_in, cap_in = inputs[0], inputs[1:1 + n_f], inputs[1 + n_f:1 + n_f + n_g]
    loop_fact = fact(low, trace_in)
    if not isinstance(loop_fact, _LoopFact) or any(id(t) not in loop_fact.position for t in saves):
        raise InvalidArgumentError(f"'{op.name}': the loop it differentiates does not save what it needs here "
                                   f"(its trace reaches this step where the compiler cannot follow it)", op)
    pick = [loop_fact.position[id(t)] for t in saves]  # this gradient's saves in each saved tuple
    facts = {k: loop_fact.saved_facts[i] for k, i in enumerate(pick) if i in loop_fact.saved_facts}
    offset = len(saves) + n_f + n_c
    facts.update({offset + i: f for i, f in _feed_facts(low, cap_in).items()})
    plans = SubPlans(low, list(a["outs"]), saves + grad_feeds + acc_feeds + cap_feeds, facts)
    like = inputs[1 + n_f + n_g:]  # the loop's initial variables and captured tensors: the outputs' shapes
    cap_shapes = tuple(v.shape for v in cap_in)
    acc_shapes = tuple(v.shape for v in like[n_f:])
    backend = low.backend
    zeros = [backend.to_device(np.zeros(v.shape, v.dtype.np)) for v in like[n_f:]]
    fixed = None
    if loop_fact.saved_shapes is not None:
        shapes = tuple(loop_fact.saved_shapes[i] for i in pick)
        fixed = plans.get(shapes + tuple(v.shape for v in g_in) + acc_shapes + cap_shapes)

    def run(V, trace, *values):
        grads, caps = list(values[:n_f]), values[n_f:n_f + n_g]
        accs = list(zeros)
        for row in reversed(trace):
            saved = tuple(row[i] for i in pick)
            plan = fixed or plans.get(tuple(tuple(np.shape(x)) for x in saved + tuple(grads)) + acc_shapes + cap_shapes)
            out = plan.fn(V, *saved, *grads, *accs, *caps)
            grads, accs = out[:n_f], out[n_f:]
        return (*grads, *accs)

    outs = [Value(v.shape, v.dtype, persistent=True) for v in like]
    control_step(low, op, run, inputs, outs, with_vars=True)
    reads, assigns = _reads([fixed] if fixed is not None else [])
    return outs, reads, assigns


# op type -> lower(low, op, input Values) -> (output Values, variable slots read, whether it assigns)
LOWERINGS = {"Cond": lower_cond, "While": lower_while, "WhileGrad": lower_while_grad}
