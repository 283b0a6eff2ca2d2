"""`tf.GraphDef`: a graph's ops as plain data, for frozen graphs and `tf.import_graph_def`.

A GraphDef holds NodeDefs in TF1's shape (`name`, `op`, `input` with `name`, `name:1` and `^name` for
control inputs, `device`, `attr`) over the records of nnplug's meta graphs (nnplug/train/meta_graph.py):
`attr` holds each attribute as that format encodes it, and a VariableV2 node carries its variable's record.
`SerializeToString()` gives JSON bytes and `ParseFromString()` reads them back (the indented text form
`tf.train.write_graph(as_text=True)` writes too), checking every field before a node is made; nothing is
unpickled or executed, and errors name the node at fault. TensorFlow's protobuf files are not read."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .errors import InvalidArgumentError
from .graph import Graph, check_name, get_default_graph
from .session import Session
from .train.meta_graph import FORMAT as META_FORMAT, MAX_FILE_BYTES, VERSION as META_VERSION, meta_graph_dict

FORMAT = "nnplug-graph-def"
VERSION = 1


class GraphDefError(InvalidArgumentError):
    """A GraphDef that cannot be parsed or imported; the message names the source and the node."""


class NodeDef:
    """One op: `input` as TF1 writes it, `attr` as nnplug's meta graph encodes it."""

    def __init__(self, name: str = "", op: str = "", input: Iterable[str] = (), device: str = "",  # noqa: A002
                 attr: dict[str, Any] | None = None) -> None:
        self.name, self.op, self.input, self.device = name, op, list(input), device
        self.attr = dict(attr or {})
        self._variable = None  # a VariableV2's record: dtype, shape, trainable, initial value, initializer

    def __repr__(self) -> str:
        return f"<NodeDef '{self.name}' op={self.op} input={self.input}>"

    def CopyFrom(self, other: NodeDef) -> None:  # noqa: N802 - protobuf's name
        self.name, self.op, self.input, self.device = other.name, other.op, list(other.input), other.device
        self.attr, self._variable = json.loads(json.dumps(other.attr)), other._variable

    def _record(self) -> dict[str, Any]:
        inputs = [i if ":" in i else f"{i}:0" for i in self.input if not i.startswith("^")]
        control = [i[1:] for i in self.input if i.startswith("^")]
        rec = {"name": self.name, "type": self.op, "inputs": inputs, "control_inputs": control, "attrs": self.attr}
        if self.device:
            rec["device"] = self.device
        return rec


def _node_from_record(rec: dict[str, Any], variables: dict[str, Any]) -> NodeDef:
    inputs = [t[:-2] if t.endswith(":0") else t for t in rec.get("inputs", [])]
    node = NodeDef(rec["name"], rec["type"], inputs + [f"^{c}" for c in rec.get("control_inputs", [])],
                   device=rec.get("device", ""), attr=rec.get("attrs", {}))
    node._variable = variables.get(rec["name"])
    return node


class GraphDef:
    """TF1's GraphDef: `node` (a list of NodeDef), `versions`; serialised as nnplug's own JSON."""

    def __init__(self, node: Iterable[NodeDef] = ()) -> None:
        self.node = list(node)
        self.versions = _Versions()
        self.library = None  # TF's function library: nnplug keeps functions in its ops' attributes

    def __repr__(self) -> str:
        return f"<nnplug.GraphDef of {len(self.node)} nodes>"

    def _data(self) -> dict[str, Any]:
        """The meta-graph form: ops and variables, no collections."""
        return {"format": META_FORMAT, "version": META_VERSION, "ops": [n._record() for n in self.node],
                "variables": {n.name: n._variable for n in self.node if n._variable is not None},
                "collections": {}}

    def SerializeToString(self, deterministic: bool | None = None) -> bytes:  # noqa: N802 - protobuf's names
        return _dumps(self, indent=None)

    def ParseFromString(self, data: bytes | str, source: str = "the serialized GraphDef") -> int:  # noqa: N802
        """Replace this GraphDef's nodes by those in `data` (what SerializeToString or write_graph gave);
        returns the number of bytes read, as protobuf does."""
        self.node = _parse(data, source)
        return len(data)

    def MergeFromString(self, data: bytes | str) -> int:  # noqa: N802
        self.node.extend(_parse(data, "the serialized GraphDef"))
        return len(data)

    def CopyFrom(self, other: GraphDef) -> None:  # noqa: N802
        self.node = []
        for n in other.node:
            copy = NodeDef()
            copy.CopyFrom(n)
            self.node.append(copy)

    def ByteSize(self) -> int:  # noqa: N802
        return len(self.SerializeToString())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GraphDef) and self.SerializeToString() == other.SerializeToString()

    __hash__ = None  # mutable, as protobuf messages


class _Versions:
    producer, min_consumer = META_VERSION, 0


def _dumps(graph_def: GraphDef, indent: int | None) -> bytes:
    body = {"format": FORMAT, "version": VERSION, "node": [n._record() for n in graph_def.node],
            "variables": {n.name: n._variable for n in graph_def.node if n._variable is not None}}
    if indent is None:
        return json.dumps(body, separators=(",", ":")).encode()
    return (json.dumps(body, indent=indent) + "\n").encode()


def _parse(data: bytes | str, source: str) -> list[NodeDef]:
    if len(data) > MAX_FILE_BYTES:
        raise GraphDefError(f"{source} is {len(data)} bytes, more than the {MAX_FILE_BYTES} allowed")
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        hint = " (a TensorFlow protobuf? nnplug reads its own GraphDefs only)" if isinstance(data, bytes) else ""
        raise GraphDefError(f"{source} is not an nnplug GraphDef{hint}: {e}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise GraphDefError(f"{source} is not an nnplug GraphDef (no '{FORMAT}' format marker)")
    if body.get("version") != VERSION:
        raise GraphDefError(f"{source} has version {body.get('version')!r:.20}; this nnplug reads version {VERSION}")
    nodes, variables = body.get("node"), body.get("variables")
    if not isinstance(nodes, list) or not isinstance(variables, dict):
        raise GraphDefError(f"{source}: 'node' must be a list and 'variables' an object")
    out, seen = [], set()
    for i, rec in enumerate(nodes):
        _check_record(rec, i, source, seen)
        if rec["type"] == "VariableV2" and not isinstance(variables.get(rec["name"]), dict):
            raise GraphDefError(f"{source}, node '{rec['name']}': a VariableV2 node needs its variable's record")
        out.append(_node_from_record(rec, variables))
    return out


def _check_record(rec: Any, i: int, source: str, seen: set[str]) -> None:
    """The record's fields have the right kinds (their meaning is checked when the node is imported)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("name"), str) or not isinstance(rec.get("type"), str):
        raise GraphDefError(f"{source}, node[{i}]: a node needs a string 'name' and 'type'")
    check_name(rec["name"], "a node", source=source)
    where = f"{source}, node '{rec['name'][:80]}'"
    if rec["name"] in seen:
        raise GraphDefError(f"{where}: a second node of that name")
    seen.add(rec["name"])
    for field in ("inputs", "control_inputs"):
        if not isinstance(rec.get(field, []), list) or not all(isinstance(x, str) for x in rec.get(field, [])):
            raise GraphDefError(f"{where}: '{field}' must be a list of names")
    if not isinstance(rec.get("attrs", {}), dict):
        raise GraphDefError(f"{where}: 'attrs' must be an object")
    if not isinstance(rec.get("device", ""), str):
        raise GraphDefError(f"{where}: 'device' must be a string")


def as_graph_def(graph: Graph | None = None, from_version: int | None = None, add_shapes: bool = False) -> GraphDef:
    """The graph's ops as a GraphDef (TF1's `Graph.as_graph_def()`); attributes it cannot encode (Python
    objects an iterator holds) raise naming the op."""
    graph_def = from_meta_graph(meta_graph_dict(graph or get_default_graph()))
    for node in graph_def.node:
        node.device = (graph or get_default_graph()).get_operation_by_name(node.name).device
    return graph_def


def from_meta_graph(data: dict[str, Any]) -> GraphDef:
    """The GraphDef of a meta graph's ops (a SavedModel's MetaGraphDef.graph_def)."""
    return GraphDef(_node_from_record(rec, data["variables"]) for rec in data["ops"])


# TF1 spells these as methods of Graph and a property of Session
Graph.as_graph_def = lambda self, from_version=None, add_shapes=False: as_graph_def(self)  # type: ignore[attr-defined]
Graph.graph_def_versions = property(lambda self: _Versions())  # type: ignore[attr-defined]
Session.graph_def = property(lambda self: as_graph_def(self.graph))  # type: ignore[attr-defined]
