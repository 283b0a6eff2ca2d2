"""Variables (state that lives in a Session on its backend), assign ops, variable scopes and get_variable."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import dtypes as _dt
from .graph import (
    GraphKeys, Operation, Tensor, TensorOperators, convert_to_tensor, get_default_graph, get_default_session, make,
    make_op,
)
from .shapes import ShapeError, TensorShape, fmt
from .ops.registry import register
from ._types import DTypeLike, FeedDict, InitializerLike, Regularizer, Shape, SupportsTensor, TensorLike

if TYPE_CHECKING:
    from .session import Session


def _assign_rule(shapes, dtypes, attrs):
    var = attrs["variable"]
    value = shapes[0]
    if len(value) != len(var.shape) or any(a is not None and a != b for a, b in zip(value, var.shape)):
        raise ShapeError(f"cannot assign a value of shape {fmt(value)} to variable '{var.name}' "
                         f"of shape {fmt(var.shape)}")
    if dtypes[0] != var.dtype:
        raise ShapeError(f"cannot assign a {dtypes[0].name} value to {var.dtype.name} variable '{var.name}'")
    return [(var.shape, var.dtype)]


register("VariableV2", lambda s, d, a: [(a["variable"].shape, a["variable"].dtype)], stateful=True, session_op=True)
for _name in ("Assign", "AssignAdd", "AssignSub"):
    register(_name, _assign_rule, stateful=True, session_op=True)
register("NoOp", lambda s, d, a: [], stateful=True, session_op=True)


def group(*inputs: Tensor | Operation | SupportsTensor | Sequence[Tensor | Operation | SupportsTensor] | None,
          name: str | None = None) -> Operation:
    """An op that runs all of `inputs` (tensors or ops) and returns nothing."""
    flat = []
    for i in inputs:
        flat.extend(i if isinstance(i, (list, tuple)) else [i])
    deps = [getattr(i, "op", i) for i in flat if i is not None]
    graph = deps[0].graph if deps else get_default_graph()
    with graph.control_dependencies(deps):
        return graph.create_op("NoOp", [], {}, name or "group_deps")


def no_op(name: str | None = None) -> Operation:
    return make_op("NoOp", [], {}, name or "NoOp")


class Variable(TensorOperators):
    """A mutable tensor held by each Session; prints as `<nnplug.Variable 'weight:0' shape=(1,) dtype=float32>`."""

    def __init__(self, initial_value: TensorLike | Callable[..., TensorLike] | None = None, trainable: bool = True,
                 collections: Sequence[str] | None = None, validate_shape: bool = True, name: str | None = None,
                 dtype: DTypeLike | None = None, expected_shape: Shape | None = None,
                 shape: Shape | None = None) -> None:
        if initial_value is None:
            raise ValueError("Variable needs an initial_value")
        graph = get_default_graph()
        self.graph = graph
        # as TF1's init_scope: a variable made inside control_dependencies (Adam's slots under UPDATE_OPS)
        # must not make its initializer wait for those ops
        with graph.control_dependencies(None), graph.name_scope(name or "Variable") as scope:
            if callable(initial_value) and not isinstance(initial_value, Tensor):
                initial_value = initial_value()
            init = convert_to_tensor(initial_value, dtype=dtype, name="initial_value")
            if dtype is not None and init.dtype != _dt.as_dtype(dtype):
                raise TypeError(f"variable '{scope[:-1]}': initial value has dtype {init.dtype.name}, "
                                f"expected {_dt.as_dtype(dtype).name}")
            self.dtype = init.dtype
            self.shape = TensorShape(shape if shape is not None else init.shape)
            if validate_shape and not self.shape.is_fully_defined():
                raise ShapeError(f"variable '{scope[:-1]}' needs a fully known shape, its initial value has "
                                 f"{fmt(init.shape)}; pass validate_shape=False and a shape")
            self.trainable = trainable
            self._ref = graph.create_op("VariableV2", [], {"variable": self}, name=scope).outputs[0]
            self.name = self._ref.name
            self.op = self._ref.op
            self.initial_value = init
            self.initializer = graph.create_op("Assign", [init], {"variable": self}, "Assign")
        for key in (collections if collections is not None else [GraphKeys.GLOBAL_VARIABLES]):
            graph.add_to_collection(key, self)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in (collections or []):
            graph.add_to_collection(GraphKeys.TRAINABLE_VARIABLES, self)

    @classmethod
    def _restored(cls, graph, dtype, shape, trainable):
        """A Variable for a VariableV2 op rebuilt from a saved graph (nnplug/train/meta_graph.py): `_bind`
        gives it its op once made; its initial value and initializer are set after."""
        var = cls.__new__(cls)
        var.graph, var.dtype, var.shape, var.trainable = graph, dtype, shape, trainable
        return var

    def _bind(self, op):
        self._ref = op.outputs[0]
        self.name, self.op = self._ref.name, op

    # -- reading ------------------------------------------------------------------------
    def value(self) -> Tensor:
        return self._ref

    read_value = value

    def _as_tensor(self) -> Tensor:
        return self._ref

    def get_shape(self) -> TensorShape:
        return self.shape

    def eval(self, session: Session | None = None, feed_dict: FeedDict | None = None) -> Any:
        return self._ref.eval(feed_dict=feed_dict, session=session)

    def initialized_value(self) -> Tensor:
        """The value this variable is initialized with, so another variable can start from it in the same
        initializer run (TF1's Variables guide). It is the initial value itself: run alone after this
        variable changed, a random initial value draws anew (TF1 would read the variable)."""
        return self.initial_value

    # -- writing ------------------------------------------------------------------------
    def _assign(self, op_type, value, name):
        value = convert_to_tensor(value, dtype=self.dtype)
        return make(op_type, [value], {"variable": self}, name=name or op_type)

    def assign(self, value: TensorLike, use_locking: bool = False, name: str | None = None,
               read_value: bool = True) -> Tensor:
        return self._assign("Assign", value, name)

    def assign_add(self, delta: TensorLike, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Tensor:
        return self._assign("AssignAdd", delta, name)

    def assign_sub(self, delta: TensorLike, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Tensor:
        return self._assign("AssignSub", delta, name)

    def load(self, value: TensorLike, session: Session | None = None) -> None:
        (session or get_default_session()).load_variable(self, value)

    def __repr__(self) -> str:
        return f"<nnplug.Variable '{self.name}' shape={fmt(self.shape)} dtype={self.dtype.name}>"

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


def _copy_operators():
    """Variables behave like their value tensor in arithmetic, comparisons and indexing."""
    names = ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
             "__floordiv__", "__rfloordiv__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__",
             "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__getitem__", "__and__", "__or__", "__invert__",
             "__mod__", "__rmod__", "__xor__", "__rxor__", "__rand__", "__ror__"]
    for n in names:
        method = getattr(Tensor, n, None)
        if method is not None:
            setattr(Variable, n, (lambda m: lambda self, *a: m(self._ref, *a))(method))


def assign(ref: Variable, value: TensorLike, name: str | None = None, **kw: Any) -> Tensor:
    return ref.assign(value, name=name)


def assign_add(ref: Variable, value: TensorLike, name: str | None = None, **kw: Any) -> Tensor:
    return ref.assign_add(value, name=name)


def assign_sub(ref: Variable, value: TensorLike, name: str | None = None, **kw: Any) -> Tensor:
    return ref.assign_sub(value, name=name)


def global_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def variables_initializer(var_list: Sequence[Variable], name: str = "init") -> Operation:
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Operation:
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer() -> Operation:
    return variables_initializer(local_variables(), name="init_local")


# -- variable scopes and get_variable -------------------------------------------------------
AUTO_REUSE = "auto_reuse"


class VariableScope:
    def __init__(self, name: str, reuse: bool | str | None = None, initializer: InitializerLike | None = None) -> None:
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.original_name_scope = name + "/" if name else ""

    def reuse_variables(self) -> None:
        self.reuse = True


def _scope_state(graph):
    if graph._var_scope is None:
        graph._var_scope = {"stack": [VariableScope("", reuse=False)], "store": {}, "opened": {}}
    return graph._var_scope


def get_variable_scope() -> VariableScope:
    return _scope_state(get_default_graph())["stack"][-1]


@contextlib.contextmanager
def variable_scope(name_or_scope: str | VariableScope | None = None, default_name: str | None = None,
                   values: Any = None, reuse: bool | str | None = None, initializer: InitializerLike | None = None,
                   auxiliary_name_scope: bool = True, **kw: Any) -> Iterator[VariableScope]:
    """Prefix variable names (and op names) with a scope; `reuse=True` shares existing variables."""
    graph = get_default_graph()
    state = _scope_state(graph)
    parent = state["stack"][-1]
    if isinstance(name_or_scope, VariableScope):
        full = name_or_scope.name
    else:
        name = name_or_scope
        if name is None:
            if default_name is None:
                raise ValueError("variable_scope needs a name or a default_name")
            prefix = f"{parent.name}/{default_name}" if parent.name else default_name
            count = state["opened"].get(prefix, 0)
            state["opened"][prefix] = count + 1
            name = default_name if count == 0 else f"{default_name}_{count}"
        full = f"{parent.name}/{name}" if parent.name else name
        if name_or_scope is not None:  # entering a named scope again restarts its unnamed sub-scopes'
            for key in [k for k in state["opened"] if k.startswith(full + "/")]:  # counters, as TF1 does,
                del state["opened"][key]  # so `dense`, `dense_1` are found again under reuse=True
    inherited = reuse if reuse else parent.reuse  # TF1: reuse=False inherits, it cannot turn reuse off
    scope = VariableScope(full, reuse=inherited, initializer=initializer or parent.initializer)
    state["stack"].append(scope)
    try:
        if not auxiliary_name_scope:
            yield scope
        else:  # as TF1, a captured scope object too opens a name scope of its last part, under the current one
            with graph.name_scope(full.rsplit("/", 1)[-1]):
                yield scope
    finally:
        state["stack"].pop()


def get_variable(name: str, shape: Shape | None = None, dtype: DTypeLike | None = None,
                 initializer: InitializerLike | TensorLike | None = None,
                 regularizer: Regularizer | None = None, trainable: bool = True,
                 collections: Sequence[str] | None = None, **kw: Any) -> Variable:
    """Create `scope/name`, or return it when the scope reuses; errors say which case failed and why."""
    from . import initializers
    graph = get_default_graph()
    state = _scope_state(graph)
    scope = state["stack"][-1]
    full = f"{scope.name}/{name}" if scope.name else name
    store = state["store"]
    if full in store:
        if scope.reuse is True or scope.reuse == AUTO_REUSE:
            var = store[full]
            if shape is not None and tuple(TensorShape(shape)) != tuple(var.shape):
                raise ValueError(f"trying to share variable {full} with shape {fmt(TensorShape(shape))}, "
                                 f"but it has shape {fmt(var.shape)}")
            return var
        raise ValueError(f"variable {full} already exists; set reuse=True (or nnplug.AUTO_REUSE) in "
                         f"variable_scope to share it")
    if scope.reuse is True:
        raise ValueError(f"variable {full} does not exist, and the scope has reuse=True; "
                         f"create it in a scope without reuse first")
    if initializer is not None and (not callable(initializer) or isinstance(initializer, Tensor)):
        # a tensor, array or number is the value: its shape (and dtype, unless given) are the variable's
        value = initializer if isinstance(initializer, Tensor) else convert_to_tensor(initializer, dtype=dtype)
        if shape is not None and tuple(TensorShape(shape)) != tuple(value.shape):
            raise ValueError(f"get_variable('{full}'): shape {fmt(TensorShape(shape))} differs from its "
                             f"initializer's shape {fmt(value.shape)}")
        if not value.shape.is_fully_defined():
            raise ValueError(f"get_variable('{full}'): the initializer's shape {fmt(value.shape)} is not fully known")
        shape, dtype = tuple(value.shape), dtype or value.dtype
        initializer = lambda shape, dtype: value  # noqa: E731 - the value itself
    dtype = _dt.as_dtype(dtype or _dt.float32)
    if initializer is None:
        initializer = scope.initializer or initializers.glorot_uniform()
    if shape is None:
        raise ValueError(f"get_variable('{full}') needs a shape (or an initializer that is a tensor or array)")
    shape = tuple(int(d) for d in shape)
    var = Variable(lambda: initializers.get(initializer)(shape, dtype), name=full + "/", dtype=dtype,
                   trainable=trainable, collections=collections)
    store[full] = var
    if regularizer is not None:
        with graph.name_scope(full + "/Regularizer/"):
            loss = regularizer(var.value())
        if loss is not None:
            graph.add_to_collection("regularization_losses", loss)
    return var


# -- TF1's scatter ops on Variables: the new value from a host op (nnplug/ops/segment_ops.py), assigned ----
def _scatter(op_type, fn, ref, indices, updates, name):
    from .ops.segment_ops import scattered_value
    if not isinstance(ref, Variable):
        raise TypeError(f"{fn} updates a Variable in place, got {ref!r:.80}")
    graph = ref.graph
    with graph.name_scope(name or op_type):
        return ref.assign(scattered_value(op_type, ref.value(), indices, updates, fn))


def scatter_update(ref: Variable, indices: TensorLike, updates: TensorLike, use_locking: bool = True,
                   name: str | None = None) -> Tensor:
    """ref[indices] = updates along ref's first axis; returns the updated value (TF1's ref)."""
    return _scatter("ScatterUpdate", "scatter_update", ref, indices, updates, name)


def scatter_add(ref: Variable, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """ref[indices] += updates (repeated indices add up); returns the updated value."""
    return _scatter("ScatterAdd", "scatter_add", ref, indices, updates, name)


def scatter_sub(ref: Variable, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """ref[indices] -= updates (repeated indices subtract each); returns the updated value."""
    return _scatter("ScatterSub", "scatter_sub", ref, indices, updates, name)


def model_variables(scope: str | None = None) -> list[Variable]:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


# -- tf.make_template: a function whose variables are made on the first call and shared after -----------
class Template:
    """What make_template returns: calls `func` in one variable scope, the first with reuse off (creating
    the variables), every later one with reuse on (sharing them)."""

    def __init__(self, name: str, func: Callable[..., Any], create_scope_now: bool = False,
                 unique_name: str | None = None) -> None:
        self._name, self._func, self._unique_name = name, func, unique_name
        self._scope = None
        self._variables_created = False
        if create_scope_now:
            with variable_scope(unique_name, default_name=name) as scope:
                self._scope = scope

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._scope is None:
            with variable_scope(self._unique_name, default_name=self._name) as scope:
                self._scope = scope
                result = self._func(*args, **kwargs)
        else:
            with variable_scope(self._scope, reuse=True if self._variables_created else None):
                result = self._func(*args, **kwargs)
        self._variables_created = True
        return result

    @property
    def variable_scope(self) -> VariableScope | None:
        return self._scope

    @property
    def variable_scope_name(self) -> str:
        return self._scope.name if self._scope is not None else ""

    @property
    def variables(self) -> list[Variable]:
        return global_variables(self.variable_scope_name + "/") if self._scope is not None else []

    global_variables = variables

    @property
    def trainable_variables(self) -> list[Variable]:
        return trainable_variables(self.variable_scope_name + "/") if self._scope is not None else []


def make_template(name_: str, func_: Callable[..., Any], create_scope_now_: bool = False,
                  unique_name_: str | None = None, custom_getter_: Any = None, **kwargs: Any) -> Template:
    """`func_` (with `kwargs` bound) wrapped so that every call shares the variables the first made."""
    if custom_getter_ is not None:
        raise NotImplementedError("make_template: custom_getter_ is not supported")
    if not callable(func_):
        raise TypeError(f"make_template('{name_}'): func_ must be callable, got {func_!r:.60}")
    return Template(name_, functools.partial(func_, **kwargs) if kwargs else func_, create_scope_now_, unique_name_)
