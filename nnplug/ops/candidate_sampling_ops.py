"""Sampled losses for large output vocabularies (word2vec's `nce_loss`, `sampled_softmax_loss`) and
the candidate samplers they draw negative classes with, as TF1 defines them.

The samplers are host ops with a per-session random stream (seeded as TF1's random ops). Each returns
(sampled_candidates [num_sampled] int64, true_expected_count [batch, num_true], sampled_expected_count
[num_sampled]); the losses subtract log(expected count) from the logits (TF's "log Q" correction).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from . import math_ops as M
from .array_ops import concat, expand_dims, gather, reshape, stop_gradient
from .embedding_ops import embedding_lookup
from .nn_ops import sigmoid_cross_entropy_with_logits, softmax_cross_entropy_with_logits
from .random_ops import get_seed
from .registry import register
from .._types import TensorLike

FLOAT_MAX = float(np.finfo(np.float32).max)


def _log_uniform_probability(classes, range_max):
    """P(class) of the log-uniform (Zipfian) distribution over [0, range_max)."""
    classes = np.asarray(classes, np.float64)
    return (np.log(classes + 2.0) - np.log(classes + 1.0)) / np.log(range_max + 1.0)


def _draw(kind, rng, size, range_max):
    if kind == "log_uniform":
        return (np.exp(rng.random(size) * np.log(range_max + 1.0)) - 1.0).astype(np.int64).clip(0, range_max - 1)
    return rng.integers(0, range_max, size, dtype=np.int64)


def _probability(kind, classes, range_max):
    if kind == "log_uniform":
        return _log_uniform_probability(classes, range_max)
    return np.full(np.shape(classes), 1.0 / range_max)


def _expected_count(p, num_sampled, tries, unique):
    """How many times a class of probability p is expected among the samples: p * num_sampled, or, for
    unique samples drawn in `tries` tries, 1 - (1 - p)^tries (TF's ExpectedCountHelper)."""
    if not unique or tries == num_sampled:
        return p * num_sampled
    return -np.expm1(tries * np.log1p(-p))


def _sampler_host(spec):
    kind, num_sampled, unique, range_max = (spec.attrs[k] for k in ("kind", "num_sampled", "unique", "range_max"))
    rng = spec.rng if isinstance(spec.rng, np.random.Generator) else np.random.default_rng(spec.attrs["seed"])

    def sample(true_classes):
        if unique:
            chosen, tries = {}, 0
            while len(chosen) < num_sampled:
                for c in _draw(kind, rng, num_sampled - len(chosen), range_max):
                    tries += 1
                    chosen.setdefault(int(c), None)
                    if len(chosen) == num_sampled:
                        break
            sampled = np.fromiter(chosen, np.int64, num_sampled)
        else:
            sampled, tries = _draw(kind, rng, num_sampled, range_max), num_sampled

        def expected(classes):
            return _expected_count(_probability(kind, classes, range_max), num_sampled, tries, unique).astype(
                np.float32)
        return sampled, expected(true_classes), expected(sampled)
    return sample


def _sampler_rule(shapes, dtypes, attrs):
    n = attrs["num_sampled"]
    return [(TensorShape([n]), _dt.int64), (shapes[0], _dt.float32), (TensorShape([n]), _dt.float32)]


register("CandidateSampler", _sampler_rule, stateful=True, host=_sampler_host)


def _candidate_sampler(kind, true_classes, num_true, num_sampled, unique, range_max, seed, name):
    true_classes = convert_to_tensor(true_classes)
    what = f"{kind}_candidate_sampler"
    if not true_classes.dtype.is_integer:
        raise TypeError(f"{what}: true_classes must be integers, got '{true_classes.name}' of dtype "
                        f"{true_classes.dtype.name}")
    shape = true_classes.shape
    if not shape.unknown_rank and (len(shape) != 2 or shape[1] not in (None, num_true)):
        raise ShapeError(f"{what}: true_classes must be [batch_size, num_true={num_true}], got "
                         f"'{true_classes.name}' {fmt(shape)}")
    num_sampled, range_max = int(num_sampled), int(range_max)
    if num_sampled < 1 or range_max < 1 or (unique and num_sampled > range_max):
        raise ValueError(f"{what}: need 1 <= num_sampled ({num_sampled}) and range_max ({range_max}) >= 1"
                         + (", and num_sampled <= range_max for unique samples" if unique else ""))
    attrs = {"kind": kind, "num_sampled": num_sampled, "unique": bool(unique), "range_max": range_max,
             "seed": get_seed(seed)}
    op = make("CandidateSampler", [true_classes], attrs, name=name or what).op
    return tuple(op.outputs)


def log_uniform_candidate_sampler(true_classes: TensorLike, num_true: int, num_sampled: int, unique: bool,
                                  range_max: int, seed: int | None = None, name: str | None = None
                                  ) -> tuple[Tensor, Tensor, Tensor]:
    """`num_sampled` classes from [0, range_max) with P(k) = log((k+2)/(k+1)) / log(range_max+1) (class ids
    sorted by decreasing frequency), without repeats when `unique`."""
    return _candidate_sampler("log_uniform", true_classes, num_true, num_sampled, unique, range_max, seed, name)


def uniform_candidate_sampler(true_classes: TensorLike, num_true: int, num_sampled: int, unique: bool,
                              range_max: int, seed: int | None = None, name: str | None = None
                              ) -> tuple[Tensor, Tensor, Tensor]:
    """`num_sampled` classes drawn uniformly from [0, range_max), without repeats when `unique`."""
    return _candidate_sampler("uniform", true_classes, num_true, num_sampled, unique, range_max, seed, name)


def _table(weights, what):
    if isinstance(weights, (list, tuple)):
        if len(weights) != 1:
            raise NotImplementedError(f"{what}: weights split into {len(weights)} shards are not supported; pass "
                                      f"one [num_classes, dim] tensor")
        weights = weights[0]
    return weights


def _sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
                    subtract_log_q, remove_accidental_hits, seed, what):
    """The logits of the true classes and of the sampled ones, side by side ([batch, num_true +
    num_sampled]), and their target probabilities (1/num_true for each true class, 0 for the samples)."""
    inputs = convert_to_tensor(inputs)
    labels = convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise TypeError(f"{what}: labels must be integer class ids, got '{labels.name}' of dtype {labels.dtype.name}")
    labels = M.cast(labels, _dt.int64)
    if sampled_values is None:
        sampled_values = log_uniform_candidate_sampler(labels, num_true, num_sampled, True, num_classes, seed)
    sampled, true_expected, sampled_expected = (stop_gradient(convert_to_tensor(v)) for v in sampled_values)
    sampled = M.cast(sampled, _dt.int64)
    labels_flat = reshape(labels, [-1])
    weights = _table(weights, what)
    true_w = embedding_lookup(weights, labels_flat)
    dim = true_w.shape[-1] if not true_w.shape.unknown_rank else None
    if dim is None:
        raise ShapeError(f"{what}: the weights need a known row size, got {fmt(true_w.shape)}")
    true_logits = M.reduce_sum(expand_dims(inputs, 1) * reshape(true_w, [-1, num_true, dim]), 2)
    sampled_logits = M.matmul(inputs, embedding_lookup(weights, sampled), transpose_b=True)
    if biases is not None:
        biases = _table(biases, what)
        true_logits = true_logits + reshape(gather(biases, labels_flat), [-1, num_true])
        sampled_logits = sampled_logits + gather(biases, sampled)
    if remove_accidental_hits:
        hits = M.reduce_any(M.equal(expand_dims(labels, 2), reshape(sampled, [1, 1, -1])), 1)
        sampled_logits = sampled_logits + M.cast(hits, sampled_logits.dtype) * -FLOAT_MAX
    if subtract_log_q:
        true_logits = true_logits - M.log(M.cast(true_expected, true_logits.dtype))
        sampled_logits = sampled_logits - M.log(M.cast(sampled_expected, sampled_logits.dtype))
    logits = concat([true_logits, sampled_logits], 1)
    targets = concat([M.ones_like(true_logits) / float(num_true), M.zeros_like(sampled_logits)], 1)
    return logits, targets


def nce_loss(weights: TensorLike | Sequence[TensorLike], biases: TensorLike | Sequence[TensorLike] | None,
             labels: TensorLike, inputs: TensorLike, num_sampled: int, num_classes: int, num_true: int = 1,
             sampled_values: Any = None, remove_accidental_hits: bool = False, partition_strategy: str = "mod",
             name: str = "nce_loss", seed: int | None = None) -> Tensor:
    """Noise-contrastive estimation, [batch]: each true class and each of `num_sampled` classes drawn
    log-uniformly is a logistic regression (true: target 1/num_true, sampled: 0), with the log of the
    expected count subtracted from each logit. `weights` [num_classes, dim], `labels` [batch, num_true]."""
    with name_scope(name):
        logits, targets = _sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                                          sampled_values, True, remove_accidental_hits, seed, "nce_loss")
        return M.reduce_sum(sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), 1)


def sampled_softmax_loss(weights: TensorLike | Sequence[TensorLike], biases: TensorLike | Sequence[TensorLike],
                         labels: TensorLike, inputs: TensorLike, num_sampled: int, num_classes: int, num_true: int = 1,
                         sampled_values: Any = None, remove_accidental_hits: bool = True,
                         partition_strategy: str = "mod", name: str = "sampled_softmax_loss",
                         seed: int | None = None) -> Tensor:
    """The softmax cross-entropy over the true classes and `num_sampled` classes drawn log-uniformly
    (sampled classes equal to a true one are masked out), [batch]; an estimate of the full softmax loss
    for training (evaluate with the full softmax)."""
    with name_scope(name):
        logits, targets = _sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                                          sampled_values, True, remove_accidental_hits, seed,
                                          "sampled_softmax_loss")
        return softmax_cross_entropy_with_logits(labels=stop_gradient(targets), logits=logits)
