"""Control flow: `tf.cond` and `tf.case`, where only the taken branch runs, and `tf.while_loop`, with
gradients.

A branch or a loop body is the ops its function makes while it is called (recorded by the graph). The
`Cond` op takes the predicate and the tensors the branches read from outside (their captures) as inputs
and keeps each branch's outputs in its attrs. A loop's condition and body read the loop variables through
placeholders (holders) and, once traced, every tensor they read from outside through placeholders too,
which the `While` op feeds from its inputs: the body is then a function of its own placeholders only, so
its gradient holds partial derivatives and never walks out into the graph around the loop. Variables are
the exception: the body reads them where they live (each read sees the latest value), and the While op
lists them as inputs only so that gradients reach them. The compiler compiles branches, conditions and
bodies as sub-plans (nnplug/compiler/control.py).

Gradients of a cond are a cond of the branches' gradients. The gradient of a loop (built once per loop) is
the body's gradient with respect to its placeholders, itself a small graph; building it marks which tensors
of the body it reads, and from then on the forward loop saves those of every iteration in its last output
(`trace`). A `WhileGrad` op runs the body's gradient once per saved iteration, last to first, adding up the
gradients of the captured tensors."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..graph import Operation, convert_to_tensor, make_op, name_scope
from ..shapes import TensorShape, fmt
from .registry import register
from .tensor_array import TensorArray, gradient_source, merge_shapes, variant
from .._types import Structure, TensorLike


@contextlib.contextmanager
def _recording(graph):
    ops = []
    graph._recorders.append(ops)
    try:
        yield ops
    finally:
        graph._recorders.pop()  # nested branches open and close in order (remove() would compare lists)


# -- nested structures of tensors (and TensorArrays, which travel as their flow) -------------------------
_ARRAY = object()  # the template kind of a TensorArray leaf


def flatten_structure(structure, where):
    """(flat tensors, a template to rebuild the structure): lists, tuples, namedtuples and dicts of tensors;
    a TensorArray flattens to its flow."""
    if isinstance(structure, TensorArray):
        return [structure.flow], (_ARRAY, structure)
    if isinstance(structure, (list, tuple)):
        parts = [flatten_structure(s, where) for s in structure]
        return [t for flat, _ in parts for t in flat], (type(structure), [tpl for _, tpl in parts])
    if isinstance(structure, dict):
        keys = sorted(structure)
        parts = [flatten_structure(structure[k], where) for k in keys]
        return [t for flat, _ in parts for t in flat], (dict, list(zip(keys, [tpl for _, tpl in parts])))
    if isinstance(structure, Operation):
        raise TypeError(f"{where} returned the operation '{structure.name}'; it must return tensors")
    if structure is None:
        raise TypeError(f"{where} returned None where a tensor belongs")
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


def same_structure(a, b):
    """Templates of flatten_structure alike, lists and tuples counting as one kind (TF1 accepts either); arrays must
    be the same array."""
    if a is None or b is None:
        return a is b
    (ka, ia), (kb, ib) = a, b
    if ka is _ARRAY or kb is _ARRAY:
        return ka is kb and ia.handle is ib.handle
    seq = (list, tuple)
    if ka is dict or kb is dict:
        return ka is kb and [k for k, _ in ia] == [k for k, _ in ib] and all(
            same_structure(x, y) for (_, x), (_, y) in zip(ia, ib))
    kinds_match = ka is kb or (issubclass(ka, seq) and issubclass(kb, seq) and not hasattr(ka, "_fields")
                               and not hasattr(kb, "_fields"))
    return kinds_match and len(ia) == len(ib) and all(same_structure(x, y) for x, y in zip(ia, ib))


def describe_template(tpl):
    """A structure for an error message: `[T, (T, T), {'a': T}, TensorArray]`."""
    if tpl is None:
        return "T"
    kind, items = tpl
    if kind is _ARRAY:
        return f"TensorArray '{items.name}'"
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {describe_template(t)}" for k, t in items) + "}"
    inner = ", ".join(describe_template(t) for t in items)
    if hasattr(kind, "_fields"):
        return f"{kind.__name__}({inner})"
    return f"[{inner}]" if issubclass(kind, list) else f"({inner}{',' if len(items) == 1 else ''})"


def pack_structure(template, flat):
    it = iter(flat)

    def build(tpl):
        if tpl is None:
            return next(it)
        kind, items = tpl
        if kind is _ARRAY:
            return items._with_flow(next(it))
        if kind is dict:
            return {k: build(t) for k, t in items}
        built = [build(t) for t in items]
        return kind(*built) if hasattr(kind, "_fields") else kind(built)
    return build(template)


# -- which ops a traced function made, and what they read from outside -----------------------------------
def _inner_tensors(op):
    """Tensors of a control-flow op's own sub-graphs (held in its attrs), which its inputs do not show."""
    if op.type == "Cond":
        return list(op.attrs["then"]) + list(op.attrs["else"])
    if op.type == "While":
        return [op.attrs["cond"]] + list(op.attrs["body"])
    return []


def _reached(roots, recorded, through_subgraphs):
    """The recorded ops the roots need (through inputs, control inputs and, if asked, control-flow ops'
    sub-graphs), in creation order. Variables are never part of a traced function: they live outside it."""
    allowed = {id(op) for op in recorded if op.type != "VariableV2"}
    seen, stack = {}, [t.op for t in roots]
    while stack:
        op = stack.pop()
        if id(op) not in allowed or id(op) in seen:
            continue
        seen[id(op)] = op
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
        if through_subgraphs:
            stack.extend(t.op for t in _inner_tensors(op))
    return sorted(seen.values(), key=lambda o: o._id)


def _outside_reads(ops, roots, through_subgraphs):
    """Tensors the ops (and the roots) read that none of them makes, in a stable order (with the tensors
    that control-flow ops among them hold in their attrs, if their sub-graphs are part of `ops`)."""
    made = {id(t) for op in ops for t in op.outputs}
    held = [i for op in ops for i in _inner_tensors(op)] if through_subgraphs else []
    seen, reads = set(), []
    for t in [i for op in ops for i in op.inputs] + held + list(roots):
        if id(t) not in made and id(t) not in seen:
            seen.add(id(t))
            reads.append(t)
    return reads


def _rewire(ops, roots, mapping):
    """Make the ops (and the roots list) read mapping[t] wherever they read t (ids as keys)."""
    def sub(ts):
        return tuple(mapping.get(id(t), t) for t in ts)
    for op in ops:
        op.inputs = list(sub(op.inputs))
        if op.type == "Cond":
            op.attrs["then"], op.attrs["else"] = sub(op.attrs["then"]), sub(op.attrs["else"])
    return list(sub(roots))


# -- cond ------------------------------------------------------------------------------------------------
def _branch(graph, fn, scope, where):
    with _recording(graph) as ops, name_scope(scope):
        structure = fn()
    outs, template = flatten_structure(structure, where)
    return ops, outs, template


def merged_shape(a: TensorShape, b: TensorShape) -> TensorShape:
    """The shape of a cond output that is `a` in one branch and `b` in the other."""
    if a.unknown_rank or b.unknown_rank or len(a) != len(b):
        return TensorShape(None)
    return TensorShape(x if x == y else None for x, y in zip(a, b))


def _specs_rule(shapes, dtypes, attrs):
    return [(s, d) for s, d in attrs["out_specs"]]


def _check_bool_scalar(pred, what):
    if pred.dtype.name != "bool" or (not pred.shape.unknown_rank and len(pred.shape) != 0):
        raise TypeError(f"{what} must be a bool scalar, got {pred.dtype.name} '{pred.name}' of shape "
                        f"{fmt(pred.shape)}")


def cond(pred: TensorLike, true_fn: Callable[[], Structure] | None = None,
         false_fn: Callable[[], Structure] | None = None, strict: bool = False, name: str | None = None,
         fn1: Callable[[], Structure] | None = None, fn2: Callable[[], Structure] | None = None) -> Structure:
    """`true_fn()` if `pred` else `false_fn()`; only the taken branch runs. Both must return the same
    structure of tensors with the same dtypes."""
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("cond needs callables true_fn and false_fn")
    pred = convert_to_tensor(pred)
    _check_bool_scalar(pred, "cond: the predicate")
    graph = pred.graph
    with name_scope(name, "cond") as scope:
        t_ops, t_outs, t_tpl = _branch(graph, true_fn, "cond_true", "cond's true_fn")
        f_ops, f_outs, f_tpl = _branch(graph, false_fn, "cond_false", "cond's false_fn")
        if not same_structure(t_tpl, f_tpl) or len(t_outs) != len(f_outs):
            raise ValueError(f"cond '{scope[:-1]}': the branches return different structures: "
                             f"{describe_template(t_tpl)} and {describe_template(f_tpl)}")
        specs = []
        for i, (a, b) in enumerate(zip(t_outs, f_outs)):
            if a.dtype != b.dtype:
                raise TypeError(f"cond '{scope[:-1]}': output {i} is {a.dtype.name} in the true branch "
                                f"('{a.name}') but {b.dtype.name} in the false branch ('{b.name}')")
            specs.append((merged_shape(a.shape, b.shape), a.dtype))
        # what the branches' outputs need (not other ops recorded meanwhile, such as a loop gradient's body)
        branch_ops = _reached(t_outs + f_outs, t_ops + f_ops, through_subgraphs=False)
        caps = _outside_reads(branch_ops, t_outs + f_outs, through_subgraphs=False)
        fed_only = _siblings(caps)
        op = make_op("Cond", [pred] + caps + fed_only, {"then": tuple(t_outs), "else": tuple(f_outs),
                                                        "out_specs": tuple(specs), "fed_only": len(fed_only)},
                     name="Merge")
    outs = list(op.outputs)
    return outs[0] if t_tpl is None else pack_structure(t_tpl, outs)


def _siblings(caps):
    """The other outputs of the ops that make captured tensors, where an op has several (a loop's results):
    a branch is compiled with its captures fed, and a plan runs an op unless all its outputs are fed. They
    are inputs of the Cond only to be fed (no gradient flows to them)."""
    taken = {id(t) for t in caps}
    found = []
    for op in {id(t.op): t.op for t in caps if len(t.op.outputs) > 1}.values():
        found += [o for o in op.outputs if id(o) not in taken]
    return found


def _grad_cond(op, *grads):
    from ..autodiff import gradients
    from .math_ops import zeros_like
    pred, caps = op.inputs[0], list(op.inputs[1:len(op.inputs) - op.attrs.get("fed_only", 0)])
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


register("Cond", _specs_rule, grad=_grad_cond, stateful=True, session_op=True)  # the compiler runs it


def case(pred_fn_pairs: Mapping[Any, Callable[[], Structure]] | Iterable[tuple[TensorLike, Callable[[], Structure]]],
         default: Callable[[], Structure] | None = None, exclusive: bool = False, strict: bool = False,
         name: str = "case") -> Structure:
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
def _check_body(scope, holders, new_flat, entering):
    """Dtypes and static shapes of what the body returns against what entered (build time)."""
    for i, (h, t, x) in enumerate(zip(holders, new_flat, entering)):
        if h.dtype != t.dtype:
            raise TypeError(f"while_loop '{scope}': loop variable {i} ('{x.name}') enters as {h.dtype.name} but "
                            f"the body returns {t.dtype.name} ('{t.name}')")
        if merge_shapes(h.shape, t.shape) is None:
            raise ValueError(f"while_loop '{scope}': loop variable {i} ('{x.name}') enters the loop with shape "
                             f"{fmt(h.shape)} but the body returns '{t.name}' of shape {fmt(t.shape)}; to let "
                             f"its shape change between iterations, give shape_invariants with None where it "
                             f"may change")


def while_loop(cond: Callable[..., TensorLike], body: Callable[..., Structure], loop_vars: Structure,
               shape_invariants: Structure = None, parallel_iterations: int = 10, back_prop: bool = True,
               swap_memory: bool = False, maximum_iterations: TensorLike | None = None, name: str | None = None,
               return_same_structure: bool = False) -> Structure:
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` (at most `maximum_iterations`
    times); returns the final loop variables. They may be any nesting of tensors and TensorArrays; each
    keeps its shape unless `shape_invariants` says which dimensions may change (None). One loop variable
    in a list comes back on its own unless return_same_structure. Differentiable unless back_prop=False.
    `parallel_iterations` and `swap_memory` are accepted."""
    if not callable(cond) or not callable(body):
        raise TypeError("while_loop needs callables cond and body")
    single = not isinstance(loop_vars, (list, tuple))  # a tensor, TensorArray or dict: one argument
    flat, template = flatten_structure(loop_vars, "while_loop's loop_vars")
    if not flat:
        raise ValueError("while_loop needs at least one loop variable")
    invariants = _flat_shapes(shape_invariants) if shape_invariants is not None else None
    if invariants is not None and len(invariants) != len(flat):
        raise ValueError(f"while_loop: {len(invariants)} shape_invariants for {len(flat)} loop variables")
    for i, (t, inv) in enumerate(zip(flat, invariants or flat)):
        if invariants is not None and merge_shapes(TensorShape(inv), t.shape) is None:
            raise ValueError(f"while_loop: loop variable {i} ('{t.name}') has shape {fmt(t.shape)}, which its "
                             f"shape invariant {fmt(TensorShape(inv))} does not allow")
    graph = flat[0].graph
    from .array_ops import placeholder
    with name_scope(name, "while") as scope, graph.control_dependencies(None):
        with _recording(graph) as ops:
            holders = [placeholder(t.dtype, inv if invariants else t.shape, name=f"loop_var_{i}")
                       for i, (t, inv) in enumerate(zip(flat, invariants or flat))]
            structured = pack_structure(template, holders)
            args = [structured] if single or template is None else list(structured)
            pred = convert_to_tensor(cond(*args))
            new = body(*args)
        if single and isinstance(new, (list, tuple)) and len(new) == 1 and template is None:
            new = new[0]
        elif not single and not isinstance(new, (list, tuple)):
            new = [new]  # as TF1: a body returning one tensor for a one-element list of loop variables
        new_flat, new_template = flatten_structure(new, "while_loop's body")
        where = scope[:-1]
        if not same_structure(new_template, template) or len(new_flat) != len(flat):
            raise ValueError(f"while_loop '{where}': the body returns {len(new_flat)} tensors as "
                             f"{describe_template(new_template)} for {len(flat)} loop variables "
                             f"{describe_template(template)}")
        _check_bool_scalar(pred, f"while_loop '{where}': cond")
        _check_body(where, holders, new_flat, flat)
        roots = [pred] + new_flat
        inner = _reached(roots, ops, through_subgraphs=True)
        held = {id(h) for h in holders}
        reads = [t for t in _outside_reads(inner, roots, True) if id(t) not in held]
        var_caps = [t for t in reads if t.op.type == "VariableV2"]
        value_caps = [t for t in reads if t.op.type != "VariableV2"]
        feeds = [placeholder(t.dtype, t.shape, name=f"capture_{i}") for i, t in enumerate(value_caps)]
        pred, *new_flat = _rewire(inner, roots, {id(t): p for t, p in zip(value_caps, feeds)})
        limit = None
        extra = []
        if maximum_iterations is not None:
            if hasattr(maximum_iterations, "op") or hasattr(maximum_iterations, "_as_tensor"):
                limit = convert_to_tensor(maximum_iterations)
                if not limit.dtype.is_integer:
                    raise TypeError(f"while_loop '{where}': maximum_iterations must be an integer, got "
                                    f"{limit.dtype.name} '{limit.name}'")
                extra = [limit]
            else:
                limit = int(maximum_iterations)
                if limit < 0:
                    raise ValueError(f"while_loop '{where}': maximum_iterations must be >= 0, got {limit}")
        specs = tuple((h.shape, h.dtype) for h in holders) + ((TensorShape(()), variant),)
        op = make_op("While", list(flat) + value_caps + var_caps + extra,
                     {"holders": tuple(holders), "cond": pred, "body": tuple(new_flat), "cap_feeds": tuple(feeds),
                      "n_vars": len(var_caps), "maximum_iterations": None if extra else limit,
                      "limit_input": bool(extra), "back_prop": bool(back_prop), "inner": tuple(inner),
                      "out_specs": specs}, name="Exit")
    outs = list(op.outputs[:len(flat)])
    if single and template is None:
        return outs[0]
    packed = pack_structure(template, outs)
    if not single and len(loop_vars) == 1 and not return_same_structure:
        return packed[0]  # as TF1: one loop variable in a list comes back on its own
    return packed


# -- the gradient of a loop ------------------------------------------------------------------------------
class _LoopGradient:
    """The body's gradient, built once per loop: what WhileGrad runs per saved iteration."""

    def __init__(self, op):
        from ..autodiff import gradients
        from .array_ops import placeholder
        from .math_ops import add, zeros_like
        holders, body, feeds = op.attrs["holders"], op.attrs["body"], op.attrs["cap_feeds"]
        n, k = len(holders), len(feeds)
        var_caps = op.inputs[n + k:n + k + op.attrs["n_vars"]]
        self.floats = [j for j, h in enumerate(holders) if h.dtype.is_floating]
        wrt = [(n + i, p) for i, p in enumerate(feeds) if p.dtype.is_floating] + \
              [(n + k + i, v) for i, v in enumerate(var_caps) if v.dtype.is_floating]
        graph = op.graph
        with _recording(graph) as ops, graph.control_dependencies(None), name_scope("body"):
            self.grad_feeds = [placeholder(holders[j].dtype, holders[j].shape, name=f"grad_{j}") for j in self.floats]
            found = gradients([body[j] for j in self.floats], [holders[j] for j in self.floats] + [x for _, x in wrt],
                              grad_ys=self.grad_feeds) if self.floats else []
            # a loop variable the body does not read: no gradient (shaped like its incoming one, not read
            # from its placeholder, which no iteration saves)
            outs = [g if g is not None else zeros_like(f) for g, f in zip(found, self.grad_feeds)]
            self.acc_feeds, self.positions = [], []  # per captured tensor with a gradient: its input position
            for (pos, x), g in zip(wrt, found[len(self.floats):]):
                if g is not None:
                    acc = placeholder(x.dtype, x.shape, name="acc")
                    self.acc_feeds.append(acc)
                    self.positions.append(pos)
                    outs.append(add(acc, g))
        self.outs = outs
        fed = {id(t) for t in self.grad_feeds + self.acc_feeds}
        grad_ops = [o for o in _reached(outs, ops, through_subgraphs=False) if not any(id(t) in fed for t in o.outputs)]
        forward = {id(t) for o in op.attrs["inner"] for t in o.outputs}
        value_of = {id(p): op.inputs[n + i] for i, p in enumerate(feeds)}
        self.saves, self.cap_feeds, self.cap_values = [], [], []
        for t in _outside_reads(grad_ops, outs, False):
            if id(t) in fed or t.op.type == "VariableV2":
                continue  # fed per iteration, or read where it lives
            if id(t) in forward:  # a value of the iteration: saved by the forward loop, with the other
                # outputs of its op (a plan lowers an op unless all its outputs are fed)
                self.saves.extend(o for o in t.op.outputs if all(o is not s for s in self.saves))
            else:
                self.cap_feeds.append(t)  # the same for every iteration: fed once
                self.cap_values.append(value_of.get(id(t), t))


def _grad_while(op, *grads):
    result = [None] * len(op.inputs)
    if not op.attrs["back_prop"]:
        return result
    # one body gradient per gradient computation (TensorArray gradients are found by its name scope)
    built = op.attrs.setdefault("gradients", {})
    lg = built.get(gradient_source())
    if lg is None:
        lg = built[gradient_source()] = _LoopGradient(op)
        saves = list(op.attrs.get("saves", ()))
        saves += [t for t in lg.saves if all(t is not s for s in saves)]
        op.attrs["saves"] = tuple(saves)  # from now on the forward loop records them
    if not lg.floats:
        return result
    from .math_ops import zeros_like
    like = [op.inputs[j] for j in lg.floats + lg.positions]  # read for their shapes: the gradients' shapes
    g_in = [grads[j] if grads[j] is not None else zeros_like(op.outputs[j]) for j in lg.floats]
    specs = tuple((t.shape, t.dtype) for t in like)
    back = make_op("WhileGrad", [op.outputs[-1]] + g_in + lg.cap_values + like,
                   {"forward": op, "saves": tuple(lg.saves), "grad_feeds": tuple(lg.grad_feeds),
                    "acc_feeds": tuple(lg.acc_feeds), "cap_feeds": tuple(lg.cap_feeds), "outs": tuple(lg.outs),
                    "out_specs": specs}, name="WhileGrad")
    for g, j in zip(back.outputs, lg.floats + lg.positions):
        result[j] = g
    return result


def _no_second_order(op, *grads):
    """WhileGrad reads the forward iterations from a trace saved at run time, which no gradient can follow
    back into the forward loop: a second derivative would need the forward loop's gradient to take
    cotangents of every saved tensor of every iteration (and WhileGrad to save a trace of its own)."""
    raise NotImplementedError(f"the gradient of the loop gradient '{op.name}' (a second derivative through "
                              f"tf.while_loop) is not supported: the loop's gradient runs over iterations saved "
                              f"at run time, which have no gradient of their own. When the number of steps is "
                              f"known when building, compute it with a Python loop (unrolled ops) instead")


register("While", _specs_rule, grad=_grad_while, stateful=True, session_op=True)
register("WhileGrad", _specs_rule, grad=_no_second_order, stateful=True, session_op=True)
