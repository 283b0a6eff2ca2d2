"""The elementwise ops, one row each: `tanh = unary("Tanh", ...)` registers the op and returns its TF1 function.

A row says everything the rest of nnplug derives from it: the shape/dtype rule (from `kind`), the gradient,
the Array-API expression every xp backend runs (`xp`, or a NumPy ufunc name, which the numpy backend then
runs in place with `out=`), the C expression the OpenCL and CUDA code generators and the elementwise fusion
use (`c`), and the float64 reference and input domain the conformance suite checks it against. Adding an
elementwise op is one row here plus its export in `nnplug/__init__.py` (and `nnplug/nn.py` where TF has it).

`c` is a format string over the operands ({0}, {1}, ...), the output's C type ({T}) and the row's float
attributes ({alpha}), or a function (operands, T, input dtypes, attrs) -> expression for dtype-dependent
spellings. Attribute values enter C source only as numbers (`float(...)`), never as text.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make
from ..shapes import ShapeError, broadcast
from ..simplify import either_neutral, involution, right_neutral
from .registry import register
from .._types import BinaryOp, DTypeLike, TensorLike, UnaryOp
from ..dtypes import DType

_Op = TypeVar("_Op", bound=Callable[..., Tensor])

FLOATS = ("float32", "float64")
NUMERIC = ("float32", "float64", "int32")


class Elementwise:
    """One elementwise op's row (see the module docstring)."""

    def __init__(self, name, arity, kind, xp, c, ref, domain="any", grad_domain=None, dtypes=None, attrs=None,
                 ufunc=None, vector=False):
        self.name, self.arity, self.kind = name, arity, kind
        self.xp, self.c, self.ref = xp, c, ref
        self.domain = domain  # conformance inputs: 'any' (-2, 2), 'pos' (0.5, 2), 'away' (|x| in (0.2, 2))
        self.grad_domain = grad_domain or domain
        self.dtypes = dtypes or (FLOATS if kind == "float" else ("bool",) if kind == "logical" else NUMERIC)
        self.attrs = dict(attrs or {})  # float attributes and their defaults
        self.ufunc = ufunc  # a NumPy ufunc name computing the op exactly (numpy runs it with out=)
        self.vector = vector  # the C expression means the same on OpenCL float8 vectors
        self.function = None  # the TF1 function building the op
        self.has_gradient = False

    def resolve(self, xp):
        """The namespace's own function for a ufunc row (xp.tanh, ...)."""
        candidates = _XP_NAMES.get(self.ufunc, (self.ufunc,))
        for n in candidates:
            f = getattr(xp, n, None)
            if f is not None:
                return f
        raise AttributeError(f"array namespace {getattr(xp, '__name__', xp)} has none of {candidates}")

    @property
    def bool_out(self):
        return self.kind in ("compare", "logical")

    def c_expr(self, operands, ctype, in_dtypes, attrs):
        if callable(self.c):
            return self.c(operands, ctype, in_dtypes, attrs)
        numbers = {k: repr(float(attrs.get(k, v))) for k, v in self.attrs.items()}
        return self.c.format(*operands, T=ctype, **numbers)

    def __repr__(self):
        return f"<Elementwise {self.name}>"


ROWS = {}  # op type -> Elementwise
ROWS_BY_UFUNC = {}


# -- shape rules ---------------------------------------------------------------------------------
def _check_same_dtype(dtypes):
    if len(set(d.name for d in dtypes)) > 1:
        raise ShapeError("inputs have different dtypes " + " and ".join(d.name for d in dtypes))


def _rule(row):
    def rule(shapes, dtypes, attrs):
        if any(d.name == "string" for d in dtypes):
            raise ShapeError(f"{row.name} does not take string tensors (strings live on the host: feed, fetch, "
                             f"tf.identity and summaries take them)")
        if row.kind == "cast":
            return [(shapes[0], attrs["dtype"])]
        if row.kind == "select":
            if dtypes[0] != _dt.bool_:
                raise ShapeError(f"condition must be bool, got {dtypes[0].name}")
            _check_same_dtype(dtypes[1:])
            out_dtype = dtypes[1]
        else:
            _check_same_dtype(dtypes)
            out_dtype = _dt.bool_ if row.bool_out else dtypes[0]
        if row.kind == "float" and not dtypes[0].is_floating:
            raise ShapeError(f"{row.name} needs a floating-point input, got {dtypes[0].name}")
        out = shapes[0]
        for s in shapes[1:]:
            out = broadcast(out, s)
        return [(out, out_dtype)]
    return rule


def _float_grad(fn):
    """Gradients flow only through floating-point inputs."""
    def grad(op, g):
        if not op.inputs[-1].dtype.is_floating:
            return [None] * len(op.inputs)
        return fn(op, g)
    return grad


def _define(name, arity, kind, grad, expand=None, simplify=None, **row_fields):
    row = ROWS[name] = Elementwise(name, arity, kind, **row_fields)
    row.has_gradient = grad is not None and grad is not _no_grad
    if row.ufunc is not None:
        ROWS_BY_UFUNC[row.ufunc] = row
    register(name, _rule(row), grad=_float_grad(grad) if grad is not None else None, expand=expand,
             simplify=simplify, elementwise=row)
    return row


def unary(name: str, *, xp: Any = None, ufunc: str | None = None, c: Any, ref: Any = None, grad: Any = None,
          kind: str = "float", expand: Any = None, **row_fields: Any) -> UnaryOp:
    """Define a one-input elementwise op; returns its TF1 function `f(x, name=None)`."""
    _define(name, 1, kind, grad, expand, xp=xp or _ufunc_xp(ufunc), c=c, ref=ref or _ufunc_ref(ufunc),
            ufunc=ufunc, **row_fields)

    row = ROWS[name]

    def fn(x: TensorLike, name: str | None = None) -> Tensor:
        return make(row.name, [convert_to_tensor(x)], dict(row.attrs), name=name)
    fn.__name__ = fn.__qualname__ = _snake(name)
    fn.__doc__ = f"Elementwise {name} (op type '{name}')."
    row.function = fn
    return fn


def binary(name: str, *, xp: Any = None, ufunc: str | None = None, c: Any, ref: Any = None, grad: Any = None,
           kind: str = "numeric", expand: Any = None, **row_fields: Any) -> BinaryOp:
    """Define a two-input broadcasting elementwise op; returns its TF1 function `f(x, y, name=None)`."""
    _define(name, 2, kind, grad, expand, xp=xp or _ufunc_xp(ufunc), c=c, ref=ref or _ufunc_ref(ufunc),
            ufunc=ufunc, **row_fields)

    row = ROWS[name]

    def fn(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
        x, y = pair(x, y)
        return make(row.name, [x, y], dict(row.attrs), name=name)
    fn.__name__ = fn.__qualname__ = _snake(name)
    fn.__doc__ = f"Elementwise {name} with broadcasting (op type '{name}')."
    row.function = fn
    return fn


def _snake(name):
    return "".join("_" + ch.lower() if ch.isupper() and i else ch.lower() for i, ch in enumerate(name))


# Array-API spellings that differ from NumPy's ufunc names
_XP_NAMES = {"power": ("pow", "power"), "negative": ("negative",), "absolute": ("abs",), "rint": ("round",),
             "true_divide": ("divide",)}


def _ufunc_xp(ufunc):
    if ufunc is None:
        return None
    return lambda xp, *args: ROWS_BY_UFUNC[ufunc].resolve(xp)(*args)


def _ufunc_ref(ufunc):
    return getattr(np, ufunc) if ufunc is not None else None


def pair(x: TensorLike, y: TensorLike) -> tuple[Tensor, Tensor]:
    """Convert two operands; a non-tensor takes the tensor's dtype, two tensors must agree."""
    x_is = isinstance(x, Tensor) or hasattr(x, "_as_tensor")
    y_is = isinstance(y, Tensor) or hasattr(y, "_as_tensor")
    if x_is:
        x = convert_to_tensor(x)
        y = convert_to_tensor(y) if y_is else convert_to_tensor(y, dtype=x.dtype)
    elif y_is:
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype=y.dtype)
    else:
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=x.dtype)
    if x.dtype != y.dtype:
        raise TypeError(f"operands '{x.name}' ({x.dtype.name}) and '{y.name}' ({y.dtype.name}) have different "
                        f"dtypes; cast one with nnplug.cast")
    return x, y


# -- gradient helpers ----------------------------------------------------------------------------
def sum_to(g: Tensor, x: Tensor) -> Tensor:
    """Reduce a broadcast gradient back to the shape of `x` (a no-op when shapes match at run time)."""
    if g.shape.is_fully_defined() and tuple(g.shape) == tuple(x.shape):
        return g
    return make("SumTo", [g, x])


def _x(op):
    return op.inputs[0]


def _y(op):
    return op.outputs[0]


def _is_float(dtype):
    return getattr(dtype, "name", dtype) in ("float16", "float32", "float64")


def _no_grad(op, g):
    return [None] * len(op.inputs)


# -- C spellings that depend on the dtype (OpenCL C and CUDA alike) --------------------------------
def _c_abs(a, t, dts, attrs):
    return f"fabs({a[0]})" if _is_float(dts[0]) else f"({t})abs({a[0]})"


def _c_sign(a, t, dts, attrs):
    if _is_float(dts[0]):
        return f"(isnan({a[0]}) ? {a[0]} : ({t})(({a[0]} > 0) - ({a[0]} < 0)))"
    return f"({t})(({a[0]} > 0) - ({a[0]} < 0))"


def _c_relu(a, t, dts, attrs):
    return f"({a[0]} > 0 || isnan({a[0]}) ? {a[0]} : ({t})0)" if _is_float(dts[0]) else f"({a[0]} > 0 ? {a[0]} : 0)"


def _c_div(a, t, dts, attrs):
    if _is_float(dts[0]):
        return f"({a[0]} / {a[1]})"
    # integer Div is floor division (NumPy's //)
    return f"(({a[0]}) / ({a[1]}) - ((({a[0]}) % ({a[1]}) != 0) && ((({a[0]}) < 0) != (({a[1]}) < 0))))"


def _c_pow(a, t, dts, attrs):
    return f"pow(({t}){a[0]}, ({t}){a[1]})" if _is_float(dts[0]) else f"({t})nn_ipow({a[0]}, {a[1]})"


def _c_extreme(cmp):
    def expr(a, t, dts, attrs):  # NaN propagates, as in NumPy
        if _is_float(dts[0]):
            return f"((isnan({a[0]}) || {a[0]} {cmp} {a[1]}) ? {a[0]} : {a[1]})"
        return f"({a[0]} {cmp} {a[1]} ? {a[0]} : {a[1]})"
    return expr


def _c_floor(a, t, dts, attrs):
    return f"floor({a[0]})" if _is_float(dts[0]) else a[0]


# helpers C sources include (OpenCL prelude, CUDA preamble)
C_PRELUDE = """
long nn_ipow(long a, long b) { long r = 1; if (b < 0) return a == 1 ? 1 : (a == -1 ? (b & 1 ? -1 : 1) : 0);
  while (b) { if (b & 1) r *= a; a *= a; b >>= 1; } return r; }
"""


# -- the rows: unary -------------------------------------------------------------------------------
def _full_like(x, value):
    return make("FullLike", [x], {"value": value, "dtype": x.dtype})


def _where(c, x, y):
    return make("Select", [c, x, y])


negative = unary("Neg", ufunc="negative", c="(-{0})", grad=lambda op, g: [-g], kind="numeric", vector=True,
                 simplify=involution)
abs = unary("Abs", ufunc="absolute", c=_c_abs, grad=lambda op, g: [g * sign(_x(op))],  # noqa: A001 - TF1 name
            kind="numeric", grad_domain="away", vector=True)
exp = unary("Exp", ufunc="exp", c="exp({0})", grad=lambda op, g: [g * _y(op)], vector=True)
log = unary("Log", ufunc="log", c="log({0})", grad=lambda op, g: [g / _x(op)], domain="pos", vector=True)
log1p = unary("Log1p", ufunc="log1p", c="log1p({0})", grad=lambda op, g: [g / (1.0 + _x(op))], domain="pos")
expm1 = unary("Expm1", ufunc="expm1", c="expm1({0})", grad=lambda op, g: [g * (_y(op) + 1.0)])
sqrt = unary("Sqrt", ufunc="sqrt", c="sqrt({0})", grad=lambda op, g: [g / (2.0 * _y(op))], domain="pos",
             vector=True)
rsqrt = unary("Rsqrt", xp=lambda xp, x: 1.0 / xp.sqrt(x), c="(({T})1 / sqrt({0}))",
              ref=lambda x: 1.0 / np.sqrt(x), grad=lambda op, g: [g * -0.5 * _y(op) * _y(op) * _y(op)],
              domain="pos", vector=True)
square = unary("Square", ufunc="square", c="({0} * {0})", grad=lambda op, g: [g * (2.0 * _x(op))],
               kind="numeric", vector=True)
reciprocal = unary("Reciprocal", ufunc="reciprocal", c="(({T})1 / {0})", ref=lambda x: 1.0 / x,
                   grad=lambda op, g: [-g * _y(op) * _y(op)], domain="pos", vector=True)
sin = unary("Sin", ufunc="sin", c="sin({0})", grad=lambda op, g: [g * cos(_x(op))], vector=True)
cos: UnaryOp = unary("Cos", ufunc="cos", c="cos({0})", grad=lambda op, g: [-g * sin(_x(op))], vector=True)
tanh = unary("Tanh", ufunc="tanh", c="tanh({0})", grad=lambda op, g: [make("TanhGrad", [_y(op), g])],
             vector=True)
sigmoid = unary("Sigmoid", xp=lambda xp, x: (xp.tanh(x * 0.5) + 1.0) * 0.5,  # exact and overflow-free
                c="(({T})0.5 * tanh(({T})0.5 * {0}) + ({T})0.5)", ref=lambda x: 1.0 / (1.0 + np.exp(-x)),
                grad=lambda op, g: [make("SigmoidGrad", [_y(op), g])], vector=True)
relu = unary("Relu", xp=lambda xp, x: xp.maximum(x, xp.zeros((), dtype=x.dtype)), c=_c_relu,
             ref=lambda x: np.where(x > 0, x, 0), grad=lambda op, g: [make("ReluGrad", [g, _x(op)])],
             kind="numeric", grad_domain="away")
softplus = unary("Softplus", xp=lambda xp, x: xp.logaddexp(x, xp.zeros((), dtype=x.dtype)),
                 c="({0} > 20 ? {0} : log1p(exp({0})))", ref=lambda x: np.logaddexp(x, 0.0),
                 grad=lambda op, g: [g * sigmoid(_x(op))])
softsign = unary("Softsign", xp=lambda xp, x: x / (1.0 + xp.abs(x)), c="({0} / (({T})1 + fabs({0})))",
                 ref=lambda x: x / (1.0 + np.abs(x)),
                 grad=lambda op, g: [g / square(1.0 + abs(_x(op)))], grad_domain="away", vector=True)
elu = unary("Elu", xp=lambda xp, x: xp.where(x > 0, x, xp.expm1(x)), c="({0} > 0 ? {0} : expm1({0}))",
            ref=lambda x: np.where(x > 0, x, np.expm1(x)),
            grad=lambda op, g: [g * _where(greater(_x(op), 0.0), _full_like(_y(op), 1), _y(op) + 1.0)],
            grad_domain="away")
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
selu = unary("Selu", xp=lambda xp, x: SELU_SCALE * xp.where(x > 0, x, SELU_ALPHA * xp.expm1(x)),
             c=f"({{0}} > 0 ? ({{T}}){SELU_SCALE!r} * {{0}} : ({{T}}){SELU_SCALE * SELU_ALPHA!r} * expm1({{0}}))",
             ref=lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
             grad=lambda op, g: [g * _where(greater(_x(op), 0.0), SELU_SCALE * _full_like(_y(op), 1),
                                                _y(op) + SELU_SCALE * SELU_ALPHA)],
             grad_domain="away")
_leaky_relu = unary("LeakyRelu", xp=lambda xp, x, alpha=0.2: xp.where(x > 0, x, x * alpha),
                    c="({0} > 0 ? {0} : ({T}){alpha} * {0})", attrs={"alpha": 0.2},
                    ref=lambda x, alpha=0.2: np.where(x > 0, x, alpha * x),
                    grad=lambda op, g: [make("LeakyReluGrad", [g, _x(op)], {"alpha": op.attrs["alpha"]})],
                    grad_domain="away")


_erf_np = np.vectorize(math.erf, otypes=[np.float64])  # NumPy has no erf ufunc: exact, one call per element


def _erf_xp(xp, x):
    f = getattr(xp, "erf", None)
    if f is not None:
        return f(x)
    return xp.asarray(np.asarray(_erf_np(np.asarray(x)), dtype=np.asarray(x).dtype))


erf = unary("Erf", xp=_erf_xp, c="erf({0})", ref=lambda x: np.asarray(_erf_np(x)),
            grad=lambda op, g: [g * (2.0 / math.sqrt(math.pi)) * exp(-square(_x(op)))])
sign: UnaryOp = unary("Sign", ufunc="sign", c=_c_sign, grad=_no_grad, kind="numeric")
floor = unary("Floor", ufunc="floor", c=_c_floor, grad=_no_grad)
ceil = unary("Ceil", ufunc="ceil", c="ceil({0})", grad=_no_grad)
round = unary("Round", ufunc="rint", c="rint({0})", grad=_no_grad)  # noqa: A001 - TF1 name; half to even
logical_not = unary("LogicalNot", ufunc="logical_not", c="(!{0})", kind="logical")


def leaky_relu(features: TensorLike, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """max(features, alpha * features) for 0 <= alpha <= 1, as one kernel (op type 'LeakyRelu')."""
    return make("LeakyRelu", [convert_to_tensor(features)], {"alpha": float(alpha)}, name=name)


# -- fused backward kernels (a backend without them gets the expansion into primitives) -------------
def _expand_tanh_grad(b, ins, attrs):
    y, g = ins
    return [b.emit("Mul", [g, b.emit("Sub", [b.scalar(1, y), b.emit("Mul", [y, y])])])]


def _expand_sigmoid_grad(b, ins, attrs):
    y, g = ins
    return [b.emit("Mul", [g, b.emit("Mul", [y, b.emit("Sub", [b.scalar(1, y), y])])])]


def _expand_relu_grad(b, ins, attrs):
    g, x = ins
    mask = b.emit("Cast", [b.emit("Greater", [x, b.scalar(0, x)])], {"dtype": g.dtype})
    return [b.emit("Mul", [g, mask])]


binary("TanhGrad", xp=lambda xp, y, g: g * (1.0 - y * y), c="({1} * (({T})1 - {0} * {0}))",
       ref=lambda y, g: g * (1 - y * y), kind="float", expand=_expand_tanh_grad, vector=True,
       grad=lambda op, gg: [gg * -2.0 * op.inputs[0] * op.inputs[1], make("TanhGrad", [op.inputs[0], gg])])
binary("SigmoidGrad", xp=lambda xp, y, g: g * (y * (1.0 - y)), c="({1} * {0} * (({T})1 - {0}))",
       ref=lambda y, g: g * y * (1 - y), kind="float", expand=_expand_sigmoid_grad, vector=True,
       grad=lambda op, gg: [gg * op.inputs[1] * (1.0 - 2.0 * op.inputs[0]), make("SigmoidGrad", [op.inputs[0], gg])])
binary("ReluGrad", xp=lambda xp, g, x: xp.where(x > 0, g, xp.zeros((), dtype=g.dtype)), c="({1} > 0 ? {0} : 0)",
       ref=lambda g, x: np.where(x > 0, g, 0), kind="float", expand=_expand_relu_grad, grad_domain="away",
       grad=lambda op, gg: [make("ReluGrad", [gg, op.inputs[1]]), None])
binary("LeakyReluGrad", xp=lambda xp, g, x, alpha=0.2: xp.where(x > 0, g, g * alpha),
       c="({1} > 0 ? {0} : ({T}){alpha} * {0})", attrs={"alpha": 0.2},
       ref=lambda g, x, alpha=0.2: np.where(x > 0, g, alpha * g), kind="float", grad_domain="away",
       grad=lambda op, gg: [make("LeakyReluGrad", [gg, op.inputs[1]], {"alpha": op.attrs["alpha"]}), None])


# -- binary ----------------------------------------------------------------------------------------
def _grad_add(op, g):
    x, y = op.inputs
    return [sum_to(g, x), sum_to(g, y)]


def _grad_sub(op, g):
    x, y = op.inputs
    return [sum_to(g, x), sum_to(-g, y)]


def _grad_mul(op, g):
    x, y = op.inputs
    return [sum_to(g * y, x), sum_to(g * x, y)]


def _grad_div(op, g):
    x, y = op.inputs
    return [sum_to(g / y, x), sum_to(-g * op.outputs[0] / y, y)]


def _grad_pow(op, g):
    x, y = op.inputs
    z = op.outputs[0]
    gx = g * y * pow(x, y - 1.0)
    positive = greater(x, 0.0)
    safe_log = _where(positive, log(_where(positive, x, _full_like(x, 1))), _full_like(x, 0))
    gy = g * z * safe_log
    return [sum_to(gx, x), sum_to(gy, y)]


def _minmax_grad(cmp):
    def grad(op, g):
        x, y = op.inputs
        mask = cast(cmp(x, y), g.dtype)
        return [sum_to(g * mask, x), sum_to(g * (1.0 - mask), y)]
    return grad


add = binary("Add", ufunc="add", c="({0} + {1})", grad=_grad_add, vector=True, simplify=either_neutral(0))
subtract = binary("Sub", ufunc="subtract", c="({0} - {1})", grad=_grad_sub, vector=True, simplify=right_neutral(0))
multiply = binary("Mul", ufunc="multiply", c="({0} * {1})", grad=_grad_mul, vector=True, simplify=either_neutral(1))
_div = binary("Div", ufunc="true_divide", c=_c_div, grad=_grad_div, domain="away", vector=True,
              simplify=right_neutral(1))
pow = binary("Pow", ufunc="power", c=_c_pow, grad=_grad_pow, domain="pos",  # noqa: A001 - TF1 name
             simplify=right_neutral(1))
maximum = binary("Maximum", ufunc="maximum", c=_c_extreme(">="), grad=_minmax_grad(lambda a, b: greater_equal(a, b)))
minimum = binary("Minimum", ufunc="minimum", c=_c_extreme("<="), grad=_minmax_grad(lambda a, b: less_equal(a, b)))
equal = binary("Equal", ufunc="equal", c="({0} == {1})", kind="compare")
not_equal = binary("NotEqual", ufunc="not_equal", c="({0} != {1})", kind="compare")
less = binary("Less", ufunc="less", c="({0} < {1})", kind="compare")
less_equal: BinaryOp = binary("LessEqual", ufunc="less_equal", c="({0} <= {1})", kind="compare")
greater: BinaryOp = binary("Greater", ufunc="greater", c="({0} > {1})", kind="compare")
greater_equal: BinaryOp = binary("GreaterEqual", ufunc="greater_equal", c="({0} >= {1})", kind="compare")
logical_and = binary("LogicalAnd", ufunc="logical_and", c="({0} && {1})", kind="logical")
logical_or = binary("LogicalOr", ufunc="logical_or", c="({0} || {1})", kind="logical")


def _grad_select(op, g):
    c, x, y = op.inputs
    zero = _full_like(g, 0)
    return [None, sum_to(_where(c, g, zero), x), sum_to(_where(c, zero, g), y)]


_define("Select", 3, "select", _grad_select, xp=lambda xp, c, x, y: xp.where(c, x, y), c="({0} ? {1} : {2})",
        ref=np.where, ufunc=None)


# -- casts -----------------------------------------------------------------------------------------
def _grad_cast(op, g):
    src = op.inputs[0].dtype
    return [cast(g, src) if src.is_floating and g.dtype.is_floating else None]


def _c_cast(a, t, dts, attrs):
    return f"(({a[0]}) != 0)" if attrs["dtype"].name == "bool" else f"({t})({a[0]})"


_define("Cast", 1, "cast", None, xp=None, c=_c_cast, ref=lambda x, dtype: x.astype(dtype.np), ufunc=None,
        attrs=None)
register("Cast", _rule(ROWS["Cast"]), grad=_grad_cast, elementwise=ROWS["Cast"], replace=True)


def cast(x: TensorLike, dtype: DTypeLike, name: str | None = None) -> Tensor:
    """x as `dtype` (op type 'Cast'); no op when it already is."""
    x = convert_to_tensor(x)
    dtype = _dt.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return make("Cast", [x], {"dtype": dtype}, name=name)


# -- TF1 long tail rows --------------------------------------------------------------------------
# Array-API names of the NumPy ufuncs below (NumPy spells them arc*, the standard a*)
_XP_NAMES.update({"arctan": ("atan", "arctan"), "arctan2": ("atan2", "arctan2")})


def _needs(check: Callable[[DType], bool], what: str, fn: _Op, tf_name: str) -> _Op:
    """Wrap a row's TF1 function so an input of the wrong dtype is refused naming the function and tensor."""
    def wrapped(*args: TensorLike, name: str | None = None) -> Tensor:
        tensors = pair(*args) if len(args) == 2 else [convert_to_tensor(args[0])]
        for t in tensors:
            if not check(t.dtype):
                raise TypeError(f"{tf_name}: '{t.name}' is {t.dtype.name}; it needs {what}")
        return fn(*tensors, name=name)
    wrapped.__name__ = wrapped.__qualname__ = tf_name
    wrapped.__doc__ = fn.__doc__
    return wrapped  # type: ignore[return-value]  # it takes fn's arguments


tan = unary("Tan", ufunc="tan", c="tan({0})", grad=lambda op, g: [g * (1.0 + square(_y(op)))])
sinh = unary("Sinh", ufunc="sinh", c="sinh({0})", grad=lambda op, g: [g * cosh(_x(op))])
cosh: UnaryOp = unary("Cosh", ufunc="cosh", c="cosh({0})", grad=lambda op, g: [g * sinh(_x(op))])


def _grad_atan2(op, g):
    y, x = op.inputs
    r2 = square(x) + square(y)
    return [sum_to(g * x / r2, y), sum_to(-g * y / r2, x)]


atan2 = binary("Atan2", ufunc="arctan2", c="atan2({0}, {1})", grad=_grad_atan2, kind="float")
atan = unary("Atan", ufunc="arctan", c="atan({0})", grad=lambda op, g: [g / (1.0 + square(_x(op)))])


def asin(x: TensorLike, name: str | None = None) -> Tensor:
    """arcsin as atan2(x, sqrt((1 - x)(1 + x))): no op type of its own, so it needs no input domain of its
    own in the conformance suite; NaN outside [-1, 1] as TF1."""
    x = convert_to_tensor(x)
    return atan2(x, sqrt((1.0 - x) * (1.0 + x)), name=name)


def acos(x: TensorLike, name: str | None = None) -> Tensor:
    """arccos as atan2(sqrt((1 - x)(1 + x)), x); NaN outside [-1, 1] as TF1."""
    x = convert_to_tensor(x)
    return atan2(sqrt((1.0 - x) * (1.0 + x)), x, name=name)


is_nan = _needs(_is_float, "a floating-point dtype",
                unary("IsNan", ufunc="isnan", c="isnan({0})", kind="compare", dtypes=FLOATS), "is_nan")
is_inf = _needs(_is_float, "a floating-point dtype",
                unary("IsInf", ufunc="isinf", c="isinf({0})", kind="compare", dtypes=FLOATS), "is_inf")
is_finite = _needs(_is_float, "a floating-point dtype",
                   unary("IsFinite", ufunc="isfinite", c="isfinite({0})", kind="compare", dtypes=FLOATS), "is_finite")
logical_xor = binary("LogicalXor", ufunc="logical_xor", c="((!{0}) != (!{1}))", kind="logical")


def _c_floormod(a, t, dts, attrs):
    """NumPy's remainder: the sign of the divisor (C's % and fmod take the dividend's)."""
    r = f"fmod({a[0]}, {a[1]})" if _is_float(dts[0]) else f"(({a[0]}) % ({a[1]}))"
    return f"(({r} != 0 && (({r} < 0) != (({a[1]}) < 0))) ? {r} + ({a[1]}) : {r})"


def _grad_floormod(op, g):
    x, y = op.inputs
    return [sum_to(g, x), sum_to(-g * floor(x / y), y)]


floormod = binary("FloorMod", ufunc="remainder", c=_c_floormod, grad=_grad_floormod)
mod = floormod


def _grad_squared_difference(op, g):
    x, y = op.inputs
    d = g * (2.0 * (x - y))
    return [sum_to(d, x), sum_to(-d, y)]


squared_difference = binary("SquaredDifference", xp=lambda xp, x, y: (x - y) * (x - y),
                            c="(({0} - {1}) * ({0} - {1}))", ref=lambda x, y: (x - y) ** 2,
                            grad=_grad_squared_difference)


def _truncatediv_xp(xp, x, y):
    q = x // y  # floor; one more toward zero where the signs differ and the division is inexact
    return xp.where(((x % y) != 0) & ((x < 0) != (y < 0)), q + 1, q)


truncatediv = _needs(lambda d: getattr(d, "is_integer", False), "an integer dtype",
                     binary("TruncateDiv", xp=_truncatediv_xp, c="(({0}) / ({1}))",
                            ref=lambda x, y: np.trunc(x / y), grad=_no_grad, dtypes=("int32", "int64")),
                     "truncatediv")
# -- end TF1 long tail rows ----------------------------------------------------------------------
