"""tf.data for nnplug (TF1 style): `Dataset` pipelines read through graph iterators, or on the host.

    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(100, seed=1).batch(32).repeat()
    features, labels = ds.make_one_shot_iterator().get_next()

Elements are produced on the host, in the session that runs the iterator; `as_numpy(ds)` reads a
dataset without a graph (Keras' fit takes datasets through it).
"""
from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .dataset import AUTOTUNE, Dataset
from .iterator import Iterator, OutOfRangeError
from .readers import FixedLengthRecordDataset, TFRecordDataset, TextLineDataset


class experimental:  # TF's namespace tf.data.experimental
    AUTOTUNE = AUTOTUNE


def make_one_shot_iterator(dataset: Dataset) -> Iterator:
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset: Dataset, shared_name: str | None = None) -> Iterator:
    return dataset.make_initializable_iterator(shared_name)


def as_numpy(dataset: Dataset) -> Generator[Any, None, None]:
    """A host iterator over `dataset`'s elements as nested NumPy values (one pass, a fresh one per call)."""
    if not isinstance(dataset, Dataset):
        raise TypeError(f"as_numpy takes a nnplug.data.Dataset, got {type(dataset).__name__}")
    return dataset.as_numpy_iterator()


__all__ = ["AUTOTUNE", "Dataset", "FixedLengthRecordDataset", "Iterator", "OutOfRangeError", "TFRecordDataset",
           "TextLineDataset", "as_numpy", "experimental", "make_initializable_iterator",
           "make_one_shot_iterator"]
