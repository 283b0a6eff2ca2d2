"""Reverse-mode differentiation as a graph-to-graph transform: `gradients(ys, xs)` adds ops that compute
d(sum ys)/d(xs), built from each op's registered gradient rule."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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
              colocate_gradients_with_ops: bool = False, gate_gradients: bool = False,
              aggregation_method: int | None = None,
              stop_gradients: TensorLike | Sequence[TensorLike] | None = None) -> list[Tensor | None]:
    """Symbolic gradients of sum(ys) with respect to each of xs (None where xs do not affect ys).
    TF1's signature: colocation and gating change nothing here (one plan, one device per op), and every
    `tf.AggregationMethod` adds a tensor's gradients with one AddN."""
    if aggregation_method not in (None, 0, 1, 2):
        raise ValueError(f"gradients: invalid aggregation_method {aggregation_method!r}; use a tf.AggregationMethod")
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
            grad_fn = _gradient_function(op)
            if grad_fn is None:
                if op.type not in _NOT_DIFFERENTIABLE and any(
                        id(t) in depends and t.dtype.is_floating for t in op.inputs):
                    raise LookupError(f"no gradient is defined for operation '{op.name}' (op type: {op.type})")
                continue
            with graph.name_scope(op.name + "_grad"):
                in_grads = _as_list(grad_fn(op, *out_grads))
                if grad_fn in _REGISTERED.values() and len(in_grads) != len(op.inputs):
                    raise ValueError(f"the gradient of operation '{op.name}' (op type: {op.type}) returned "
                                     f"{len(in_grads)} values for its {len(op.inputs)} inputs")
                in_grads = [g if g is None or isinstance(g, Tensor) else convert_to_tensor(g) for g in in_grads]
            for t, g in zip(op.inputs, in_grads):
                if g is not None and id(t) in depends and t.dtype.is_floating:
                    grads.setdefault(id(t), []).append(g)
        return [_total(grads.get(id(x))) for x in xs]


# -- TF1's gradient registry: tf.RegisterGradient, tf.NotDifferentiable --------------------------------
_REGISTERED = {}  # name (an op type, or a name for Graph.gradient_override_map) -> fn(op, *grads)
_NOT_DIFFERENTIABLE = set()


class RegisterGradient:
    """`@tf.RegisterGradient("Name")` registers fn(op, *output_grads) -> input grads under Name: the
    gradient of op type Name, or of ops made under `graph.gradient_override_map({type: "Name"})`."""

    def __init__(self, op_type: str) -> None:
        if not isinstance(op_type, str) or not op_type:
            raise TypeError(f"RegisterGradient takes a non-empty op type name, got {op_type!r:.60}")
        self._op_type = op_type

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if self._op_type in _REGISTERED:
            raise KeyError(f"a gradient named '{self._op_type}' is already registered")
        _REGISTERED[self._op_type] = fn
        return fn


def NotDifferentiable(op_type: str) -> None:  # noqa: N802 - TF1's name
    """Ops of this type pass no gradient (gradients() treats them as constants rather than failing)."""
    if not isinstance(op_type, str) or not op_type:
        raise TypeError(f"NotDifferentiable takes an op type name, got {op_type!r:.60}")
    _NOT_DIFFERENTIABLE.add(op_type)


NoGradient = NotDifferentiable


def _gradient_function(op):
    if op.gradient_override is not None:
        fn = _REGISTERED.get(op.gradient_override)
        if fn is None:
            raise LookupError(f"operation '{op.name}' overrides its gradient with '{op.gradient_override}', which "
                              f"no tf.RegisterGradient defines")
        return fn
    if op.type in _NOT_DIFFERENTIABLE:
        return None
    return registry.get(op.type).grad or _REGISTERED.get(op.type)


def hessians(ys: TensorLike | Sequence[TensorLike], xs: TensorLike | Sequence[TensorLike],
             name: str = "hessians", colocate_gradients_with_ops: bool = False,
             gate_gradients: bool = False, aggregation_method: object = None) -> list[Tensor | None]:
    """For each x, d^2 sum(ys) / dx dx of shape x.shape + x.shape: one gradient per element of the
    gradient (x's size must be known when the graph is built)."""
    from .ops.array_ops import reshape, stack
    from .ops.math_ops import zeros_like
    out: list[Tensor | None] = []
    for x, g in zip([_tensor(x) for x in _as_list(xs)], gradients(ys, xs, name=name)):
        if g is None:
            out.append(None)
            continue
        if not x.shape.is_fully_defined():
            raise ValueError(f"hessians: '{x.name}' needs a fully known shape, got {x.shape}")
        shape = [int(d) for d in x.shape]
        flat = reshape(g, [-1])
        rows = []
        for i in range(int(flat.shape[0])):
            (row,) = gradients(flat[i], x, name=name)
            rows.append(reshape(zeros_like(x) if row is None else row, [-1]))
        out.append(reshape(stack(rows), shape + shape))
    return out


def _total(contributions):
    if not contributions:
        return None
    return contributions[0] if len(contributions) == 1 else add_n(contributions)
