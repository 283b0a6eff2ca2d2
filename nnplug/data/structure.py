"""Nested elements as TF1's tf.data sees them: tuples (namedtuples too) and dicts nest, in sorted key
order for dicts; anything else, lists included (TF turns a list into one tensor), is one component."""
from __future__ import annotations

from typing import Any


def flatten(value):
    """The components of `value`, in TF's order."""
    if isinstance(value, dict):
        return [leaf for k in _keys(value) for leaf in flatten(value[k])]
    if isinstance(value, tuple):
        return [leaf for v in value for leaf in flatten(v)]
    return [value]


def template(value):
    """`value` with every component replaced by None: what `pack` rebuilds from a flat list."""
    if isinstance(value, dict):
        return {k: template(v) for k, v in value.items()}
    if isinstance(value, tuple):
        items = [template(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return None


def pack(structure, flat):
    """Rebuild `structure` (a template) from its flat components."""
    flat = list(flat)
    it = iter(flat)
    out = _pack(structure, it)
    if next(it, _END) is not _END:
        raise ValueError(f"{len(flat)} components do not fit the element structure {structure!r}")
    return out


_END = object()


def _pack(structure, it):
    if isinstance(structure, dict):
        packed = {k: _pack(structure[k], it) for k in _keys(structure)}
        return {k: packed[k] for k in structure}
    if isinstance(structure, tuple):
        items = [_pack(s, it) for s in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    leaf = next(it, _END)
    if leaf is _END:
        raise ValueError(f"too few components for the element structure {structure!r}")
    return leaf


def _keys(d):
    try:
        return sorted(d)
    except TypeError:
        raise TypeError(f"dict keys of a dataset element must be sortable (strings), got {list(d)!r:.80}") from None


def describe(structure, types, shapes):
    """A readable element spec, for error messages: `(float32 (?, 2), int64 (?,))`."""
    parts = [f"{t.name} {s}" for t, s in zip(types, shapes)]
    return repr(pack(structure, parts)).replace("'", "")


class ElementSpec:
    """What a Dataset and an Iterator share: the structure of their elements, flat dtypes and shapes,
    nested back the way TF1 shows them (`output_types`, `output_shapes`)."""

    def _set_spec(self, structure, types, shapes):
        from ..shapes import TensorShape
        self._structure = structure
        self._types = tuple(types)
        self._shapes = tuple(TensorShape(s) for s in shapes)

    @property
    def output_types(self) -> Any:
        return pack(self._structure, self._types)

    @property
    def output_shapes(self) -> Any:
        return pack(self._structure, self._shapes)
