"""Run-time checks TF1 programs add: check_numerics (and verify_tensor_all_finite, add_check_numerics_ops),
failing with TF1's "<message> : Tensor had NaN values" naming the tensor; and the variable-initialisation
queries (is_variable_initialized, report_uninitialized_variables, assert_variables_initialized), which ask
the Session itself: they are source ops (OpDef.source) whose host kernels run before the plan with the
Session at hand.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import FailedPreconditionError, InvalidArgumentError
from ..graph import Operation, Tensor, control_dependencies, convert_to_tensor, get_default_graph, make, make_op
from ..shapes import ShapeError, TensorShape
from .registry import register
from .._types import TensorLike

GRADIENT_MESSAGE = "Not a number (NaN) or infinity (Inf) values detected in gradient. "


# -- check_numerics ------------------------------------------------------------------------------------
def _check_rule(shapes, dtypes, attrs):
    if not dtypes[0].is_floating:
        raise ShapeError(f"CheckNumerics needs a floating-point tensor, got {dtypes[0].name}")
    return [(shapes[0], dtypes[0])]


def _check_host(spec):
    message, tensor, op_name = spec.attrs["message"], spec.attrs["tensor"], spec.name

    def check(x):
        nan, inf = bool(np.isnan(x).any()), bool(np.isinf(x).any())
        if nan or inf:
            status = "Inf and NaN" if nan and inf else "NaN" if nan else "Inf"
            raise InvalidArgumentError(f"{message} : Tensor had {status} values (tensor '{tensor}', "
                                       f"op '{op_name}')")
        return x
    return check


def _grad_check(op, g):
    return [check_numerics(g, GRADIENT_MESSAGE + op.attrs["message"])]


register("CheckNumerics", _check_rule, stateful=True, host=_check_host, grad=_grad_check)


def check_numerics(tensor: TensorLike, message: str, name: str | None = None) -> Tensor:
    """`tensor` itself, failing the run with InvalidArgumentError when it holds a NaN or an infinity."""
    x = convert_to_tensor(tensor)
    return make("CheckNumerics", [x], {"message": str(message), "tensor": x.name}, name=name or "CheckNumerics")


def verify_tensor_all_finite(t: TensorLike, msg: str, name: str | None = None) -> Tensor:
    """TF1's alias of check_numerics."""
    return check_numerics(t, msg, name=name or "VerifyFinite")


def add_check_numerics_ops() -> Operation:
    """One op checking every floating-point tensor the default graph holds now, each check named
    '<op name>:<output index>' and run after the one before (TF1's chain)."""
    graph = get_default_graph()
    checks = []
    for op in list(graph.get_operations()):
        if op.type == "CheckNumerics":
            continue
        for t in op.outputs:
            if t.dtype not in (_dt.float16, _dt.float32, _dt.float64):
                continue
            with control_dependencies(checks):
                checks = [check_numerics(t, f"{op.name}:{t.value_index}").op]
    return make_op("NoOp", [], {}, name="CheckNumerics_group") if not checks else checks[0]


# -- variable initialisation, asked of the Session -------------------------------------------------------
def _initialized(session, variables):
    return [session.variable_value(v) is not None for v in variables]


def _is_initialized_host(spec):
    (var,) = spec.attrs["variables"]
    return lambda: np.asarray(_initialized(spec.state, [var])[0])


def _report_host(spec):
    variables = spec.attrs["variables"]

    def report():
        done = _initialized(spec.state, variables)
        return np.array([v.op.name.encode() for v, ok in zip(variables, done) if not ok], dtype=object)
    return report


def _assert_initialized_host(spec):
    variables = spec.attrs["variables"]

    def check():
        missing = [v.op.name for v, ok in zip(variables, _initialized(spec.state, variables)) if not ok]
        if missing:
            raise FailedPreconditionError(f"Attempting to use uninitialized value {missing[0]} (op '{spec.name}': "
                                          f"uninitialized: {', '.join(missing)})")
        return np.asarray(True)
    return check


for _name, _shape, _dtype, _host in (("IsVariableInitialized", [], _dt.bool_, _is_initialized_host),
                                     ("ReportUninitializedVariables", [None], _dt.string, _report_host),
                                     ("AssertVariablesInitialized", [], _dt.bool_, _assert_initialized_host)):
    register(_name, (lambda s, d: lambda shapes, dtypes, attrs: [(TensorShape(s), d)])(_shape, _dtype),
             stateful=True, host=_host, source=True)


def _var_list(var_list):
    from ..variables import global_variables, local_variables
    return list(global_variables() + local_variables() if var_list is None else var_list)


def is_variable_initialized(variable: object, name: str | None = None) -> Tensor:
    """A bool scalar: whether the running Session has initialised `variable`."""
    return make("IsVariableInitialized", [], {"variables": (variable,)}, name=name or "IsVariableInitialized")


def report_uninitialized_variables(var_list: Sequence[object] | None = None,
                                   name: str = "report_uninitialized_variables") -> Tensor:
    """The names (bytes) of the variables (default: global and local) the running Session has not
    initialised."""
    return make("ReportUninitializedVariables", [], {"variables": tuple(_var_list(var_list))}, name=name)


def assert_variables_initialized(var_list: Sequence[object] | None = None) -> Operation | None:
    """An op failing the run with FailedPreconditionError while any of the variables (default: global and
    local) is uninitialised; None when there are none."""
    variables = _var_list(var_list)
    if not variables:
        return None
    return make("AssertVariablesInitialized", [], {"variables": tuple(variables)}, name="assert_initialized").op
