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


def _flat_shapes(structure):
    """Shapes (TensorShape, lists of dims) nested like the loop variables, flattened."""
    if isinstance(structure, TensorShape) or structure is None:
        return [TensorShape(structure)]
    if isinstance(structure, dict):
        return [s for k in sorted(structure) for s in _flat_shapes(structure[k])]
    if isinstance(structure, (list, tuple)) and all(isinstance(d, int) or d is None for d in structure):
        return [TensorShape(structure)]
    return [s for item in structure for s in _flat_shapes(item)]


def _same_structure(a, b):
    """Templates of _flatten alike, lists and tuples counting as one kind (TF1 accepts either)."""
    if a is None or b is None:
        return a is b
    (ka, ia), (kb, ib) = a, b
    seq = (list, tuple)
    if ka is dict or kb is dict:
        return ka is kb and [k for k, _ in ia] == [k for k, _ in ib] and all(
            _same_structure(x, y) for (_, x), (_, y) in zip(ia, ib))
    kinds_match = ka is kb or (issubclass(ka, seq) and issubclass(kb, seq) and not hasattr(ka, "_fields")
                               and not hasattr(kb, "_fields"))
    return kinds_match and len(ia) == len(ib) and all(_same_structure(x, y) for x, y in zip(ia, ib))


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


register("Cond", _cond_rule, grad=_grad_cond, stateful=True, session_op=True)  # the compiler runs it


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


# -- loops -----------------------------------------------------------------------------------------------
def _loop_rule(shapes, dtypes, attrs):
    return [(s, d) for s, d in attrs["out_specs"]]


def _no_loop_gradient(op, *grads):
    raise NotImplementedError(f"gradients through tf.while_loop '{op.name}' are not supported yet; unroll the "
                              f"loop in Python (a for loop building ops) to differentiate it")


register("While", _loop_rule, grad=_no_loop_gradient, stateful=True, session_op=True)


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, maximum_iterations=None, name=None, return_same_structure=False):
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`; returns the final loop variables.
    The loop variables may be any nesting of tensors; each keeps its shape unless `shape_invariants` says
    which dimensions may change (None). `parallel_iterations` and `swap_memory` are accepted."""
    if not callable(cond) or not callable(body):
        raise TypeError("while_loop needs callables cond and body")
    single = not isinstance(loop_vars, (list, tuple, dict))
    flat, template = _flatten(loop_vars, "while_loop's loop_vars")
    invariants = _flat_shapes(shape_invariants) if shape_invariants is not None else None
    if invariants is not None and len(invariants) != len(flat):
        raise ValueError(f"while_loop: {len(invariants)} shape_invariants for {len(flat)} loop variables")
    graph = flat[0].graph if flat else None
    from .array_ops import placeholder
    with name_scope(name, "while") as scope:
        with _recording(graph) as ops:
            holders = [placeholder(t.dtype, inv if invariants else t.shape, name=f"loop_var_{i}")
                       for i, (t, inv) in enumerate(zip(flat, invariants or flat))]
            structured = _pack(template, holders)
            args = [structured] if single or template is None else list(structured)
            pred = convert_to_tensor(cond(*args))
            new = body(*args)
        if single and isinstance(new, (list, tuple)) and len(new) == 1:
            new = new[0]
        elif not single and not isinstance(new, (list, tuple, dict)):
            new = [new]  # as TF1: a body returning one tensor for a one-element list of loop variables
        new_flat, new_template = _flatten(new, "while_loop's body")
        if not _same_structure(new_template, template) or len(new_flat) != len(flat):
            raise ValueError(f"while_loop '{scope[:-1]}': the body returns {len(new_flat)} tensors (or another "
                             f"nesting) for {len(flat)} loop variables")
        if pred.dtype.name != "bool" or (not pred.shape.unknown_rank and len(pred.shape) != 0):
            raise TypeError(f"while_loop '{scope[:-1]}': cond must return a bool scalar, got {pred.dtype.name} "
                            f"of shape {fmt(pred.shape)}")
        for i, (h, t) in enumerate(zip(holders, new_flat)):
            if h.dtype != t.dtype:
                raise TypeError(f"while_loop '{scope[:-1]}': loop variable {i} enters as {h.dtype.name} but the body "
                                f"returns {t.dtype.name} ('{t.name}')")
        inner = {id(op) for op in ops}
        held = {id(h) for h in holders}
        caps = [t for t in _captures([ops], [new_flat + [pred]]) if id(t) not in held and id(t.op) not in inner]
        max_iter = None if maximum_iterations is None else int(maximum_iterations)
        op = make_op("While", list(flat) + caps,
                     {"holders": tuple(holders), "cond": pred, "body": tuple(new_flat), "captures": tuple(caps),
                      "maximum_iterations": max_iter, "out_specs": tuple((h.shape, h.dtype) for h in holders)},
                     name="Exit")
    outs = list(op.outputs)
    return outs[0] if single else _pack(template, outs)
