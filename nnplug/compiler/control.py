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
