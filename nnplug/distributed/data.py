"""Each rank trains on its own part of the data (Horovod leaves this to the user; these are the helpers).

Shards are contiguous and as even as can be: with 10 rows over 3 ranks, rank 0 gets rows 0-3, rank 1
rows 4-6, rank 2 rows 7-9 (np.array_split's rule), so every row is used exactly once.
"""
from __future__ import annotations

from typing import Any

from . import runtime


def shard_bounds(n_rows: int, rank: int | None = None, size: int | None = None) -> tuple[int, int]:
    """(start, stop) of `rank`'s rows out of n_rows (default: this process's rank in the job)."""
    rank = runtime.rank() if rank is None else rank
    size = runtime.size() if size is None else size
    if not 0 <= rank < size:
        raise ValueError(f"shard: rank must be in [0, {size}), got {rank}")
    base, extra = divmod(int(n_rows), size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


# Any: one array gives its rows, several give a tuple of them (`x, y = shard(x, y)`), of whatever type came in
def shard(*arrays: Any, rank: int | None = None, size: int | None = None) -> Any:
    """This rank's rows of each array (all must have the same number of rows): `x, y = shard(x, y)`."""
    if not arrays:
        raise ValueError("shard needs at least one array")
    n = len(arrays[0])
    for i, a in enumerate(arrays[1:], start=1):
        if len(a) != n:
            raise ValueError(f"shard: array 0 has {n} rows but array {i} has {len(a)}; shard rows of one data set")
    start, stop = shard_bounds(n, rank, size)
    parts = tuple(a[start:stop] for a in arrays)
    return parts[0] if len(parts) == 1 else parts
