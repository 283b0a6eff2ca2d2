"""`tf.graph_util`: frozen graphs as TF1 makes them. `convert_variables_to_constants` keeps what the
outputs need and turns each variable into a Const holding its value in the session, so the GraphDef runs
with no checkpoint; `extract_sub_graph` and `remove_training_nodes` prune a GraphDef. Names in nnplug's
attributes (a cond's branches, a loop's body) count as edges, so pruning never cuts what an op names."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import logging
from .graph import Graph
from .graph_def import GraphDef, NodeDef
from .importer import import_graph_def  # noqa: F401 - tf.graph_util.import_graph_def
from .shapes import TensorShape
from .train.meta_graph import _encode

if TYPE_CHECKING:
    from .session import Session

__all__ = ["convert_variables_to_constants", "extract_sub_graph", "import_graph_def", "remove_training_nodes",
           "tensor_shape_from_node_def_name"]


def _node_name(name: str) -> str:
    """'^x', 'x:1' and 'x' all name the node 'x'."""
    return name.lstrip("^").split(":")[0]


def _named_in_attrs(value: Any) -> Iterator[str]:
    """Node names an encoded attribute refers to ({'tensor': 'x:0'}, {'op': 'x'}, {'variable': 'x'})."""
    if isinstance(value, dict):
        if len(value) == 1:
            (kind, body), = value.items()
            if kind in ("tensor", "op", "variable") and isinstance(body, str):
                yield _node_name(body)
                return
        for v in value.values():
            yield from _named_in_attrs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _named_in_attrs(v)


def _needs(node: NodeDef) -> set[str]:
    return {_node_name(i) for i in node.input} | set(_named_in_attrs(node.attr))


def _check_graph_def(graph_def: Any) -> None:
    if not isinstance(graph_def, GraphDef):
        raise TypeError(f"graph_def must be a GraphDef, but got type {type(graph_def).__name__}.")


def extract_sub_graph(graph_def: GraphDef, dest_nodes: Sequence[str]) -> GraphDef:
    """The nodes `dest_nodes` depend on (themselves included), in their original order."""
    _check_graph_def(graph_def)
    if isinstance(dest_nodes, str) or not all(isinstance(d, str) for d in dest_nodes):
        raise TypeError(f"dest_nodes must be an iterable of strings, but got type {type(dest_nodes).__name__}.")
    by_name = {n.name: n for n in graph_def.node}
    for d in dest_nodes:
        if d not in by_name:
            raise NodeNotFoundError(f"{d} is not in graph")
    keep, stack = set(), list(dest_nodes)
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        for needed in _needs(by_name[name]):
            if needed not in by_name:
                raise NodeNotFoundError(f"node '{name}' reads '{needed}', which is not in graph")
            stack.append(needed)
    return _copy(n for n in graph_def.node if n.name in keep)


class NodeNotFoundError(ValueError, AssertionError):
    """A name that is not a node of the GraphDef (TF1 asserts; a ValueError here too)."""


def _copy(nodes: Iterable[NodeDef]) -> GraphDef:
    out = GraphDef()
    for n in nodes:
        copy = NodeDef()
        copy.CopyFrom(n)
        out.node.append(copy)
    return out


def convert_variables_to_constants(sess: Session, input_graph_def: GraphDef, output_node_names: Sequence[str],
                                   variable_names_whitelist: Iterable[str] | None = None,
                                   variable_names_blacklist: Iterable[str] | None = None) -> GraphDef:
    """The part of `input_graph_def` the outputs need, each variable in it (those the whitelist names, none
    the blacklist names) a Const of its value in `sess`."""
    inference = extract_sub_graph(input_graph_def, output_node_names)
    allow = None if variable_names_whitelist is None else set(variable_names_whitelist)
    deny = set(variable_names_blacklist or ())
    frozen = {}
    for node in inference.node:
        if node.op == "VariableV2" and (allow is None or node.name in allow) and node.name not in deny:
            frozen[node.name] = _constant_node(sess, node)
    for node in inference.node:
        writes = set(_named_in_attrs(node.attr)) & frozen.keys() if node.op != "VariableV2" else set()
        if writes:
            raise ValueError(f"convert_variables_to_constants: op '{node.name}' ({node.op}) names variable "
                             f"'{sorted(writes)[0]}', which is being frozen; freeze outputs that do not update it")
    logging.info("Froze %d variables.", len(frozen))
    return GraphDef(frozen.get(n.name, n) for n in inference.node)


def _constant_node(sess: Session, node: NodeDef) -> NodeDef:
    try:
        var = sess.graph.get_operation_by_name(node.name).attrs["variable"]
    except KeyError:
        raise ValueError(f"convert_variables_to_constants: variable '{node.name}' of the GraphDef is not a "
                         f"variable of the session's graph") from None
    value = sess.variable_value(var)
    if value is None:
        raise ValueError(f"convert_variables_to_constants: variable '{node.name}' is not initialized in this "
                         f"session")
    where = f"variable '{node.name}'"
    attrs = {"value": value, "dtype": var.dtype, "shape": tuple(value.shape)}
    return NodeDef(node.name, "Const", [i for i in node.input if i.startswith("^")], node.device,
                   {k: _encode(v, where) for k, v in attrs.items()})


def remove_training_nodes(input_graph: GraphDef, protected_nodes: Iterable[str] | None = None) -> GraphDef:
    """TF1's pruning for inference: CheckNumerics nodes go, and Identity and StopGradient nodes are
    spliced out unless protected, involved in control edges, or named by another op's attributes. A
    CheckNumerics node's readers read its input instead (TF1 drops the edge, leaving them without one)."""
    _check_graph_def(input_graph)
    protected = set(protected_nodes or ())
    nodes = _copy(input_graph.node).node
    checks = {n.name: n.input[0] for n in nodes if n.op == "CheckNumerics" and n.name not in protected}
    control_inputs = {i[1:] for n in nodes for i in n.input if i.startswith("^")}
    with_control = {n.name for n in nodes if any(i.startswith("^") for i in n.input)}
    named = {name for n in nodes for name in _named_in_attrs(n.attr)}
    identities = {n.name: n.input[0] for n in nodes
                  if n.op in ("Identity", "StopGradient") and n.name not in protected | with_control
                  | control_inputs | named}
    splice = {**identities, **checks}
    out = []
    for n in nodes:
        if n.name in splice:
            continue
        inputs = []
        for full in n.input:
            control = full.startswith("^")
            while _node_name(full) in splice:
                full = splice[_node_name(full)]
            inputs.append(f"^{_node_name(full)}" if control else full)
        n.input = inputs
        out.append(n)
    return GraphDef(out)


def tensor_shape_from_node_def_name(graph: Graph, input_name: str) -> TensorShape:
    """The static shape of the tensor `input_name` ('x' meaning 'x:0') in `graph`."""
    return graph.get_tensor_by_name(input_name if ":" in input_name else f"{input_name}:0").shape

