"""`tf.saved_model.utils`: a tensor as the TensorInfo a signature holds, and back."""
from __future__ import annotations

from ..graph import Graph, Tensor, get_default_graph
from .protos import TensorInfo, TensorShapeProto

__all__ = ["build_tensor_info", "get_tensor_from_tensor_info"]


def build_tensor_info(tensor: Tensor) -> TensorInfo:
    """The tensor's name, dtype (TF's enum number) and static shape."""
    if hasattr(tensor, "_as_tensor"):
        tensor = tensor._as_tensor()  # a Variable
    if not isinstance(tensor, Tensor):
        raise TypeError(f"build_tensor_info needs a tensor, got {type(tensor).__name__} {tensor!r:.60}")
    shape = tensor.shape
    dims = None if shape.unknown_rank else list(shape)
    return TensorInfo(tensor.name, tensor.dtype.as_datatype_enum, TensorShapeProto(dims))


def get_tensor_from_tensor_info(tensor_info: TensorInfo, graph: Graph | None = None,
                                import_scope: str | None = None) -> Tensor:
    """The tensor of `graph` (the default graph) that `tensor_info` names, under `import_scope` if given."""
    if not isinstance(tensor_info, TensorInfo) or not tensor_info.name:
        raise ValueError(f"get_tensor_from_tensor_info needs a TensorInfo with a name, got {tensor_info!r:.60}")
    name = f"{import_scope}/{tensor_info.name}" if import_scope else tensor_info.name
    return (graph or get_default_graph()).get_tensor_by_name(name)
