"""Lowering of `Cond` (nnplug/ops/control_flow.py): each branch is compiled once per plan as a sub-plan
over the cond's captures, and the plan gets one step that runs the sub-plan the predicate picks. The
predicate is read on the host, so a step with a cond is never replayed as a device graph."""
import types

from ..backend import KernelSpec
from ..errors import InvalidArgumentError
from ..shapes import fmt
from .ir import Step, Value


def lower_cond(low, op, inputs):
    """(output Values, variable slots the branches read, whether they assign)."""
    caps = op.attrs["captures"]
    shapes = [types.SimpleNamespace(shape=v.shape) for v in inputs[1:]]
    plans = [low.compile_sub(list(op.attrs[branch]), list(caps), shapes) for branch in ("then", "else")]
    t_plan, f_plan = plans
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

    spec = KernelSpec("Cond", op.name, {}, [v.shape for v in inputs], [v.dtype for v in inputs],
                      [v.shape for v in outs], [v.dtype for v in outs], backend=low.backend, op=op)
    spec.state = low.state  # reads the predicate on the host: never replayed (Plan.replay_obstacle)
    has_assign = t_plan.has_assign or f_plan.has_assign
    step = Step("Cond", run, inputs, outs, op.name, spec=spec, keep=has_assign)
    step.with_vars = True
    low.steps.append(step)
    return outs, set(t_plan.var_reads) | set(f_plan.var_reads), has_assign


def lower_while(low, op, inputs):
    """(output Values, variable slots read, whether it assigns): a step running the loop, its condition and
    body compiled as sub-plans for each new set of loop-variable shapes (once, for shape-keeping loops)."""
    holders, caps = list(op.attrs["holders"]), list(op.attrs["captures"])
    n = len(holders)
    cap_shapes = [types.SimpleNamespace(shape=v.shape) for v in inputs[n:]]
    plans = {}

    def plans_for(shapes):
        got = plans.get(shapes)
        if got is None:
            feeds = [types.SimpleNamespace(shape=s) for s in shapes] + cap_shapes
            got = plans[shapes] = (low.compile_sub([op.attrs["cond"]], holders + caps, feeds),
                                   low.compile_sub(list(op.attrs["body"]), holders + caps, feeds))
        return got

    first_cond, first_body = plans_for(tuple(v.shape for v in inputs[:n]))
    for i, ((shape, dtype), v) in enumerate(zip(first_body.out_specs, inputs[:n])):
        declared = holders[i].shape
        if shape != v.shape and (declared.unknown_rank is False and any(
                d is not None and d != s for d, s in zip(declared, shape))):
            raise InvalidArgumentError(f"while_loop '{op.name}': loop variable {i} enters with shape {fmt(v.shape)} "
                                       f"but the body makes {fmt(shape)}; give shape_invariants", op)
    keeps_shapes = all(s == v.shape for (s, _), v in zip(first_body.out_specs, inputs[:n]))
    outs = [Value(v.shape, v.dtype, persistent=True) for v in inputs[:n]] if keeps_shapes else None
    if outs is None:
        raise InvalidArgumentError(f"while_loop '{op.name}': its loop variables change shape between iterations; "
                                   f"nnplug compiles a step for fixed shapes, so such a loop can only be fetched "
                                   f"on its own in a later version", op)
    to_host, limit = low.backend.to_host, op.attrs["maximum_iterations"]
    single = n == 1

    def run(V, *values):
        loop, captured = list(values[:n]), values[n:]
        count = 0
        while (limit is None or count < limit) and bool(to_host(first_cond.fn(V, *loop, *captured)[0])):
            loop = list(first_body.fn(V, *loop, *captured))
            count += 1
        return loop[0] if single else tuple(loop)

    spec = KernelSpec("While", op.name, {}, [v.shape for v in inputs], [v.dtype for v in inputs],
                      [v.shape for v in outs], [v.dtype for v in outs], backend=low.backend, op=op)
    spec.state = low.state  # reads its condition on the host: never replayed
    has_assign = first_cond.has_assign or first_body.has_assign
    step = Step("While", run, inputs, outs, op.name, spec=spec, keep=has_assign)
    step.with_vars = True
    low.steps.append(step)
    return outs, set(first_cond.var_reads) | set(first_body.var_reads), has_assign
