"""Checks of the attributes that hold a control-flow op's sub-graphs (`Cond`, `While`, `WhileGrad`), for
graphs read from a file (nnplug/train/meta_graph.py): the ops trust these attributes as their own builders
made them, so a mutated file must be stopped here with the op and the field named, not deep in the
compiler."""
from __future__ import annotations

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Operation, Tensor
from ..shapes import TensorShape


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
}

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
    """Raise ControlAttrError (naming `where` and the field) unless a control-flow op's attributes have the
    kinds and counts its builder gives them; other op types pass."""
    schema = _SCHEMAS.get(op_type)
    if schema is None:
        return
    for field, kind in list(schema.items()) + list(_OPTIONAL.get(op_type, {}).items()):
        if field not in attrs:
            if field in schema:
                _fail(where, f"attr '{field}' is missing")
            continue
        test, what = _KINDS[kind]
        if not test(attrs[field]):
            _fail(where, f"attr '{field}' must be {what}")
    _COUNTS[op_type](inputs, attrs, where)


def _cond_counts(inputs, a, where):
    if not inputs or inputs[0].dtype != _dt.bool_:
        _fail(where, "input 0 must be the bool predicate")
    if a.get("fed_only", 0) >= len(inputs):
        _fail(where, f"attr 'fed_only' ({a['fed_only']}) must count fewer inputs than the {len(inputs) - 1} "
                     f"after the predicate")
    if not len(a["then"]) == len(a["else"]) == len(a["out_specs"]):
        _fail(where, f"attrs 'then', 'else' and 'out_specs' must have one entry per output, got "
                     f"{len(a['then'])}, {len(a['else'])} and {len(a['out_specs'])}")
    for i, (t, e, (_, dtype)) in enumerate(zip(a["then"], a["else"], a["out_specs"])):
        if not t.dtype == e.dtype == dtype:
            _fail(where, f"output {i} is {t.dtype.name} in 'then', {e.dtype.name} in 'else' and {dtype.name} in "
                         f"'out_specs'")


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
    for i, (h, b, x, (_, dtype)) in enumerate(zip(a["holders"], a["body"], inputs, a["out_specs"])):
        if not h.dtype == b.dtype == x.dtype == dtype:
            _fail(where, f"loop variable {i} is {x.dtype.name} on entry, {h.dtype.name} in 'holders', "
                         f"{b.dtype.name} in 'body' and {dtype.name} in 'out_specs'")
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


_COUNTS = {"Cond": _cond_counts, "While": _while_counts, "WhileGrad": _while_grad_counts}
