"""`tf.IndexedSlices`: TF1's sparse gradient of a gather (rows `values` at `indices` of a tensor shaped
`dense_shape`). nnplug's gradients are dense tensors, so none is ever produced; programs that build one or
check `isinstance(g, tf.IndexedSlices)` (to densify it first) work, and `convert_to_tensor` densifies."""
from __future__ import annotations

from ..dtypes import DType
from ..graph import Graph, Operation, Tensor, convert_to_tensor
from .._types import TensorLike


class IndexedSlices:
    """values[i] is row indices[i] of a tensor of shape dense_shape (rows at repeated indices add up)."""

    def __init__(self, values: TensorLike, indices: TensorLike, dense_shape: TensorLike | None = None) -> None:
        self.values = convert_to_tensor(values)
        self.indices = convert_to_tensor(indices)
        self.dense_shape = None if dense_shape is None else convert_to_tensor(dense_shape)

    @property
    def dtype(self) -> DType:
        return self.values.dtype

    @property
    def graph(self) -> Graph:
        return self.values.graph

    @property
    def name(self) -> str:
        return self.values.name

    @property
    def op(self) -> Operation:
        return self.values.op

    def _as_tensor(self) -> Tensor:
        """The dense tensor (an unsorted segment sum of the rows)."""
        from .math_extra_ops import unsorted_segment_sum
        from .shape_values import constant_value
        if self.dense_shape is None:
            raise ValueError(f"IndexedSlices of '{self.values.name}' without a dense_shape cannot be densified")
        shape = constant_value(self.dense_shape)
        if shape is None:
            raise ValueError(f"IndexedSlices of '{self.values.name}': dense_shape must be known to densify it")
        return unsorted_segment_sum(self.values, self.indices, int(shape[0]))

    def __repr__(self) -> str:
        return f"IndexedSlices(indices={self.indices.name}, values={self.values.name})"
