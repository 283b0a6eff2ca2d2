"""The compiler: turns the subgraph a Session.run needs into a Plan — one generated Python function of
flat kernel calls on locals, specialised to the concrete feed shapes, built once and cached by the Session.

Passes over a plan IR of objects (ir.py), one module each, in this order:
  prune (here) → lower.py (shape specialisation, with fold.py's folding/CSE, simplify rules and composite
  expansion as each op is lowered, each for the backend its op is placed on) → dce.py → place.py (copies
  where a value crosses devices, for plans spanning several) → fuse.py → schedule.py (collectives started
  early, waited for late) → buffers.py (in-place reuse, variables updated in place, the static buffer
  plan; per device) → codegen.py.
It compiles against a run state (state.py) that its owner implements, not against the Session itself.
"""
from ..devices import host_for
from ..errors import InvalidArgumentError
from ..ops import registry
from .buffers import plan_buffers, reuse_dying_buffers, update_variables_in_place
from .codegen import generate
from .dce import eliminate_dead_steps
from .fuse import fuse_elementwise
from .lower import Lowering, lower_graph
from .place import COPY, device_groups, enter_device_scopes, place_steps, runner
from .plan import Plan
from .schedule import schedule_steps
from .state import RunState

__all__ = ["Lowering", "Plan", "RunState", "compile_plan", "prune"]


def _input_homes(steps):
    """{step: where its kernel would like its inputs computed (OpDef.input_homes)}: asked of every such
    step, whatever the buffer plan then uses (a collective's kernel may agree with the other ranks here)."""
    homes = {}
    for step in steps:
        opdef = registry.find(step.op_type) if step.spec is not None else None
        if opdef is not None and opdef.input_homes is not None:
            homes[step] = opdef.input_homes(step.spec)
    return homes


def prune(graph, targets, fed):
    """Ops the targets need, in a topological order (creation order, unless control dependencies added
    later say otherwise), stopping at fed tensors; a dependency cycle is an error naming its ops."""
    needed, deps, stack = {}, {}, list(targets)
    while stack:
        op = stack.pop()
        if op._id in needed:
            continue
        needed[op._id] = op
        if all(id(t) in fed for t in op.outputs) and op.outputs:
            deps[op._id] = ()
            continue
        deps[op._id] = [t.op for t in op.inputs] + list(op.control_inputs)
        stack.extend(deps[op._id])
    order = sorted(needed)
    if all(d._id < i for i in order for d in deps[i]):  # the common case: creation order is topological
        return [needed[i] for i in order]
    return _topological(needed, deps, order)


def _topological(needed, deps, order):
    """Depth-first topological order (iterative: graphs may be deep), raising on a cycle."""
    state, out = {}, []  # op id -> 1 on the current path, 2 done
    for root in order:
        if state.get(root) == 2:
            continue
        path, stack = [], [(root, iter(deps[root]))]
        state[root] = 1
        path.append(root)
        while stack:
            i, it = stack[-1]
            d = next(it, None)
            if d is None:
                stack.pop()
                path.pop()
                state[i] = 2
                out.append(needed[i])
            elif state.get(d._id) == 1:
                cycle = path[path.index(d._id):] + [d._id]
                raise InvalidArgumentError("the graph has a dependency cycle (control dependencies?): "
                                           + " -> ".join(f"'{needed[j].name}'" for j in cycle))
            elif state.get(d._id) is None:
                state[d._id] = 1
                path.append(d._id)
                stack.append((d._id, iter(deps[d._id])))
    return out


def compile_plan(state, graph, fetch_tensors, fetch_ops, feed_tensors, feed_arrays, nested=False, baked=()):
    """Build the Plan for these fetches and feeds (arrays give the concrete shapes and dtypes). A nested
    plan (a cond's branch) runs inside another: it updates no variable buffer in place (the outer plan may
    hold it) and plans no buffers of its own. `baked`: (tensor, array) pairs compiled in as constants."""
    fed = {id(t) for t in feed_tensors} | {id(t) for t, _ in baked}
    ops = prune(graph, [t.op for t in fetch_tensors] + list(fetch_ops), fed)
    low = Lowering(state)
    low.compile_sub = lambda fetches, feeds, arrays: compile_plan(state, graph, fetches, [], feeds, arrays, True)
    fetched, var_reads, has_assign = lower_graph(low, ops, feed_tensors, feed_arrays, fetch_tensors, baked)
    backend = low.main
    steps = eliminate_dead_steps(low.steps, set(fetched))
    placed = place_steps(steps, fetched, backend, host_for(backend), nested) if low.spans else None
    if placed is not None:  # the plan spans devices: copies where values cross them
        steps, fetched, devices = placed
        groups = device_groups(devices, backend)
    else:
        devices, groups = [backend], [(backend, None)]
    live_out = set(fetched)
    if backend.fusable_ops:
        steps = fuse_elementwise(steps, live_out, backend)
    steps = schedule_steps(steps)
    for b, only in groups:
        reuse_dying_buffers(steps, live_out, b.inplace_ops, only)
    for b, only in groups:
        # without a Copy kernel an assigned constant or feed is stored as that very buffer: never write into it
        in_place = b.inplace_ops if b.has_kernel("Copy") and not nested else frozenset()
        update_variables_in_place(steps, live_out, in_place, only)
    if not nested:
        homes = _input_homes(steps)
        buffers = []
        for b, only in groups:
            allocate = (state.step_allocator() if b is backend else state.step_allocator(b)) if has_assign else b.empty
            buffers += plan_buffers(steps, live_out, b.out_ops, allocate, only, homes)
        for i, buf in enumerate(buffers):  # one numbering across devices
            buf.index = i
    if placed is not None:
        enter_device_scopes(steps, devices, backend)
    fn, code, source, kernels, buffers = generate(steps, fetched, len(feed_tensors))
    plan = Plan(fn, code, source, [v.persistent for v in fetched], var_reads, has_assign, kernels, buffers,
                low.wrapped)
    plan.out_specs = [(v.shape, v.dtype) for v in fetched]
    plan.ops, plan.devices = ops, devices
    plan.fetch_devices = [v.device or backend for v in fetched]
    plan.copies = sum(step.op_type == COPY for step in steps)
    plan.run = backend.plan_runner(plan) if placed is None else runner(plan, backend)
    return plan
