"""`keras.initializers`: the same initializers as `nnplug.initializers`, by name or object."""
from __future__ import annotations

from typing import Any

from ..initializers import *  # noqa: F401,F403
from ..initializers import Initializer, VarianceScaling, get  # noqa: F401
from .. import initializers as _init
from .._types import InitializerLike


def serialize(init: InitializerLike | None) -> Any:
    """A JSON-able description: the name given, or {'class_name', 'config'} for an initializer object."""
    if init is None or isinstance(init, str):
        return init
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    raise ValueError(f"cannot save the custom initializer {init!r}; use a named one or an Initializer object")


def deserialize(spec: Any) -> Any:
    if spec is None or isinstance(spec, str):
        return spec
    cls = getattr(_init, spec["class_name"], None)
    if not isinstance(cls, type) or not issubclass(cls, Initializer):
        raise ValueError(f"unknown initializer class '{spec['class_name']}' in a saved model")
    return cls(**spec["config"])
