"""A whole LSTM layer over a sequence as one composite op, `LSTMSequence`, and its gradient, the way cuDNN and
oneDNN run an LSTM: the drivers (`dynamic_rnn` for TF1's LSTM cells, Keras's LSTM) use it when the layer is
a plain LSTM (sigmoid gates, tanh), and unroll cell by cell otherwise.

The inputs' projection `x @ W_x + b` of every step is one matrix product outside the op (`xp`, time-major:
[steps, batch, 4 * units], so each step's rows are one contiguous block). Each step
then adds `h @ W_h`, takes one sigmoid over all four gate blocks and a tanh of the candidate block. Both ops
expand into primitives when a plan is compiled, so every backend runs them. What the op adds over the
autodiff of the unrolled cell is the backward pass: per step a few fused gradient kernels, and the
recurrent kernel's gradient as ONE matrix product over all steps (`[h_0 .. h_{T-1}]^T @ [dz_1 .. dz_T]`)
instead of one per step and their sum.

Within a step the pointwise part is one op each way, `LSTMGates` (the gates' nonlinearities and the new state
from `z_x`, `h @ W_h` and `c`) and `LSTMGatesGrad` (the gates' gradients and the carried `dc`), so a backend
can run each as one kernel (the numpy backend's: nnplug_numpy/lstm.py, ~25 us where the 13 primitives of the
expansion took ~130 us for batch 64 x 128 units); without a kernel they expand into those primitives.

`blocks` gives where the input gate, the candidate, the forget gate and the output gate sit among the four
blocks of a step's gates: (0, 1, 2, 3) for TF1 (i, j, f, o), (0, 2, 1, 3) for Keras (i, f, c, o).
"""
from __future__ import annotations

from collections.abc import Sequence
from ..graph import convert_to_tensor, make_op
from ..shapes import ShapeError, TensorShape, fmt
from . import math_ops as M
from .registry import register
from .._types import Tensor, TensorLike

SAVED = 5  # per step: h, c, sigmoid of all gate blocks, tanh of the candidate, tanh of c


def _sequence_rule(shapes, dtypes, attrs):
    xp, kh, c0, h0 = shapes
    if len(xp) != 3 or xp[0] is None or xp[2] is None or xp[2] % 4:
        raise ShapeError(f"LSTMSequence needs projected inputs [steps, batch, 4 * units] with known steps, got "
                         f"{fmt(xp)}")
    steps, batch, units = xp[0], xp[1], xp[2] // 4
    for what, s, want in (("recurrent kernel", kh, (units, 4 * units)), ("c0", c0, (batch, units)),
                          ("h0", h0, (batch, units))):
        if len(s) != 2 or any(a is not None and b is not None and a != b for a, b in zip(s, want)):
            raise ShapeError(f"LSTMSequence: the {what} has shape {fmt(s)}, expected {fmt(TensorShape(want))}")
    per_step = [(batch, units), (batch, units), (batch, 4 * units), (batch, units), (batch, units)]
    return [(TensorShape(s), dtypes[0]) for s in per_step for _ in range(steps)]


def _emit_matmul(b, x, y, ta=False, tb=False):
    return b.emit("MatMul", [x, y], {"transpose_a": ta, "transpose_b": tb})


def _blocks(b, x, units):
    return b.emit("SplitV", [x], {"axis": 1, "sizes": (units,) * 4})


def _steps(b, xp):
    """xp's steps as a list (emit gives a lone Value for a one-output op: a sequence of one step)."""
    parts = b.emit("Unpack", [xp], {"axis": 0, "sizes": (1,) * xp.shape[0]})
    return parts if isinstance(parts, list) else [parts]


def _expand_sequence(b, ins, attrs):
    xp, kh, c, h = ins
    saved = [[] for _ in range(SAVED)]
    for z_x in _steps(b, xp):
        h, c, s, candidate, tanh_c = b.emit("LSTMGates", [z_x, _emit_matmul(b, h, kh), c], attrs)
        for store, v in zip(saved, (h, c, s, candidate, tanh_c)):
            store.append(v)
    return [v for store in saved for v in store]


# -- one step's pointwise part --------------------------------------------------------------------------
def _gates_rule(shapes, dtypes, attrs):
    z_x, zh, c = shapes
    if len(c) != 2 or c[1] is None:
        raise ShapeError(f"LSTMGates needs the cell state as [batch, units], got {fmt(c)}")
    z = TensorShape((c[0], 4 * c[1]))
    for what, s in (("z_x", z_x), ("h @ W_h", zh)):
        if len(s) != 2 or any(a is not None and b is not None and a != b for a, b in zip(s, z)):
            raise ShapeError(f"LSTMGates: {what} has shape {fmt(s)}, expected {fmt(z)} for a cell state of {fmt(c)}")
    if len(set(dtypes)) != 1:
        raise ShapeError(f"LSTMGates: inputs of dtypes {', '.join(d.name for d in dtypes)} (they must match)")
    state = TensorShape(c)
    return [(state, dtypes[0]), (state, dtypes[0]), (z, dtypes[0]), (state, dtypes[0]), (state, dtypes[0])]


def _expand_gates(b, ins, attrs):
    """(h, c, sigmoid of the four gate blocks, tanh of the candidate block, tanh of c) of one step."""
    z_x, zh, c = ins
    units = c.shape[1]
    i, g, f, o = attrs["blocks"]
    z = b.emit("Add", [z_x, zh])
    s = b.emit("Sigmoid", [z])
    gates = _blocks(b, s, units)
    candidate = b.emit("Tanh", [_blocks(b, z, units)[g]])
    c = b.emit("Add", [b.emit("Mul", [gates[f], c]), b.emit("Mul", [gates[i], candidate])])
    tanh_c = b.emit("Tanh", [c])
    return [b.emit("Mul", [tanh_c, gates[o]]), c, s, candidate, tanh_c]


GATES_GRAD_INPUTS = ("dh", "dc", "s", "candidate", "tanh_c", "c_prev")  # then, except at the last step, the
# gradient carried back to h through the next step's h @ W_h (added to dh)


def _gates_grad_rule(shapes, dtypes, attrs):
    if len(shapes) not in (6, 7):
        raise ShapeError(f"LSTMGatesGrad takes {', '.join(GATES_GRAD_INPUTS)} and optionally the carried dh, "
                         f"got {len(shapes)} inputs")
    s = TensorShape(shapes[2])
    state = TensorShape(shapes[5])
    return [(s, dtypes[0]), (state, dtypes[0])]


def _expand_gates_grad(b, ins, attrs):
    """(dz of the step's four gate blocks, dc carried to the previous step)."""
    dh, dc, s, candidate, tanh_c, c_prev = ins[:6]
    if len(ins) == 7:
        dh = b.emit("Add", [dh, ins[6]])
    i, g, f, o = attrs["blocks"]
    gate = _blocks(b, s, c_prev.shape[1])
    parts = [None] * 4
    parts[o] = b.emit("SigmoidGrad", [gate[o], b.emit("Mul", [dh, tanh_c])])
    dc = b.emit("Add", [dc, b.emit("TanhGrad", [tanh_c, b.emit("Mul", [dh, gate[o]])])])
    parts[i] = b.emit("SigmoidGrad", [gate[i], b.emit("Mul", [dc, candidate])])
    parts[g] = b.emit("TanhGrad", [candidate, b.emit("Mul", [dc, gate[i]])])
    parts[f] = b.emit("SigmoidGrad", [gate[f], b.emit("Mul", [dc, c_prev])])
    return [b.emit("Concat", parts, {"axis": 1}), b.emit("Mul", [dc, gate[f]])]


def _grad_rule(shapes, dtypes, attrs):
    kh, c0 = shapes[0], shapes[1]
    steps = (len(shapes) - 4) // (SAVED + 1)
    return [(TensorShape((steps, c0[0], kh[1])), dtypes[0]), (kh, dtypes[0]), (c0, dtypes[0]), (c0, dtypes[0])]


def _expand_grad(b, ins, attrs):
    kh, c0, h0 = ins[:3]
    steps = (len(ins) - 4) // (SAVED + 1)
    hs, cs, ss, cands, tanh_cs, d_hs = (ins[3 + k * steps: 3 + (k + 1) * steps] for k in range(SAVED + 1))
    dc = ins[-1]
    batch, units = c0.shape
    dzs, carry = [None] * steps, None
    for t in range(steps - 1, -1, -1):
        carried = [carry] if carry is not None else []  # the last step has no dh from a later step
        ins = [d_hs[t], dc, ss[t], cands[t], tanh_cs[t], cs[t - 1] if t else c0] + carried
        dzs[t], dc = b.emit("LSTMGatesGrad", ins, {"blocks": attrs["blocks"]})
        carry = _emit_matmul(b, dzs[t], kh, tb=True)

    def by_step(values, width):  # time-major: each step's rows are one contiguous block
        return b.emit("Concat", [b.emit("Reshape", [v], {"shape": (1, batch, width)}) for v in values], {"axis": 0})
    d_xp = by_step(dzs, 4 * units)
    h_prev = by_step([h0] + list(hs[:-1]), units)
    d_kh = _emit_matmul(b, b.emit("Reshape", [h_prev], {"shape": (batch * steps, units)}),
                        b.emit("Reshape", [d_xp], {"shape": (batch * steps, 4 * units)}), ta=True)
    return [d_xp, d_kh, dc, carry]


def _grad_sequence(op, *grads):
    steps = op.inputs[0].shape[0]
    hs, cs = op.outputs[:steps], op.outputs[steps:2 * steps]
    internal = grads[2 * steps:] + grads[steps:2 * steps - 1]
    if any(gr is not None for gr in internal):
        raise NotImplementedError(f"LSTMSequence '{op.name}': only its outputs h_t and the last c have gradients")
    d_hs = [gr if gr is not None else M.zeros_like(h) for gr, h in zip(grads[:steps], hs)]
    d_c = grads[2 * steps - 1] if grads[2 * steps - 1] is not None else M.zeros_like(cs[-1])
    kh, c0, h0 = op.inputs[1:]
    saved = list(op.outputs)
    return make_op("LSTMSequenceGrad", [kh, c0, h0] + saved + d_hs + [d_c], {"blocks": op.attrs["blocks"]}).outputs


register("LSTMSequence", _sequence_rule, grad=_grad_sequence, expand=_expand_sequence)
register("LSTMSequenceGrad", _grad_rule, expand=_expand_grad)
register("LSTMGates", _gates_rule, expand=_expand_gates)
register("LSTMGatesGrad", _gates_grad_rule, expand=_expand_gates_grad)


def lstm_sequence(xp: TensorLike, kh: TensorLike, c0: TensorLike, h0: TensorLike,
                  blocks: Sequence[int]) -> tuple[list[Tensor], Tensor]:
    """(outputs h_1..h_T, last c) of an LSTM layer over time-major projected inputs xp [steps, batch,
    4 * units]."""
    ins = [convert_to_tensor(t) for t in (xp, kh, c0, h0)]
    outs = make_op("LSTMSequence", ins, {"blocks": tuple(blocks)}).outputs
    steps = ins[0].shape[0]
    return outs[:steps], outs[2 * steps - 1]
