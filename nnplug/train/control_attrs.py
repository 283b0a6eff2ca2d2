"""Checks of the attributes of control-flow ops (`Cond`, `While`, `WhileGrad`: their sub-graphs) and of
TensorArray ops, for graphs read from a file (nnplug/train/meta_graph.py): the compiler trusts these
attributes as their builders made them, so a mutated file must be stopped here with the op and the field
named, not deep in the compiler."""
from __future__ import annotations

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Operation, Tensor
from ..ops.control_flow import merged_shape
from ..ops.tensor_array import variant
from ..shapes import TensorShape, fmt


def _tensors(v):
    return isinstance(v, tuple) and all(isinstance(t, Tensor) for t in v)


def _placeholders(v):
    return _tensors(v) and all(t.op.type == "Placeholder" for t in v)


def _specs(v):
    return isinstance(v, tuple) and all(
        isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], TensorShape) and isinstance(s[1], _dt.DType)
        for s in v)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


_KINDS = {
    "tensor": (lambda v: isinstance(v, Tensor), "a tensor"),
    "tensors": (_tensors, "a tuple of tensors"),
    "placeholders": (_placeholders, "a tuple of placeholders"),
    "ops": (lambda v: isinstance(v, tuple) and all(isinstance(o, Operation) for o in v), "a tuple of ops"),
    "op": (lambda v: isinstance(v, Operation), "an op"),
    "specs": (_specs, "a tuple of (shape, dtype) pairs"),
    "count": (_int, "a non-negative int"),
    "limit": (lambda v: v is None or _int(v), "None or a non-negative int"),
    "bool": (lambda v: isinstance(v, bool), "a bool"),
    "name": (lambda v: isinstance(v, str), "a string"),
    "shape": (lambda v: isinstance(v, TensorShape), "a shape"),
    "dtype": (lambda v: isinstance(v, _dt.DType) and v is not variant, "a dtype"),
}

# TensorArray ops: every one names its array; the others are checked where present
_ARRAY_ATTRS = {"array": "name", "source": "name", "dtype": "dtype", "element_shape": "shape", "size": "limit",
                "dynamic_size": "bool", "clear_after_read": "bool", "infer_shape": "bool"}

# op type -> {attribute: kind}; attributes marked optional may be missing
_SCHEMAS = {
    "Cond": {"then": "tensors", "else": "tensors", "out_specs": "specs"},
    "While": {"holders": "placeholders", "cond": "tensor", "body": "tensors", "cap_feeds": "placeholders",
              "n_vars": "count", "maximum_iterations": "limit", "limit_input": "bool", "back_prop": "bool",
              "inner": "ops", "out_specs": "specs"},
    "WhileGrad": {"forward": "op", "saves": "tensors", "grad_feeds": "placeholders", "acc_feeds": "placeholders",
                  "cap_feeds": "tensors", "outs": "tensors", "out_specs": "specs"},
}
_OPTIONAL = {"While": {"saves": "tensors"}, "Cond": {"fed_only": "count"}}


class ControlAttrError(InvalidArgumentError):
    """A control-flow op's attributes that its builder could not have made."""


def _fail(where, message):
    raise ControlAttrError(f"{where}: {message}")


def check_control_attrs(op_type, inputs, attrs, where):
    """Raise ControlAttrError (naming `where` and the field) unless a control-flow or TensorArray op's
    attributes have the kinds and counts its builder gives them; other op types pass."""
    if op_type.startswith("TensorArray"):
        _check_kinds(_ARRAY_ATTRS, attrs, where)
        if not isinstance(attrs.get("array"), str):
            _fail(where, "attr 'array' (the array's name) must be a string")
        return
    schema = _SCHEMAS.get(op_type)
    if schema is None:
        return
    for field in schema:
        if field not in attrs:
            _fail(where, f"attr '{field}' is missing")
    _check_kinds({**schema, **_OPTIONAL.get(op_type, {})}, attrs, where)
    _COUNTS[op_type](inputs, attrs, where)


def _check_kinds(kinds, attrs, where):
    for field, kind in kinds.items():
        if field in attrs:
            test, what = _KINDS[kind]
            if not test(attrs[field]):
                _fail(where, f"attr '{field}' must be {what}")


def _same_specs(where, field, specs, tensors, what):
    """Raise unless the declared (shape, dtype) of each output is the one its builder gives it."""
    for i, ((shape, dtype), t) in enumerate(zip(specs, tensors)):
        want = what(t)
        if (shape, dtype) != want:
            _fail(where, f"attr '{field}' declares output {i} {fmt(shape)} {dtype.name}, but its sub-graph makes "
                         f"{fmt(want[0])} {want[1].name}")


def _cond_counts(inputs, a, where):
    if not inputs or inputs[0].dtype != _dt.bool_:
        _fail(where, "input 0 must be the bool predicate")
    if a.get("fed_only", 0) >= len(inputs):
        _fail(where, f"attr 'fed_only' ({a['fed_only']}) must count fewer inputs than the {len(inputs) - 1} "
                     f"after the predicate")
    if not len(a["then"]) == len(a["else"]) == len(a["out_specs"]):
        _fail(where, f"attrs 'then', 'else' and 'out_specs' must have one entry per output, got "
                     f"{len(a['then'])}, {len(a['else'])} and {len(a['out_specs'])}")
    for i, (t, e) in enumerate(zip(a["then"], a["else"])):
        if t.dtype != e.dtype:
            _fail(where, f"output {i} is {t.dtype.name} in 'then' but {e.dtype.name} in 'else'")
    _same_specs(where, "out_specs", a["out_specs"], zip(a["then"], a["else"]),
                lambda te: (merged_shape(te[0].shape, te[1].shape), te[0].dtype))


def _while_counts(inputs, a, where):
    n, k = len(a["holders"]), len(a["cap_feeds"])
    expected = n + k + a["n_vars"] + (1 if a["limit_input"] else 0)
    if len(inputs) != expected:
        _fail(where, f"has {len(inputs)} inputs; its attrs describe {expected} ({n} loop variables, {k} captured "
                     f"tensors, {a['n_vars']} variables{', a limit' if a['limit_input'] else ''})")
    if len(a["body"]) != n or len(a["out_specs"]) != n + 1:
        _fail(where, f"attrs 'body' and 'out_specs' must have {n} and {n + 1} entries (one per loop variable, and "
                     f"the trace), got {len(a['body'])} and {len(a['out_specs'])}")
    if a["cond"].dtype != _dt.bool_:
        _fail(where, f"attr 'cond' must be a bool tensor, got {a['cond'].dtype.name} '{a['cond'].name}'")
    for i, (h, b, x) in enumerate(zip(a["holders"], a["body"], inputs)):
        if not h.dtype == b.dtype == x.dtype:
            _fail(where, f"loop variable {i} is {x.dtype.name} on entry, {h.dtype.name} in 'holders' and "
                         f"{b.dtype.name} in 'body'")
    _same_specs(where, "out_specs", a["out_specs"], a["holders"], lambda h: (h.shape, h.dtype))
    if a["out_specs"][-1] != (TensorShape(()), variant):
        _fail(where, "attr 'out_specs' must end with the trace's (a variant scalar)")
    for i, (p, x) in enumerate(zip(a["cap_feeds"], inputs[n:n + k])):
        if p.dtype != x.dtype:
            _fail(where, f"captured tensor {i} is {x.dtype.name} but its placeholder in 'cap_feeds' is "
                         f"{p.dtype.name}")


def _while_grad_counts(inputs, a, where):
    if a["forward"].type != "While":
        _fail(where, f"attr 'forward' must be a While op, got the {a['forward'].type} op '{a['forward'].name}'")
    n_f, n_c = len(a["grad_feeds"]), len(a["acc_feeds"])
    if len(a["outs"]) != n_f + n_c or len(a["out_specs"]) != n_f + n_c:
        _fail(where, f"attrs 'outs' and 'out_specs' must have {n_f + n_c} entries (one per loop-variable gradient "
                     f"and accumulator), got {len(a['outs'])} and {len(a['out_specs'])}")
    expected = 1 + n_f + len(a["cap_feeds"]) + n_f + n_c
    if len(inputs) != expected:
        _fail(where, f"has {len(inputs)} inputs; its attrs describe {expected}")
    # the outputs are shaped like the last inputs: the loop variables and captured tensors differentiated
    _same_specs(where, "out_specs", a["out_specs"], inputs[len(inputs) - n_f - n_c:], lambda t: (t.shape, t.dtype))


_COUNTS = {"Cond": _cond_counts, "While": _while_counts, "WhileGrad": _while_grad_counts}
