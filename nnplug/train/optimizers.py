"""TF1 optimizers. Each variable's update is one update op (nnplug/ops/training_ops.py: ApplyMomentum,
ApplyAdam, ...) whose outputs are assigned back to the variable and its slots: a backend with a fused
kernel runs it as one pass, every other backend runs its expansion into primitives.
`minimize` = `compute_gradients` + `apply_gradients`."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from ..autodiff import gradients
from ..graph import (Graph, GraphKeys, Operation, Tensor, constant, control_dependencies, convert_to_tensor,
                     get_default_graph, name_scope)
from ..ops import math_ops as M
from ..ops.training_ops import apply_update
from ..variables import Variable, group, trainable_variables
from .. import dtypes as _dt
from .._types import TensorLike

# (gradient, variable) pairs, as compute_gradients gives and apply_gradients takes; None: no gradient.
GradsAndVars: TypeAlias = "list[tuple[Tensor | None, Variable]]"


class Optimizer:
    def __init__(self, learning_rate: TensorLike, use_locking: bool = False, name: str = "Optimizer") -> None:
        self._lr = learning_rate
        self._name = name
        self._slots = {}

    # -- the TF1 interface --------------------------------------------------------------
    def compute_gradients(self, loss: Tensor, var_list: Iterable[Variable] | None = None, gate_gradients: Any = None,
                          aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                          grad_loss: TensorLike | None = None) -> GradsAndVars:
        var_list = list(var_list) if var_list is not None else trainable_variables()
        if not var_list:
            raise ValueError("no variables to optimize: create Variables first or pass var_list")
        grads = gradients(loss, var_list, grad_ys=grad_loss)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor | None, Variable]],
                        global_step: Variable | None = None, name: str | None = None) -> Operation:
        grads_and_vars = [(g, v) for g, v in grads_and_vars]
        if all(g is None for g, _ in grads_and_vars):
            names = ", ".join(v.name for _, v in grads_and_vars)
            raise ValueError(f"no gradients provided for any variable ({names}); does the loss depend on them?")
        with name_scope(name, self._name) as scope:
            updates = []
            for g, v in grads_and_vars:
                if g is not None:
                    with v.graph.device(v.op.device):  # the update runs where its variable lives, as in TF1
                        updates.append(self._apply(g, v))
            updates.extend(self._finish(updates))
            if global_step is not None:
                with control_dependencies(updates):
                    updates.append(global_step.assign_add(convert_to_tensor(1, dtype=global_step.dtype)))
            return group(*updates, name=scope)  # as in TF1, the op carries the scope's own name

    def minimize(self, loss: Tensor, global_step: Variable | None = None, var_list: Iterable[Variable] | None = None,
                 gate_gradients: Any = None, aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                 name: str | None = None, grad_loss: TensorLike | None = None) -> Operation:
        return self.apply_gradients(self.compute_gradients(loss, var_list, grad_loss=grad_loss),
                                    global_step=global_step, name=name)

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        return self._slots.get((var, name))

    def get_slot_names(self) -> list[str]:
        return sorted({n for _, n in self._slots})

    def variables(self) -> list[Variable]:
        return list(self._slots.values())

    # -- for subclasses -----------------------------------------------------------------
    def _lr_for(self, var):
        return convert_to_tensor(self._lr, dtype=var.dtype) if not hasattr(self._lr, "op") else M.cast(self._lr, var.dtype)

    def _slot(self, var, name, init=0.0):
        key = (var, name)
        if key not in self._slots:
            # as TF1's init_scope, a slot's initializer waits for nothing; and as TF1, the slot lives with its variable
            with control_dependencies(None), var.graph.device(var.op.device):
                value = constant(init, dtype=var.dtype, shape=tuple(var.shape))  # not from var: maybe uninitialised
                self._slots[key] = Variable(value, trainable=False, name=f"{var.op.name}/{self._name}_{name}")
        return self._slots[key]

    def _apply(self, grad, var):
        raise NotImplementedError

    def _update(self, op_type, var, slots, args, **attrs):
        """One update op (training_ops) on `var` and its `slots` with the other inputs `args` (TF1's order),
        its new values assigned back; returns the op that runs them."""
        state = [var] + list(slots)
        values = apply_update(op_type, [s.value() for s in state] + list(args), **attrs)
        assigns = [s.assign(new) for s, new in zip(state, values)]
        return assigns[0] if len(assigns) == 1 else group(*assigns, name=f"{var.op.name}_update")

    def _finish(self, updates):
        return []


class GradientDescentOptimizer(Optimizer):
    """var -= lr * grad"""

    def __init__(self, learning_rate: TensorLike, use_locking: bool = False, name: str = "GradientDescent") -> None:
        super().__init__(learning_rate, use_locking, name)

    def _apply(self, grad, var):
        return self._update("ApplyGradientDescent", var, [], [self._lr_for(var), grad])


class MomentumOptimizer(Optimizer):
    """accum = momentum*accum + grad; var -= lr*accum (Nesterov: var -= lr*(grad + momentum*accum))."""

    def __init__(self, learning_rate: TensorLike, momentum: float, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False) -> None:
        super().__init__(learning_rate, use_locking, name)
        self._momentum = momentum
        self._nesterov = use_nesterov

    def _apply(self, grad, var):
        mom = convert_to_tensor(self._momentum, dtype=var.dtype)
        return self._update("ApplyMomentum", var, [self._slot(var, "momentum")], [self._lr_for(var), grad, mom],
                            use_nesterov=bool(self._nesterov))


class AdamOptimizer(Optimizer):
    """Adam as TF1 writes it: lr_t = lr*sqrt(1-b2^t)/(1-b1^t); var -= lr_t*m/(sqrt(v)+eps)."""

    def __init__(self, learning_rate: TensorLike = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, use_locking: bool = False, name: str = "Adam") -> None:
        super().__init__(learning_rate, use_locking, name)
        self._b1, self._b2, self._eps = beta1, beta2, epsilon
        self._powers = None

    def _beta_powers(self, dtype):
        if self._powers is None:
            with control_dependencies(None):  # as TF1's init_scope (see Optimizer._slot)
                self._powers = tuple(Variable(convert_to_tensor(b, dtype=dtype), trainable=False, name=n)
                                     for b, n in ((self._b1, "beta1_power"), (self._b2, "beta2_power")))
        return self._powers

    def _apply(self, grad, var):
        b1p, b2p = self._beta_powers(var.dtype)
        c = lambda v: convert_to_tensor(v, dtype=var.dtype)  # noqa: E731
        return self._update("ApplyAdam", var, [self._slot(var, "m"), self._slot(var, "v")],
                            [M.cast(b1p, var.dtype), M.cast(b2p, var.dtype), self._lr_for(var), c(self._b1),
                             c(self._b2), c(self._eps), grad])

    def _finish(self, updates):
        b1p, b2p = self._powers
        with control_dependencies(updates):
            return [b1p.assign(b1p * self._b1), b2p.assign(b2p * self._b2)]


class RMSPropOptimizer(Optimizer):
    """ms = decay*ms + (1-decay)*grad^2; mom = momentum*mom + lr*grad/sqrt(ms+eps); var -= mom.
    As in TF1 the mean-square slot starts at ones. centered=True also keeps the mean gradient
    mg = decay*mg + (1-decay)*grad (slot 'mg') and divides by sqrt(ms - mg^2 + eps)."""

    def __init__(self, learning_rate: TensorLike, decay: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp") -> None:
        super().__init__(learning_rate, use_locking, name)
        self._decay, self._momentum, self._eps, self._centered = decay, momentum, epsilon, bool(centered)

    def _apply(self, grad, var):
        c = lambda v: convert_to_tensor(v, dtype=var.dtype)  # noqa: E731
        slots = [self._slot(var, "rms", init=1.0), self._slot(var, "momentum")]
        if self._centered:  # TF1's input order: mg, ms, mom
            slots.insert(0, self._slot(var, "mg"))
        return self._update("ApplyCenteredRMSProp" if self._centered else "ApplyRMSProp", var, slots,
                            [self._lr_for(var), c(self._decay), c(self._momentum), c(self._eps), grad])


class AdagradOptimizer(Optimizer):
    """accum += grad^2; var -= lr*grad/sqrt(accum); accumulators start at 0.1 as in TF1."""

    def __init__(self, learning_rate: TensorLike, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad") -> None:
        super().__init__(learning_rate, use_locking, name)
        self._init = initial_accumulator_value

    def _apply(self, grad, var):
        return self._update("ApplyAdagrad", var, [self._slot(var, "accumulator", init=self._init)],
                            [self._lr_for(var), grad])


def create_global_step(graph: Graph | None = None) -> Variable:
    graph = graph or get_default_graph()
    if graph.get_collection(GraphKeys.GLOBAL_STEP):
        raise ValueError("a global step already exists in this graph")
    with graph.as_default():
        step = Variable(convert_to_tensor(0, dtype=_dt.int64), trainable=False, name="global_step",
                        collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])
    return step


def get_global_step(graph: Graph | None = None) -> Variable | None:
    """The GLOBAL_STEP collection's variable or, as TF1, a global variable named 'global_step'
    (`tf.Variable(0, name='global_step', trainable=False)`); None if neither."""
    graph = graph or get_default_graph()
    steps = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(steps) > 1:
        raise TypeError(f"there are {len(steps)} items in the GLOBAL_STEP collection; there should be one")
    if not steps:
        steps = [v for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES) if v.op.name == "global_step"]
    if not steps:
        return None
    step = steps[0]
    if not step.dtype.is_integer or len(step.shape) != 0:
        raise TypeError(f"the global step '{step.name}' must be an integer scalar, got {step.dtype.name} "
                        f"of shape {tuple(step.shape)}")
    return step


def get_or_create_global_step(graph: Graph | None = None) -> Variable:
    return get_global_step(graph) or create_global_step(graph)
