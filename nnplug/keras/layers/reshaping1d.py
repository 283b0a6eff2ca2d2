"""Layers that move values without arithmetic, beyond reshaping.py's: UpSampling1D, ZeroPadding1D,
Cropping1D, Cropping2D, Permute and RepeatVector."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...ops import math_ops as M
from ...ops.array_ops import expand_dims, reshape, transpose
from ...ops.manip_ops import pad
from ...graph import Tensor, constant
from .convolutional import ImageLayer, from_nhwc, image_shape
from .convolutional1d import sequence_shape


def _non_negative_pair(value, what, layer):
    """An int n -> (n, n); a pair of non-negative ints as it is."""
    items = [value, value] if isinstance(value, int) else list(value) if isinstance(value, (list, tuple)) else []
    if len(items) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in items):
        raise ValueError(f"{layer}: {what} must be a non-negative int or a pair of them, got {value!r:.60}")
    return tuple(items)


def _pairs_2d(value, what, layer):
    """n, (h, w) or ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if isinstance(value, int):
        return (_non_negative_pair(value, what, layer),) * 2
    items = list(value) if isinstance(value, (list, tuple)) else []
    if len(items) != 2:
        raise ValueError(f"{layer}: {what} must be an int, 2 ints or 2 pairs of ints, got {value!r:.60}")
    return tuple(_non_negative_pair(v, what, layer) for v in items)


def _less(size, cut):
    return None if size is None else size - sum(cut)


def _check_left(layer, input_shape, sizes):
    if any(s is not None and s < 1 for s in sizes):
        raise ValueError(f"{layer} crops away everything of inputs of shape {tuple(input_shape)}")


class UpSampling1D(ImageLayer):
    """Each step repeated `size` times."""
    CONFIG_FIELDS = {"size": "positive_int"}

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"UpSampling1D layer '{self.name}': size must be a positive int, got {size!r:.40}")
        self.size = size

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, steps, c = sequence_shape(input_shape, f"UpSampling1D layer '{self.name}'", "channels_last")
        return (n, None if steps is None else steps * self.size, c)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        _, steps, c = self.compute_output_shape(tuple(x.shape))
        if steps is None:
            raise ValueError(f"UpSampling1D layer '{self.name}' needs a known number of steps, got {tuple(x.shape)}")
        repeated = M.multiply(expand_dims(x, 2), constant(1.0, dtype=x.dtype, shape=(1, 1, self.size, 1)))
        return reshape(repeated, (-1, steps, c))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


class ZeroPadding1D(ImageLayer):
    """Zeros before and after the steps: padding n or (before, after)."""
    CONFIG_FIELDS = {"padding": "pad_pair"}

    def __init__(self, padding: int | Sequence[int] = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _non_negative_pair(padding, "padding", f"ZeroPadding1D layer '{self.name}'")

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, steps, c = sequence_shape(input_shape, f"ZeroPadding1D layer '{self.name}'", "channels_last")
        return (n, None if steps is None else steps + sum(self.padding), c)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return pad(x, [[0, 0], list(self.padding), [0, 0]])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": list(self.padding)}


class Cropping1D(ImageLayer):
    """Steps cut from the start and the end: cropping n or (start, end)."""
    CONFIG_FIELDS = {"cropping": "pad_pair"}

    def __init__(self, cropping: int | Sequence[int] = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _non_negative_pair(cropping, "cropping", f"Cropping1D layer '{self.name}'")

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        what = f"Cropping1D layer '{self.name}'"
        n, steps, c = sequence_shape(input_shape, what, "channels_last")
        _check_left(what, input_shape, [_less(steps, self.cropping)])
        return (n, _less(steps, self.cropping), c)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        start, end = self.cropping
        return x[:, start:(-end or None)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(ImageLayer):
    """Rows and columns cut from the edges: cropping n, (rows, columns) or ((top, bottom), (left, right))."""
    CONFIG_FIELDS = {"cropping": "pad_pairs", "data_format": "data_format"}

    def __init__(self, cropping: int | Sequence[Any] = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs_2d(cropping, "cropping", f"Cropping2D layer '{self.name}'")
        self._set_format(data_format)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, h, w, c = image_shape(input_shape, self.name, self._fmt)
        sizes = [_less(h, self.cropping[0]), _less(w, self.cropping[1])]
        _check_left(f"Cropping2D layer '{self.name}'", input_shape, sizes)
        return from_nhwc((n, sizes[0], sizes[1], c), self._fmt)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        (top, bottom), (left, right) = self.cropping
        rows, cols = slice(top, -bottom or None), slice(left, -right or None)
        return x[:, rows, cols] if self._fmt == "NHWC" else x[:, :, rows, cols]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping], "data_format": self.data_format}


class Permute(ImageLayer):
    """The non-batch axes reordered: dims is a permutation of 1..rank-1 (Keras counts from 1)."""
    CONFIG_FIELDS = {"dims": "permutation"}
    CONFIG_REQUIRED = ("dims",)

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        items = list(dims) if isinstance(dims, (list, tuple)) else None
        if items is None or sorted(items) != list(range(1, len(items) + 1)) or \
                any(isinstance(d, bool) for d in items):
            raise ValueError(f"Permute layer '{self.name}': dims must be a permutation of 1..n (the non-batch "
                             f"axes, counted from 1), got {dims!r:.60}")
        self.dims = tuple(items)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute layer '{self.name}': dims {self.dims} permute {len(self.dims)} axes, but the "
                             f"inputs of shape {tuple(input_shape)} have {len(input_shape) - 1} besides the batch")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        self.compute_output_shape(tuple(x.shape))
        return transpose(x, (0,) + self.dims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(ImageLayer):
    """(batch, features) -> (batch, n, features): the vector repeated n times."""
    CONFIG_FIELDS = {"n": "positive_int"}
    CONFIG_REQUIRED = ("n",)

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"RepeatVector layer '{self.name}': n must be a positive int, got {n!r:.40}")
        self.n = n

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        if len(input_shape) != 2:
            raise ValueError(f"RepeatVector layer '{self.name}' needs inputs (batch, features), got shape "
                             f"{tuple(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        self.compute_output_shape(tuple(x.shape))
        return M.multiply(expand_dims(x, 1), constant(1.0, dtype=x.dtype, shape=(1, self.n, 1)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}
