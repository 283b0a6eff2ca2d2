"""Shapes given as tensors (`tf.reshape(x, tf.shape(y))`, `tf.zeros([tf.shape(x)[0], 10])`): resolved to
ints when the graph is built where their values are already known (constants, shapes known statically),
else carried as an op input whose value the compiler reads once per plan (`OpDef.value_inputs`): plans are
specialised to feed shapes, so `tf.shape(x)` is a constant by then."""
import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make
from .indexing import spec_to_key


def shape_argument(shape):
    """A tuple of ints, or an int32 vector tensor when some entry is known only at run time."""
    if hasattr(shape, "_as_tensor"):
        shape = shape._as_tensor()
    if isinstance(shape, Tensor):
        t = shape if shape.dtype == _dt.int32 else make("Cast", [shape], {"dtype": _dt.int32})
    elif isinstance(shape, (list, tuple)) and any(isinstance(d, Tensor) or hasattr(d, "_as_tensor") for d in shape):
        parts = [make("ExpandDims", [convert_to_tensor(d, dtype=_dt.int32)], {"axis": 0}) for d in shape]
        t = make("Concat", parts, {"axis": 0})
    else:
        return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    value = constant_value(t)
    return tuple(int(d) for d in value) if value is not None else t


def constant_value(t):
    """The NumPy value of `t` if it is known when the graph is built, else None."""
    op = t.op
    if op.type == "Const":
        return np.asarray(op.attrs["value"])
    if op.type == "Shape":
        shape = op.inputs[0].shape
        return np.array(tuple(shape), op.attrs["out_type"].np) if shape.is_fully_defined() else None
    if op.type in ("Cast", "ExpandDims", "Concat", "StridedSlice", "Reshape"):
        values = [constant_value(i) for i in op.inputs]
        if any(v is None for v in values):
            return None
        if op.type == "Cast":
            return values[0].astype(op.attrs["dtype"].np)
        if op.type == "ExpandDims":
            return np.expand_dims(values[0], op.attrs["axis"])
        if op.type == "Concat":
            return np.concatenate(values, op.attrs["axis"])
        if op.type == "Reshape":
            return values[0].reshape(op.attrs["shape"]) if "shape" in op.attrs else None
        return values[0][spec_to_key(op.attrs["spec"], values[0].ndim)]
    return None


def shape_hint(t):
    """What is known of a shape tensor's value when building: a tuple with None for the unknown entries
    (its length None when even that is unknown). Follows `tf.shape(x)[i]` and stacks of such scalars."""
    n = t.shape[0] if len(t.shape) == 1 else None
    op = t.op
    if op.type == "Shape":
        return None if op.inputs[0].shape.unknown_rank else tuple(op.inputs[0].shape)
    if op.type == "Cast":
        return shape_hint(op.inputs[0])
    if op.type == "Concat" and all(i.op.type == "ExpandDims" for i in op.inputs):
        return tuple(_scalar_hint(i.op.inputs[0]) for i in op.inputs)
    return None if n is None else (None,) * n


def _scalar_hint(t):
    value = constant_value(t)
    if value is not None:
        return int(value)
    op = t.op
    if op.type == "Cast":
        return _scalar_hint(op.inputs[0])
    if op.type == "StridedSlice" and op.inputs[0].op.type == "Shape":
        dims = op.inputs[0].op.inputs[0].shape
        key = op.attrs["spec"]
        if not dims.unknown_rank and len(key) == 1 and key[0][0] == "i":
            return tuple(dims)[key[0][1]]
    return None
