"""Algebraic simplification, applied as each op is lowered: rewrites that give the same values with fewer
kernels. An op states its rule in its OpDef (`simplify=`), built from the rule makers here; each rule sees
the op's concrete inputs (with their producers and constant values) and returns a replacement Value, or
None to keep the op.

- identity elements: x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, x ** 1 are x (when that keeps x's shape
  and dtype; x + 0 also turns -0.0 into +0.0 in IEEE arithmetic, which this rewrite does not);
- involutions: -(-x) is x, and two transposes that undo each other are x;
- argmax/argmin of a softmax along its axis is taken of the logits (softmax is monotonic there), which
  drops the softmax from a step that only needs the predicted class (Keras's accuracy metric).
"""
import numpy as np

from .ops import registry


SMALL = 4096  # constants up to this many elements are read back to the host (once, when compiling)


def _is_all(low, value, number):
    """The Value is a small compile-time constant whose every element equals `number`."""
    if value.const is None or np.prod(value.shape, dtype=np.int64) > SMALL:
        return False
    return bool(np.all(np.asarray(low.backend.to_host(value.const)) == number))


def _neutral(low, inputs, out_shape, out_dtype, which, number):
    x, c = (inputs[1], inputs[0]) if which == 0 else (inputs[0], inputs[1])
    if tuple(x.shape) == tuple(out_shape) and x.dtype == out_dtype and _is_all(low, c, number):
        return x
    return None


def either_neutral(number):
    """x op c and c op x are x when every element of the constant c is `number`."""
    def rule(low, op_type, inputs, attrs, out_shape, out_dtype):
        return (_neutral(low, inputs, out_shape, out_dtype, 1, number)
                or _neutral(low, inputs, out_shape, out_dtype, 0, number))
    return rule


def right_neutral(number):
    """x op c is x when every element of the constant c is `number`."""
    def rule(low, op_type, inputs, attrs, out_shape, out_dtype):
        return _neutral(low, inputs, out_shape, out_dtype, 1, number)
    return rule


def _made_by(low, value, op_type):
    """(inputs, attrs) of the `op_type` step that made `value`, or None."""
    made = value.producer
    return made[1:] if made is not None and made[0] == op_type else None


def involution(low, op_type, inputs, attrs, out_shape, out_dtype):
    """f(f(x)) is x (double negation)."""
    made = _made_by(low, inputs[0], op_type)
    return made[0][0] if made is not None else None


def cancelling_transposes(low, op_type, inputs, attrs, out_shape, out_dtype):
    made = _made_by(low, inputs[0], "Transpose")
    if made is None:
        return None
    (inner_x,), inner_attrs = made
    rank = len(inner_x.shape)
    p1, p2 = (tuple(range(rank - 1, -1, -1)) if p is None else tuple(a % rank for a in p)
              for p in (inner_attrs.get("perm"), attrs.get("perm")))
    return inner_x if tuple(p1[i] for i in p2) == tuple(range(rank)) else None


def arg_of_softmax(low, op_type, inputs, attrs, out_shape, out_dtype):
    made = _made_by(low, inputs[0], "Softmax")
    if made is None:
        return None
    (logits,), softmax_attrs = made
    rank = len(logits.shape)
    if softmax_attrs.get("axis", -1) % rank != attrs["axis"] % rank:
        return None
    return low.emit(op_type, [logits], attrs)


def simplify(low, op_type, inputs, attrs, out_shapes, out_dtypes):
    """A Value equal to `op_type(inputs)` that needs no kernel of its own (or fewer), else None."""
    rule = registry.get(op_type).simplify
    if rule is None or len(out_shapes) != 1:
        return None
    return rule(low, op_type, inputs, attrs, tuple(out_shapes[0]), out_dtypes[0])
