"""Meta graphs: a graph saved as plain data beside its checkpoint and rebuilt in another process, as TF1's
`export_meta_graph` / `import_meta_graph` / `Saver.save(write_meta_graph=True)` do.

The file (`<prefix>.meta`) is JSON: every op (name, type, input tensor names, control inputs, attributes),
in creation order except where an op must follow what it names, the variables and the collections.
Attributes are encoded by an allow-list of plain types (numbers, strings, tuples, dtypes, shapes, numeric
arrays, and variables, tensors and ops by name, which is how a cond keeps its branches and a loop its
condition, body and gradient): nothing is unpickled or executed, op types must be registered, names are
checked as op names, a name must be of an op written earlier, and sizes are bounded before anything is
allocated. Importing builds the ops again through the registry, so shapes are re-inferred."""
from __future__ import annotations

import base64
import json
import math
import os
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..files import atomic_write
from ..graph import Graph, Operation, Tensor, check_name, get_default_graph
from ..ops import registry
from ..ops.tensor_array import variant
from ..shapes import TensorShape
from ..variables import Variable
from .control_attrs import ControlAttrError, check_control_attrs
from .._types import StrPath

FORMAT = "nnplug-meta-graph"
VERSION = 1
SUFFIX = ".meta"
MAX_FILE_BYTES = 1 << 30  # constants included
MAX_ARRAY_ELEMENTS = 1 << 28


# Attributes that cache Python objects of one process, rebuilt on demand: a loop's body gradients per
# gradient computation (the WhileGrad ops keep what they run in attributes of their own).
_CACHES = {"While": ("gradients",)}


class MetaGraphError(InvalidArgumentError):
    """A meta graph that cannot be written or read; the message names the file, the op and the field."""


# -- encoding attributes -------------------------------------------------------------------------------
def _encode(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else {"float": repr(float(value))}
    if isinstance(value, _dt.DType):
        return {"dtype": value.name}
    if isinstance(value, Tensor):
        return {"tensor": value.name}
    if isinstance(value, Operation):
        return {"op": value.name}
    if isinstance(value, TensorShape):
        return {"shape": None if value.unknown_rank else list(value)}
    if isinstance(value, Variable):
        return {"variable": value.op.name}
    if isinstance(value, np.ndarray) and value.dtype == object and all(isinstance(v, bytes) for v in value.flat):
        return {"strings": {"shape": list(value.shape),  # a string constant (a SavedModel's asset path)
                            "data": [base64.b64encode(v).decode("ascii") for v in value.flat]}}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise MetaGraphError(f"{where}: cannot save an array of dtype {value.dtype}")
        return {"array": {"dtype": value.dtype.str, "shape": list(value.shape),
                          "data": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")}}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v, where) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    raise MetaGraphError(f"{where}: cannot save a value of type {type(value).__name__}")


class _Known:
    """What the ops read so far define, for names in attributes (variables by saved name, tensors and ops by
    their name in the new graph, i.e. with the import scope)."""

    def __init__(self, prefix):
        self.prefix, self.variables, self.tensors, self.ops = prefix, {}, {}, {}

    def find(self, kind, name, where):
        table = {"variable": self.variables, "tensor": self.tensors, "op": self.ops}[kind]
        found = table.get(name if kind == "variable" else self.prefix + name)
        if found is None:
            raise MetaGraphError(f"{where}: names the {kind} {name[:60]!r}, which no earlier op of the file makes")
        return found


def _decode(value, where, known):
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise MetaGraphError(f"{where}: unexpected value {str(value)[:60]!r}")
    (kind, body), = value.items()
    if kind == "float" and body in ("inf", "-inf", "nan"):
        return float(body)
    if kind == "dtype" and body == variant.name:
        return variant
    if kind == "dtype" and isinstance(body, str):
        try:
            return _dt.as_dtype(body)
        except (TypeError, ValueError, KeyError):
            raise MetaGraphError(f"{where}: unknown dtype {body[:40]!r}") from None
    if kind == "shape" and (body is None or isinstance(body, list)):
        return TensorShape(None if body is None else [_dim(d, where) for d in body])
    if kind in ("variable", "tensor", "op") and isinstance(body, str):
        return known.find(kind, body, where)
    if kind == "array" and isinstance(body, dict):
        return _array(body, where)
    if kind == "strings" and isinstance(body, dict):
        return _strings(body, where)
    if kind in ("tuple", "list") and isinstance(body, list):
        items = [_decode(v, where, known) for v in body]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(body, list) and all(isinstance(p, list) and len(p) == 2 for p in body):
        return {_decode(k, where, known): _decode(v, where, known) for k, v in body}
    raise MetaGraphError(f"{where}: unexpected value of kind {kind[:20]!r}")


def _dim(d, where):
    if d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0):
        return d
    raise MetaGraphError(f"{where}: a shape dimension must be None or a non-negative int, got {d!r:.20}")


def _array(body, where):
    try:
        dtype = np.dtype(body["dtype"])
        shape = tuple(_dim(d, where) for d in body["shape"])
        data = base64.b64decode(body["data"], validate=True)
    except (KeyError, TypeError, ValueError) as e:
        raise MetaGraphError(f"{where}: malformed array ({e})") from None
    if dtype.kind not in "biuf" or dtype.hasobject or dtype.itemsize > 8:
        raise MetaGraphError(f"{where}: arrays of dtype {dtype} are not allowed")
    n = math.prod(shape)
    if n > MAX_ARRAY_ELEMENTS or n * dtype.itemsize != len(data):
        raise MetaGraphError(f"{where}: the array declares {n} elements of {dtype} but holds {len(data)} bytes")
    return np.frombuffer(data, dtype).reshape(shape).copy()


def _strings(body, where):
    """An object array of bytes, from base64 items as many as its shape holds."""
    try:
        shape = tuple(_dim(d, where) for d in body["shape"])
        items = body["data"]
        if not isinstance(items, list) or len(items) != math.prod(shape) or len(items) > MAX_ARRAY_ELEMENTS:
            raise ValueError(f"{len(items)} items for shape {shape}")
        data = [base64.b64decode(v, validate=True) for v in items]
    except (KeyError, TypeError, ValueError) as e:
        raise MetaGraphError(f"{where}: malformed string array ({e})") from None
    out = np.empty(len(data), dtype=object)
    out[:] = data
    return out.reshape(shape)


# -- export ---------------------------------------------------------------------------------------------
def _item_ref(item):
    if isinstance(item, Variable):
        return {"variable": item.op.name}
    if isinstance(item, Tensor):
        return {"tensor": item.name}
    if isinstance(item, Operation):
        return {"op": item.name}
    return None  # other Python objects (layers, optimizers) are not part of a meta graph


def _saved_attrs(op):
    skip = _CACHES.get(op.type, ())
    return {k: v for k, v in op.attrs.items() if k not in skip}


def _named_ops(value):
    """The ops an attribute value names (a tensor's, a variable's)."""
    if isinstance(value, (Tensor, Variable)):
        yield value.op
    elif isinstance(value, Operation):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _named_ops(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _named_ops(k)
            yield from _named_ops(v)


def _saving_order(graph):
    """The ops in creation order, except that each comes after every op it reads or names (a loop's body
    is made before the placeholders that replace what it captures)."""
    def needs(op):
        named = [o for v in _saved_attrs(op).values() for o in _named_ops(v) if o is not op]  # a variable's own
        return sorted({id(o): o for o in [t.op for t in op.inputs] + op.control_inputs + named}.values(),
                      key=lambda o: o._id, reverse=True)
    order, done, active = [], set(), set()
    for root in graph.get_operations():
        stack = [(root, None)]
        while stack:
            op, pending = stack.pop()
            if pending is None:
                if id(op) in done:
                    continue
                if id(op) in active:
                    raise MetaGraphError(f"op '{op.name}' ({op.type}) depends on itself; cannot save the graph")
                active.add(id(op))
                pending = needs(op)
            while pending and id(pending[-1]) in done:
                pending.pop()
            if pending:
                stack.append((op, pending))
                stack.append((pending.pop(), None))
                continue
            active.discard(id(op))
            done.add(id(op))
            order.append(op)
    return order


def meta_graph_dict(graph: Graph | None = None) -> dict[str, Any]:
    """The graph as plain data (what `export_meta_graph` writes)."""
    graph = graph or get_default_graph()
    ops, variables = [], {}
    for op in _saving_order(graph):
        where = f"op '{op.name}' ({op.type})"
        attrs = {k: _encode(v, f"{where}, attr '{k}'") for k, v in _saved_attrs(op).items()}
        ops.append({"name": op.name, "type": op.type, "inputs": [t.name for t in op.inputs],
                    "control_inputs": [c.name for c in op.control_inputs], "attrs": attrs})
        if op.type == "VariableV2":
            var = op.attrs["variable"]
            variables[op.name] = {"dtype": var.dtype.name, "shape": list(var.shape), "trainable": var.trainable,
                                  "initial_value": var.initial_value.name, "initializer": var.initializer.name}
    collections = {}
    for key, items in graph._collections.items():
        refs = [r for r in (_item_ref(i) for i in items) if r is not None]
        if refs and isinstance(key, str):
            collections[key] = refs
    return {"format": FORMAT, "version": VERSION, "ops": ops, "variables": variables, "collections": collections}


def export_meta_graph(filename: StrPath | None = None, graph: Graph | None = None, **kw: Any) -> dict[str, Any]:
    """Write the graph to `filename` (plain JSON); returns the dict. TF1's other arguments are accepted."""
    data = meta_graph_dict(graph)
    if filename is not None:
        text = json.dumps(data, separators=(",", ":")).encode()
        atomic_write(os.fspath(filename), lambda f: f.write(text))
    return data


# -- import ---------------------------------------------------------------------------------------------
def _read(path):
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise MetaGraphError(f"meta graph '{path}' is {size} bytes, more than the {MAX_FILE_BYTES} allowed")
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except OSError as e:
        raise MetaGraphError(f"cannot read meta graph '{path}': {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise MetaGraphError(f"meta graph '{path}' is not valid JSON ({e})") from None
    return check_meta_graph(data, path)


def check_meta_graph(data: Any, path: Any) -> dict[str, Any]:
    """`data` if it is a meta graph of this version with fields of the right kinds (`path` names its source)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MetaGraphError(f"'{path}' is not an nnplug meta graph (no '{FORMAT}' format marker)")
    if data.get("version") != VERSION:
        raise MetaGraphError(f"meta graph '{path}' has version {data.get('version')!r:.20}; this nnplug reads "
                             f"version {VERSION}")
    for field, kind in (("ops", list), ("variables", dict), ("collections", dict)):
        if not isinstance(data.get(field), kind):
            raise MetaGraphError(f"meta graph '{path}': field '{field}' must be a {kind.__name__}")
    return data


def import_graph(meta_graph_or_file: StrPath | dict[str, Any], import_scope: str | None = None,
                 source: str | None = None) -> dict[str, Variable]:
    """Rebuild a saved graph into the default graph; returns {saved variable name: Variable} (names as
    checkpoints of the saved graph hold them, without the import scope; `nnplug.train.import_meta_graph`
    wraps them in a Saver). `source` names where a dict came from, for errors."""
    if isinstance(meta_graph_or_file, (str, os.PathLike)):
        source, data = meta_graph_or_file, _read(meta_graph_or_file)
    else:
        source = source or "<meta graph dict>"
        data = check_meta_graph(meta_graph_or_file, source)
    known = rebuild(data, source, f"{import_scope}/" if import_scope else "")
    _collections(get_default_graph(), data["collections"], known.variables, known.tensors, known.ops, known.prefix)
    return known.variables


def rebuild(data: dict[str, Any], source: Any, prefix: str, input_map: dict[str, Tensor] | None = None,
            fresh_names: bool = False) -> _Known:
    """Make the ops of `data` in the default graph, names prefixed; returns what it made. `input_map`
    ({saved tensor name: tensor}) stands for saved tensors wherever the file reads them, as
    `tf.import_graph_def` does; `fresh_names` refuses names the graph already has (a GraphDef import
    without a scope), and lets a variable lack the initializer a pruned GraphDef left out."""
    input_map = input_map or {}
    graph = get_default_graph()
    known = _Known(prefix)
    tensors, ops, variables = known.tensors, known.ops, known.variables
    for i, rec in enumerate(data["ops"]):
        where = f"meta graph {source}, ops[{i}]"
        if not isinstance(rec, dict) or not isinstance(rec.get("name"), str) or not isinstance(rec.get("type"), str):
            raise MetaGraphError(f"{where}: an op needs a string 'name' and 'type'")
        name, op_type = prefix + rec["name"], rec["type"]
        where = f"meta graph {source}, op '{name[:80]}'"
        check_name(name, "an op", source=str(source))
        if fresh_names and (name in graph._by_name or name in ops):
            raise MetaGraphError(f"{where}: the graph already has an op of that name (import under a name=)")
        if registry.find(op_type) is None:
            raise MetaGraphError(f"{where}: op type {op_type[:40]!r} is not registered in this nnplug")
        try:
            inputs = [tensors[prefix + t] for t in rec.get("inputs", [])]
            control = [ops[prefix + c] for c in rec.get("control_inputs", [])]
        except (KeyError, TypeError) as e:
            raise MetaGraphError(f"{where}: an input names {e} , which no earlier op makes") from None
        if not isinstance(rec.get("attrs", {}), dict):
            raise MetaGraphError(f"{where}: 'attrs' must be an object")
        for k in _CACHES.get(op_type, ()):
            if k in rec.get("attrs", {}):
                raise MetaGraphError(f"{where}: attr '{k}' is a cache of one process, never saved in a meta graph")
        if op_type == "VariableV2":
            variables[rec["name"]] = _new_variable(graph, data["variables"].get(rec["name"]), where)
        attrs = {k: _decode(v, f"{where}, attr '{k}'", known) for k, v in rec.get("attrs", {}).items()}
        try:
            check_control_attrs(op_type, inputs, attrs, where)
            with graph.control_dependencies(None):
                op = graph.create_op(op_type, inputs, attrs, name=name + "/")
        except ControlAttrError as e:
            raise MetaGraphError(str(e)) from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise MetaGraphError(f"{where}: its inputs or attributes do not fit a {op_type} op "
                                 f"({type(e).__name__}: {str(e)[:200]})") from None
        op.control_inputs = control
        ops[name] = op
        for t in op.outputs:
            tensors[t.name] = _mapped(t, input_map.get(t.name[len(prefix):]), where)
        if op_type == "VariableV2":
            variables[rec["name"]]._bind(op)
    _finish_variables(graph, data["variables"], variables, tensors, ops, prefix, source, fresh_names)
    return known


def _mapped(saved, replacement, where):
    """The tensor that stands for `saved` from here on: itself, or its input_map replacement if the types fit."""
    if replacement is None:
        return saved
    if replacement.dtype != saved.dtype:
        raise MetaGraphError(f"{where}: input_map gives tensor '{replacement.name}' of dtype "
                             f"{replacement.dtype.name} for '{saved.name}' of dtype {saved.dtype.name}")
    return replacement


def _new_variable(graph, rec, where):
    if not isinstance(rec, dict):
        raise MetaGraphError(f"{where}: the variable has no record in 'variables'")
    try:
        shape = TensorShape([_dim(d, where) for d in rec["shape"]])
        return Variable._restored(graph, _dt.as_dtype(rec["dtype"]), shape, bool(rec.get("trainable", True)))
    except (KeyError, TypeError, ValueError) as e:
        raise MetaGraphError(f"{where}: malformed variable record ({e})") from None


def _finish_variables(graph, records, variables, tensors, ops, prefix, source, partial=False):
    for name, var in variables.items():
        rec = records[name]
        present = [isinstance(rec.get(k), str) and prefix + rec[k].split(":")[0] in ops
                   for k in ("initial_value", "initializer")]
        if partial and not all(present):
            var.initial_value = var.initializer = None  # pruned away (graph_util.extract_sub_graph)
            continue
        try:
            var.initial_value = tensors[prefix + rec["initial_value"]]
            var.initializer = ops[prefix + rec["initializer"]]
        except (KeyError, TypeError):
            raise MetaGraphError(f"meta graph {source}: variable '{name}' names an initial value or initializer "
                                 f"that is not in the file") from None


def _collections(graph, collections, variables, tensors, ops, prefix):
    by_kind = {"variable": lambda n: variables.get(n), "tensor": lambda n: tensors.get(prefix + n),
               "op": lambda n: ops.get(prefix + n)}
    for key, refs in collections.items():
        if not isinstance(refs, list):
            continue
        existing = graph.get_collection_ref(key)
        for ref in refs:
            if isinstance(ref, dict) and len(ref) == 1:
                (kind, n), = ref.items()
                item = by_kind.get(kind, lambda _: None)(n) if isinstance(n, str) else None
                if item is not None and item not in existing:
                    existing.append(item)
