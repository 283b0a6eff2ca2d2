"""Scheduling: steps whose op asks for it (`OpDef.schedule`) move within the topological order, so that
work runs while a collective is in flight — an 'early' step (an allreduce's start) moves up to just after
the steps that make its inputs, a 'late' one (its wait) down to just before the first step that reads
its outputs. Every other step keeps its place.

A step never moves past one it depends on (it reads what that writes, or writes what that reads or
writes: variable stores included) nor past a step that runs a sub-plan over the variables (a cond). An
early step also stays behind every other host op but a late one: collectives must be entered in the same
order on every rank, so the steps that enter them keep their order (a wait enters nothing)."""
from ..ops import registry


def _opdef(step):
    return registry.find(step.op_type) if step.spec is not None else None


def schedule_steps(steps):
    """The steps, with the early and late ones moved; the list itself when none asks to move."""
    hints = {id(s): d.schedule for s in steps if (d := _opdef(s)) is not None and d.schedule}
    if not hints:
        return steps
    order = list(steps)
    for step in [s for s in order if hints.get(id(s)) == "early"]:
        i = j = order.index(step)
        while j > 0 and not _blocks(step, order[j - 1], "early"):
            j -= 1
        order.insert(j, order.pop(i))
    for step in [s for s in reversed(order) if hints.get(id(s)) == "late"]:
        i = j = order.index(step)
        while j + 1 < len(order) and not _blocks(step, order[j + 1], "late"):
            j += 1
        order.insert(j, order.pop(i))
    return order


def _blocks(moving, other, hint):
    """Whether `moving` (an early or a late step) must stay on its side of `other`."""
    if other.with_vars or moving.with_vars:
        return True
    if hint == "early" and (d := _opdef(other)) is not None and d.host is not None and d.schedule != "late":
        return True
    reads, writes = set(moving.ins), set(moving.outs)
    return bool(reads & set(other.outs) or writes & set(other.ins) or writes & set(other.outs))
