"""TF1's histogram summaries: its default buckets (edges growing by 10% from 1e-12 to 1e20, mirrored
for negatives, with 0 between) and its encoding, where each run of empty buckets is one entry."""
import functools
import sys

import numpy as np

from . import _tensorboard

DBL_MAX = sys.float_info.max


@functools.lru_cache(maxsize=1)
def default_limits():
    """The upper edges of TF's default buckets, ascending (tensorflow/core/lib/histogram/histogram.cc)."""
    positive = []
    v = 1.0e-12
    while v < 1.0e20:
        positive.append(v)
        v *= 1.1
    positive.append(DBL_MAX)
    limits = [-x for x in reversed(positive)] + [0.0] + positive
    return np.array(limits, dtype=np.float64)


def histogram_proto(values):
    """A HistogramProto of `values` (finite numbers) as TF1's HistogramSummary makes it."""
    x = np.asarray(values, dtype=np.float64).ravel()
    limits = default_limits()
    # a value falls in the first bucket whose upper edge exceeds it (std::upper_bound)
    index = np.minimum(np.searchsorted(limits, x, side="right"), len(limits) - 1)
    counts = np.bincount(index, minlength=len(limits)).astype(np.float64)
    # kept: every non-empty bucket, and the last bucket of each run of empty ones (the run's one entry)
    nonzero = counts > 0
    keep = nonzero | np.append(nonzero[1:], True)
    summary_pb2 = _tensorboard.proto("summary_pb2")
    return summary_pb2.HistogramProto(
        min=float(x.min()) if x.size else DBL_MAX, max=float(x.max()) if x.size else -DBL_MAX,
        num=float(x.size), sum=float(x.sum()), sum_squares=float(np.dot(x, x)), bucket_limit=limits[keep].tolist(),
        bucket=counts[keep].tolist())
