"""`tf.nn.embedding_lookup`: rows of a parameter table by integer id, and the check that every id names a row.

The lookup is a Gather (its gradient the existing GatherGrad scatter-add). The ids go through `CheckIndices`
first, a host op that raises InvalidArgumentError naming the lookup and the first id outside [0, rows), as
TF1 does on the CPU: on every backend, where a bare gather would wrap a negative id or read out of range.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, fmt
from . import math_ops as M
from .array_ops import concat, gather, reshape, stack
from .registry import register
from .._types import TensorLike


def _check_indices_rule(shapes, dtypes, attrs):
    if not dtypes[0].is_integer:
        raise ShapeError(f"{attrs['what']}: indices must be integers, got {dtypes[0].name}")
    return [(shapes[0], dtypes[0])]


def _check_indices_host(spec):
    limit, what = int(spec.attrs["limit"]), spec.attrs["what"]

    def check(ids):
        bad = (ids < 0) | (ids >= limit)
        if bad.any():
            where = np.unravel_index(int(np.flatnonzero(bad)[0]), ids.shape)
            raise InvalidArgumentError(f"{what}: indices[{','.join(str(int(i)) for i in where)}] = {int(ids[where])} "
                                       f"is not in [0, {limit})")
        return ids
    return check


register("CheckIndices", _check_indices_rule, grad=lambda op, g: [None], host=_check_indices_host)


def check_indices(ids: Tensor, limit: int, what: str) -> Tensor:
    """`ids` unchanged when each is in [0, limit), else an InvalidArgumentError saying `what` got which id."""
    return make("CheckIndices", [ids], {"limit": int(limit), "what": what}, name="check_indices")


def _table(params, partition_strategy, what):
    """One [rows, ...] table from a tensor or a list of shards (TF1's 'mod' or 'div' partitioning)."""
    if not isinstance(params, (list, tuple)):
        return convert_to_tensor(params)
    shards = [convert_to_tensor(p) for p in params]
    if not shards:
        raise ValueError(f"{what}: params is an empty list")
    if len(shards) == 1:
        return shards[0]
    rows = [s.shape[0] for s in shards]
    if any(r is None for r in rows) or any(tuple(s.shape[1:]) != tuple(shards[0].shape[1:]) for s in shards):
        raise ShapeError(f"{what}: the shards must have known row counts and the same row shape, got "
                         + ", ".join(f"'{s.name}' {fmt(s.shape)}" for s in shards))
    if partition_strategy == "div":  # id i lives in the shard holding the i-th row of them all, in order
        return concat(shards, 0)
    if partition_strategy != "mod":
        raise ValueError(f"{what}: partition_strategy must be 'mod' or 'div', got {partition_strategy!r}")
    if len(set(rows)) != 1:
        raise NotImplementedError(f"{what}: 'mod' partitioning over shards of different sizes {rows} is not "
                                  f"supported; use shards of one size or partition_strategy='div'")
    # 'mod': id i is row i // n of shard i % n, i.e. row i of the shards interleaved
    return reshape(stack(shards, axis=1), [-1] + list(shards[0].shape[1:]))


def embedding_lookup(params: TensorLike | Sequence[TensorLike], ids: TensorLike, partition_strategy: str = "mod",
                     name: str | None = None, validate_indices: bool = True, max_norm: float | None = None) -> Tensor:
    """params[ids]: a [rows, ...] table (or a list of shards) indexed by integer ids of any shape; an id
    outside the table raises InvalidArgumentError naming this lookup. max_norm clips each looked-up row's
    L2 norm."""
    what = f"embedding_lookup '{name or 'embedding_lookup'}'"
    with name_scope(name, "embedding_lookup"):
        table = _table(params, partition_strategy, what)
        ids = convert_to_tensor(ids)
        if not ids.dtype.is_integer:
            raise TypeError(f"{what}: ids must be integers, got '{ids.name}' of dtype {ids.dtype.name}")
        if table.shape.unknown_rank or len(table.shape) < 1 or table.shape[0] is None:
            raise ShapeError(f"{what}: params needs a known number of rows, got '{table.name}' {fmt(table.shape)}")
        out = gather(table, check_indices(ids, table.shape[0], what))
        if max_norm is not None:
            norm = M.sqrt(M.reduce_sum(M.square(out), axis=-1, keepdims=True))
            out = out * M.minimum(1.0, max_norm / M.maximum(norm, 1e-30))
        return out

