"""LayerNormalization (each sample normalised over `axis` with its own mean and biased variance, then
scaled by gamma and shifted by beta, weights of the normalised axes' shape) and ActivityRegularization
(the identity, with an L1/L2 penalty on its output added to the loss)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...ops import norm_ops
from ...ops.array_ops import reshape
from .. import regularizers
from .advanced_activations import _number
from .base import WeightSpec
from .convolutional import ImageLayer, WithInitializers
from ..._types import InitializerLike
from ...graph import Tensor


class LayerNormalization(WithInitializers):
    CONFIG_FIELDS = {"axis": "axes", "epsilon": "positive_number", "center": "bool", "scale": "bool",
                     "beta_initializer": "initializer", "gamma_initializer": "initializer"}
    INITIALIZERS = ("beta_initializer", "gamma_initializer")
    PENALIZED = {"beta": "beta", "gamma": "gamma"}
    beta_initializer: InitializerLike  # set by _set_initializers, as gamma_initializer
    gamma_initializer: InitializerLike

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: InitializerLike = "zeros", gamma_initializer: InitializerLike = "ones",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axes = [axis] if isinstance(axis, int) else list(axis) if isinstance(axis, (list, tuple)) else None
        if not axes or any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
            raise ValueError(f"LayerNormalization layer '{self.name}': axis must be an int or a list of ints, got "
                             f"{axis!r:.60}")
        self.axis = axes[0] if isinstance(axis, int) else tuple(axes)
        self._axes = tuple(axes)
        self.epsilon = _number(self, "epsilon", epsilon, 0.0)
        if self.epsilon <= 0:
            raise ValueError(f"LayerNormalization layer '{self.name}': epsilon must be positive, got {epsilon!r}")
        self.center, self.scale = bool(center), bool(scale)
        self._set_initializers(beta_initializer=beta_initializer, gamma_initializer=gamma_initializer)

    def _normalised_axes(self, input_shape):
        rank = len(input_shape)
        axes = sorted({a % rank for a in self._axes if -rank <= a < rank})
        if len(axes) != len(set(self._axes)) or 0 in axes or any(input_shape[a] is None for a in axes):
            raise ValueError(f"LayerNormalization layer '{self.name}': axis {self.axis} must name known, non-batch "
                             f"axes of inputs of shape {tuple(input_shape)}")
        return axes

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        shape = tuple(input_shape[a] for a in self._normalised_axes(input_shape))
        specs: list[WeightSpec] = [("gamma", shape, self.gamma_initializer, True)] if self.scale else []
        return specs + ([("beta", shape, self.beta_initializer, True)] if self.center else [])

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        shape = tuple(x.shape)
        axes = self._normalised_axes(shape)
        mean, variance = norm_ops.moments(x, axes, keep_dims=True)
        weights = dict(zip([w for w, *_ in self.weight_specs(shape)], self.weights))
        broadcast = [shape[a] if a in axes else 1 for a in range(len(shape))]
        gamma, beta = (None if weights.get(k) is None else reshape(weights[k], broadcast) for k in ("gamma", "beta"))
        return norm_ops.batch_normalization(x, mean, variance, beta, gamma, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis if isinstance(self.axis, int) else list(self.axis),
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale}


class ActivityRegularization(ImageLayer):
    """The identity; its output's L1L2(l1, l2) penalty, over the batch size, joins the loss (Layer's
    activity_regularizer)."""
    CONFIG_FIELDS = {"l1": "non_negative_number", "l2": "non_negative_number"}

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        kwargs.pop("activity_regularizer", None)  # l1 and l2 say it
        super().__init__(**kwargs)
        self.l1, self.l2 = _number(self, "l1", l1, 0.0), _number(self, "l2", l2, 0.0)
        self.activity_regularizer = regularizers.L1L2(l1=self.l1, l2=self.l2)

    def get_config(self) -> dict[str, Any]:
        config = {k: v for k, v in super().get_config().items() if k != "activity_regularizer"}
        return {**config, "l1": self.l1, "l2": self.l2}
