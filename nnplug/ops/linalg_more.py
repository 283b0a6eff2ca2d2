"""tf.linalg's decompositions and solvers beyond Cholesky/det/solve: SVD, symmetric eigen-decomposition,
slogdet, triangular solves, LU and the matrix exponential are host ops through NumPy's LAPACK (each with
TF1's gradient where TF1 has one); everything built from them (logdet, cholesky_solve, lstsq, pinv,
matrix_rank, lu_solve, matvec, cross, ...) is a composition, so autodiff differentiates it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant, convert_to_tensor, make, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from . import elementwise as E
from .array_ops import expand_dims, gather, reshape, squeeze, stack
from .linalg_ops import _linalg_host, _matrices, cholesky, matrix_band_part, matrix_set_diag
from .manip_ops import matrix_transpose, unstack
from .math_extra_ops import matrix_diag, matrix_diag_part, transpose_last
from .math_ops import matmul, reduce_max, reduce_sum
from .registry import register
from .._types import Axis, TensorLike


def _batch(shape):
    return list(shape[:-2])


def _sizes(x, fn):
    if x.shape.ndims is None or x.shape.ndims < 2 or x.shape[-1] is None or x.shape[-2] is None:
        raise ShapeError(f"{fn}: '{x.name}' needs rank >= 2 with the matrix sizes known, got {fmt(x.shape)}")
    return int(x.shape[-2]), int(x.shape[-1])


def _off_diagonal_reciprocal(d):
    """F[i, j] = 1 / (d[j] - d[i]) off the diagonal, 0 on it (the eigen- and singular-value gradients' kernel)."""
    n = int(d.shape[-1])
    eye = constant(np.eye(n, dtype=bool))
    diff = expand_dims(d, -2) - expand_dims(d, -1)
    on = _broadcast_eye(eye, diff)
    return E._where(on, E._full_like(diff, 0), 1.0 / E._where(on, E._full_like(diff, 1), diff))


def _broadcast_eye(eye, like):
    never = E.logical_and(E.not_equal(like, like), E.equal(like, like))  # False, shaped like `like`
    return E.logical_or(eye, never)


# -- SVD -----------------------------------------------------------------------------------------------
def _svd_rule(shapes, dtypes, attrs):
    s = shapes[0]
    _matrices("Svd", s, dtypes[0], square=False)
    m, n = s[-2], s[-1]
    k = min(m, n) if m is not None and n is not None else None
    b = _batch(s)
    mu, nv = (m, n) if attrs["full_matrices"] else (k, k)
    return [(TensorShape(b + [k]), dtypes[0]), (TensorShape(b + [m, mu]), dtypes[0]),
            (TensorShape(b + [n, nv]), dtypes[0])]


def _svd(spec, a):
    u, s, vh = np.linalg.svd(a, full_matrices=spec.attrs["full_matrices"])
    return s, u, np.swapaxes(vh, -1, -2)


def _grad_svd(op, gs, gu, gv):
    """Townsend's rule for the thin SVD A = U S V^T (TF1's _SvdGrad):
    dA = U [(F o (U^T gU - gU^T U)) S + diag(gS) + S (F o (V^T gV - gV^T V))] V^T
         + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T),   F[i, j] = 1 / (s[j]^2 - s[i]^2)."""
    a = op.inputs[0]
    s, u, v = op.outputs
    m, n = _sizes(a, "svd gradient")
    if op.attrs["full_matrices"] and m != n:
        raise NotImplementedError(f"svd '{op.name}': the gradient of full_matrices=True needs a square matrix "
                                  f"(as in TF1); got {m}x{n}")
    if gu is None and gv is None:  # only the singular values: U diag(gS) V^T
        return [matmul(u * expand_dims(gs, -2), v, transpose_b=True)]
    gs = gs if gs is not None else E._full_like(s, 0)
    gu = gu if gu is not None else E._full_like(u, 0)
    gv = gv if gv is not None else E._full_like(v, 0)
    f = _off_diagonal_reciprocal(E.square(s))
    s_row = expand_dims(s, -2)  # (..., 1, k): multiplies columns
    utgu = matmul(u, gu, transpose_a=True)
    vtgv = matmul(v, gv, transpose_a=True)
    inner = (f * (utgu - transpose_last(utgu))) * s_row + matrix_diag(gs) + \
        expand_dims(s, -1) * (f * (vtgv - transpose_last(vtgv)))
    ga = matmul(matmul(u, inner), v, transpose_b=True)
    inv_s = expand_dims(1.0 / s, -2)
    if m > n:
        ga = ga + matmul((gu - matmul(u, utgu)) * inv_s, v, transpose_b=True)
    if n > m:
        ga = ga + matmul(u * inv_s, gv - matmul(v, vtgv), transpose_b=True)
    return [ga]


register("Svd", _svd_rule, grad=_grad_svd, host=_linalg_host("Svd", _svd))


def svd(tensor: TensorLike, full_matrices: bool = False, compute_uv: bool = True,
        name: str | None = None) -> Any:
    """(s, u, v) with tensor = u diag(s) v^T for each inner matrix, s descending (just s when not
    compute_uv). Note v, not v^T, as TF1."""
    op = make_op("Svd", [convert_to_tensor(tensor)], {"full_matrices": bool(full_matrices)}, name=name)
    s, u, v = op.outputs
    return (s, u, v) if compute_uv else s


# -- symmetric eigen-decomposition ---------------------------------------------------------------------
def _eigh_rule(shapes, dtypes, attrs):
    s = shapes[0]
    _matrices("SelfAdjointEigV2", s, dtypes[0])
    return [(TensorShape(list(s[:-1])), dtypes[0]), (s, dtypes[0])]


def _eigh(spec, a):
    return np.linalg.eigh(a)  # reads the lower triangle, as TF


def _grad_eigh(op, ge, gv):
    """TF1's rule: dA = V (diag(gE) + F o (V^T gV)) V^T with F[i, j] = 1 / (e[j] - e[i]), folded onto the
    lower triangle the kernel reads (the diagonal once)."""
    e, v = op.outputs
    ge = ge if ge is not None else E._full_like(e, 0)
    inner = matrix_diag(ge)
    if gv is not None:
        inner = inner + _off_diagonal_reciprocal(e) * matmul(v, gv, transpose_a=True)
    ga = matmul(matmul(v, inner), v, transpose_b=True)
    lower = matrix_band_part(ga + transpose_last(ga), -1, 0)
    return [matrix_set_diag(lower, 0.5 * matrix_diag_part(lower))]


register("SelfAdjointEigV2", _eigh_rule, grad=_grad_eigh, host=_linalg_host("SelfAdjointEigV2", _eigh))


def eigh(tensor: TensorLike, name: str | None = None) -> tuple[Tensor, Tensor]:
    """(e, v): the eigenvalues (ascending) and eigenvectors (columns) of each symmetric inner matrix,
    read from its lower triangle."""
    op = make_op("SelfAdjointEigV2", [convert_to_tensor(tensor)], name=name)
    return op.outputs[0], op.outputs[1]


def eigvalsh(tensor: TensorLike, name: str | None = None) -> Tensor:
    """The eigenvalues (ascending) of each symmetric inner matrix."""
    return eigh(tensor, name=name)[0]


self_adjoint_eig, self_adjoint_eigvals = eigh, eigvalsh


# -- slogdet, logdet -------------------------------------------------------------------------------------
def _slogdet_rule(shapes, dtypes, attrs):
    _matrices("LogMatrixDeterminant", shapes[0], dtypes[0])
    out = TensorShape(list(shapes[0][:-2]))
    return [(out, dtypes[0]), (out, dtypes[0])]


def _slogdet_host(spec):
    dtype = spec.out_dtype.np

    def run(a):
        sign, logdet = np.linalg.slogdet(a)
        return sign.astype(dtype), logdet.astype(dtype)
    return run


def _grad_slogdet(op, g_sign, g_log):
    from .math_extra_ops import matrix_inverse
    if g_log is None:
        return [None]
    return [expand_dims(expand_dims(g_log, -1), -1) * matrix_inverse(op.inputs[0], adjoint=True)]


register("LogMatrixDeterminant", _slogdet_rule, grad=_grad_slogdet, host=_slogdet_host)


def slogdet(input: TensorLike, name: str | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
    """(sign, log|det|) of each square inner matrix: the determinant without overflow."""
    op = make_op("LogMatrixDeterminant", [convert_to_tensor(input)], name=name)
    return op.outputs[0], op.outputs[1]


def logdet(matrix: TensorLike, name: str | None = None) -> Tensor:
    """log det of each Hermitian positive-definite matrix: 2 sum(log(diag(cholesky)))."""
    with name_scope(name, "logdet"):
        return 2.0 * reduce_sum(E.log(matrix_diag_part(cholesky(matrix))), -1)


# -- triangular solves and what is built on them ---------------------------------------------------------
def _tri_rule(shapes, dtypes, attrs):
    a, b = shapes
    _matrices("MatrixTriangularSolve", a, dtypes[0])
    _matrices("MatrixTriangularSolve", b, dtypes[1], square=False)
    if dtypes[0] != dtypes[1] or len(a) != len(b) or (a[-1] is not None and b[-2] is not None and a[-1] != b[-2]):
        raise ShapeError(f"MatrixTriangularSolve: matrix {dtypes[0].name} {fmt(a)} and rhs {dtypes[1].name} {fmt(b)} "
                         f"must have the same dtype, rank and number of rows")
    return [(b, dtypes[1])]


def _tri_solve(spec, a, b):
    tri = np.tril(a) if spec.attrs["lower"] else np.triu(a)
    if spec.attrs["adjoint"]:
        tri = np.swapaxes(tri, -1, -2)
    return np.linalg.solve(tri, b)


def _grad_tri(op, g):
    """TF1's rule: gB = solve(A^T, g) (the other orientation); gA = -gB C^T (C gB^T when adjoint), kept
    on the triangle the kernel reads."""
    a, c = op.inputs[0], op.outputs[0]
    lower, adjoint = op.attrs["lower"], op.attrs["adjoint"]
    gb = triangular_solve(a, g, lower=lower, adjoint=not adjoint)
    ga = -matmul(c, gb, transpose_b=True) if adjoint else -matmul(gb, c, transpose_b=True)
    return [matrix_band_part(ga, -1, 0) if lower else matrix_band_part(ga, 0, -1), gb]


register("MatrixTriangularSolve", _tri_rule, grad=_grad_tri, host=_linalg_host("MatrixTriangularSolve", _tri_solve))


def triangular_solve(matrix: TensorLike, rhs: TensorLike, lower: bool = True, adjoint: bool = False,
                     name: str | None = None) -> Tensor:
    """X with T X = rhs, T the lower (or upper) triangle of each inner matrix (T^T X = rhs when adjoint);
    the other triangle is never read."""
    a = convert_to_tensor(matrix)
    return make("MatrixTriangularSolve", [a, convert_to_tensor(rhs, dtype=a.dtype)],
                {"lower": bool(lower), "adjoint": bool(adjoint)}, name=name)


matrix_triangular_solve = triangular_solve


def cholesky_solve(chol: TensorLike, rhs: TensorLike, name: str | None = None) -> Tensor:
    """X with A X = rhs, given chol = cholesky(A): two triangular solves."""
    with name_scope(name, "cholesky_solve"):
        y = triangular_solve(chol, rhs, lower=True, adjoint=False)
        return triangular_solve(chol, y, lower=True, adjoint=True)


def lstsq(matrix: TensorLike, rhs: TensorLike, l2_regularizer: float | TensorLike = 0.0, fast: bool = True,
          name: str | None = None) -> Tensor:
    """The (ridge-regularised) least-squares solution of matrix X = rhs by the normal equations and
    Cholesky, as TF1's fast path: (A^T A + l2 I)^-1 A^T rhs, or A^T (A A^T + l2 I)^-1 rhs when m < n."""
    a = convert_to_tensor(matrix)
    b = convert_to_tensor(rhs, dtype=a.dtype)
    if not fast:
        raise NotImplementedError("lstsq: only fast=True (the normal equations) is supported")
    m, n = _sizes(a, "lstsq")
    with name_scope(name, "matrix_solve_ls"):
        lam = convert_to_tensor(l2_regularizer, dtype=a.dtype)
        if m >= n:
            gram = matmul(a, a, transpose_a=True) + lam * constant(np.eye(n, dtype=a.dtype.np))
            return cholesky_solve(cholesky(gram), matmul(a, b, transpose_a=True))
        gram = matmul(a, a, transpose_b=True) + lam * constant(np.eye(m, dtype=a.dtype.np))
        return matmul(a, cholesky_solve(cholesky(gram), b), transpose_a=True)


matrix_solve_ls = lstsq


def _default_rcond(a, m, n):
    return 10.0 * max(m, n) * float(np.finfo(a.dtype.np).eps)


def pinv(a: TensorLike, rcond: float | None = None, validate_args: bool = False, name: str | None = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse through the SVD, singular values below rcond * max(s) dropped
    (rcond defaults to 10 * max(m, n) * eps, as TF)."""
    x = convert_to_tensor(a)
    m, n = _sizes(x, "pinv")
    with name_scope(name, "pinv"):
        s, u, v = svd(x)
        cutoff = (rcond if rcond is not None else _default_rcond(x, m, n)) * reduce_max(s, -1, keepdims=True)
        keep = E.greater(s, cutoff)
        inv_s = E._where(keep, 1.0 / E._where(keep, s, E._full_like(s, 1)), E._full_like(s, 0))
        return matmul(v * expand_dims(inv_s, -2), u, transpose_b=True)


def matrix_rank(a: TensorLike, tol: float | None = None, validate_args: bool = False,
                name: str | None = None) -> Tensor:
    """The number of singular values above tol (default: max(s) * max(m, n) * eps), as int32."""
    x = convert_to_tensor(a)
    m, n = _sizes(x, "matrix_rank")
    with name_scope(name, "matrix_rank"):
        s = svd(x, compute_uv=False)
        cut = tol if tol is not None else reduce_max(s, -1, keepdims=True) * (max(m, n) *
                                                                              float(np.finfo(x.dtype.np).eps))
        return reduce_sum(E.cast(E.greater(s, cut), _dt.int32), -1)


# -- LU ------------------------------------------------------------------------------------------------
def _lu_rule(shapes, dtypes, attrs):
    _matrices("Lu", shapes[0], dtypes[0])
    return [(shapes[0], dtypes[0]), (TensorShape(list(shapes[0][:-1])), attrs["out_idx"])]


def _lu_one(a):
    """Doolittle with partial pivoting: (L and U in one matrix, the row permutation)."""
    a = np.array(a, np.float64)
    n = a.shape[0]
    perm = np.arange(n)
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if p != k:
            a[[k, p]], perm[[k, p]] = a[[p, k]], perm[[p, k]]
        if a[k, k] != 0:
            a[k + 1:, k] /= a[k, k]
            a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return a, perm


def _lu_host(spec):
    dtype, idx = spec.out_dtypes[0].np, spec.out_dtypes[1].np

    def lu(a):
        flat = a.reshape((-1,) + a.shape[-2:])
        parts = [_lu_one(m) for m in flat]
        lus = np.stack([p[0] for p in parts]).reshape(a.shape) if parts else np.zeros(a.shape)
        perms = np.stack([p[1] for p in parts]).reshape(a.shape[:-1]) if parts else np.zeros(a.shape[:-1])
        return lus.astype(dtype), perms.astype(idx)
    return lu


register("Lu", _lu_rule, host=_lu_host)


def lu(input: TensorLike, output_idx_type: Any = _dt.int32,  # noqa: A002 - TF's name
       name: str | None = None) -> tuple[Tensor, Tensor]:
    """(lu, p): P A = L U with L unit lower (below the diagonal of lu) and U upper (on and above it);
    p[i] is the row of A that row i of P A is. Not differentiable here."""
    op = make_op("Lu", [convert_to_tensor(input)], {"out_idx": _dt.as_dtype(output_idx_type)}, name=name)
    return op.outputs[0], op.outputs[1]


def lu_solve(lower_upper: TensorLike, perm: TensorLike, rhs: TensorLike, validate_args: bool = False,
             name: str | None = None) -> Tensor:
    """X with A X = rhs from lu(A): the permuted rows, then the unit-lower and the upper solves."""
    luf = convert_to_tensor(lower_upper)
    b = convert_to_tensor(rhs, dtype=luf.dtype)
    n = _sizes(luf, "lu_solve")[0]
    if luf.shape.ndims != 2:
        raise NotImplementedError(f"lu_solve: only a single matrix (rank 2) is supported, got {fmt(luf.shape)}")
    with name_scope(name, "lu_solve"):
        unit = matrix_set_diag(luf, constant(np.ones(n, luf.dtype.np)))
        y = triangular_solve(unit, gather(b, perm), lower=True)
        return triangular_solve(luf, y, lower=False)


# -- the matrix exponential: a host op (Higham's scaling and squaring with Pade 13) -----------------------
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def expm_np(a: np.ndarray) -> np.ndarray:
    """exp of one square matrix in float64."""
    a = np.asarray(a, np.float64)
    n = a.shape[-1]
    norm = np.abs(a).sum(axis=0).max() if n else 0.0
    s = max(0, int(math.ceil(math.log2(norm / _THETA13)))) if norm > _THETA13 else 0
    a = a / 2.0 ** s
    b, eye = _PADE13, np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r


def _expm_host(spec):
    dtype = spec.out_dtype.np

    def run(a):
        flat = a.reshape((-1,) + a.shape[-2:])
        return np.stack([expm_np(m) for m in flat]).reshape(a.shape).astype(dtype) if flat.shape[0] else a.copy()
    return run


register("MatrixExponential", lambda s, d, a: (_matrices("expm", s[0], d[0]), [(s[0], d[0])])[1], host=_expm_host)


def expm(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """The matrix exponential of each square inner matrix (not differentiable here)."""
    return make("MatrixExponential", [convert_to_tensor(input)], name=name)


# -- small compositions --------------------------------------------------------------------------------
def adjoint(matrix: TensorLike, name: str | None = None) -> Tensor:
    """The (conjugate) transpose of each inner matrix; nnplug's tensors are real, so the transpose."""
    return matrix_transpose(matrix, name=name or "adjoint")


def matvec(a: TensorLike, b: TensorLike, transpose_a: bool = False, adjoint_a: bool = False,
           a_is_sparse: bool = False, b_is_sparse: bool = False, name: str | None = None) -> Tensor:
    """a @ b for matrices a (..., m, n) and vectors b (..., n)."""
    a = convert_to_tensor(a)
    with name_scope(name, "matvec"):
        column = expand_dims(convert_to_tensor(b, dtype=a.dtype), -1)
        return squeeze(matmul(a, column, transpose_a=transpose_a or adjoint_a), -1)


def cross(a: TensorLike, b: TensorLike, name: str | None = None) -> Tensor:
    """The cross product of 3-vectors along the last axis."""
    a, b = E.pair(a, b)
    for t in (a, b):
        if t.shape.ndims is None or t.shape[-1] != 3:
            raise ShapeError(f"cross: '{t.name}' must have 3 entries in its last axis, got {fmt(t.shape)}")
    with name_scope(name, "Cross"):
        a0, a1, a2 = unstack(a, num=3, axis=-1)
        b0, b1, b2 = unstack(b, num=3, axis=-1)
        return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def normalize(tensor: TensorLike, ord: Any = "euclidean", axis: Axis = None,  # noqa: A002
              name: str | None = None) -> tuple[Tensor, Tensor]:
    """(tensor / norm, norm), the norm kept with its reduced axes, as tf.linalg.normalize."""
    from .clip_ops import norm as norm_
    x = convert_to_tensor(tensor)
    with name_scope(name, "normalize"):
        n = norm_(x, ord=ord, axis=axis, keepdims=True)
        return x / n, n


def tensor_diag(diagonal: TensorLike, name: str | None = None) -> Tensor:
    """A rank-2k tensor with `diagonal` (rank k) on its diagonal (tf.diag)."""
    from .math_extra_ops import diag
    return diag(diagonal, name=name)


def tensor_diag_part(input: TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """out[i..] = input[i.., i..] of a rank-2k tensor shaped (d.., d..)."""
    x = convert_to_tensor(input)
    if not x.shape.is_fully_defined() or x.shape.ndims % 2 or x.shape.ndims == 0:
        raise ShapeError(f"tensor_diag_part: '{x.name}' needs a known even rank and shape, got {fmt(x.shape)}")
    shape = [int(d) for d in x.shape]
    half = shape[:len(shape) // 2]
    if half != shape[len(shape) // 2:]:
        raise ShapeError(f"tensor_diag_part: '{x.name}' of shape {fmt(x.shape)} must be (d.., d..)")
    n = int(np.prod(half))
    with name_scope(name, "DiagPart"):
        return reshape(matrix_diag_part(reshape(x, [n, n])), half)


def lu_reconstruct(lower_upper: TensorLike, perm: TensorLike, validate_args: bool = False,
                   name: str | None = None) -> Tensor:
    """The matrix lu() factored: L U with its rows put back by the inverse of perm."""
    from .misc_ops import invert_permutation
    luf = convert_to_tensor(lower_upper)
    n = _sizes(luf, "lu_reconstruct")[0]
    with name_scope(name, "lu_reconstruct"):
        unit = matrix_set_diag(matrix_band_part(luf, -1, 0), constant(np.ones(n, luf.dtype.np)))
        return gather(matmul(unit, matrix_band_part(luf, 0, -1)), invert_permutation(perm))


def lu_matrix_inverse(lower_upper: TensorLike, perm: TensorLike, validate_args: bool = False,
                      name: str | None = None) -> Tensor:
    """The inverse of the matrix lu() factored: lu_solve against the identity."""
    luf = convert_to_tensor(lower_upper)
    n = _sizes(luf, "lu_matrix_inverse")[0]
    return lu_solve(luf, perm, constant(np.eye(n, dtype=luf.dtype.np)), name=name or "lu_matrix_inverse")
