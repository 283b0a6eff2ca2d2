"""Special functions and matrix algebra TF1 programs use: lgamma and erfc (elementwise rows, so every
backend's kernel generators run them: OpenCL C and CUDA have both), digamma and its derivative (host ops:
no C library has them), Cholesky, determinants and linear solves (host ops through NumPy's LAPACK, each with
TF1's gradient), and band parts and diagonal setting (composites of a constant mask and a select).
"""
from __future__ import annotations

import math

import numpy as np

from .. import xp_kernels
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from . import elementwise as E
from .array_ops import expand_dims
from .manip_ops import pad
from .math_extra_ops import matrix_inverse, transpose_last
from .math_ops import matmul
from .registry import register
from .shape_values import constant_value
from .._types import TensorLike


# -- lgamma, erfc: elementwise rows ----------------------------------------------------------------
def _scalar_xp(np_fn, xp_name):
    """The namespace's own function where it has one, else the exact scalar one through the host."""
    def fn(xp, x):
        f = getattr(xp, xp_name, None)
        if f is not None:
            return f(x)
        return xp.asarray(np.asarray(np_fn(np.asarray(x)), dtype=np.asarray(x).dtype))
    return fn


_lgamma_np = np.vectorize(math.lgamma, otypes=[np.float64])
_erfc_np = np.vectorize(math.erfc, otypes=[np.float64])

lgamma = E.unary("Lgamma", xp=_scalar_xp(_lgamma_np, "lgamma"), c="lgamma({0})", ref=lambda x: _lgamma_np(x),
                 grad=lambda op, g: [g * digamma(op.inputs[0])], domain="pos")
erfc = E.unary("Erfc", xp=_scalar_xp(_erfc_np, "erfc"), c="erfc({0})", ref=lambda x: _erfc_np(x),
               grad=lambda op, g: [g * (-2.0 / math.sqrt(math.pi)) * E.exp(-E.square(op.inputs[0]))])
xp_kernels.register("Lgamma", "Erfc", fresh=True)(xp_kernels.elementwise)  # rows made after its table


# -- digamma and trigamma: host ops ----------------------------------------------------------------
_SHIFT = 10.0  # the recurrence lifts x to at least this before the asymptotic series (float64-accurate)


def _polygamma_np(x, order):
    """digamma (order 0) or trigamma (order 1) in float64: reflection below 1/2, the recurrence up to
    _SHIFT, then the asymptotic (Bernoulli) series; NaN at the poles 0, -1, -2, ..."""
    x = np.asarray(x, np.float64)
    reflect = x < 0.5
    y = np.where(reflect, 1.0 - x, x)
    acc = np.zeros_like(y)
    while np.any(y < _SHIFT):
        low = y < _SHIFT
        acc += np.where(low, -1.0 / y if order == 0 else 1.0 / (y * y), 0.0)
        y = np.where(low, y + 1.0, y)
    r = 1.0 / (y * y)
    if order == 0:
        series = np.log(y) - 0.5 / y - r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r / 132))))
    else:
        series = 1 / y + r / 2 + (r / y) * (1 / 6 - r * (1 / 30 - r * (1 / 42 - r / 30)))
    out = acc + series
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sin(math.pi * x)
        mirrored = out - math.pi * np.cos(math.pi * x) / s if order == 0 else math.pi ** 2 / (s * s) - out
    out = np.where(reflect, mirrored, out)
    return np.where((x <= 0) & (x == np.floor(x)), np.nan, out)


def _polygamma_host(order):
    def host(spec):
        dtype = spec.out_dtype.np
        return lambda x: _polygamma_np(x, order).astype(dtype)
    return host


def _float_rule(fn):
    def rule(shapes, dtypes, attrs):
        if not dtypes[0].is_floating:
            raise ShapeError(f"{fn} needs a floating-point input, got {dtypes[0].name}")
        return [(shapes[0], dtypes[0])]
    return rule


register("Digamma", _float_rule("Digamma"), host=_polygamma_host(0),
         grad=lambda op, g: [g * make("Trigamma", [op.inputs[0]])])
register("Trigamma", _float_rule("Trigamma"), host=_polygamma_host(1))


def digamma(x: TensorLike, name: str | None = None) -> Tensor:
    """The derivative of lgamma (psi), elementwise."""
    return make("Digamma", [convert_to_tensor(x)], name=name)


# -- Cholesky, determinant, solve: host ops through LAPACK ---------------------------------------------
def _matrices(fn, shape, dtype, square=True):
    if len(shape) < 2 or not dtype.is_floating or (
            square and shape[-1] is not None and shape[-2] is not None and shape[-1] != shape[-2]):
        what = "square matrices (..., n, n)" if square else "matrices (..., m, n)"
        raise ShapeError(f"{fn} needs floating {what}, got {dtype.name} {fmt(shape)}")


def _cholesky_rule(shapes, dtypes, attrs):
    _matrices("Cholesky", shapes[0], dtypes[0])
    return [(shapes[0], dtypes[0])]


def _linalg_host(name, fn):
    """A host kernel calling `fn`, with NumPy's LinAlgError reported as TF1 does, naming the op; each
    output (a tuple for multi-output ops) in its op's dtype."""
    def host(spec):
        def run(*arrays):
            try:
                out = fn(spec, *arrays)
            except np.linalg.LinAlgError as e:
                raise InvalidArgumentError(f"{name} op '{spec.name}': {e}") from None
            if isinstance(out, tuple):
                return tuple(np.asarray(o).astype(d.np, copy=False) for o, d in zip(out, spec.out_dtypes))
            return np.asarray(out).astype(spec.out_dtype.np, copy=False)
        return run
    return host


def _lower_mask(n, dtype, diagonal):
    m = np.tril(np.ones((n, n)), -1) + diagonal * np.eye(n)
    return constant(m.astype(dtype.np))


def _grad_cholesky(op, g):
    """TF1's rule: with L = chol(A), dA = sym(L^-H Phi(L^H g) L^-1) / 2, Phi = the lower triangle with the
    diagonal halved."""
    chol = op.outputs[0]
    n = _known_size(chol, "Cholesky gradient")
    inv = matrix_inverse(chol)
    middle = matmul(chol, g, transpose_a=True) * _lower_mask(n, chol.dtype, 0.5)
    ga = matmul(matmul(inv, middle, transpose_a=True), inv)
    return [(ga + transpose_last(ga)) * 0.5]


def _known_size(x, fn):
    n = x.shape[-1] if x.shape.ndims else None
    if n is None:
        raise ShapeError(f"{fn}: the matrix size of '{x.name}' (shape {fmt(x.shape)}) must be known")
    return int(n)


register("Cholesky", _cholesky_rule, grad=_grad_cholesky,
         host=_linalg_host("Cholesky", lambda spec, a: np.linalg.cholesky(a)))


def cholesky(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002 - TF1's name
    """The lower-triangular L with L L^T = input, for each symmetric positive-definite inner matrix."""
    return make("Cholesky", [convert_to_tensor(input)], name=name)


def _det_rule(shapes, dtypes, attrs):
    _matrices("MatrixDeterminant", shapes[0], dtypes[0])
    return [(shapes[0][:-2], dtypes[0])]


def _grad_det(op, g):
    scale = expand_dims(expand_dims(g * op.outputs[0], -1), -1)
    return [scale * matrix_inverse(op.inputs[0], adjoint=True)]


register("MatrixDeterminant", _det_rule, grad=_grad_det,
         host=_linalg_host("MatrixDeterminant", lambda spec, a: np.linalg.det(a)))


def matrix_determinant(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002 - TF1's name
    """The determinant of each inner square matrix."""
    return make("MatrixDeterminant", [convert_to_tensor(input)], name=name)


def _solve_rule(shapes, dtypes, attrs):
    a, b = shapes
    _matrices("MatrixSolve", a, dtypes[0])
    _matrices("MatrixSolve", b, dtypes[1], square=False)
    if dtypes[0] != dtypes[1] or len(a) != len(b) or (a[-2] is not None and b[-2] is not None and a[-2] != b[-2]):
        raise ShapeError(f"MatrixSolve: matrix {dtypes[0].name} {fmt(a)} and rhs {dtypes[1].name} {fmt(b)} must "
                         f"have the same dtype, rank and number of rows")
    return [(b, dtypes[1])]


def _solve(spec, a, b):
    return np.linalg.solve(np.swapaxes(a, -1, -2) if spec.attrs["adjoint"] else a, b)


def _grad_solve(op, g):
    a, c, adjoint = op.inputs[0], op.outputs[0], op.attrs["adjoint"]
    gb = matrix_solve(a, g, adjoint=not adjoint)
    ga = -matmul(c, gb, transpose_b=True) if adjoint else -matmul(gb, c, transpose_b=True)
    return [ga, gb]


register("MatrixSolve", _solve_rule, grad=_grad_solve, host=_linalg_host("MatrixSolve", _solve))


def matrix_solve(matrix: TensorLike, rhs: TensorLike, adjoint: bool = False, name: str | None = None) -> Tensor:
    """X with matrix X = rhs (matrix^T X = rhs when adjoint), for each inner matrix."""
    a = convert_to_tensor(matrix)
    return make("MatrixSolve", [a, convert_to_tensor(rhs, dtype=a.dtype)], {"adjoint": bool(adjoint)}, name=name)


# -- band parts and diagonals: a constant mask and a select ------------------------------------------
def _inner_sizes(x, fn):
    if x.shape.ndims is None or x.shape.ndims < 2 or x.shape[-1] is None or x.shape[-2] is None:
        raise ShapeError(f"{fn}: '{x.name}' needs rank >= 2 with the last two sizes known, got {fmt(x.shape)}")
    return int(x.shape[-2]), int(x.shape[-1])


def matrix_band_part(input: TensorLike, num_lower: int | TensorLike, num_upper: int | TensorLike,  # noqa: A002
                     name: str | None = None) -> Tensor:
    """Each inner matrix with everything outside the band zeroed: kept where i - j <= num_lower and
    j - i <= num_upper (a negative count keeps that whole triangle)."""
    x = convert_to_tensor(input)
    m, n = _inner_sizes(x, "matrix_band_part")

    def count(v, what):
        v = v if not isinstance(v, Tensor) else constant_value(v)
        if v is None:
            raise TypeError(f"matrix_band_part of '{x.name}': {what} must be known when the graph is built")
        return int(v)
    lower, upper = count(num_lower, "num_lower"), count(num_upper, "num_upper")
    i, j = np.indices((m, n))
    keep = ((lower < 0) | (i - j <= lower)) & ((upper < 0) | (j - i <= upper))
    with name_scope(name, "MatrixBandPart"):
        return E._where(constant(keep), x, constant(0, dtype=x.dtype))


def matrix_set_diag(input: TensorLike, diagonal: TensorLike, name: str = "set_diag",  # noqa: A002
                    k: int = 0) -> Tensor:
    """Each inner matrix with its main diagonal replaced by `diagonal` (shape (..., min(m, n)))."""
    x = convert_to_tensor(input)
    d = convert_to_tensor(diagonal, dtype=x.dtype)
    if k != 0:
        raise ValueError(f"matrix_set_diag of '{x.name}': only the main diagonal (k=0) is supported, got k={k}")
    m, n = _inner_sizes(x, "matrix_set_diag")
    if d.shape.ndims != x.shape.ndims - 1 or d.shape[-1] not in (None, min(m, n)):
        raise ShapeError(f"matrix_set_diag: diagonal '{d.name}' of shape {fmt(d.shape)} must be (..., {min(m, n)}) "
                         f"for '{x.name}' of shape {fmt(x.shape)}")
    with name_scope(name, "MatrixSetDiag"):
        if n > m:  # row i takes diagonal[i] at column i: pad the diagonal to the row length
            d = pad(d, [[0, 0]] * (d.shape.ndims - 1) + [[0, n - m]])
        return E._where(constant(np.eye(m, n, dtype=bool)), expand_dims(d, -2), x)



# -- QR: a host op (no gradient) -------------------------------------------------------------------------
def _qr_rule(shapes, dtypes, attrs):
    s = shapes[0]
    _matrices("Qr", s, dtypes[0], square=False)
    m, n = s[-2], s[-1]
    k = min(m, n) if m is not None and n is not None else None
    if attrs["full_matrices"]:
        return [(TensorShape(list(s[:-2]) + [m, m]), dtypes[0]), (s, dtypes[0])]
    return [(TensorShape(list(s[:-2]) + [m, k]), dtypes[0]), (TensorShape(list(s[:-2]) + [k, n]), dtypes[0])]


def _qr_host(spec):
    mode, dtype = "complete" if spec.attrs["full_matrices"] else "reduced", spec.out_dtype.np

    def qr(a):
        q, r = np.linalg.qr(a, mode=mode)
        return q.astype(dtype, copy=False), r.astype(dtype, copy=False)
    return qr


register("Qr", _qr_rule, host=_qr_host)


def qr(input: TensorLike, full_matrices: bool = False, name: str | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
    """(q, r) with q orthonormal columns and r upper triangular, q r = input, for each inner matrix."""
    from ..graph import make_op
    op = make_op("Qr", [convert_to_tensor(input)], {"full_matrices": bool(full_matrices)}, name=name)
    return op.outputs[0], op.outputs[1]
