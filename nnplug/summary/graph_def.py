"""An nnplug Graph as a TF GraphDef, for TensorBoard's graph dashboard: each op's name, type, inputs
(`name`, `name:1`, `^name` for control inputs), output shapes (`_output_shapes`), output dtype (`T`) and
its plain attributes (numbers, strings, dtypes, shapes)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes as _dt
from ..shapes import TensorShape
from . import _tensorboard

if TYPE_CHECKING:
    from ..graph import Graph

_TF_TYPE = {"float16": "DT_HALF", "float32": "DT_FLOAT", "float64": "DT_DOUBLE", "int8": "DT_INT8",
            "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8", "bool": "DT_BOOL",
            "string": "DT_STRING"}


def graph_def(graph: Graph) -> Any:
    """The GraphDef of every op in `graph`, in creation order."""
    graph_pb2 = _tensorboard.proto("graph_pb2")
    versions = _tensorboard.proto("versions_pb2").VersionDef(producer=27)  # TF 1.15's GraphDef version
    return graph_pb2.GraphDef(node=[node_def(op) for op in graph.get_operations()], versions=versions)


def node_def(op):
    node_def_pb2 = _tensorboard.proto("node_def_pb2")
    attr_value_pb2 = _tensorboard.proto("attr_value_pb2")
    inputs = [t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}" for t in op.inputs]
    inputs += [f"^{c.name}" for c in op.control_inputs]
    attrs = {}
    for key, value in op.attrs.items():
        attr = _attr(attr_value_pb2, value)
        if attr is not None:
            attrs[key] = attr
    if op.outputs:
        attrs["_output_shapes"] = attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(
            shape=[_shape(t.shape) for t in op.outputs]))
        if "dtype" not in attrs:
            attrs["T"] = attr_value_pb2.AttrValue(type=_type(op.outputs[0].dtype))
    return node_def_pb2.NodeDef(name=op.name, op=op.type, input=inputs, attr=attrs)


def _attr(pb, value):
    """An AttrValue for a plain attribute, or None for values a GraphDef does not show (arrays, objects)."""
    if isinstance(value, _dt.DType):
        return pb.AttrValue(type=_type(value))
    if isinstance(value, TensorShape):
        return pb.AttrValue(shape=_shape(value))
    if isinstance(value, (bool, np.bool_)):
        return pb.AttrValue(b=bool(value))
    if isinstance(value, (int, np.integer)):
        return pb.AttrValue(i=int(value))
    if isinstance(value, (float, np.floating)):
        return pb.AttrValue(f=float(value))
    if isinstance(value, str):
        return pb.AttrValue(s=value.encode())
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                for v in value):
        return pb.AttrValue(list=pb.AttrValue.ListValue(i=[int(v) for v in value]))
    return None


def _type(dtype):
    return _tensorboard.proto("types_pb2").DataType.Value(_TF_TYPE[dtype.name])


def _shape(shape):
    shape_pb2 = _tensorboard.proto("tensor_shape_pb2")
    if shape.unknown_rank:
        return shape_pb2.TensorShapeProto(unknown_rank=True)
    return shape_pb2.TensorShapeProto(dim=[shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else d)
                                           for d in shape])
