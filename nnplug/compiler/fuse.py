"""Elementwise fusion: chains of elementwise steps whose intermediate results nobody else reads become one
step, for backends where each launch is expensive (GPUs, OpenCL). A backend opts in by listing
`fusable_ops` and implementing `fuse_elementwise(chain)` (a `nnplug.fusion.Chain`)."""
from ..fusion import Chain
from .ir import Step

FUSED = "Fused"  # the op type of a fused step (registered in nnplug/ops/array_ops.py as compiler-internal)


def fuse_elementwise(steps, live_out, backend):
    """Merge single-use producer → consumer pairs of fusable, same-shaped steps, then ask the backend."""
    uses = {}
    for step in steps:
        for v in step.ins:
            uses[v] = uses.get(v, 0) + 1

    def fusable(step):
        return (step.kernel is not None and step.op_type in backend.fusable_ops and len(step.outs) == 1
                and not step.keep and step.spec is not None and step.outs[0].device is None)  # on `backend`

    producer = {step.outs[0]: step for step in steps if fusable(step)}
    group, absorbed = {}, set()  # id(step) -> the steps ending with it; ids of steps merged into others
    for step in steps:
        if not fusable(step):
            continue
        members = []
        for v in step.ins:
            p = producer.get(v)
            if (p is not None and id(p) in group and uses.get(v) == 1 and v not in live_out
                    and tuple(p.spec.out_shape) == tuple(step.spec.out_shape)):
                members.extend(group.pop(id(p)))
                absorbed.add(id(p))
        group[id(step)] = members + [step]
    out = []
    for step in steps:
        if id(step) in absorbed:
            continue
        members = group.get(id(step))
        if not members or len(members) == 1:
            out.append(step)
        else:
            out.extend(_build(members, backend))
    return out


def _build(members, backend):
    """[one fused Step], or the members unchanged if the backend declines."""
    internal = {m.outs[0]: j for j, m in enumerate(members)}
    inputs, in_index, nodes = [], {}, []
    for m in members:
        args = []
        for v, shape, dtype in zip(m.ins, m.spec.in_shapes, m.spec.in_dtypes):
            if v in internal:
                args.append(("node", internal[v]))
            else:
                if v not in in_index:
                    in_index[v] = len(inputs)
                    inputs.append((shape, dtype))
                args.append(("in", in_index[v]))
        nodes.append((m.op_type, m.spec.attrs, tuple(args)))
    last = members[-1]
    chain = Chain(inputs, nodes, last.spec.out_shape, last.spec.out_dtype, [m.spec.name for m in members])
    kernel = backend.fuse_elementwise(chain)
    if kernel is None:
        return members
    step = Step(FUSED, kernel, list(in_index), list(last.outs), last.name, fresh=True)
    step.members = [t for t, _, _ in nodes]
    return [step]
