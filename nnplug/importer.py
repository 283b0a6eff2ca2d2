"""`tf.import_graph_def`: a GraphDef's nodes made again in the default graph, under a name scope, with
`input_map` tensors standing for the graph's own (a frozen model's placeholder replaced by a pipeline's
output). The nodes are rebuilt by the meta-graph importer, so every check of nnplug/train/meta_graph.py
applies; variables of a GraphDef join no collection, as in TF1."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .devices import canonical
from .graph import Graph, Operation, Tensor, convert_to_tensor, get_default_graph
from .graph_def import GraphDef, GraphDefError
from .train.meta_graph import MetaGraphError, rebuild


def _tensor_name(name: str) -> str:
    """TF1 lets 'x' stand for 'x:0'."""
    return name if ":" in name else f"{name}:0"


def import_graph_def(graph_def: GraphDef, input_map: Mapping[str, Any] | None = None,
                     return_elements: Sequence[str] | None = None, name: str | None = None,
                     op_dict: Any = None, producer_op_list: Any = None) -> list[Tensor | Operation] | None:
    """Import `graph_def` into the default graph under the scope `name` ('import' by default, made unique;
    '' for none); returns the tensors ('x:0') and ops ('x') `return_elements` names, or None."""
    if not isinstance(graph_def, GraphDef):
        raise TypeError(f"import_graph_def needs a GraphDef, got {type(graph_def).__name__}")
    if isinstance(return_elements, str):
        raise TypeError("return_elements must be a list of names, not a string")
    graph = get_default_graph()
    scope = graph.unique_name("import" if name is None else name) if name != "" else ""
    prefix = f"{scope}/" if scope else ""
    mapped = _check_input_map(graph_def, input_map or {})
    made = len(graph.get_operations())
    try:
        known = rebuild(graph_def._data(), "GraphDef", prefix, mapped, fresh_names=True)
        for node in graph_def.node:
            if node.device:
                known.ops[prefix + node.name].device = canonical(node.device)
        found = [_element(known, prefix, e) for e in return_elements or ()]
    except MetaGraphError as e:
        _forget_ops_since(graph, made)
        raise GraphDefError(str(e).replace("meta graph GraphDef", "import_graph_def")) from None
    except BaseException:
        _forget_ops_since(graph, made)
        raise
    return None if return_elements is None else found


def _element(known: Any, prefix: str, element: str) -> Tensor | Operation:
    item = (known.tensors if ":" in element else known.ops).get(prefix + element)
    if item is None:
        raise ValueError(f"Requested return_element '{element}' not found in graph_def.")
    return item


def _forget_ops_since(graph: Graph, count: int) -> None:
    """Take out the ops a failed import made, so it changes nothing (as TF1's import); their names stay
    used, which only makes later names unique."""
    made = graph._ops[count:]
    del graph._ops[count:]
    for op in made:
        graph._by_name.pop(op.name, None)
    for recorded in graph._recorders:
        recorded[:] = [op for op in recorded if op._id < count]


def _check_input_map(graph_def: GraphDef, input_map: Mapping[str, Any]) -> dict[str, Tensor]:
    """input_map with full tensor names, every key a tensor of the GraphDef, every value a tensor."""
    if not isinstance(input_map, Mapping):
        raise TypeError(f"input_map must be a dict of tensor names to tensors, got {type(input_map).__name__}")
    outputs = {n.name for n in graph_def.node}
    mapped, missing = {}, []
    for key, value in input_map.items():
        if not isinstance(key, str):
            raise TypeError(f"input_map keys must be tensor names, got {key!r:.40}")
        if key.startswith("^"):
            raise ValueError(f"input_map: control inputs ('{key}') cannot be remapped in nnplug")
        full = _tensor_name(key)
        if full.rsplit(":", 1)[0] not in outputs:
            missing.append(full)
        mapped[full] = convert_to_tensor(value)
    if missing:
        raise ValueError(f"Attempted to map inputs that were not found in graph_def: [{', '.join(missing)}]")
    return mapped
