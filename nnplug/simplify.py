"""Algebraic simplification, applied as each op is lowered: rewrites that give the same values with fewer
kernels. Each rule sees the op's concrete inputs (with their producers and constant values) and returns
a replacement Value, or None to keep the op.

- identity elements: x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, x ** 1 are x (when that keeps x's shape
  and dtype; x + 0 also turns -0.0 into +0.0 in IEEE arithmetic, which this rewrite does not);
- involutions: -(-x) is x, and two transposes that undo each other are x;
- argmax/argmin of a softmax along its axis is taken of the logits (softmax is monotonic there), which
  drops the softmax from a step that only needs the predicted class (Keras's accuracy metric).
"""
import numpy as np


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


def _either_neutral(number):
    def rule(low, op_type, inputs, attrs, out_shape, out_dtype):
        return (_neutral(low, inputs, out_shape, out_dtype, 1, number)
                or _neutral(low, inputs, out_shape, out_dtype, 0, number))
    return rule


def _right_neutral(number):
    def rule(low, op_type, inputs, attrs, out_shape, out_dtype):
        return _neutral(low, inputs, out_shape, out_dtype, 1, number)
    return rule


def _neg(low, op_type, inputs, attrs, out_shape, out_dtype):
    made = low.producers.get(inputs[0].expr)
    if made is not None and made[0] == "Neg":
        return made[1][0]
    return None


def _transpose(low, op_type, inputs, attrs, out_shape, out_dtype):
    made = low.producers.get(inputs[0].expr)
    if made is None or made[0] != "Transpose":
        return None
    inner_x = made[1][0]
    rank = len(inner_x.shape)
    p1 = made[2].get("perm")
    p2 = attrs.get("perm")
    p1 = tuple(range(rank - 1, -1, -1)) if p1 is None else tuple(a % rank for a in p1)
    p2 = tuple(range(rank - 1, -1, -1)) if p2 is None else tuple(a % rank for a in p2)
    if tuple(p1[i] for i in p2) == tuple(range(rank)):
        return inner_x
    return None


def _arg_of_softmax(low, op_type, inputs, attrs, out_shape, out_dtype):
    made = low.producers.get(inputs[0].expr)
    if made is None or made[0] != "Softmax":
        return None
    logits = made[1][0]
    rank = len(logits.shape)
    if made[2].get("axis", -1) % rank != attrs["axis"] % rank:
        return None
    return low.emit(op_type, [logits], attrs)


RULES = {
    "Add": _either_neutral(0), "Mul": _either_neutral(1),
    "Sub": _right_neutral(0), "Div": _right_neutral(1), "Pow": _right_neutral(1),
    "Neg": _neg, "Transpose": _transpose, "ArgMax": _arg_of_softmax, "ArgMin": _arg_of_softmax,
}


def simplify(low, op_type, inputs, attrs, out_shapes, out_dtypes):
    """A Value equal to `op_type(inputs)` that needs no kernel of its own (or fewer), else None."""
    rule = RULES.get(op_type)
    if rule is None or len(out_shapes) != 1:
        return None
    return rule(low, op_type, inputs, attrs, tuple(out_shapes[0]), out_dtypes[0])
