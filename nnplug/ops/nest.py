"""Nested structures of tensors, as RNN states are: a tensor, or lists/tuples/namedtuples of them
(`LSTMStateTuple(c, h)`, a tuple per layer of a MultiRNNCell), and their sizes in the same nesting. TF1's
`nest` functions that the cells and drivers need, and `describe` for error messages."""
from ..graph import Tensor
from ..shapes import fmt


def is_nested(x):
    return isinstance(x, (list, tuple))


def flatten(structure):
    """The leaves of a nesting of lists/tuples, depth first."""
    if is_nested(structure):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def _rebuild(like, items):
    return type(like)(*items) if hasattr(like, "_fields") else type(like)(items)


def pack_sequence_as(structure, flat):
    """`flat` (a list of leaves) in the shape of `structure`."""
    flat = list(flat)
    pos = [0]

    def build(s):
        if is_nested(s):
            return _rebuild(s, [build(x) for x in s])
        pos[0] += 1
        return flat[pos[0] - 1]
    n = len(flatten(structure))
    if n != len(flat):
        raise ValueError(f"cannot pack {len(flat)} values into a structure of {n}: {describe(structure)}")
    return build(structure)


def same_structure(a, b):
    """Whether a and b nest alike (namedtuples must be of the same type; lists and tuples match each other)."""
    if not is_nested(a) or not is_nested(b):
        return is_nested(a) == is_nested(b)
    if hasattr(a, "_fields") and hasattr(b, "_fields") and type(a) is not type(b):
        return False
    return len(a) == len(b) and all(same_structure(x, y) for x, y in zip(a, b))


def map_structure(fn, *structures):
    """fn applied leaf by leaf to structures that nest alike, packed as the first."""
    for s in structures[1:]:
        if not same_structure(structures[0], s):
            raise ValueError(f"the structures {describe(structures[0])} and {describe(s)} do not nest alike")
    return pack_sequence_as(structures[0], [fn(*leaves) for leaves in zip(*(flatten(s) for s in structures))])


def describe(structure):
    """A structure for an error message: tensors by name and shape, sizes as numbers."""
    if is_nested(structure):
        if hasattr(structure, "_fields"):
            inner = ", ".join(f"{k}={describe(v)}" for k, v in zip(structure._fields, structure))
            return f"{type(structure).__name__}({inner})"
        inner = ", ".join(describe(x) for x in structure)
        return f"[{inner}]" if isinstance(structure, list) else f"({inner}{',' if len(structure) == 1 else ''})"
    if hasattr(structure, "_as_tensor"):
        structure = structure._as_tensor()
    if isinstance(structure, Tensor):
        return f"'{structure.name}' {fmt(structure.shape)}"
    return repr(structure)
