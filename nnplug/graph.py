"""The graph IR: Graph, Operation and symbolic Tensor, name scopes and the default-graph stack."""
from __future__ import annotations

import contextlib
import difflib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ContextManager

import numpy as np

from . import dtypes as _dt
from .shapes import ShapeError, TensorShape, fmt

if TYPE_CHECKING:
    from ._types import DTypeLike, FeedDict, Shape, SupportsTensor, TensorLike
    from .dtypes import DType
    from .session import Session


class GraphKeys:
    GLOBAL_VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    GLOBAL_STEP = "global_step"
    SUMMARIES = "summaries"
    # TF1's other standard collection names (their values are TF1's, so programs mixing names and keys agree)
    REGULARIZATION_LOSSES = "regularization_losses"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    MODEL_VARIABLES = "model_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    METRIC_VARIABLES = "metric_variables"
    QUEUE_RUNNERS = "queue_runners"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    SAVERS = "savers"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"


if TYPE_CHECKING:
    class TensorOperators:
        """The Python operators nnplug/ops/operators.py installs on Tensor (variables.py copies them onto
        Variable), declared for type checkers; at run time this base is `object`."""

        def __add__(self, other: TensorLike) -> Tensor: ...
        def __radd__(self, other: TensorLike) -> Tensor: ...
        def __sub__(self, other: TensorLike) -> Tensor: ...
        def __rsub__(self, other: TensorLike) -> Tensor: ...
        def __mul__(self, other: TensorLike) -> Tensor: ...
        def __rmul__(self, other: TensorLike) -> Tensor: ...
        def __truediv__(self, other: TensorLike) -> Tensor: ...
        def __rtruediv__(self, other: TensorLike) -> Tensor: ...
        def __floordiv__(self, other: TensorLike) -> Tensor: ...
        def __rfloordiv__(self, other: TensorLike) -> Tensor: ...
        def __pow__(self, other: TensorLike) -> Tensor: ...
        def __rpow__(self, other: TensorLike) -> Tensor: ...
        def __matmul__(self, other: TensorLike) -> Tensor: ...
        def __rmatmul__(self, other: TensorLike) -> Tensor: ...
        def __and__(self, other: TensorLike) -> Tensor: ...
        def __rand__(self, other: TensorLike) -> Tensor: ...
        def __or__(self, other: TensorLike) -> Tensor: ...
        def __ror__(self, other: TensorLike) -> Tensor: ...
        def __lt__(self, other: TensorLike) -> Tensor: ...
        def __le__(self, other: TensorLike) -> Tensor: ...
        def __gt__(self, other: TensorLike) -> Tensor: ...
        def __ge__(self, other: TensorLike) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __invert__(self) -> Tensor: ...
        def __getitem__(self, key: Any) -> Tensor: ...
else:
    TensorOperators = object


class Tensor(TensorOperators):
    """A symbolic value: output `index` of an Operation, with a static shape and a dtype."""

    __slots__ = ("op", "value_index", "shape", "dtype", "__weakref__")

    def __init__(self, op: Operation, index: int, shape: Shape | None, dtype: DType) -> None:
        self.op = op
        self.value_index = index
        self.shape = TensorShape(shape)
        self.dtype = dtype

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> Graph:
        return self.op.graph

    @property
    def device(self) -> str:
        return self.op.device

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape: Shape | None) -> None:
        shape = TensorShape(shape)
        if self.shape.unknown_rank:  # nothing known yet (a py_func's output): take the shape as given
            self.shape = shape
            return
        if len(shape) != len(self.shape) or any(a is not None and b is not None and a != b
                                                 for a, b in zip(shape, self.shape)):
            raise ShapeError(f"tensor '{self.name}' has shape {fmt(self.shape)}, incompatible with {fmt(shape)}")
        self.shape = TensorShape(a if a is not None else b for a, b in zip(shape, self.shape))

    def eval(self, feed_dict: FeedDict | None = None, session: Session | None = None) -> Any:
        return (session or get_default_session()).run(self, feed_dict)

    def consumers(self) -> list[Operation]:
        return [op for op in self.graph.get_operations() if any(t is self for t in op.inputs)]

    def __repr__(self) -> str:
        if self.shape.unknown_rank:  # as TF1 prints it
            return f'Tensor("{self.name}", dtype={self.dtype.name})'
        return f'Tensor("{self.name}", shape={fmt(self.shape)}, dtype={self.dtype.name})'

    def __bool__(self) -> bool:
        raise TypeError(f"using tensor '{self.name}' as a Python bool is not allowed; "
                        "use nnplug.where/nnplug.cond-style ops, or fetch it with Session.run")

    def __len__(self) -> int:
        if not self.shape or self.shape[0] is None:
            raise TypeError(f"len() of tensor '{self.name}' with shape {fmt(self.shape)} is unknown")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    __array_priority__ = 100  # so that `ndarray * tensor` defers to the tensor's operator


class Operation:
    """A node: an op type from the registry, its input tensors, attributes and output tensors."""

    def __init__(self, graph: Graph, op_type: str, name: str, inputs: Iterable[Tensor], attrs: Mapping[str, Any],
                 control_inputs: Iterable[Operation]) -> None:
        self.graph = graph
        self.type = op_type
        self.name = name
        self.inputs = list(inputs)
        self.attrs = dict(attrs)
        self.control_inputs = list(control_inputs)
        self.outputs = []
        self._id = len(graph._ops)
        self.device = ""  # the TF1 device it was pinned to ('/device:GPU:0'), '' for none
        self.gradient_override = None  # a tf.RegisterGradient name from Graph.gradient_override_map

    def get_attr(self, name: str) -> Any:
        return self.attrs[name]

    def run(self, feed_dict: FeedDict | None = None, session: Session | None = None) -> None:
        (session or get_default_session()).run(self, feed_dict)

    @property
    def output(self) -> Tensor:
        return self.outputs[0]

    def __repr__(self) -> str:
        ins = ", ".join(t.name for t in self.inputs)
        return f"<nnplug.Operation '{self.name}' type={self.type} inputs=[{ins}]>"


class Graph:
    """Holds operations in creation order; the unit that a Session compiles and runs."""

    def __init__(self) -> None:
        self._ops = []
        self._by_name = {}
        self._used_names = {}
        self._name_stack = ""
        self._control_deps = []
        self._device_stack = []  # tf.device(...) blocks, innermost last
        self._recorders = []  # lists collecting the ops made meanwhile (tf.cond's branches)
        self._collections = {}
        self.seed = None
        self._last_op_seed = 0
        self._var_scope = None  # set lazily by variables.variable_scope
        self._lock = threading.RLock()
        self.finalized = False
        self._gradient_overrides = {}  # op type -> RegisterGradient name (gradient_override_map)

    # -- construction -------------------------------------------------------------------
    def unique_name(self, name: str, mark_used: bool = True) -> str:
        full = f"{self._name_stack}/{name}" if self._name_stack else name
        key = full.lower()
        count = self._used_names.get(key, 0)
        if mark_used:
            self._used_names[key] = count + 1
        if count:
            candidate = f"{full}_{count}"
            while candidate.lower() in self._used_names:
                count += 1
                candidate = f"{full}_{count}"
            if mark_used:
                self._used_names[candidate.lower()] = 1
            return candidate
        return full

    def create_op(self, op_type: str, inputs: Sequence[Tensor], attrs: Mapping[str, Any] | None = None,
                  name: str | None = None) -> Operation:
        """Infer output shapes with the op's registered rule and add the operation to the graph."""
        from .ops import registry
        if self.finalized:
            raise RuntimeError("graph is finalized and cannot be modified")
        opdef = registry.get(op_type)
        attrs = attrs or {}
        for t in inputs:
            if t.graph is not self:
                raise ValueError(f"tensor '{t.name}' belongs to another graph than the {op_type} op being built")
        with self._lock:
            if name and name.endswith("/"):  # an exact name already made unique by a name scope
                op_name = name[:-1]
                self._used_names.setdefault(op_name.lower(), 1)
            else:
                op_name = self.unique_name(name or op_type)
            check_name(op_name, f"the {op_type} op")
            try:
                if any(t.shape.unknown_rank for t in inputs):
                    outs = _infer_unknown_rank(opdef, inputs, attrs)
                else:
                    outs = opdef.infer([t.shape for t in inputs], [t.dtype for t in inputs], attrs)
            except ShapeError as e:
                shapes = ", ".join(f"'{t.name}' {fmt(t.shape)}" for t in inputs)
                raise ShapeError(f"{op_type} op '{op_name}': {e} (inputs: {shapes})") from None
            control = [c for deps in self._control_deps for c in deps]
            op = Operation(self, op_type, op_name, inputs, attrs, control)
            op.device = self._device_stack[-1] if self._device_stack else ""
            op.gradient_override = self._gradient_overrides.get(op_type)
            op.outputs = [Tensor(op, i, s, d) for i, (s, d) in enumerate(outs)]
            self._ops.append(op)
            self._by_name[op_name] = op
            for ops in self._recorders:
                ops.append(op)
        return op

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        if name:
            check_name(name, "a name scope", scope=True)
        old = self._name_stack
        if name is None or name == "":
            self._name_stack = "" if name == "" else old
        elif name.endswith("/"):
            self._name_stack = name[:-1]
            self._used_names.setdefault(self._name_stack.lower(), 1)
        else:
            self._name_stack = self.unique_name(name)
        try:
            yield (self._name_stack + "/") if self._name_stack else ""
        finally:
            self._name_stack = old

    @contextlib.contextmanager
    def device(self, device_name_or_function: str | Callable[..., Any] | None) -> Iterator[None]:
        """Ops made inside carry this device (TF1's `with tf.device('/gpu:0')`); see nnplug/devices.py."""
        from .devices import canonical
        spec = device_name_or_function
        self._device_stack.append(canonical(spec) if not callable(spec) else "")
        try:
            yield
        finally:
            self._device_stack.pop()

    @contextlib.contextmanager
    def control_dependencies(self,
                             control_inputs: Iterable[Tensor | Operation | SupportsTensor] | None) -> Iterator[None]:
        if control_inputs is None:
            saved, self._control_deps = self._control_deps, []
            try:
                yield
            finally:
                self._control_deps = saved
            return
        ops = [c.op if isinstance(c, Tensor) else getattr(c, "op", c) for c in control_inputs]
        self._control_deps.append(ops)
        try:
            yield
        finally:
            self._control_deps.pop()

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map: Mapping[str, str]) -> Iterator[None]:
        """Ops of these types made inside get the gradient registered (tf.RegisterGradient) under the
        mapped name, as TF1."""
        if not isinstance(op_type_map, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in op_type_map.items()):
            raise TypeError(f"gradient_override_map takes a dict of op type -> gradient name strings, got "
                            f"{op_type_map!r:.80}")
        saved = self._gradient_overrides
        self._gradient_overrides = {**saved, **op_type_map}
        try:
            yield
        finally:
            self._gradient_overrides = saved

    @contextlib.contextmanager
    def colocate_with(self, op: object, ignore_existing: bool = False) -> Iterator[None]:
        """A placement hint TF1 programs give; nnplug places by tf.device alone, so it changes nothing."""
        yield

    def next_op_seed(self) -> int:
        self._last_op_seed += 1
        return self._last_op_seed

    # -- lookup -------------------------------------------------------------------------
    def get_operations(self) -> list[Operation]:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        try:
            return self._by_name[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._by_name), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise KeyError(f"the graph has no operation named '{name}'{hint}") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        if ":" not in name:
            raise ValueError(f"'{name}' names an operation; a tensor name looks like '{name}:0'")
        op_name, idx = name.rsplit(":", 1)
        op = self.get_operation_by_name(op_name)
        try:
            return op.outputs[int(idx)]
        except (IndexError, ValueError):
            raise KeyError(f"operation '{op_name}' has {len(op.outputs)} outputs; no tensor '{name}'") from None

    def as_graph_element(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        return obj

    # -- collections --------------------------------------------------------------------
    def add_to_collection(self, key: str, value: Any) -> None:
        self._collections.setdefault(key, []).append(value)

    def get_collection(self, key: str, scope: str | None = None) -> list[Any]:
        """The items under `key`; with `scope`, those whose name the regular expression matches from its
        start, as TF1 (`scope='hidden[123]'` picks three layers' variables); items without a name are left out."""
        items = self._collections.get(key, [])
        if scope:
            pattern = re.compile(scope)
            items = [v for v in items if isinstance(getattr(v, "name", None), str) and pattern.match(v.name)]
        return list(items)

    def get_all_collection_keys(self) -> list[str]:
        return [key for key, items in self._collections.items() if items]

    def get_collection_ref(self, key: str) -> list[Any]:
        return self._collections.setdefault(key, [])

    def finalize(self) -> None:
        self.finalized = True

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        _stack.graphs.append(self)
        try:
            yield self
        finally:
            _stack.graphs.pop()


def _infer_unknown_rank(opdef, inputs, attrs):
    """Outputs of an op fed a tensor of unknown rank: the rule is tried at every plausible rank; an output
    shape that is the same for every rank that works is kept, any other is unknown. Everything is
    checked again on concrete shapes when a plan is compiled."""
    results, error = [], None
    for rank in range(7):
        shapes = [TensorShape([None] * rank) if t.shape.unknown_rank else t.shape for t in inputs]
        try:
            results.append(opdef.infer(shapes, [t.dtype for t in inputs], attrs))
        except ShapeError as e:
            error = error or e
    if not results:
        raise error
    first = results[0]
    return [(s if all(tuple(r[i][0]) == tuple(s) for r in results) else TensorShape(None), d)
            for i, (s, d) in enumerate(first)]


class _GraphStack(threading.local):
    """Per thread: the graphs made default with `as_default()`, and the sessions entered with `with`."""

    def __init__(self):
        self.graphs = []
        self.sessions = []


_stack = _GraphStack()
_global_default = [Graph()]


def get_default_graph() -> Graph:
    return _stack.graphs[-1] if _stack.graphs else _global_default[0]


def get_default_session() -> Session:
    if not _stack.sessions:
        raise ValueError("no default session: use `with nnplug.Session() as sess:` or pass session=")
    return _stack.sessions[-1]


def push_default_session(session: Session) -> None:
    _stack.sessions.append(session)


def pop_default_session(session: Session) -> None:
    if session in _stack.sessions:
        _stack.sessions.remove(session)


# TF1's patterns for op names and name scopes (tensorflow/python/framework/ops.py)
_OP_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/>]*\Z")
_SCOPE_NAME = re.compile(r"[A-Za-z0-9_.\-/>]*\Z")


def check_name(name: str, what: str, scope: bool = False, source: str | None = None) -> None:
    """Raise a ValueError naming `what` (and `source`, e.g. the file it came from) unless `name` is a
    valid TF1 op name (scope: a valid name-scope name). Names never reach generated code, but programs
    and files that exchange graphs rely on these rules."""
    if not isinstance(name, str):
        raise TypeError(f"the name of {what} must be a string, got {type(name).__name__}"
                        + (f" (in {source})" if source else ""))
    body = name[:-1] if name.endswith("/") else name
    pattern = _SCOPE_NAME if scope else _OP_NAME
    if not pattern.match(body) and not (scope and body == ""):
        where = f" in {source}" if source else ""
        raise ValueError(f"{body!r} is not a valid {'scope' if scope else 'op'} name for {what}{where}: TF1 names "
                         f"match [A-Za-z0-9.][A-Za-z0-9_.\\-/>]* (letters, digits, '_', '.', '-', '/', '>')")


def reset_default_graph() -> None:
    if _stack.graphs:
        raise AssertionError("reset_default_graph() cannot be called inside a `with graph.as_default()` block")
    _global_default[0] = Graph()


def name_scope(name: str | None, default_name: str | None = None, values: Any = None) -> ContextManager[str]:
    return get_default_graph().name_scope(name if name is not None else default_name)


def device(device_name_or_function: str | Callable[..., Any] | None) -> ContextManager[None]:
    return get_default_graph().device(device_name_or_function)


def control_dependencies(control_inputs: Iterable[Tensor | Operation | SupportsTensor] | None) -> ContextManager[None]:
    return get_default_graph().control_dependencies(control_inputs)


def add_to_collection(key: str, value: Any) -> None:
    get_default_graph().add_to_collection(key, value)


def get_collection(key: str, scope: str | None = None) -> list[Any]:
    return get_default_graph().get_collection(key, scope)


def make_op(op_type: str, inputs: Sequence[Tensor], attrs: Mapping[str, Any] | None = None,
            name: str | None = None) -> Operation:
    """Create an op in the graph of its inputs (or the default graph); returns the Operation."""
    g = inputs[0].graph if inputs else get_default_graph()
    return g.create_op(op_type, inputs, attrs, name)


def make(op_type: str, inputs: Sequence[Tensor], attrs: Mapping[str, Any] | None = None,
         name: str | None = None) -> Tensor:
    """Like make_op, for single-output ops: returns the output Tensor."""
    return make_op(op_type, inputs, attrs, name).outputs[0]


def constant(value: TensorLike, dtype: DTypeLike | None = None, shape: Sequence[int] | None = None,
             name: str = "Const") -> Tensor:
    """A constant tensor; Python floats become float32 and ints int32, as in TF1."""
    if isinstance(value, Tensor):
        raise TypeError(f"constant() takes a value, not the tensor '{value.name}'")
    dtype = _dt.as_dtype(dtype) if dtype is not None else _dt.infer_dtype(value)
    if dtype == _dt.string:
        arr = _dt.as_strings(value, f"the string constant '{name}'")
    elif np.asarray(value).dtype.kind in "OSUV":
        raise TypeError(f"cannot make a {dtype.name} constant from {value!r:.60}")
    else:
        arr = np.array(value, dtype=dtype.np)
    if shape is not None:
        shape = tuple(shape)
        arr = np.broadcast_to(arr, shape).copy() if arr.size == 1 else arr.reshape(shape)
    return make("Const", [], {"value": arr, "dtype": dtype, "shape": arr.shape}, name)


def convert_to_tensor(value: TensorLike, dtype: DTypeLike | None = None, name: str | None = None) -> Tensor:
    """Tensors pass through (dtype checked); variables give their value; anything else becomes a constant."""
    if hasattr(value, "_as_tensor"):
        value = value._as_tensor()
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != _dt.as_dtype(dtype):
            raise TypeError(f"tensor '{value.name}' has dtype {value.dtype.name}, expected {_dt.as_dtype(dtype).name}")
        return value
    if dtype is not None:
        dtype = _dt.as_dtype(dtype)
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and dtype.is_integer:
            raise TypeError(f"cannot convert float value {value!r:.60} to a {dtype.name} tensor")
    return constant(value, dtype=dtype, name=name or "Const")
