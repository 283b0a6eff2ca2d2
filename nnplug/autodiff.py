"""Reverse-mode differentiation as a graph-to-graph transform: `gradients(ys, xs)` adds ops that compute
d(sum ys)/d(xs), built from each op's registered gradient rule."""
from __future__ import annotations

from collections.abc import Sequence

from .graph import Tensor, convert_to_tensor
from .ops import registry
from .ops.math_ops import add_n, ones_like
from ._types import TensorLike


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _tensor(x):
    return x._as_tensor() if hasattr(x, "_as_tensor") else x


def gradients(ys: TensorLike | Sequence[TensorLike], xs: TensorLike | Sequence[TensorLike],
              grad_ys: TensorLike | Sequence[TensorLike] | None = None, name: str = "gradients",
              stop_gradients: TensorLike | Sequence[TensorLike] | None = None) -> list[Tensor | None]:
    """Symbolic gradients of sum(ys) with respect to each of xs (None where xs do not affect ys)."""
    ys = [_tensor(y) for y in _as_list(ys)]
    xs = [_tensor(x) for x in _as_list(xs)]
    for t in ys + xs:
        if not isinstance(t, Tensor):
            raise TypeError(f"gradients() takes tensors or variables, got {t!r:.80}")
    graph = ys[0].graph
    stops = {id(_tensor(s)) for s in _as_list(stop_gradients or [])}

    # tensors that depend on some x, walking ops in creation (= topological) order
    depends = {id(x) for x in xs}
    first = min(x.op._id for x in xs)
    for op in graph._ops[first:]:
        if any(id(t) in depends for t in op.inputs):
            depends.update(id(t) for t in op.outputs if id(t) not in stops)

    # ops that ys need
    needed, stack = set(), [y.op for y in ys]
    while stack:
        op = stack.pop()
        if op._id in needed:
            continue
        needed.add(op._id)
        stack.extend(t.op for t in op.inputs)

    grads = {}
    with graph.name_scope(name):
        if grad_ys is None:
            grad_ys = [None] * len(ys)
        for y, gy in zip(ys, _as_list(grad_ys)):
            if not y.dtype.is_floating:
                raise TypeError(f"cannot differentiate the {y.dtype.name} tensor '{y.name}'; only floats have gradients")
            gy = ones_like(y) if gy is None else convert_to_tensor(gy, dtype=y.dtype)
            grads.setdefault(id(y), []).append(gy)
        order = sorted((graph._ops[i] for i in needed), key=lambda o: o._id, reverse=True)
        for op in order:
            if not any(id(t) in depends for t in op.outputs) or not any(id(t) in grads for t in op.outputs):
                continue
            if not any(id(t) in depends for t in op.inputs):
                continue
            out_grads = [_total(grads.get(id(t))) for t in op.outputs]
            opdef = registry.get(op.type)
            if opdef.grad is None:
                if any(id(t) in depends and t.dtype.is_floating for t in op.inputs):
                    raise LookupError(f"no gradient is defined for operation '{op.name}' (op type: {op.type})")
                continue
            with graph.name_scope(op.name + "_grad"):
                in_grads = opdef.grad(op, *out_grads)
            for t, g in zip(op.inputs, in_grads):
                if g is not None and id(t) in depends and t.dtype.is_floating:
                    grads.setdefault(id(t), []).append(g)
        return [_total(grads.get(id(x))) for x in xs]


def _total(contributions):
    if not contributions:
        return None
    return contributions[0] if len(contributions) == 1 else add_n(contributions)
