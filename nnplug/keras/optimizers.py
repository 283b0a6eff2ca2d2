"""Keras-2 optimizers as graph ops: one `iterations` variable, slot variables, and assign ops per weight.

`decay` is Keras 2's time-based decay: lr_t = lr / (1 + decay * iterations), where `iterations` counts the
updates already made. `lr=` is accepted as the Keras-2 spelling of `learning_rate=`. The learning rate is a
variable of the training step (not among `weights`, as in Keras 2's files), so callbacks can set
`optimizer.learning_rate` between batches and the next step uses it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes as _dt
from ..autodiff import gradients
from ..graph import Tensor, constant, control_dependencies, convert_to_tensor, name_scope
from ..ops import math_ops as M
from ..ops.training_ops import apply_update
from ..variables import Variable
from .utils import unknown_name

if TYPE_CHECKING:
    from ..session import Session


class LearningRate(float):
    """The learning rate as `optimizer.lr` gives it: the number itself, remembering its optimizer, so that
    Keras 2's `K.set_value(model.optimizer.lr, 0.001)` sets it and `K.get_value` reads it."""

    optimizer: Optimizer

    def __new__(cls, value: float, optimizer: Optimizer) -> LearningRate:
        rate = super().__new__(cls, value)
        rate.optimizer = optimizer
        return rate

    def __reduce__(self):  # copies and pickles are plain numbers
        return float, (float(self),)


class Optimizer:
    slots_per_weight = 1  # state arrays per trained weight (bounds what a saved optimizer state may hold)
    iterations: Variable | None  # made with the first update ops, as learning_rate_variable
    learning_rate_variable: Variable | None
    _session: Session | None

    def __init__(self, learning_rate: float = 0.01, decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments: {', '.join(sorted(kwargs))}")
        if decay < 0:
            raise ValueError(f"{type(self).__name__}: decay must be >= 0, got {decay}")
        self.decay = float(decay)
        self.clipnorm, self.clipvalue = clipnorm, clipvalue
        self.name = name or type(self).__name__
        self.iterations = None
        self.weights = []  # iterations first, then the slots, in creation order
        self.learning_rate_variable, self._session = None, None
        self._slots = {}
        self.learning_rate = learning_rate

    @property
    def learning_rate(self) -> float:
        return LearningRate(self._learning_rate, self)

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or \
                not math.isfinite(value) or value < 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be a finite number >= 0, got {value!r}")
        self._learning_rate = float(value)
        if self._session is not None:
            self._session.load_variable(self.learning_rate_variable, np.float32(value))

    lr = learning_rate

    def attach(self, session: Session) -> None:
        """Keep the learning-rate variable in `session` in step with `learning_rate` from now on."""
        self._session = session
        session.load_variable(self.learning_rate_variable, np.float32(self._learning_rate))

    def _variable(self, value, name, shape=(), dtype=_dt.float32):
        v = Variable(constant(value, dtype=dtype, shape=shape), trainable=False, name=name)
        self.weights.append(v)
        return v

    def _slot(self, param, kind):
        """The zero-initialised `kind` slot of `param`, made once: a second get_updates (the sample-weighted
        training step) updates the same slots."""
        key = (id(param), kind)
        if key not in self._slots:
            self._slots[key] = self._variable(0, f"{param.op.name}/{kind}", tuple(param.shape), param.dtype)
        return self._slots[key]

    def _lr(self):
        lr = self.learning_rate_variable
        if self.decay > 0:
            t = M.cast(self.iterations, _dt.float32)
            lr = lr / (1.0 + convert_to_tensor(self.decay, dtype=_dt.float32) * t)
        return lr

    def _clip(self, grads):
        if self.clipnorm is not None:
            grads = [g * M.minimum(1.0, self.clipnorm / M.sqrt(M.reduce_sum(M.square(g)) + 1e-12)) for g in grads]
        if self.clipvalue is not None:
            grads = [M.clip_by_value(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def get_updates(self, loss: Tensor, params: Sequence[Variable]) -> list[Tensor]:
        """Assign ops that take one step on `params`, then count the step in `iterations`."""
        with name_scope(self.name):
            if self.iterations is None:
                self.iterations = self._variable(0, "iterations", dtype=_dt.int64)
                self.learning_rate_variable = Variable(constant(self._learning_rate, dtype=_dt.float32),
                                                       trainable=False, name="learning_rate")
            grads = gradients(loss, params) if params else []  # a model without weights still counts steps
            missing = [p.name for p, g in zip(params, grads) if g is None]
            if missing:
                raise ValueError(f"the loss does not depend on the weights {', '.join(missing)}")
            updates = self._updates(params, self._clip(grads))
            with control_dependencies(updates):
                updates.append(self.iterations.assign_add(convert_to_tensor(1, dtype=_dt.int64)))
        return updates

    def _updates(self, params, grads):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate, "decay": self.decay}


class SGD(Optimizer):
    """v = momentum*v - lr_t*g; p += v  (Nesterov: p += momentum*v - lr_t*g)."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, decay: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, decay, **kwargs)
        if momentum < 0:
            raise ValueError(f"SGD momentum must be >= 0, got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.slots_per_weight = 1 if self.momentum else 0

    def _updates(self, params, grads):
        lr = self._lr()
        updates = []
        for p, g in zip(params, grads):
            if self.momentum == 0:
                updates.append(p.assign_sub(lr * g))
                continue
            m = self._slot(p, "momentum")
            mom = convert_to_tensor(self.momentum, dtype=p.dtype)
            # one fused update op (nnplug/ops/training_ops.py): v = mom*v - lr*g; p += v (or Nesterov's step)
            new_p, new_m = apply_update("ApplyKerasMomentum", [p.value(), m.value(), M.cast(lr, p.dtype), g, mom],
                                        use_nesterov=self.nesterov)
            updates.extend([m.assign(new_m), p.assign(new_p)])
        return updates

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """t = iterations+1; lr_t = lr*sqrt(1-b2^t)/(1-b1^t); m, v moving moments; p -= lr_t*m/(sqrt(v)+eps)."""

    slots_per_weight = 2

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 decay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(learning_rate, decay, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _updates(self, params, grads):
        t = M.cast(self.iterations, _dt.float32) + 1.0
        b1, b2 = convert_to_tensor(self.beta_1), convert_to_tensor(self.beta_2)
        lr_t = self._lr() * M.sqrt(1.0 - M.pow(b2, t)) / (1.0 - M.pow(b1, t))
        updates = []
        for p, g in zip(params, grads):
            m = self._slot(p, "m")
            v = self._slot(p, "v")
            m_t = m.assign(self.beta_1 * m + (1.0 - self.beta_1) * g)
            v_t = v.assign(self.beta_2 * v + (1.0 - self.beta_2) * M.square(g))
            updates.append(p.assign_sub(lr_t * m_t / (M.sqrt(v_t) + self.epsilon)))
        return updates

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """a = rho*a + (1-rho)*g^2; p -= lr_t*g/(sqrt(a)+eps); a starts at zero."""

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7, decay: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, decay, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _updates(self, params, grads):
        lr = self._lr()
        updates = []
        for p, g in zip(params, grads):
            a = self._slot(p, "rms")
            a_t = a.assign(self.rho * a + (1.0 - self.rho) * M.square(g))
            updates.append(p.assign_sub(lr * g / (M.sqrt(a_t) + self.epsilon)))
        return updates

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adagrad(Optimizer):
    """a += g^2; p -= lr_t*g/(sqrt(a)+eps); a starts at zero (Keras 2)."""

    def __init__(self, learning_rate: float = 0.01, epsilon: float = 1e-7, decay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(learning_rate, decay, **kwargs)
        self.epsilon = float(epsilon)

    def _updates(self, params, grads):
        lr = self._lr()
        updates = []
        for p, g in zip(params, grads):
            a = self._slot(p, "accumulator")
            a_t = a.assign_add(M.square(g))
            updates.append(p.assign_sub(lr * g / (M.sqrt(a_t) + self.epsilon)))
        return updates

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """a = rho*a + (1-rho)*g^2; u = g*sqrt(d+eps)/sqrt(a+eps); p -= lr_t*u; d = rho*d + (1-rho)*u^2; a and d
    start at zero, lr at 1.0 (Keras 2, whose MNIST convnet example trains with `Adadelta()`)."""

    slots_per_weight = 2

    def __init__(self, learning_rate: float = 1.0, rho: float = 0.95, epsilon: float = 1e-7, decay: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, decay, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _updates(self, params, grads):
        lr = self._lr()
        updates = []
        for p, g in zip(params, grads):
            a, d = self._slot(p, "accumulator"), self._slot(p, "delta_accumulator")
            a_t = a.assign(self.rho * a + (1.0 - self.rho) * M.square(g))
            step = g * M.sqrt(d + self.epsilon) / M.sqrt(a_t + self.epsilon)
            new_p = p.assign_sub(lr * step)
            updates.extend([new_p, d.assign(self.rho * d + (1.0 - self.rho) * M.square(step))])
        return updates

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Adam):
    """Adam with the infinity norm: t = iterations+1; lr_t = lr/(1-b1^t); m = b1*m + (1-b1)*g;
    u = max(b2*u, |g|); p -= lr_t*m/(u+eps); lr 0.002 (Keras 2)."""

    def __init__(self, learning_rate: float = 0.002, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, decay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, decay, **kwargs)

    def _updates(self, params, grads):
        t = M.cast(self.iterations, _dt.float32) + 1.0
        lr_t = self._lr() / (1.0 - M.pow(convert_to_tensor(self.beta_1), t))
        updates = []
        for p, g in zip(params, grads):
            m, u = self._slot(p, "m"), self._slot(p, "u")
            m_t = m.assign(self.beta_1 * m + (1.0 - self.beta_1) * g)
            u_t = u.assign(M.maximum(self.beta_2 * u._as_tensor(), M.abs(g)))
            updates.append(p.assign_sub(lr_t * m_t / (u_t + self.epsilon)))
        return updates


class Nadam(Adam):
    """Adam with Nesterov momentum and Keras 2's momentum schedule: mu_t = b1*(1 - 0.5*0.96^(t*schedule_decay));
    the product of the mu's so far (`m_schedule`, a variable from 1) corrects the moments' bias;
    p -= lr*((1-mu_t)*g/(1-prod_t) + mu_{t+1}*m'/(1-prod_t*mu_{t+1})) / (sqrt(v/(1-b2^t)) + eps); lr 0.002."""

    def __init__(self, learning_rate: float = 0.002, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, schedule_decay: float = 0.004, **kwargs: Any) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        if not math.isfinite(schedule_decay) or schedule_decay < 0:
            raise ValueError(f"Nadam: schedule_decay must be a finite number >= 0, got {schedule_decay!r}")
        self.schedule_decay = float(schedule_decay)
        self.m_schedule = None  # the product of the momentum schedule, made with the first update ops

    def _updates(self, params, grads):
        if self.m_schedule is None:
            self.m_schedule = self._variable(1.0, "m_schedule")
        t = M.cast(self.iterations, _dt.float32) + 1.0
        decay = convert_to_tensor(0.96)
        mu_t = self.beta_1 * (1.0 - 0.5 * M.pow(decay, t * self.schedule_decay))
        mu_next = self.beta_1 * (1.0 - 0.5 * M.pow(decay, (t + 1.0) * self.schedule_decay))
        schedule_new = self.m_schedule._as_tensor() * mu_t
        schedule_next = schedule_new * mu_next
        lr = self._lr()
        updates = []
        for p, g in zip(params, grads):
            m, v = self._slot(p, "m"), self._slot(p, "v")
            m_t = m.assign(self.beta_1 * m + (1.0 - self.beta_1) * g)
            v_t = v.assign(self.beta_2 * v + (1.0 - self.beta_2) * M.square(g))
            v_hat = v_t / (1.0 - M.pow(convert_to_tensor(self.beta_2), t))
            m_bar = (1.0 - mu_t) * g / (1.0 - schedule_new) + mu_next * m_t / (1.0 - schedule_next)
            updates.append(p.assign_sub(lr * m_bar / (M.sqrt(v_hat) + self.epsilon)))
        with control_dependencies(updates):  # every weight's step reads the schedule before it moves
            updates.append(self.m_schedule.assign(schedule_new))
        return updates

    def get_config(self) -> dict[str, Any]:
        config = {k: v for k, v in super().get_config().items() if k != "decay"}
        return {**config, "schedule_decay": self.schedule_decay}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta,
            "adamax": Adamax, "nadam": Nadam}


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name ('sgd', 'adam', 'rmsprop', 'adagrad', 'adadelta', 'adamax', 'nadam') or an
    Optimizer object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise unknown_name("optimizer", identifier, _BY_NAME)
        return cls()
    raise TypeError(f"optimizer must be a name ({', '.join(sorted(_BY_NAME))}) or an Optimizer, got {identifier!r}")


def serialize(opt: Optimizer) -> Any:
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize(spec: Any) -> Any:
    cls = {c.__name__: c for c in _BY_NAME.values()}.get(spec["class_name"])
    if cls is None:
        raise ValueError(f"unknown optimizer class '{spec['class_name']}' in a saved model")
    return cls(**spec["config"])
