"""Keras's Embedding layer: integer ids [batch, ...] -> rows of an `embeddings` table [input_dim, output_dim].

The model feeds float32 inputs: the ids are cast to int32 (exact below 2**24) and checked against the
table, so an id outside [0, input_dim) raises an error naming the layer. With mask_zero=True id 0 is
padding: the recurrent layers after it skip those steps."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import dtypes as _dt
from ...ops import math_ops as M
from ...ops.array_ops import gather
from ...ops.embedding_ops import check_indices
from .base import Layer, WeightSpec
from .recurrent import initializer, serialize_initializer, set_mask
from ..constraints import Constraint
from ..._types import InitializerLike, Regularizer
from ...graph import Tensor


class Embedding(Layer):
    CONFIG_FIELDS = {"input_dim": "positive_int", "output_dim": "positive_int",
                     "embeddings_initializer": "keras_initializer", "mask_zero": "bool",
                     "input_length": "optional_positive_int"}
    CONFIG_REQUIRED = ("input_dim", "output_dim")
    PENALIZED = {"embeddings": "embeddings"}

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: InitializerLike = "uniform",
                 mask_zero: bool = False, input_length: int | None = None,
                 embeddings_regularizer: Regularizer | None = None, embeddings_constraint: Constraint | None = None,
                 activity_regularizer: Regularizer | None = None, **kwargs: Any) -> None:
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (int(input_length),)
        super().__init__(embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"Embedding layer '{self.name}' needs a positive int {what}, got {v!r:.40}")
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializer(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        return [("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer, True)]

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return tuple(input_shape) + (self.output_dim,)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        ids = x if x.dtype.is_integer else M.cast(x, _dt.int32)
        out = gather(self.weights[0], check_indices(ids, self.input_dim, f"Embedding layer '{self.name}'"))
        return set_mask(out, M.not_equal(ids, 0) if self.mask_zero else None)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": serialize_initializer(self.embeddings_initializer),
                "mask_zero": self.mask_zero, "input_length": self.input_length}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Embedding:
        config = dict(config)
        if "embeddings_initializer" in config:
            config["embeddings_initializer"] = initializer(config["embeddings_initializer"])
        return cls(**config)
