"""TF1's sparse tensors: `tf.SparseTensor` (int64 indices (nnz, rank), values (nnz,), an int64 dense_shape),
`tf.sparse_placeholder`, and the ops programs use on them. The scatters are host ops, as TF1 runs its sparse
kernels on the CPU: they check every index against the dense shape (and, where TF1 does, their order) and
name the offending one. Plans are compiled for concrete shapes, so a dense shape must be known when a plan
is compiled: a sparse placeholder of partly unknown shape carries its fed dense shape as the shape of a
zero-size feed (`shape(carrier)[1:]`), a constant once the plan is specialised to its feeds."""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import dtypes as _dt
from .errors import InvalidArgumentError
from .graph import Tensor, constant, convert_to_tensor, make, name_scope
from .ops import math_ops as M
from .ops.array_ops import gather, placeholder as _placeholder, reshape, shape as _shape, transpose
from .ops.elementwise import cast
from .ops.registry import register
from .ops.shape_values import constant_value
from .shapes import ShapeError, TensorShape, fmt
from ._types import DTypeLike, TensorLike

SparseTensorValue = namedtuple("SparseTensorValue", ["indices", "values", "dense_shape"])


def _int64(t, what):
    t = convert_to_tensor(t, dtype=_dt.int64) if not isinstance(t, Tensor) else t
    if not t.dtype.is_integer:
        raise TypeError(f"SparseTensor: {what} '{t.name}' must be integers, got {t.dtype.name}")
    return t if t.dtype == _dt.int64 else cast(t, _dt.int64)


class SparseTensor:
    """values[i] sits at indices[i] of a tensor of shape dense_shape; every other entry is zero."""

    def __init__(self, indices: TensorLike, values: TensorLike, dense_shape: TensorLike,
                 _static_shape: TensorShape | None = None, _shape_carrier: Tensor | None = None) -> None:
        with name_scope(None, "SparseTensor"):
            self.indices = _int64(indices, "indices")
            self.values = convert_to_tensor(values)
            self.dense_shape = _int64(dense_shape, "dense_shape")
        self._carrier = _shape_carrier
        if _static_shape is None:
            value = constant_value(self.dense_shape)
            n = self.dense_shape.shape[0] if len(self.dense_shape.shape) == 1 else None
            _static_shape = TensorShape(value.tolist()) if value is not None else TensorShape([None] * n) \
                if n is not None else TensorShape(None)
        self._shape = _static_shape
        ind, val = self.indices.shape, self.values.shape
        if (not ind.unknown_rank and len(ind) != 2) or (not val.unknown_rank and len(val) != 1):
            raise ShapeError(f"SparseTensor: indices '{self.indices.name}' must be (nnz, rank) and values "
                             f"'{self.values.name}' (nnz,), got {fmt(ind)} and {fmt(val)}")
        if not ind.unknown_rank and not val.unknown_rank and None not in (ind[0], val[0]) and ind[0] != val[0]:
            raise ShapeError(f"SparseTensor: {ind[0]} indices in '{self.indices.name}' but {val[0]} values in "
                             f"'{self.values.name}'")
        if not ind.unknown_rank and ind[1] is not None and not self._shape.unknown_rank \
                and ind[1] != len(self._shape):
            raise ShapeError(f"SparseTensor: indices '{self.indices.name}' {fmt(ind)} do not match the rank "
                             f"{len(self._shape)} of dense_shape {fmt(self._shape)}")

    @property
    def dtype(self) -> _dt.DType:
        return self.values.dtype

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def graph(self) -> Any:
        return self.values.graph

    @property
    def op(self) -> Any:
        return self.values.op

    @property
    def name(self) -> str:
        """The scope its parts were made in (a sparse placeholder's name)."""
        return self.values.name.rsplit("/", 1)[0] if "/" in self.values.name else self.values.name

    def get_shape(self) -> TensorShape:
        return self._shape

    def eval(self, feed_dict: Any = None, session: Any = None) -> SparseTensorValue:
        from .session import get_default_session
        return (session or get_default_session()).run(self, feed_dict)

    def _as_fetch(self) -> SparseTensorValue:
        """What Session.run fetches for it: a SparseTensorValue of the three parts."""
        return SparseTensorValue(self.indices, self.values, self.dense_shape)

    def _feed_items(self, value: Any) -> Iterator[tuple[Tensor, np.ndarray]]:
        """The (tensor, array) feeds for a SparseTensorValue or an (indices, values, dense_shape) tuple."""
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            raise TypeError(f"cannot feed {type(value).__name__} to the SparseTensor '{self.name}': feed a "
                            f"tf.SparseTensorValue or an (indices, values, dense_shape) tuple")
        indices, values, dense_shape = value
        dims = np.asarray(dense_shape)
        if dims.ndim != 1 or dims.dtype.kind not in "iu" or (dims < 0).any():
            raise ValueError(f"cannot feed the SparseTensor '{self.name}': dense_shape must be a vector of "
                             f"non-negative integers, got {dense_shape!r:.60}")
        dims = tuple(int(d) for d in dims)
        if not self._shape.is_compatible_with(TensorShape(dims)):
            raise ValueError(f"cannot feed dense_shape {dims} to the SparseTensor '{self.name}' of shape "
                             f"{fmt(self._shape)}")
        indices = np.asarray(indices)
        if indices.size == 0:
            indices = indices.reshape(0, len(dims)).astype(np.int64)
        yield self.indices, indices
        yield self.values, values
        if self._carrier is not None:
            yield self._carrier, np.empty((0,) + dims, np.uint8)
        else:
            fixed = constant_value(self.dense_shape)
            if fixed is None:
                yield self.dense_shape, np.asarray(dims, np.int64)
            elif tuple(fixed.tolist()) != dims:
                raise ValueError(f"cannot feed dense_shape {dims} to the SparseTensor '{self.name}', whose dense "
                                 f"shape is the constant {tuple(fixed.tolist())}")

    def __repr__(self) -> str:
        return (f"SparseTensor(indices={self.indices!r}, values={self.values!r}, "
                f"dense_shape={self.dense_shape!r})")


def _sparse(sp, fn):
    if isinstance(sp, SparseTensorValue):
        return SparseTensor(*sp)
    if not isinstance(sp, SparseTensor):
        raise TypeError(f"{fn}: expected a SparseTensor, got {type(sp).__name__}")
    return sp


def sparse_placeholder(dtype: DTypeLike, shape: Sequence[int | None] | None = None,
                       name: str | None = None) -> SparseTensor:
    """A SparseTensor fed as a SparseTensorValue or an (indices, values, dense_shape) tuple."""
    dtype = _dt.as_dtype(dtype)
    static = TensorShape(None if shape is None else [None if d is None or d == -1 else int(d) for d in shape])
    rank = None if static.unknown_rank else len(static)
    with name_scope(name, "SparsePlaceholder"):
        indices = _placeholder(_dt.int64, [None, rank], name="indices")
        values = _placeholder(dtype, [None], name="values")
        if static.is_fully_defined():
            return SparseTensor(indices, values, constant(list(static), dtype=_dt.int64, name="shape"), static)
        carrier = _placeholder(_dt.uint8, None if rank is None else [0] + list(static), name="shape_carrier")
        dims = _shape(carrier, out_type=_dt.int64, name="shape")[1:]
        return SparseTensor(indices, values, dims, static, carrier)


# -- the index check the host kernels share -------------------------------------------------------------
def _checked_indices(what, indices, shape, ordered):
    """indices as a tuple of index arrays into `shape`, refusing any outside it (and, if `ordered`, any
    repeated or out of lexicographic order, as TF1's validate_indices)."""
    indices = np.asarray(indices)
    if indices.ndim != 2 or indices.shape[1] != len(shape):
        raise InvalidArgumentError(f"{what}: indices of shape {indices.shape} do not index a dense shape "
                                   f"{tuple(shape)} (need (nnz, {len(shape)}))")
    bound = np.asarray(shape, np.int64)
    bad = np.nonzero(((indices < 0) | (indices >= bound)).any(1))[0]
    if bad.size:
        i = int(bad[0])
        raise InvalidArgumentError(f"{what}: indices[{i}] = {indices[i].tolist()} is out of bounds of the dense "
                                   f"shape {list(shape)}")
    if ordered and len(indices) > 1:
        linear = np.ravel_multi_index(tuple(indices.T), tuple(shape)) if len(shape) else np.zeros(len(indices))
        step = np.diff(linear)
        bad = np.nonzero(step <= 0)[0]
        if bad.size:
            i = int(bad[0]) + 1
            why = "is repeated" if step[i - 1] == 0 else "is out of order (TF1's sparse ops need sorted indices)"
            raise InvalidArgumentError(f"{what}: indices[{i}] = {indices[i].tolist()} {why}")
    return tuple(indices.T)


# -- SparseToDense ----------------------------------------------------------------------------------
def _to_dense_rule(shapes, dtypes, attrs):
    if not dtypes[0].is_integer:
        raise ShapeError(f"{attrs['what']}: indices must be integers, got {dtypes[0].name}")
    if dtypes[2] != dtypes[1]:
        raise ShapeError(f"{attrs['what']}: default_value ({dtypes[2].name}) must have the values' dtype "
                         f"({dtypes[1].name})")
    return [(TensorShape(attrs.get("shape", attrs.get("shape_hint"))), dtypes[1])]


def _to_dense_host(spec):
    shape, dtype, a = tuple(spec.out_shape), spec.out_dtype.np, spec.attrs
    what = f"{a['what']} '{spec.name}'"

    def to_dense(indices, values, default, _dense_shape):
        key = _checked_indices(what, indices, shape, a["validate"])
        values = np.asarray(values)
        if values.ndim and values.shape[0] != len(key[0] if key else ()):
            raise InvalidArgumentError(f"{what}: {values.shape[0]} values for {len(key[0])} indices")
        out = np.full(shape, default, dtype)
        out[key] = values
        return out
    return to_dense


def _grad_to_dense(op, g):
    picked = make("GatherNd", [g, op.inputs[0]])
    values = op.inputs[1]
    if values.shape.unknown_rank or len(values.shape):
        return [None, picked, None, None]
    return [None, M.reduce_sum(picked), None, None]


register("SparseToDense", _to_dense_rule, grad=_grad_to_dense, host=_to_dense_host, value_inputs={3: "shape"})


def _dense(indices, values, default, dense_shape, static, validate, what, name):
    values = convert_to_tensor(values)
    default = convert_to_tensor(default, dtype=values.dtype) if not isinstance(default, Tensor) else default
    hint = None if static.unknown_rank else tuple(static)
    return make("SparseToDense", [indices, values, default, dense_shape],
                {"shape_hint": hint, "validate": bool(validate), "what": what}, name=name)


def sparse_tensor_to_dense(sp_input: SparseTensor, default_value: Any = 0, validate_indices: bool = True,
                           name: str | None = None) -> Tensor:
    """The dense tensor: values at their indices, default_value elsewhere."""
    sp = _sparse(sp_input, "sparse_tensor_to_dense")
    return _dense(sp.indices, sp.values, default_value, sp.dense_shape, sp.shape, validate_indices,
                  "sparse_tensor_to_dense", name or "SparseToDense")


def sparse_to_dense(sparse_indices: TensorLike, output_shape: TensorLike, sparse_values: TensorLike,
                    default_value: Any = 0, validate_indices: bool = True, name: str | None = None) -> Tensor:
    """TF1's older spelling: indices (nnz, rank), or (nnz,) for a vector; values (nnz,) or one scalar."""
    indices = _int64(sparse_indices, "sparse_indices")
    if not indices.shape.unknown_rank and len(indices.shape) < 2:
        indices = reshape(indices, [-1, 1])
    dims = _int64(output_shape, "output_shape")
    if len(dims.shape) == 0:
        dims = reshape(dims, [1])
    value = constant_value(dims)
    static = TensorShape(value.tolist()) if value is not None else TensorShape(
        [None] * dims.shape[0] if dims.shape[0] is not None else None)
    return _dense(indices, sparse_values, default_value, dims, static, validate_indices, "sparse_to_dense",
                  name or "SparseToDense")


# -- SparseTensorDenseMatMul ------------------------------------------------------------------------
def _matmul_rule(shapes, dtypes, attrs):
    a_shape = attrs.get("a_shape", attrs.get("a_shape_hint"))
    b = shapes[3]
    if a_shape is not None and len(a_shape) != 2 or (not b.unknown_rank and len(b) != 2):
        raise ShapeError(f"sparse_tensor_dense_matmul: both operands must be matrices, got a sparse "
                         f"{fmt(TensorShape(a_shape))} and a dense {fmt(b)}")
    if dtypes[1] != dtypes[3]:
        raise ShapeError(f"sparse_tensor_dense_matmul: the sparse values ({dtypes[1].name}) and the dense "
                         f"operand ({dtypes[3].name}) need one dtype")
    a_shape = (None, None) if a_shape is None else tuple(a_shape)
    b = (None, None) if b.unknown_rank else tuple(b)
    m, k = a_shape[::-1] if attrs["adjoint_a"] else a_shape
    kb, n = b[::-1] if attrs["adjoint_b"] else b
    if k is not None and kb is not None and k != kb:
        raise ShapeError(f"sparse_tensor_dense_matmul: inner dimensions differ: the sparse operand gives {k} "
                         f"(shape {list(a_shape)}, adjoint_a={attrs['adjoint_a']}), the dense {kb} (shape "
                         f"{list(b)}, adjoint_b={attrs['adjoint_b']})")
    return [(TensorShape([m, n]), dtypes[1])]


def _matmul_host(spec):
    a_shape, a = tuple(spec.attrs["a_shape"]), spec.attrs
    out_shape, dtype = tuple(spec.out_shape), spec.out_dtype.np
    what = f"sparse_tensor_dense_matmul '{spec.name}'"

    def matmul(indices, values, _a_shape, b):
        rows, cols = _checked_indices(what, indices, a_shape, False)
        if a["adjoint_a"]:
            rows, cols = cols, rows
        dense = b.T if a["adjoint_b"] else b
        out = np.zeros(out_shape, dtype)
        np.add.at(out, rows, values[:, None] * dense[cols])
        return out
    return matmul


def _grad_matmul(op, g):
    """d values = <g[row], b'[col]> per entry; d b = A'^T g (the same op, the other adjoint)."""
    indices, values, a_shape, b = op.inputs
    adjoint_a, adjoint_b = op.attrs["adjoint_a"], op.attrs["adjoint_b"]
    rows, cols = indices[:, 0], indices[:, 1]
    if adjoint_a:
        rows, cols = cols, rows
    dense = transpose(b) if adjoint_b else b
    d_values = M.reduce_sum(gather(g, rows) * gather(dense, cols), axis=1)
    d_dense = _matmul(indices, values, a_shape, g, not adjoint_a, False, op.attrs.get("a_shape_hint"))
    return [None, d_values, None, transpose(d_dense) if adjoint_b else d_dense]


register("SparseTensorDenseMatMul", _matmul_rule, grad=_grad_matmul, host=_matmul_host,
         value_inputs={2: "a_shape"})


def _matmul(indices, values, a_shape, b, adjoint_a, adjoint_b, hint, name=None):
    return make("SparseTensorDenseMatMul", [indices, values, a_shape, b],
                {"adjoint_a": bool(adjoint_a), "adjoint_b": bool(adjoint_b), "a_shape_hint": hint}, name=name)


def sparse_tensor_dense_matmul(sp_a: SparseTensor, b: TensorLike, adjoint_a: bool = False, adjoint_b: bool = False,
                               name: str | None = None) -> Tensor:
    """The product of a sparse matrix and a dense one (either transposed by its adjoint flag)."""
    sp = _sparse(sp_a, "sparse_tensor_dense_matmul")
    hint = None if sp.shape.unknown_rank else tuple(sp.shape)
    return _matmul(sp.indices, sp.values, sp.dense_shape, convert_to_tensor(b, dtype=sp.dtype), adjoint_a,
                   adjoint_b, hint, name=name or "SparseTensorDenseMatMul")


# -- reductions and sums ----------------------------------------------------------------------------
def sparse_reduce_sum(sp_input: SparseTensor, axis: Any = None, keep_dims: bool | None = None,
                      reduction_axes: Any = None, keepdims: bool | None = None) -> Tensor:
    """The sum of the dense tensor over `axis` (all axes when None: the sum of the values)."""
    sp = _sparse(sp_input, "sparse_reduce_sum")
    axis = reduction_axes if axis is None else axis
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with name_scope(None, "SparseReduceSum"):
        if axis is None and not keep:
            return M.reduce_sum(sp.values)
        return M.reduce_sum(sparse_tensor_to_dense(sp, validate_indices=False), axis=axis, keepdims=keep)


def sparse_add(a: SparseTensor | TensorLike, b: SparseTensor | TensorLike, thresh: float = 0,
               threshold: float | None = None) -> Tensor:
    """A SparseTensor plus a dense tensor, as a dense tensor (two SparseTensors are not supported)."""
    sparse_a, sparse_b = isinstance(a, (SparseTensor, SparseTensorValue)), isinstance(b, (SparseTensor,
                                                                                          SparseTensorValue))
    if sparse_a and sparse_b:
        raise NotImplementedError("sparse_add of two SparseTensors is not supported; add one of them as "
                                  "tf.sparse_tensor_to_dense(...)")
    if not (sparse_a or sparse_b):
        raise TypeError("sparse_add: one operand must be a SparseTensor")
    sp, dense = (a, b) if sparse_a else (b, a)
    with name_scope(None, "SparseAdd"):
        return M.add(convert_to_tensor(dense), sparse_tensor_to_dense(_sparse(sp, "sparse_add"),
                                                                      validate_indices=False))


# `tf.sparse.*`, TF1.13's names for the same functions
placeholder = sparse_placeholder
to_dense = sparse_tensor_to_dense
reduce_sum = sparse_reduce_sum
sparse_dense_matmul = matmul = sparse_tensor_dense_matmul
add = sparse_add
