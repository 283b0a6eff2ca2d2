"""TF1's tf.train.ExponentialMovingAverage: a shadow variable per averaged variable or tensor,
`shadow -= (1 - decay) * (shadow - value)` each time the `apply` op runs, with TF1's names
(`<var>/ExponentialMovingAverage`) so `Saver(ema.variables_to_restore())` loads averages in place of the
variables, as TF1 evaluation programs do."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import dtypes as _dt
from .._types import TensorLike
from ..graph import (
    GraphKeys,
    Operation,
    Tensor,
    add_to_collection,
    convert_to_tensor,
    get_collection,
    name_scope,
)
from ..ops import math_ops as M
from ..ops.array_ops import zeros
from ..variables import Variable, global_variables, group, trainable_variables

_FLOATS = ("float16", "float32", "float64")


def assign_moving_average(variable: Variable, value: TensorLike, decay: TensorLike, zero_debias: bool = True,
                          name: str | None = None) -> Tensor:
    """variable -= (1 - decay) * (variable - value); with zero_debias (for an average that starts at
    zero) the result is divided by 1 - decay^t, t the number of updates (TF1's moving_averages)."""
    with name_scope(name, "AssignMovingAvg"):
        decay = M.cast(convert_to_tensor(decay), variable.dtype)
        value = convert_to_tensor(value, dtype=variable.dtype)
        if not zero_debias:
            return variable.assign_sub((variable - value) * (1.0 - decay))
        return variable.assign(_zero_debiased(variable, value, decay))


def _zero_debiased(shadow, value, decay):
    """Bias-corrected average: biased -= (1 - decay)(biased - value); t += 1; biased / (1 - decay^t)."""
    def slot(suffix, shape):
        init = zeros(shape, dtype=shadow.dtype)
        return Variable(init, trainable=False, name=f"{shadow.op.name}/{suffix}/")
    biased, steps = slot("biased", tuple(shadow.shape)), slot("local_step", ())
    new_biased = biased.assign_sub((biased - value) * (1.0 - decay))
    new_steps = steps.assign_add(convert_to_tensor(1, dtype=shadow.dtype))
    return new_biased / (1.0 - M.pow(decay, new_steps))


class ExponentialMovingAverage:
    """Averages kept by `apply(var_list)`; with num_updates the decay is min(decay, (1 + n) / (10 + n))."""

    def __init__(self, decay: float | TensorLike, num_updates: TensorLike | None = None, zero_debias: bool = False,
                 name: str = "ExponentialMovingAverage") -> None:
        self._decay, self._num_updates, self._zero_debias, self._name = decay, num_updates, zero_debias, name
        self._averages = {}

    @property
    def name(self) -> str:
        return self._name

    def apply(self, var_list: Sequence[Variable | Tensor] | None = None) -> Operation:
        """Make the shadows of `var_list` (default: the trainable variables) if new; returns the op that
        updates them all."""
        var_list = trainable_variables() if var_list is None else list(var_list)
        for var in var_list:
            if var.dtype.name not in _FLOATS:
                raise TypeError(f"ExponentialMovingAverage: the variables must be half, float, or double, got "
                                f"'{var.name}' of dtype {var.dtype.name}")
            if var in self._averages:
                raise ValueError(f"Moving average already computed for: {var.name}")
        debiased = set()
        for var in var_list:
            if isinstance(var, Variable):
                initial = var.initial_value  # as TF1's initialized_value: the shadow starts as the variable
            else:
                initial = zeros(tuple(var.shape), dtype=var.dtype)
                if self._zero_debias:
                    debiased.add(var)
            self._averages[var] = Variable(initial, trainable=False, name=self.average_name(var) + "/")
            add_to_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, var)
        with name_scope(self._name) as scope:
            decay = convert_to_tensor(self._decay, dtype=_dt.float32, name="decay")
            if self._num_updates is not None:
                n = M.cast(self._num_updates, _dt.float32)
                decay = M.minimum(decay, (1.0 + n) / (10.0 + n))
            updates = [assign_moving_average(self._averages[v], v, decay, zero_debias=v in debiased)
                       for v in var_list]
            return group(*updates, name=scope)

    def average(self, var: Variable | Tensor) -> Variable | None:
        return self._averages.get(var)

    def average_name(self, var: Variable | Tensor) -> str:
        return f"{var.op.name}/{self._name}"

    def variables_to_restore(self, moving_avg_variables: Sequence[Any] | None = None) -> dict[str, Variable]:
        """{checkpoint name: variable}: each averaged variable under its shadow's name, every other global
        variable under its own."""
        if moving_avg_variables is None:
            moving_avg_variables = trainable_variables() + get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES)
        averaged = set(moving_avg_variables)
        names = {self.average_name(v): v for v in averaged}
        for v in global_variables():
            if v not in averaged and v.op.name not in names:
                names[v.op.name] = v
        return names
