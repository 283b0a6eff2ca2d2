"""The SavedModel's records as TF1 programs read them — TensorInfo (`.name`, `.dtype` as TF's enum number,
`.tensor_shape.dim[i].size`), SignatureDef (`.inputs`, `.outputs`, `.method_name`) and the MetaGraphDef
`loader.load` returns (`.signature_def[key]`, `.meta_info_def.tags`, `.graph_def`) — and their plain-data
form in `saved_model.json`, checked field by field when read."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph_def import GraphDef


class SavedModelError(InvalidArgumentError):
    """A SavedModel that cannot be written or read; the message names the file and the field."""


class _Dim:
    def __init__(self, size: int) -> None:
        self.size = size


class TensorShapeProto:
    """`dim[i].size` (-1 for an unknown dimension) and `unknown_rank`, as TF's proto."""

    def __init__(self, dims: list[int | None] | None) -> None:
        self.unknown_rank = dims is None
        self.dim = [_Dim(-1 if d is None else d) for d in dims or []]

    def _dims(self) -> list[int | None] | None:
        return None if self.unknown_rank else [None if d.size < 0 else d.size for d in self.dim]


class TensorInfo:
    def __init__(self, name: str = "", dtype: int = 0, tensor_shape: TensorShapeProto | None = None) -> None:
        self.name, self.dtype = name, dtype
        self.tensor_shape = tensor_shape or TensorShapeProto(None)

    def __repr__(self) -> str:
        return f"<TensorInfo name={self.name!r} dtype={_dt.as_dtype(self.dtype).name}>" if self.dtype else \
            f"<TensorInfo name={self.name!r}>"

    def _record(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": _dt.as_dtype(self.dtype).name, "shape": self.tensor_shape._dims()}


class SignatureDef:
    def __init__(self, inputs: Mapping[str, TensorInfo] | None = None, outputs: Mapping[str, TensorInfo] | None = None,
                 method_name: str = "") -> None:
        self.inputs, self.outputs, self.method_name = dict(inputs or {}), dict(outputs or {}), method_name

    def __repr__(self) -> str:
        return f"<SignatureDef {self.method_name!r} inputs={sorted(self.inputs)} outputs={sorted(self.outputs)}>"

    def _record(self) -> dict[str, Any]:
        return {"method_name": self.method_name, "inputs": {k: v._record() for k, v in self.inputs.items()},
                "outputs": {k: v._record() for k, v in self.outputs.items()}}


class MetaInfoDef:
    def __init__(self, tags: list[str]) -> None:
        self.tags = list(tags)
        self.tensorflow_version, self.tensorflow_git_version = "", ""


class MetaGraphDef:
    """What `loader.load` returns: the signatures by key, the tags, the graph and its collections' names."""

    def __init__(self, tags: list[str], signature_def: dict[str, SignatureDef], graph_def: GraphDef | None = None,
                 collection_def: dict[str, list[str]] | None = None) -> None:
        self.meta_info_def = MetaInfoDef(tags)
        self.signature_def = signature_def
        self.graph_def = graph_def if graph_def is not None else GraphDef()
        self.collection_def = collection_def or {}


# -- reading saved_model.json -------------------------------------------------------------------------
def _fail(where: str, message: str) -> SavedModelError:
    return SavedModelError(f"{where}: {message}")


def tensor_info_from_record(rec: Any, where: str) -> TensorInfo:
    if not isinstance(rec, dict) or not isinstance(rec.get("name"), str) or ":" not in rec["name"]:
        raise _fail(where, "a tensor needs a 'name' like 'x:0'")
    try:
        dtype = _dt.as_dtype(rec.get("dtype"))
    except (TypeError, ValueError):
        raise _fail(where, f"unknown dtype {rec.get('dtype')!r:.40}") from None
    shape = rec.get("shape")
    if shape is not None and not (isinstance(shape, list) and all(
            d is None or (type(d) is int and d >= 0) for d in shape)):
        raise _fail(where, "'shape' must be null or a list of sizes (null for unknown)")
    return TensorInfo(rec["name"], dtype.as_datatype_enum, TensorShapeProto(shape))


def signature_from_record(rec: Any, where: str) -> SignatureDef:
    if not isinstance(rec, dict) or not isinstance(rec.get("method_name", ""), str):
        raise _fail(where, "a signature needs 'inputs', 'outputs' and a string 'method_name'")
    sides = {}
    for side in ("inputs", "outputs"):
        items = rec.get(side, {})
        if not isinstance(items, dict):
            raise _fail(where, f"'{side}' must be an object")
        sides[side] = {k: tensor_info_from_record(v, f"{where}, {side[:-1]} '{k[:60]}'") for k, v in items.items()}
    return SignatureDef(sides["inputs"], sides["outputs"], rec.get("method_name", ""))
