"""TF1's summary ops: host ops whose output is a serialized `Summary` protobuf (a bytes scalar of dtype
string), so `sess.run(merged)` gives bytes that `FileWriter.add_summary` takes, as in TF1. Each op is
added to the SUMMARIES collection (or the given ones) for `merge_all`."""
from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import GraphKeys, Tensor, add_to_collection, convert_to_tensor, get_collection, make, name_scope
from ..ops.registry import register
from ..shapes import ShapeError, TensorShape, fmt
from . import _tensorboard
from . import images as _images
from .histogram import histogram_proto
from .._types import TensorLike

# Strings: NumPy object arrays of bytes, as TF1 fetches them (np.bytes_ would drop a serialized
# protobuf's trailing zero bytes). Defined here until nnplug.dtypes has a string dtype.
string = getattr(_dt, "string", None) or _dt.DType("string", np.object_)

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def bytes_scalar(data: bytes) -> np.ndarray:
    """A 0-d string array holding `data` (the value a summary op returns)."""
    out = np.empty((), dtype=object)
    out[()] = bytes(data)
    return out


def _summary(values):
    """Serialized Summary of Summary.Value keyword dicts."""
    summary_pb2 = _tensorboard.proto("summary_pb2")
    return bytes_scalar(summary_pb2.Summary(value=[summary_pb2.Summary.Value(**v) for v in values])
                        .SerializeToString())


# -- shape rules -------------------------------------------------------------------------------
def _numeric(dtype, what):
    if not (dtype.is_floating or dtype.is_integer):
        raise ShapeError(f"{what} takes a real number tensor, got dtype {dtype.name}")


def _scalar_rule(shapes, dtypes, attrs):
    shape = shapes[0]
    if not shape.unknown_rank and shape.rank != 0:
        raise ShapeError(f"scalar summary '{attrs['tag']}' takes a scalar, but the tensor has shape {fmt(shape)}")
    _numeric(dtypes[0], f"scalar summary '{attrs['tag']}'")
    return [(TensorShape(()), string)]


def _histogram_rule(shapes, dtypes, attrs):
    _numeric(dtypes[0], f"histogram summary '{attrs['tag']}'")
    return [(TensorShape(()), string)]


def _image_rule(shapes, dtypes, attrs):
    problem = _images.check_batch(shapes[0], dtypes[0], f"image summary '{attrs['tag']}'")
    if problem:
        raise ShapeError(problem)
    return [(TensorShape(()), string)]


def _merge_rule(shapes, dtypes, attrs):
    for i, d in enumerate(dtypes):
        if d != string:
            raise ShapeError(f"merge takes serialized summaries (string tensors); input {i} has dtype {d.name}")
    return [(TensorShape(()), string)]


# -- host kernels ------------------------------------------------------------------------------
def _scalar_kernel(spec):
    tag = spec.attrs["tag"]
    return lambda x: _summary([{"tag": tag, "simple_value": float(x)}])


def _histogram_kernel(spec):
    tag = spec.attrs["tag"]

    def run(x):
        if not np.isfinite(x).all():
            raise InvalidArgumentError(f"Nan or Inf in summary histogram for: {tag} (op '{spec.name}')", spec.op)
        return _summary([{"tag": tag, "histo": histogram_proto(x)}])
    return run


def _image_kernel(spec):
    tag, max_outputs = spec.attrs["tag"], spec.attrs["max_outputs"]
    summary_pb2 = _tensorboard.proto("summary_pb2")

    def run(batch):
        pictures = _images.images(batch, max_outputs, tag)
        tags = [f"{tag}/image"] if max_outputs == 1 else [f"{tag}/image/{i}" for i in range(len(pictures))]
        return _summary([{"tag": t, "image": summary_pb2.Summary.Image(height=h, width=w, colorspace=c,
                                                                      encoded_image_string=png)}
                         for t, (h, w, c, png) in zip(tags, pictures)])
    return run


def _text_kernel(spec):
    tag, text = spec.attrs["tag"], spec.attrs["text"]
    summary_pb2, tensor_pb2 = _tensorboard.proto("summary_pb2"), _tensorboard.proto("tensor_pb2")
    shape_pb2, types_pb2 = _tensorboard.proto("tensor_shape_pb2"), _tensorboard.proto("types_pb2")
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, string_val=[t.encode() if isinstance(t, str) else t for t in text.ravel()],
        tensor_shape=shape_pb2.TensorShapeProto(dim=[shape_pb2.TensorShapeProto.Dim(size=d) for d in text.shape]))
    metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
    value = _summary([{"tag": tag, "metadata": metadata, "tensor": tensor}])
    return lambda: value


def _merge_kernel(spec):
    summary_pb2 = _tensorboard.proto("summary_pb2")
    names = [t.name for t in spec.op.inputs] if spec.op is not None else [str(i) for i in range(len(spec.in_shapes))]

    def run(*inputs):
        merged, seen = summary_pb2.Summary(), set()
        for name, data in zip(names, inputs):
            part = _parse(summary_pb2, data, f"input '{name}' of merge op '{spec.name}'")
            for v in part.value:
                if v.tag in seen:
                    raise InvalidArgumentError(f"Duplicate tag {v.tag} found in summary inputs of merge op "
                                               f"'{spec.name}'", spec.op)
                seen.add(v.tag)
            merged.MergeFrom(part)
        return bytes_scalar(merged.SerializeToString())
    return run


def _parse(summary_pb2, data, what):
    """A Summary parsed from the bytes a summary op (or sess.run of one) gives."""
    if isinstance(data, np.ndarray):
        data = data[()] if data.ndim == 0 else None
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"{what} must be a serialized Summary (the bytes a summary op gives), got "
                        f"{type(data).__name__}")
    try:
        return summary_pb2.Summary.FromString(bytes(data))
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError, named below
        raise ValueError(f"{what} is not a serialized Summary: {e}") from None


register("ScalarSummary", _scalar_rule, host=_scalar_kernel)
register("HistogramSummary", _histogram_rule, host=_histogram_kernel)
register("ImageSummary", _image_rule, host=_image_kernel)
register("TensorSummaryV2", lambda s, d, a: [(TensorShape(()), string)], host=_text_kernel)
register("MergeSummary", _merge_rule, host=_merge_kernel)


# -- the TF1 functions -------------------------------------------------------------------------
def clean_tag(name: str | None) -> str | None:
    """TF1's rule: characters outside [-/\\w.] become '_' (with a warning), leading '/' go."""
    if name is None:
        return None
    cleaned = _INVALID_TAG_CHARACTERS.sub("_", str(name)).lstrip("/")
    if cleaned != name:
        warnings.warn(f"summary name {name!r} is illegal; using {cleaned!r} instead", stacklevel=3)
    return cleaned


def _summary_op(op_type, name, inputs, attrs, collections, family=None, default="summary"):
    """Make a summary op as TF1's summary_scope names it: the op is named by the (unique) scope, the tag
    is that name, under `family/` when a family is given."""
    _tensorboard.proto("summary_pb2")  # a missing tensorboard is reported when the graph is built
    name, family = clean_tag(name) or default, clean_tag(family)
    with name_scope(name if family is None else f"{family}/{name}") as scope:
        tag = scope.rstrip("/") if family is None else f"{family}/{scope.rstrip('/')}"
        out = make(op_type, inputs, {"tag": tag, **attrs}, name=scope)
    for key in (GraphKeys.SUMMARIES,) if collections is None else collections:
        add_to_collection(key, out)
    return out


def scalar(name: str, tensor: TensorLike, collections: Sequence[str] | None = None,
           family: str | None = None) -> Tensor:
    """A Summary with one simple_value: the scalar `tensor`."""
    return _summary_op("ScalarSummary", name, [convert_to_tensor(tensor)], {}, collections, family)


def histogram(name: str, values: TensorLike, collections: Sequence[str] | None = None,
              family: str | None = None) -> Tensor:
    """A Summary with TF1's histogram of all the numbers in `values` (non-finite ones are an error)."""
    return _summary_op("HistogramSummary", name, [convert_to_tensor(values)], {}, collections, family)


def image(name: str, tensor: TensorLike, max_outputs: int = 3, collections: Sequence[str] | None = None,
          family: str | None = None) -> Tensor:
    """A Summary with the first `max_outputs` images of a [batch, height, width, channels] tensor as PNGs."""
    if int(max_outputs) < 1:
        raise ValueError(f"image summary '{name}': max_outputs must be at least 1, got {max_outputs!r}")
    return _summary_op("ImageSummary", name, [convert_to_tensor(tensor)], {"max_outputs": int(max_outputs)},
                       collections, family)


def text(name: str, tensor: str | bytes | Sequence[Any], collections: Sequence[str] | None = None) -> Tensor:
    """A Summary for TensorBoard's text dashboard. nnplug has no string tensors, so `tensor` is the text
    itself: a str or bytes, or a (nested) list of them."""
    if isinstance(tensor, Tensor) or hasattr(tensor, "_as_tensor"):
        raise TypeError(f"text summary '{name}' takes the text as a Python str (or a list of them): nnplug "
                        f"has no string tensors")
    arr = np.array(tensor, dtype=object)
    if not all(isinstance(t, (str, bytes)) for t in arr.ravel()):
        raise TypeError(f"text summary '{name}' takes str or bytes (or a list of them), got {tensor!r:.60}")
    return _summary_op("TensorSummaryV2", name, [], {"text": arr}, collections)


def merge(inputs: Sequence[TensorLike], collections: Sequence[str] | None = None, name: str | None = None) -> Tensor:
    """One Summary with the values of all `inputs` (serialized summaries; tags must be unique)."""
    inputs = [convert_to_tensor(t) for t in inputs]
    if not inputs:
        raise ValueError("merge needs at least one summary")
    out = make("MergeSummary", inputs, {}, name=name or "Merge/MergeSummary")
    for key in collections or ():
        add_to_collection(key, out)
    return out


def merge_all(key: str = GraphKeys.SUMMARIES, scope: str | None = None, name: str | None = None) -> Tensor | None:
    """merge() of the summaries in collection `key`, or None when it holds none (as TF1)."""
    summaries = get_collection(key, scope)
    return merge(summaries, name=name) if summaries else None
