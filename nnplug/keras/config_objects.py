"""The look-up shared by keras.regularizers and keras.constraints: an object from None, a name, a
{class_name, config} dict (as Keras files write it, Keras 3's module/registered_name allowed) or an
instance/callable -- and back to JSON. Only the built-in classes are saved, so a file never names code."""
from __future__ import annotations

import inspect
from typing import Any

from .utils import unknown_name

_WRAPPER_KEYS = {"module", "registered_name"}


class ConfigObject:
    """A built-in object that saves as {class_name, config}; from_config names a field it does not take."""

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        if not isinstance(config, dict):
            raise ValueError(f"{cls.__name__}: config must be an object, got {config!r:.60}")
        fields = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        unknown = sorted(set(config) - set(fields))
        if unknown:
            raise ValueError(f"{cls.__name__} has no config field {', '.join(map(repr, unknown))} "
                             f"(its fields: {', '.join(fields) or 'none'})")
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def get(kind: str, identifier: Any, classes: dict[str, type], names: dict[str, Any]) -> Any:
    """`identifier` as a `kind` object: None, a name in `names` (a class or a factory), a config dict
    naming one of `classes`, or any callable (used as it is)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        make = names.get(identifier, names.get(identifier.lower()))
        if make is None:
            raise unknown_name(kind, identifier, names)
        return make()
    if isinstance(identifier, dict):
        return deserialize(kind, identifier, classes)
    if isinstance(identifier, type) and issubclass(identifier, ConfigObject):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"cannot use {identifier!r:.60} as a {kind}: give a name ({', '.join(sorted(names))}), "
                    f"a {{class_name, config}} dict or a callable")


def deserialize(kind: str, spec: dict[str, Any], classes: dict[str, type]) -> Any:
    unknown = sorted(set(spec) - {"class_name", "config"} - _WRAPPER_KEYS)
    if unknown:
        raise ValueError(f"a {kind} config has unknown keys {', '.join(map(repr, unknown))}; expected "
                         f"{{class_name, config}}")
    cls: Any = classes.get(str(spec.get("class_name")))
    if cls is None:
        raise ValueError(f"unknown {kind} class {spec.get('class_name')!r:.60} (known: {', '.join(sorted(classes))})")
    return cls.from_config(spec.get("config") or {})


def serialize(kind: str, obj: Any, classes: dict[str, type]) -> dict[str, Any] | None:
    if obj is None:
        return None
    if type(obj) in classes.values():
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    raise ValueError(f"cannot save the custom {kind} {obj!r:.60}: a model file holds only the built-in ones "
                     f"({', '.join(sorted(classes))})")
