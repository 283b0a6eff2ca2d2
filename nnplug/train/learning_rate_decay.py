"""TF1's learning-rate schedules: graph tensors of `global_step`, so each training step reads the rate for
the step it runs (pass the result as an optimizer's learning_rate, and global_step to `minimize`).

The step is taken as a float of the learning rate's dtype; `p = global_step / decay_steps` (floored
when `staircase`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, name_scope
from ..ops import math_ops as M
from .._types import TensorLike


def _tensor(value, dtype=None):
    if hasattr(value, "_as_tensor") or hasattr(value, "op"):
        t = convert_to_tensor(value)
        return t if dtype is None else M.cast(t, dtype)
    return convert_to_tensor(value, dtype=dtype or _dt.float32)


def _start(fn, learning_rate, global_step, decay_steps=None):
    """(learning rate, global step, decay steps) as tensors of the rate's dtype, with TF1's checks."""
    if global_step is None:
        raise ValueError(f"{fn} requires a global_step (e.g. tf.train.get_or_create_global_step())")
    lr = _tensor(learning_rate)
    if not lr.dtype.is_floating:
        lr = M.cast(lr, _dt.float32)
    if decay_steps is not None and not hasattr(decay_steps, "op") and not hasattr(decay_steps, "_as_tensor") \
            and decay_steps <= 0:
        raise ValueError(f"{fn}: decay_steps must be positive, got {decay_steps}")
    steps = None if decay_steps is None else _tensor(decay_steps, lr.dtype)
    return lr, _tensor(global_step, lr.dtype), steps


def _progress(step, decay_steps, staircase):
    p = step / decay_steps
    return M.floor(p) if staircase else p


def exponential_decay(learning_rate: TensorLike, global_step: TensorLike, decay_steps: TensorLike,
                      decay_rate: TensorLike, staircase: bool = False, name: str | None = None) -> Tensor:
    """learning_rate * decay_rate ** (global_step / decay_steps)."""
    with name_scope(name, "ExponentialDecay") as scope:  # the rate is the scope's name, as TF1 ('ExponentialDecay:0')
        lr, step, steps = _start("exponential_decay", learning_rate, global_step, decay_steps)
        return M.multiply(lr, M.pow(_tensor(decay_rate, lr.dtype), _progress(step, steps, staircase)), name=scope)


def natural_exp_decay(learning_rate: TensorLike, global_step: TensorLike, decay_steps: TensorLike,
                      decay_rate: TensorLike, staircase: bool = False, name: str | None = None) -> Tensor:
    """learning_rate * exp(-decay_rate * global_step / decay_steps)."""
    with name_scope(name, "NaturalExpDecay"):
        lr, step, steps = _start("natural_exp_decay", learning_rate, global_step, decay_steps)
        return lr * M.exp(-_tensor(decay_rate, lr.dtype) * _progress(step, steps, staircase))


def inverse_time_decay(learning_rate: TensorLike, global_step: TensorLike, decay_steps: TensorLike,
                       decay_rate: TensorLike, staircase: bool = False, name: str | None = None) -> Tensor:
    """learning_rate / (1 + decay_rate * global_step / decay_steps)."""
    with name_scope(name, "InverseTimeDecay"):
        lr, step, steps = _start("inverse_time_decay", learning_rate, global_step, decay_steps)
        return lr / (1.0 + _tensor(decay_rate, lr.dtype) * _progress(step, steps, staircase))


def polynomial_decay(learning_rate: TensorLike, global_step: TensorLike, decay_steps: TensorLike,
                     end_learning_rate: TensorLike = 0.0001, power: TensorLike = 1.0, cycle: bool = False,
                     name: str | None = None) -> Tensor:
    """(learning_rate - end) * (1 - step / decay_steps) ** power + end, with the step held at decay_steps
    (or, with `cycle`, decay_steps grown to the next multiple of itself above the step)."""
    with name_scope(name, "PolynomialDecay"):
        lr, step, steps = _start("polynomial_decay", learning_rate, global_step, decay_steps)
        end = _tensor(end_learning_rate, lr.dtype)
        if cycle:
            # at step 0 the multiplier is 1, not 0 (TF1)
            multiplier = M.where(M.equal(step, 0.0), M.ones_like(step), M.ceil(step / steps))
            steps = steps * multiplier
        else:
            step = M.minimum(step, steps)
        return (lr - end) * M.pow(1.0 - step / steps, _tensor(power, lr.dtype)) + end


def cosine_decay(learning_rate: TensorLike, global_step: TensorLike, decay_steps: TensorLike, alpha: TensorLike = 0.0,
                 name: str | None = None) -> Tensor:
    """learning_rate * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2 + alpha)."""
    with name_scope(name, "CosineDecay"):
        lr, step, steps = _start("cosine_decay", learning_rate, global_step, decay_steps)
        cosine = 0.5 * (1.0 + M.cos(math.pi * M.minimum(step, steps) / steps))
        a = _tensor(alpha, lr.dtype)
        return lr * ((1.0 - a) * cosine + a)


def piecewise_constant(x: TensorLike, boundaries: Sequence[float], values: Sequence[TensorLike],
                       name: str | None = None) -> Tensor:
    """values[0] while x <= boundaries[0], values[i] while boundaries[i-1] < x <= boundaries[i], and
    values[-1] after the last boundary."""
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"piecewise_constant: {len(values)} values for {len(boundaries)} boundaries; there must "
                         f"be exactly one more value than boundaries")
    if list(boundaries) != sorted(boundaries):
        raise ValueError(f"piecewise_constant: boundaries {list(boundaries)} must be increasing")
    with name_scope(name, "PiecewiseConstant"):
        x = convert_to_tensor(x)
        vals = [_tensor(v) for v in values]
        if len({v.dtype.name for v in vals}) > 1:
            raise ValueError("piecewise_constant: values must all have the same dtype, got "
                             + ", ".join(v.dtype.name for v in vals))
        out = vals[-1]
        for b, v in zip(reversed(list(boundaries)), reversed(vals[:-1])):
            out = M.where(M.less_equal(x, _tensor(b, x.dtype)), v, out)
        return out
