"""Layers that move values without arithmetic: Reshape, ZeroPadding2D (nnplug's pad) and UpSampling2D
(nearest-neighbour: each pixel repeated size[0] x size[1] times, by a broadcast)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...ops import math_ops as M
from ...ops.array_ops import reshape
from ...ops.manip_ops import pad
from ...graph import Tensor, constant
from .convolutional import ImageLayer, from_nhwc, image_shape, pair


class Reshape(ImageLayer):
    """Each sample reshaped to `target_shape` (one entry may be -1)."""
    CONFIG_FIELDS = {"target_shape": "target_shape"}
    CONFIG_REQUIRED = ("target_shape",)

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or any(d == 0 or d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape layer '{self.name}': target_shape {target_shape} needs positive sizes "
                             f"and at most one -1")

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"Reshape layer '{self.name}' needs every dimension but the batch one known, got "
                             f"{tuple(input_shape)}")
        n, known = math.prod(rest), math.prod(d for d in self.target_shape if d != -1)
        if (-1 not in self.target_shape and known != n) or n % known:
            raise ValueError(f"Reshape layer '{self.name}' cannot reshape samples of shape {tuple(rest)} "
                             f"({n} values) into {self.target_shape}")
        return (input_shape[0],) + tuple(n // known if d == -1 else d for d in self.target_shape)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return reshape(x, (-1,) + self.compute_output_shape(tuple(x.shape))[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


def _pads(padding, name):
    """1, (1, 2) or ((top, bottom), (left, right)) -> ((top, bottom), (left, right)), non-negative ints."""
    if isinstance(padding, int):
        pads = ((padding, padding), (padding, padding))
    else:
        items = list(padding)
        if len(items) != 2:
            raise ValueError(f"ZeroPadding2D layer '{name}': padding must be an int, 2 ints or 2 pairs, "
                             f"got {padding!r}")
        pads = tuple((int(p), int(p)) if isinstance(p, int) else tuple(int(q) for q in p) for p in items)
    if any(len(p) != 2 or min(p) < 0 for p in pads):
        raise ValueError(f"ZeroPadding2D layer '{name}': padding must be non-negative, got {padding!r}")
    return pads


class ZeroPadding2D(ImageLayer):
    CONFIG_FIELDS = {"padding": "padding2d", "data_format": "data_format"}

    def __init__(self, padding: int | Sequence[int] | Sequence[Sequence[int]] = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _pads(padding, self.name)
        self._set_format(data_format)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, h, w, c = image_shape(input_shape, self.name, self._fmt)
        (t, b), (left, r) = self.padding
        return from_nhwc((n, None if h is None else h + t + b, None if w is None else w + left + r, c), self._fmt)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        pads = [[0, 0], list(self.padding[0]), list(self.padding[1]), [0, 0]]
        return pad(x, pads if self._fmt == "NHWC" else [pads[i] for i in (0, 3, 1, 2)])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


class UpSampling2D(ImageLayer):
    CONFIG_FIELDS = {"size": "pair", "data_format": "data_format", "interpolation": "interpolation"}

    def __init__(self, size: int | Sequence[int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if interpolation != "nearest":
            raise NotImplementedError(f"UpSampling2D layer '{self.name}': only interpolation='nearest' is "
                                      f"supported, got {interpolation!r}")
        self.size = pair(size, "size", self.name)
        self._set_format(data_format)
        self.interpolation = interpolation

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        n, h, w, c = image_shape(input_shape, self.name, self._fmt)
        return from_nhwc((n, None if h is None else h * self.size[0], None if w is None else w * self.size[1], c),
                         self._fmt)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        _, h, w, c = image_shape(tuple(x.shape), self.name, self._fmt)
        if h is None or w is None:
            raise ValueError(f"UpSampling2D layer '{self.name}' needs known spatial sizes, got {tuple(x.shape)}")
        sh, sw = self.size
        if self._fmt == "NHWC":
            spread, ones = (-1, h, 1, w, 1, c), (1, 1, sh, 1, sw, 1)
        else:
            spread, ones = (-1, c, h, 1, w, 1), (1, 1, 1, sh, 1, sw)
        repeated = M.multiply(reshape(x, spread), constant(1.0, dtype=x.dtype, shape=ones))
        return reshape(repeated, (-1,) + self.compute_output_shape(tuple(x.shape))[1:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}
