"""The optimizer-update ops (TF1's training_ops: ApplyGradientDescent, ApplyMomentum, ApplyAdam,
ApplyRMSProp, ApplyCenteredRMSProp, ApplyAdagrad, and TF's ApplyKerasMomentum, Keras SGD's rule). Each takes a variable, its
slots, the hyperparameters and the gradient and gives the new values of the variable and of each slot,
which the optimizer assigns back. A backend may run
one as a single fused pass (the numpy backend updates the variable and its slots in place, one kernel call
per variable); without a kernel the compiler expands it into the primitives below, so every backend is
correct, and fusing backends merge the expansion's elementwise chain as usual.

Unlike TF1's ops, which update their ref inputs and return the variable, these are pure: inputs in TF1's
order, outputs (new var, new slot, ...) in the order of the state inputs. The arithmetic is the one
nnplug's optimizers used before these ops existed, so an expansion computes what they computed.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._types import TensorLike
from ..graph import Tensor, convert_to_tensor, make_op
from ..shapes import ShapeError, TensorShape, fmt
from .registry import register

# op type -> (state inputs: the variable, then its slots, updated in place by fused kernels;
#             the other inputs in TF1's order; the attrs with their defaults)
SIGNATURES = {
    "ApplyGradientDescent": (("var",), ("alpha", "delta"), {}),
    "ApplyMomentum": (("var", "accum"), ("lr", "grad", "momentum"), {"use_nesterov": False}),
    "ApplyKerasMomentum": (("var", "accum"), ("lr", "grad", "momentum"), {"use_nesterov": False}),
    "ApplyAdam": (("var", "m", "v"), ("beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"),
                  {}),
    "ApplyRMSProp": (("var", "ms", "mom"), ("lr", "rho", "momentum", "epsilon", "grad"), {}),
    "ApplyCenteredRMSProp": (("var", "mg", "ms", "mom"), ("lr", "rho", "momentum", "epsilon", "grad"), {}),
    "ApplyAdagrad": (("var", "accum"), ("lr", "grad"), {}),
}
GRADIENT_INPUTS = ("grad", "delta")  # shaped as the variable; every other non-state input is a scalar


def input_names(op_type: str) -> tuple[str, ...]:
    state, rest, _ = SIGNATURES[op_type]
    return state + rest


def _rule(op_type):
    names = input_names(op_type)
    n_state = len(SIGNATURES[op_type][0])

    def infer(shapes, dtypes, attrs):
        if len(shapes) != len(names):
            raise ShapeError(f"takes {len(names)} inputs ({', '.join(names)}), got {len(shapes)}")
        var, dtype = TensorShape(shapes[0]), dtypes[0]
        if not dtype.is_floating:
            raise ShapeError(f"var must be floating-point, got {dtype.name}")
        for name, shape, d in zip(names, shapes, dtypes):
            if d != dtype:
                raise ShapeError(f"{name} has dtype {d.name}, var has {dtype.name} (they must match)")
            if name in GRADIENT_INPUTS or name in names[:n_state]:
                if not _same_shape(var, shape):
                    raise ShapeError(f"{name} has shape {fmt(shape)}, var has {fmt(var)} (they must match)")
            elif not getattr(shape, "unknown_rank", False) and len(shape) != 0:
                raise ShapeError(f"{name} must be a scalar, got shape {fmt(shape)}")
        return [(var, dtype)] * n_state
    return infer


def _same_shape(a, b):
    if getattr(a, "unknown_rank", False) or getattr(b, "unknown_rank", False):
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


# -- expansions into primitives (the optimizers' arithmetic, step for step) --------------------------
def _expand_gradient_descent(b, ins, attrs):
    var, alpha, delta = ins
    return [b.emit("Sub", [var, b.emit("Mul", [alpha, delta])])]


def _expand_momentum(b, ins, attrs):
    """accum = accum*momentum + grad; var -= lr*accum (Nesterov: var -= lr*(grad + momentum*accum))."""
    var, accum, lr, grad, momentum = ins
    accum = b.emit("Add", [b.emit("Mul", [accum, momentum]), grad])
    step = b.emit("Add", [grad, b.emit("Mul", [momentum, accum])]) if attrs.get("use_nesterov") else accum
    return [b.emit("Sub", [var, b.emit("Mul", [lr, step])]), accum]


def _expand_keras_momentum(b, ins, attrs):
    """accum = momentum*accum - lr*grad; var += accum (Nesterov: var += momentum*accum - lr*grad)."""
    var, accum, lr, grad, momentum = ins
    accum = b.emit("Sub", [b.emit("Mul", [momentum, accum]), b.emit("Mul", [lr, grad])])
    step = b.emit("Sub", [b.emit("Mul", [momentum, accum]), b.emit("Mul", [lr, grad])]) \
        if attrs.get("use_nesterov") else accum
    return [b.emit("Add", [var, step]), accum]


def _expand_adam(b, ins, attrs):
    """lr_t = lr*sqrt(1-beta2_power)/(1-beta1_power); m = m*beta1 + grad*(1-beta1);
    v = v*beta2 + grad^2*(1-beta2); var -= lr_t*m/(sqrt(v)+epsilon)."""
    var, m, v, b1p, b2p, lr, beta1, beta2, eps, grad = ins
    one = b.scalar(1, var)
    lr_t = b.emit("Div", [b.emit("Mul", [lr, b.emit("Sqrt", [b.emit("Sub", [one, b2p])])]),
                          b.emit("Sub", [one, b1p])])
    m = b.emit("Add", [b.emit("Mul", [m, beta1]), b.emit("Mul", [grad, b.emit("Sub", [one, beta1])])])
    v = b.emit("Add", [b.emit("Mul", [v, beta2]),
                       b.emit("Mul", [b.emit("Square", [grad]), b.emit("Sub", [one, beta2])])])
    step = b.emit("Div", [b.emit("Mul", [lr_t, m]), b.emit("Add", [b.emit("Sqrt", [v]), eps])])
    return [b.emit("Sub", [var, step]), m, v]


def _expand_rmsprop(b, ins, attrs):
    """ms = ms*rho + grad^2*(1-rho); mom = mom*momentum + lr*grad/sqrt(ms+epsilon); var -= mom."""
    var, ms, mom, lr, rho, momentum, eps, grad = ins
    one = b.scalar(1, var)
    ms = b.emit("Add", [b.emit("Mul", [ms, rho]), b.emit("Mul", [b.emit("Square", [grad]), b.emit("Sub", [one, rho])])])
    scaled = b.emit("Div", [b.emit("Mul", [lr, grad]), b.emit("Sqrt", [b.emit("Add", [ms, eps])])])
    mom = b.emit("Add", [b.emit("Mul", [mom, momentum]), scaled])
    return [b.emit("Sub", [var, mom]), ms, mom]


def _expand_centered_rmsprop(b, ins, attrs):
    """mg = mg*rho + grad*(1-rho); ms = ms*rho + grad^2*(1-rho);
    mom = mom*momentum + lr*grad/sqrt(ms - mg^2 + epsilon); var -= mom."""
    var, mg, ms, mom, lr, rho, momentum, eps, grad = ins
    one_minus_rho = b.emit("Sub", [b.scalar(1, var), rho])
    mg = b.emit("Add", [b.emit("Mul", [mg, rho]), b.emit("Mul", [grad, one_minus_rho])])
    ms = b.emit("Add", [b.emit("Mul", [ms, rho]), b.emit("Mul", [b.emit("Square", [grad]), one_minus_rho])])
    denom = b.emit("Sqrt", [b.emit("Add", [b.emit("Sub", [ms, b.emit("Square", [mg])]), eps])])
    mom = b.emit("Add", [b.emit("Mul", [mom, momentum]), b.emit("Div", [b.emit("Mul", [lr, grad]), denom])])
    return [b.emit("Sub", [var, mom]), mg, ms, mom]


def _expand_adagrad(b, ins, attrs):
    """accum += grad^2; var -= lr*grad/sqrt(accum)."""
    var, accum, lr, grad = ins
    accum = b.emit("Add", [accum, b.emit("Square", [grad])])
    return [b.emit("Sub", [var, b.emit("Div", [b.emit("Mul", [lr, grad]), b.emit("Sqrt", [accum])])]), accum]


_EXPANSIONS = {"ApplyGradientDescent": _expand_gradient_descent, "ApplyMomentum": _expand_momentum,
               "ApplyKerasMomentum": _expand_keras_momentum, "ApplyAdam": _expand_adam,
               "ApplyRMSProp": _expand_rmsprop, "ApplyCenteredRMSProp": _expand_centered_rmsprop,
               "ApplyAdagrad": _expand_adagrad}
for _op_type, _expand in _EXPANSIONS.items():
    register(_op_type, _rule(_op_type), expand=_expand)


def apply_update(op_type: str, inputs: Sequence[TensorLike], name: str | None = None,
                 **attrs: Any) -> list[Tensor]:
    """The new values of the variable and its slots (a list of tensors, state inputs' order): one update
    op on `inputs` (tensors in TF1's order, `SIGNATURES`), attrs defaulted as TF1 does."""
    defaults = SIGNATURES[op_type][2]
    unknown = set(attrs) - set(defaults)
    if unknown:
        raise TypeError(f"{op_type} has no attribute(s) {', '.join(sorted(unknown))}")
    inputs = list(inputs)
    var = convert_to_tensor(inputs[0])
    tensors = [var] + [x if isinstance(x, Tensor) else convert_to_tensor(x, dtype=var.dtype) for x in inputs[1:]]
    return list(make_op(op_type, tensors, {**defaults, **attrs}, name=name).outputs)
