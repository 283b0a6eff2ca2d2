"""Debugging aids: NaN/Inf checking of every kernel output, the generated plan of a run, Graphviz export.

Numerics checking rides on the public plugin hook `nnplug_wrap_kernel`: while it is enabled an internal
plugin wraps each kernel of every plan compiled from then on, and the wrapper checks the kernel's
floating-point outputs. Plans compiled with no wrapper installed pay nothing, so turning checks on and off
clears the plan caches of every live Session (their next run recompiles, with or without the checks).

While checking, backends do not fuse elementwise chains (a fused kernel would hide the op at fault); the
wrapper switches fusion off on the backend instance it compiles for and disabling switches it back.
Constant-folded values are computed at compile time and not checked.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import numpy as np

from . import plugins
from .errors import InvalidArgumentError
from .graph import Graph, Operation, Tensor, get_default_graph, get_default_session
from .hookspecs import hookimpl
from .shapes import fmt
from ._types import FeedDict, Fetches

if TYPE_CHECKING:
    from .session import Session

_PLUGIN_NAME = "nnplug-check-numerics"
_state = {"enabled": False}
_lock = threading.Lock()
_unfused = {}  # backends whose elementwise fusion is off while checking (id -> instance)


def _bad_kind(host):
    """'NaN', 'Inf' or None for a host array."""
    if host.dtype.kind not in "fc":
        return None
    if np.isnan(host).any():
        return "NaN"
    if np.isinf(host).any():
        return "Inf"
    return None


def _describe_inputs(args, spec, to_host):
    parts = []
    for i, (a, shape, dtype) in enumerate(zip(args, spec.in_shapes, spec.in_dtypes)):
        if a is None:
            state = "shape only"
        else:
            bad = _bad_kind(np.asarray(to_host(a, False)))
            state = f"holds {bad}" if bad else "finite"
        parts.append(f"#{i} {dtype.name} {fmt(shape)} {state}")
    return "; ".join(parts)


class _CheckNumerics:
    """The internal plugin: wraps kernels with floating-point outputs."""

    @hookimpl
    def nnplug_wrap_kernel(self, spec, kernel):
        if not any(d.is_floating for d in spec.out_dtypes):
            return None
        op, backend = spec.op, spec.backend
        if backend is not None and backend.fusable_ops:
            _unfused[id(backend)] = backend
            backend.fusable_ops = frozenset()  # an instance attribute: every kernel stays checked
        to_host = backend.to_host if backend is not None else (lambda v, persistent=False: np.asarray(v))
        single = len(spec.out_dtypes) == 1

        def checked(*args, **kwargs):
            out = kernel(*args, **kwargs)
            if _state["enabled"]:
                outs = [out] if single else list(out)
                for i, value in enumerate(outs):
                    bad = _bad_kind(np.asarray(to_host(value, False)))
                    if bad:
                        raise InvalidArgumentError(_message(bad, i, spec, op, args, to_host), op)
            return out

        checked.__wrapped__ = kernel
        return checked


def _message(bad, index, spec, op, args, to_host):
    where = f"{spec.op_type} op '{spec.name}'"
    if op is not None and op.type != spec.op_type:
        where = f"{spec.op_type} kernel of {op.type} op '{op.name}'"
    msg = (f"check_numerics: {bad} in output {index} of {where} (shape {fmt(spec.out_shapes[index])}, "
           f"{spec.out_dtypes[index].name}), the first op whose output holds NaN or Inf. "
           f"Kernel inputs: {_describe_inputs(args, spec, to_host) or 'none'}")
    if op is not None and op.inputs:
        names = ", ".join(f"'{t.name}' {t.dtype.name} {fmt(t.shape)}" for t in op.inputs)
        msg += f". Op inputs: {names}"
    return msg


_plugin = _CheckNumerics()


def _clear_plan_caches():
    from . import session
    for s in list(session._live_sessions):
        with s._lock:
            s._plans.clear()


def enable_check_numerics() -> None:
    """Check every kernel output of plans compiled from now on for NaN/Inf; clears live plan caches."""
    with _lock:
        if not _state["enabled"]:
            plugins.register_plugin(_plugin, name=_PLUGIN_NAME)
            _state["enabled"] = True
            _clear_plan_caches()


def disable_check_numerics() -> None:
    """Stop checking; plans recompile without the wrappers, at full speed."""
    with _lock:
        if _state["enabled"]:
            _state["enabled"] = False
            plugins.unregister_plugin(_PLUGIN_NAME)
            for backend in _unfused.values():
                del backend.fusable_ops  # back to the class's set
            _unfused.clear()
            _clear_plan_caches()


def check_numerics_enabled() -> bool:
    return _state["enabled"]


@contextlib.contextmanager
def check_numerics() -> Iterator[None]:
    """`with nnplug.debugging.check_numerics(): sess.run(...)` — checks on inside the block only."""
    was = _state["enabled"]
    enable_check_numerics()
    try:
        yield
    finally:
        if not was:
            disable_check_numerics()


def explain(fetches: Fetches, feed_dict: FeedDict | None = None, session: Session | None = None,
            file: IO[str] | None = None) -> str:
    """The generated Python source of the plan that `session.run(fetches, feed_dict)` would execute:
    one kernel call per line, with the op each comes from, then the buffers it writes temporaries into
    (`out=bN`, allocated once). Printed to `file` if given; always returned."""
    session = session or get_default_session()
    plan = session.plan_for(fetches, feed_dict)
    source = plan.source
    if plan.buffers:
        total = sum(getattr(b, "nbytes", 0) for b in plan.buffers.values())
        source += f"# planned buffers: {len(plan.buffers)}, {total / 1024:.1f} KiB, reused by every run\n"
        source += "".join(f"#   {name}: {tuple(b.shape)} {b.dtype}\n" for name, b in plan.buffers.items())
    if file is not None:
        print(source, file=file)
    return source


def _dot_quote(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph_or_fetches: Graph | Fetches | None = None) -> str:
    """Graphviz DOT text of a Graph (every op), or of the ops that some fetches need (a tensor, an op or a
    list of them). Edges carry the tensor's shape and dtype; control dependencies are dashed."""
    from .compiler import prune
    if graph_or_fetches is None:
        graph_or_fetches = get_default_graph()
    if hasattr(graph_or_fetches, "get_operations"):
        ops = graph_or_fetches.get_operations()
    else:
        items = graph_or_fetches if isinstance(graph_or_fetches, (list, tuple)) else [graph_or_fetches]
        targets = []
        for item in items:
            if hasattr(item, "_as_tensor"):
                item = item._as_tensor()
            if isinstance(item, Tensor):
                targets.append(item.op)
            elif isinstance(item, Operation):
                targets.append(item)
            else:
                raise TypeError(f"to_dot() takes a Graph, tensors or operations, not {item!r:.60}")
        if not targets:
            raise ValueError("to_dot() got no tensors or operations")
        ops = prune(targets[0].graph, targets, {})
    lines = ["digraph nnplug {", "  rankdir=TB;", "  node [shape=box, fontsize=10];"]
    ids = {op: f"op{i}" for i, op in enumerate(ops)}
    for op in ops:
        shape = "ellipse" if op.type in ("Placeholder", "VariableV2", "Const") else "box"
        label = _dot_quote(op.name)[:-1] + "\\n" + _dot_quote(op.type)[1:]  # a DOT line break
        lines.append(f"  {ids[op]} [label={label}, shape={shape}];")
    for op in ops:
        for t in op.inputs:
            if t.op in ids:
                label = _dot_quote(f"{fmt(t.shape)} {t.dtype.name}")
                lines.append(f"  {ids[t.op]} -> {ids[op]} [label={label}];")
        for c in op.control_inputs:
            if c in ids:
                lines.append(f"  {ids[c]} -> {ids[op]} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"
