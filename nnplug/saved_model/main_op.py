"""`tf.saved_model.main_op`: the op a loader runs after restoring (local variables and lookup tables)."""
from __future__ import annotations

from ..graph import GraphKeys, Operation, control_dependencies, get_default_graph
from ..variables import group, local_variables_initializer

__all__ = ["main_op", "main_op_with_restore"]


def main_op() -> Operation:
    """Initialise the local variables and the tables of the default graph."""
    return group(local_variables_initializer(), *get_default_graph().get_collection(GraphKeys.TABLE_INITIALIZERS))


def main_op_with_restore(restore_op_name: str) -> Operation:
    """main_op(), then the op named `restore_op_name`."""
    with control_dependencies([main_op()]):
        return group(get_default_graph().as_graph_element(restore_op_name))
