"""Constant folding and common-subexpression elimination, applied to each op as it is lowered."""
import numpy as np

from .ir import Value


def foldable(opdef, inputs):
    """Every input whose value the kernel reads is a constant (ops without inputs are sources, not folded);
    inputs read only for their shape (`OpDef.shape_inputs`) need not be."""
    return bool(inputs) and all(v.const is not None for i, v in enumerate(inputs) if i not in opdef.shape_inputs)


def evaluate(kernel, inputs, dtypes, single):
    """Run the kernel now, on the constants: its results become constants of the plan."""
    out = kernel(*[v.const for v in inputs])
    out = [out] if single else list(out)
    return [Value(np.shape(arr), d, "const", const=arr, persistent=True) for arr, d in zip(out, dtypes)]


class CSE:
    """Results of stateless ops by (op type, attrs, input identities): the same op on the same inputs is
    lowered once. Keyed Values are kept alive, so their ids stay unique. A variable's Value stands for every
    read of its slot, so the key also counts the stores to that slot lowered so far (`stored`): a read
    ordered after an assign is not the read before it."""

    def __init__(self):
        self._results = {}
        self._alive = []
        self._stores = {}  # variable slot -> stores lowered so far

    def stored(self, slot):
        self._stores[slot] = self._stores.get(slot, 0) + 1

    def key(self, op_type, attrs, inputs):
        self._alive.extend(inputs)
        try:
            key = (op_type, tuple(sorted(attrs.items())),
                   tuple((id(v), self._stores.get(v.index, 0)) if v.kind == "var" else id(v) for v in inputs))
            hash(key)
        except TypeError:  # unhashable attrs: no merging
            return None
        return key

    def get(self, key):
        return None if key is None else self._results.get(key)

    def put(self, key, result):
        if key is not None:
            self._results[key] = result

    def scalar(self, low, value, like):
        """A 0-d constant of `like`'s dtype, made once per plan."""
        key = ("scalar", value, like.dtype.name)
        if key not in self._results:
            self._results[key] = [low.constant(np.array(value, dtype=like.dtype.np), like.dtype)]
        return self._results[key][0]
