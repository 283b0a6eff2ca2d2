"""Connectionist temporal classification, TF1's: `ctc_loss` (a host op running the forward-backward
recursion in float64 log space, which gives the loss and its gradient with respect to the logits in one
pass, as TF's CTCLoss kernel does) and `ctc_greedy_decoder` (the best path, repeats merged, blanks
dropped). The blank is the last class. Time-major inputs (max_time, batch, classes), as TF1's default.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .array_ops import expand_dims, transpose
from .registry import register
from .._types import TensorLike

_NEG = -np.inf


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _lse(*terms):
    stacked = np.stack(terms)
    m = stacked.max(axis=0)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(m), safe + np.log(np.exp(stacked - safe).sum(axis=0)), _NEG)


def ctc_one(logits: np.ndarray, label: list[int], blank: int) -> tuple[float, np.ndarray]:
    """(-log p(label | logits), d loss / d logits) for one sequence of (time, classes) logits."""
    lp = _log_softmax(np.asarray(logits, np.float64))
    t_len = lp.shape[0]
    ext = [blank]
    for c in label:
        ext += [c, blank]
    s_len = len(ext)
    skip = np.array([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(s_len)])
    emit = lp[:, ext]  # (time, s_len)
    alpha = np.full((t_len, s_len), _NEG)
    alpha[0, 0] = emit[0, 0]
    if s_len > 1:
        alpha[0, 1] = emit[0, 1]
    for t in range(1, t_len):
        prev = alpha[t - 1]
        one = np.concatenate([[_NEG], prev[:-1]])
        two = np.where(skip, np.concatenate([[_NEG, _NEG], prev[:-2]]), _NEG)
        alpha[t] = _lse(prev, one, two) + emit[t]
    beta = np.full((t_len, s_len), _NEG)
    beta[-1, -1] = emit[-1, -1]
    if s_len > 1:
        beta[-1, -2] = emit[-1, -2]
    skip_next = np.concatenate([skip[2:], [False, False]])  # may s jump to s + 2
    for t in range(t_len - 2, -1, -1):
        nxt = beta[t + 1]
        one = np.concatenate([nxt[1:], [_NEG]])
        two = np.where(skip_next, np.concatenate([nxt[2:], [_NEG, _NEG]]), _NEG)
        beta[t] = _lse(nxt, one, two) + emit[t]
    log_p = _lse(alpha[-1, -1], alpha[-1, -2]) if s_len > 1 else alpha[-1, -1]
    grad = np.exp(lp)
    if not np.isfinite(log_p):
        return np.inf, np.zeros_like(lp)
    occupancy = np.exp(alpha + beta - emit - log_p)  # (time, s_len): the posterior of each path position
    for s, c in enumerate(ext):
        grad[:, c] -= occupancy[:, s]
    return -float(log_p), grad


def _labels_per_row(indices, values, batch, collapse):
    rows = [[] for _ in range(batch)]
    for (b, _), v in zip(np.asarray(indices).reshape(-1, 2), np.asarray(values).reshape(-1)):
        if not 0 <= b < batch:
            raise InvalidArgumentError(f"ctc_loss: a label's batch index {int(b)} is not in [0, {batch})")
        rows[int(b)].append(int(v))
    if collapse:
        rows = [[c for i, c in enumerate(r) if i == 0 or c != r[i - 1]] for r in rows]
    return rows


def _ctc_rule(shapes, dtypes, attrs):
    x = shapes[2]
    if len(x) != 3 or not dtypes[2].is_floating:
        raise ShapeError(f"ctc_loss: inputs must be floating (max_time, batch, classes), got {dtypes[2].name} {fmt(x)}")
    return [(TensorShape([x[1]]), dtypes[2]), (x, dtypes[2])]


def _ctc_host(spec):
    collapse, ignore = spec.attrs["collapse"], spec.attrs["ignore_longer"]
    dtype = spec.out_dtypes[0].np

    def run(indices, values, inputs, seq_len):
        t_max, batch, classes = inputs.shape
        rows = _labels_per_row(indices, values, batch, collapse)
        loss, grad = np.zeros(batch), np.zeros(inputs.shape)
        for b in range(batch):
            t_b = int(seq_len[b])
            if not 0 <= t_b <= t_max:
                raise InvalidArgumentError(f"CTCLoss op '{spec.name}': sequence_length[{b}] = {t_b} is not in "
                                           f"[0, {t_max}]")
            if any(not 0 <= c < classes - 1 for c in rows[b]):
                raise InvalidArgumentError(f"CTCLoss op '{spec.name}': labels of batch {b} must be in [0, "
                                           f"{classes - 1}) (the last class is the blank)")
            repeats = sum(1 for i in range(1, len(rows[b])) if rows[b][i] == rows[b][i - 1])
            if len(rows[b]) + repeats > t_b:
                if ignore:
                    continue
                raise InvalidArgumentError(f"CTCLoss op '{spec.name}': batch {b} has {len(rows[b])} labels, more "
                                           f"than its {t_b} time steps can emit")
            if t_b == 0:
                continue
            loss[b], grad[:t_b, b] = ctc_one(inputs[:t_b, b], rows[b], classes - 1)
        return loss.astype(dtype), grad.astype(dtype)
    return run


def _grad_ctc(op, g_loss, _g_grad=None):
    if g_loss is None:
        return [None] * 4
    return [None, None, expand_dims(expand_dims(g_loss, 0), -1) * op.outputs[1], None]


register("CTCLoss", _ctc_rule, host=_ctc_host, grad=_grad_ctc)


def ctc_loss(labels: Any, inputs: TensorLike | None = None, sequence_length: TensorLike | None = None,
             preprocess_collapse_repeated: bool = False, ctc_merge_repeated: bool = True,
             ignore_longer_outputs_than_inputs: bool = False, time_major: bool = True,
             logits: TensorLike | None = None) -> Tensor:
    """The negative log-probability of each batch entry's label sequence (a SparseTensor of class ids)
    under the per-step softmax of `inputs`, summed over all alignments; the gradient flows to inputs."""
    from ..sparse import SparseTensor
    if not isinstance(labels, SparseTensor):
        raise TypeError(f"ctc_loss: labels must be a SparseTensor of class ids, got {type(labels).__name__}")
    if not ctc_merge_repeated:
        raise NotImplementedError("ctc_loss: only ctc_merge_repeated=True (standard CTC) is supported")
    x = convert_to_tensor(inputs if inputs is not None else logits)
    if sequence_length is None:
        raise TypeError("ctc_loss needs sequence_length")
    with name_scope(None, "CTCLoss"):
        if not time_major:
            x = transpose(x, [1, 0, 2])
        op = make_op("CTCLoss", [labels.indices, labels.values, x, convert_to_tensor(sequence_length)],
                     {"collapse": bool(preprocess_collapse_repeated),
                      "ignore_longer": bool(ignore_longer_outputs_than_inputs)})
    return op.outputs[0]


# -- greedy decoding ---------------------------------------------------------------------------------
def _greedy_rule(shapes, dtypes, attrs):
    x = shapes[0]
    if len(x) != 3 or not dtypes[0].is_floating:
        raise ShapeError(f"ctc_greedy_decoder: inputs must be floating (max_time, batch, classes), got {fmt(x)}")
    return [(TensorShape([None, 2]), _dt.int64), (TensorShape([None]), _dt.int64), (TensorShape([2]), _dt.int64),
            (TensorShape([x[1], 1]), dtypes[0])]


def _greedy_host(spec):
    merge, dtype = spec.attrs["merge_repeated"], spec.out_dtypes[3].np

    def decode(inputs, seq_len):
        t_max, batch, classes = inputs.shape
        blank = classes - 1
        indices, values, score = [], [], np.zeros((batch, 1))
        longest = 0
        for b in range(batch):
            t_b = min(int(seq_len[b]), t_max)
            best = inputs[:t_b, b].argmax(axis=-1)
            score[b, 0] = -inputs[:t_b, b].max(axis=-1).astype(np.float64).sum()
            out, prev = [], None
            for c in best.tolist():
                if c != blank and not (merge and c == prev):
                    out.append(c)
                prev = c
            indices += [[b, i] for i in range(len(out))]
            values += out
            longest = max(longest, len(out))
        return (np.array(indices, np.int64).reshape(-1, 2), np.array(values, np.int64),
                np.array([batch, longest], np.int64), score.astype(dtype))
    return decode


register("CTCGreedyDecoder", _greedy_rule, host=_greedy_host)


def ctc_greedy_decoder(inputs: TensorLike, sequence_length: TensorLike, merge_repeated: bool = True,
                       blank_index: int | None = None) -> tuple[list[Any], Tensor]:
    """([SparseTensor of the best path's labels], -sum of the best logits per entry (batch, 1)): the most
    likely class at each step, repeats merged (when merge_repeated), blanks (the last class) dropped."""
    from ..sparse import SparseTensor
    x = convert_to_tensor(inputs)
    if blank_index not in (None, -1) and (x.shape[-1] is None or blank_index != int(x.shape[-1]) - 1):
        raise NotImplementedError("ctc_greedy_decoder: the blank must be the last class (blank_index None or -1)")
    op = make_op("CTCGreedyDecoder", [x, convert_to_tensor(sequence_length)], {"merge_repeated": bool(merge_repeated)},
                 name="CTCGreedyDecoder")
    idx, vals, shape, score = op.outputs
    return [SparseTensor(idx, vals, shape)], score


