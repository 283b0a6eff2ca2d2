"""Conditionals: `tf.cond` and `tf.case`, where only the taken branch runs.

A branch is the ops its function makes while `cond` calls it (recorded by the graph); the `Cond` op takes
the predicate and the tensors the branches read from outside (their captures) as inputs, and keeps each
branch's outputs in its attrs. The compiler compiles each branch once per plan as a sub-plan over the
captures (nnplug/compiler/control.py) and runs the one the predicate picks. Gradients are a `Cond` of the
branches' gradients."""
import contextlib

from ..graph import Operation, convert_to_tensor, make_op, name_scope
from ..shapes import TensorShape, fmt
from .registry import register


@contextlib.contextmanager
def _recording(graph):
    ops = []
    graph._recorders.append(ops)
    try:
        yield ops
    finally:
        graph._recorders.pop()  # nested branches open and close in order (remove() would compare lists)


def _flatten(structure, where):
    """(flat tensors, a template to rebuild the structure)."""
    if isinstance(structure, (list, tuple)):
        parts = [_flatten(s, where) for s in structure]
        return [t for flat, _ in parts for t in flat], (type(structure), [tpl for _, tpl in parts])
    if isinstance(structure, dict):
        keys = sorted(structure)
        parts = [_flatten(structure[k], where) for k in keys]
        return [t for flat, _ in parts for t in flat], (dict, list(zip(keys, [tpl for _, tpl in parts])))
    if isinstance(structure, Operation):
        raise TypeError(f"{where} returned the operation '{structure.name}'; cond branches return tensors")
    return [convert_to_tensor(structure)], None


def _pack(template, flat):
    it = iter(flat)

    def build(tpl):
        if tpl is None:
            return next(it)
        kind, items = tpl
        if kind is dict:
            return {k: build(t) for k, t in items}
        built = [build(t) for t in items]
        return kind(*built) if hasattr(kind, "_fields") else kind(built)
    return build(template)


def _branch(graph, fn, scope, where):
    with _recording(graph) as ops, name_scope(scope):
        structure = fn()
    outs, template = _flatten(structure, where)
    return ops, outs, template


def _captures(ops_lists, outs_lists):
    """Tensors the branches read that neither branch makes, in a stable order."""
    made = {id(t) for ops in ops_lists for op in ops for t in op.outputs}
    seen, caps = set(), []
    for ops, outs in zip(ops_lists, outs_lists):
        for t in [i for op in ops for i in op.inputs] + list(outs):
            if id(t) not in made and id(t) not in seen:
                seen.add(id(t))
                caps.append(t)
    return caps


def _merged_shape(a, b):
    if a.unknown_rank or b.unknown_rank or len(a) != len(b):
        return TensorShape(None)
    return TensorShape(x if x == y else None for x, y in zip(a, b))


def _cond_rule(shapes, dtypes, attrs):
    return [(s, d) for s, d in attrs["out_specs"]]


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """`true_fn()` if `pred` else `false_fn()`; only the taken branch runs. Both must return the same
    structure of tensors with the same dtypes."""
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("cond needs callables true_fn and false_fn")
    pred = convert_to_tensor(pred)
    if pred.dtype.name != "bool" or (not pred.shape.unknown_rank and len(pred.shape) != 0):
        raise TypeError(f"cond: the predicate '{pred.name}' must be a bool scalar, got {pred.dtype.name} "
                        f"of shape {fmt(pred.shape)}")
    graph = pred.graph
    with name_scope(name, "cond") as scope:
        t_ops, t_outs, t_tpl = _branch(graph, true_fn, "cond_true", "cond's true_fn")
        f_ops, f_outs, f_tpl = _branch(graph, false_fn, "cond_false", "cond's false_fn")
        if t_tpl != f_tpl or len(t_outs) != len(f_outs):
            raise ValueError(f"cond '{scope[:-1]}': the branches return different structures "
                             f"({len(t_outs)} and {len(f_outs)} tensors, or other nesting)")
        specs = []
        for i, (a, b) in enumerate(zip(t_outs, f_outs)):
            if a.dtype != b.dtype:
                raise TypeError(f"cond '{scope[:-1]}': output {i} is {a.dtype.name} in the true branch "
                                f"('{a.name}') but {b.dtype.name} in the false branch ('{b.name}')")
            specs.append((_merged_shape(a.shape, b.shape), a.dtype))
        caps = _captures([t_ops, f_ops], [t_outs, f_outs])
        op = make_op("Cond", [pred] + caps, {"then": tuple(t_outs), "else": tuple(f_outs),
                                             "captures": tuple(caps), "out_specs": tuple(specs)}, name="Merge")
    outs = list(op.outputs)
    return outs[0] if t_tpl is None else _pack(t_tpl, outs)


def _grad_cond(op, *grads):
    from ..autodiff import gradients
    from .math_ops import zeros_like
    pred, caps = op.inputs[0], list(op.inputs[1:])
    wanted = [i for i, c in enumerate(caps) if c.dtype.is_floating]
    if not wanted:
        return [None] * len(op.inputs)
    grads = [g if g is not None else zeros_like(o) for g, o in zip(grads, op.outputs)]

    def branch(outs):
        def fn():
            pairs = [(o, g) for o, g in zip(outs, grads) if o.dtype.is_floating]
            found = gradients([o for o, _ in pairs], [caps[i] for i in wanted], grad_ys=[g for _, g in pairs])
            return [g if g is not None else zeros_like(caps[i]) for g, i in zip(found, wanted)]
        return fn
    back = cond(pred, branch(op.attrs["then"]), branch(op.attrs["else"]), name="cond_grad")
    back = back if isinstance(back, list) else [back]
    result = [None] * len(op.inputs)
    for g, i in zip(back, wanted):
        result[1 + i] = g
    return result


register("Cond", _cond_rule, grad=_grad_cond, stateful=True)


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The function of the first true predicate, else `default` (TF1 checks `exclusive` at run time; here
    the first true predicate wins)."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    if not pairs and default is None:
        raise ValueError("case needs at least one (predicate, function) pair or a default")
    if default is None:
        *pairs, (_, default) = pairs  # TF1: without a default the last function is the fallback
    with name_scope(name, "case"):
        result = default
        for p, fn in reversed(pairs):
            result = (lambda p, fn, rest: lambda: cond(p, fn, rest))(p, fn, result)
        return result()
