"""NumPy-style indices as hashable specs: what `t[...]` (StridedSlice) records in its attrs, and the
NumPy key a spec stands for once the rank is known."""
import numpy as np

from ..shapes import ShapeError


def slice_spec(key):
    """Normalise a Python index (ints, slices, None, Ellipsis) into a hashable spec."""
    if not isinstance(key, tuple):
        key = (key,)
    spec = []
    for k in key:
        if hasattr(k, "op") and hasattr(k, "value_index"):  # a Tensor
            raise TypeError(f"indexing with the tensor '{k.name}' is not supported; use nnplug.gather")
        if k is Ellipsis:
            spec.append(("e",))
        elif k is None:
            spec.append(("n",))
        elif isinstance(k, slice):
            spec.append(("s", k.start, k.stop, k.step))
        elif isinstance(k, (int, np.integer)):
            spec.append(("i", int(k)))
        else:
            raise TypeError(f"unsupported index {k!r}; use ints, slices, None or ...")
    if sum(s[0] == "e" for s in spec) > 1:
        raise ShapeError("an index can only have a single ellipsis")
    return tuple(spec)


def spec_to_key(spec, rank):
    """The NumPy index a spec stands for, with the ellipsis expanded against the rank."""
    used = sum(s[0] in "is" for s in spec)
    key = []
    for s in spec:
        if s[0] == "e":
            key.extend([slice(None)] * (rank - used))
        elif s[0] == "n":
            key.append(None)
        elif s[0] == "s":
            key.append(slice(s[1], s[2], s[3]))
        else:
            key.append(s[1])
    return tuple(key)
