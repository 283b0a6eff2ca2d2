"""nnplug: a TensorFlow-1-style graph framework whose kernels come from pluggable backends.

`import nnplug as tf` gives the TF1 surface: placeholders, Variables, Sessions, gradients and optimizers.
"""
from . import dtypes
from .dtypes import (  # noqa: A004
    DType, as_dtype, bool_ as bool, float16, float32, float64, int8, int16, int32, int64, string, uint8,
)
from .shapes import Dimension, TensorShape, dimension_value
from .graph import (
    Graph, GraphKeys, Operation, Tensor, add_to_collection, constant, control_dependencies, convert_to_tensor, device,
    get_collection, get_default_graph, name_scope, reset_default_graph,
)
from .ops import operators as _operators  # noqa: F401 - installs the Python operators on Tensor
from .ops.elementwise import (
    abs, add, cast, ceil, cos, equal, erf, exp, expm1, floor, greater, greater_equal, less, less_equal, log, log1p,
    logical_and, logical_not, logical_or, maximum, minimum, multiply, negative, not_equal, pow, reciprocal, round,
    rsqrt, sigmoid, sign, sin, sqrt, square, subtract, tanh,
)
from .ops.math_ops import (
    add_n, argmax, argmin, clip_by_value, div, divide, floordiv, matmul, ones_like, reduce_all, reduce_any,
    reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, truediv, where, zeros_like,
)
from .ops.array_ops import (
    concat, expand_dims, fill, gather, identity, one_hot, ones, placeholder, placeholder_with_default, rank,
    reshape, shape, size, squeeze, stack, stop_gradient, transpose, zeros,
)
from .ops.random_ops import random_normal, random_uniform, set_random_seed, truncated_normal
from .ops import nn_ops as _nn_ops  # noqa: F401 - registers softmax and cross-entropy
# -- convolution, pooling, normalisation: their op types (the functions are in nnplug.nn, nnplug.layers) --
from .ops import conv_ops as _conv_ops, norm_ops as _norm_ops, pool_ops as _pool_ops  # noqa: F401
from . import xp_conv as _xp_conv  # noqa: F401 - adds the Array-API conv/pool kernels to xp_kernels.XP_KERNELS
# -- end convolution block --
from .variables import (
    AUTO_REUSE, Variable, VariableScope, all_variables, assign, assign_add, assign_sub, get_variable,
    get_variable_scope, global_variables, global_variables_initializer, group, initialize_all_variables,
    local_variables, local_variables_initializer, no_op, trainable_variables, variable_scope,
    variables_initializer,
)
from .variables import _copy_operators

_copy_operators()
from .autodiff import gradients  # noqa: E402
from .session import InteractiveSession, Session, get_default_session  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402
from .plugins import backend, get_backend, set_backend  # noqa: E402
from . import errors, initializers, nn, train  # noqa: E402
from . import datasets, layers, losses  # noqa: E402
from . import data, summary  # noqa: E402
from .devices import ConfigProto, GPUOptions  # noqa: E402
from .run_options import RunMetadata, RunOptions  # noqa: E402
from .initializers import (  # noqa: E402,F401 - TF1's initializer names at the top level
    constant_initializer, glorot_normal_initializer, glorot_uniform_initializer, ones_initializer,
    random_normal_initializer, random_uniform_initializer, truncated_normal_initializer,
    variance_scaling_initializer, zeros_initializer,
)
from .ops.manip_ops import (  # noqa: E402,F401,A004
    boolean_mask, matrix_transpose, pad, reverse, reverse_v2, shape_n, slice, split, strided_slice, tile, unstack,
)
from .ops.sequence_ops import eye, lin_space, linspace, range  # noqa: E402,F401,A004
from .ops.clip_ops import clip_by_global_norm, clip_by_norm, global_norm, norm  # noqa: E402,F401
from .ops.stats_ops import count_nonzero  # noqa: E402,F401
from .ops.control_flow import case, cond, while_loop  # noqa: E402,F401
from .ops.tensor_array import TensorArray  # noqa: E402,F401
# -- recurrent networks' sequence helpers (nnplug/ops/rnn.py) -----------------------------------
from .ops.rnn import reverse_sequence, sequence_mask  # noqa: E402,F401
# -- end recurrent networks -----------------------------------------------------------------------
from . import contrib, linalg, metrics  # noqa: E402,F401
from ._version import __version__  # noqa: E402,F401 - defined once, in pyproject.toml
from . import testing_tf as test  # noqa: E402,F401 - tf.test (nnplug.testing is the conformance suite)
VERSION = __version__  # TF1's tf.VERSION / tf.GIT_VERSION, which programs print
GIT_VERSION = f"v{__version__}"
from . import debugging  # noqa: E402,F401
from . import keras  # noqa: E402,F401

sub = subtract
mul = multiply
arg_max, arg_min = argmax, argmin
# -- TF1 long tail ------------------------------------------------------------------------------
from .ops.elementwise import (  # noqa: E402,F401
    acos, asin, atan, atan2, cosh, floormod, is_finite, is_inf, is_nan, logical_xor, mod, sinh,
    squared_difference, tan, truncatediv,
)
from .ops.math_extra_ops import (  # noqa: E402,F401
    cumprod, cumsum, diag, einsum, log_sigmoid, matrix_diag, matrix_diag_part, meshgrid, reduce_logsumexp, scalar_mul,
    segment_sum, to_double, to_float, to_int32, to_int64, unsorted_segment_sum,
)
from .ops.math_extra_ops import (  # noqa: E402,F401
    bincount, gather_nd, matrix_inverse, random_shuffle, unique,
)
from .ops.debug_ops import (  # noqa: E402,F401
    Assert, Print, assert_equal, assert_greater, assert_greater_equal, assert_less, assert_less_equal,
    assert_negative, assert_non_negative, assert_non_positive, assert_none_equal, assert_positive,
)
from .ops.script_ops import foldl, foldr, map_fn, py_func, scan  # noqa: E402,F401
from . import app, gfile, logging, math, random  # noqa: E402,F401,A004
from .app import flags  # noqa: E402,F401
from . import compat  # noqa: E402,F401
from .ops.math_extra_ops import diag_part, trace  # noqa: E402,F401
newaxis = None  # tf.newaxis, for x[:, tf.newaxis]
from . import image  # noqa: E402,F401 - tf.image
from .image import random_crop  # noqa: E402,F401
from . import sparse  # noqa: E402,F401 - tf.sparse, and the TF1 sparse functions below
from .sparse import (  # noqa: E402,F401
    SparseTensor, SparseTensorValue, sparse_add, sparse_placeholder, sparse_reduce_sum, sparse_tensor_dense_matmul,
    sparse_tensor_to_dense, sparse_to_dense,
)
# -- end TF1 long tail --------------------------------------------------------------------------
# -- TF1 long tail, round 2 (nnplug/ops/tail_ops2.py, segment_ops.py, linalg_ops.py, check_ops.py) -------
from .ops.tail_ops2 import (  # noqa: E402,F401
    argsort, batch_matmul, clip_by_average_norm, confusion_matrix, depth_to_space, multinomial, roll, setdiff1d,
    sort, space_to_depth, tensordot, unique_with_counts,
)
from .ops.segment_ops import (  # noqa: E402,F401
    dynamic_partition, dynamic_stitch, scatter_nd, segment_max, segment_mean, segment_min, unsorted_segment_max,
    unsorted_segment_min,
)
from .ops.linalg_ops import (  # noqa: E402,F401
    cholesky, digamma, erfc, lgamma, matrix_band_part, matrix_determinant, matrix_set_diag, matrix_solve, qr,
)
from .ops.check_ops import (  # noqa: E402,F401
    add_check_numerics_ops, assert_variables_initialized, check_numerics, is_variable_initialized,
    report_uninitialized_variables, verify_tensor_all_finite,
)
from .ops.indexed_slices import IndexedSlices  # noqa: E402,F401
from .variables import make_template, model_variables, scatter_add, scatter_sub, scatter_update  # noqa: E402,F401
from .autodiff import NoGradient, NotDifferentiable, RegisterGradient, hessians  # noqa: E402,F401
from .initializers import orthogonal_initializer, uniform_unit_scaling_initializer  # noqa: E402,F401
half, double = float16, float64
from contextlib import AbstractContextManager as _ContextManager  # noqa: E402


def colocate_with(op: object, ignore_existing: bool = False) -> _ContextManager[None]:
    """A placement hint (a context manager) that changes nothing: nnplug places ops by tf.device alone."""
    return get_default_graph().colocate_with(op, ignore_existing)


def executing_eagerly() -> bool:
    """Always False: nnplug builds graphs and runs them in Sessions (TF1 graph mode)."""
    return False


def disable_eager_execution() -> None:
    """Nothing to do: nnplug is always in TF1 graph mode."""


disable_v2_behavior = disable_eager_execution


def enable_eager_execution(*args: object, **kwargs: object) -> None:
    raise NotImplementedError("enable_eager_execution: nnplug has TF1 graphs and Sessions only (no eager "
                              "mode); build the graph and run it in a tf.Session")
# -- end TF1 long tail, round 2 ------------------------------------------------------------------------
# -- queues and input pipelines (nnplug/ops/queue_ops.py, nnplug/train/input.py) ---------------------
from .ops.queue_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue  # noqa: E402,F401
from .train.input import count_up_to  # noqa: E402,F401
from .ops.reader_ops import (  # noqa: E402,F401
    FixedLengthRecordReader, ReaderBase, TextLineReader, TFRecordReader, WholeFileReader, read_file,
)
from .ops.parsing_ops import (  # noqa: E402,F401
    FixedLenFeature, VarLenFeature, decode_raw, parse_example, parse_single_example,
)
from .ops.file_io_ops import write_file  # noqa: E402,F401
from .image import extract_image_patches  # noqa: E402,F401
from . import io, python_io  # noqa: E402,F401,A004 - tf.io, tf.python_io
# -- end queues -----------------------------------------------------------------------------------
# -- GraphDefs, frozen graphs and SavedModels (nnplug/graph_def.py, importer.py, graph_util.py, saved_model/) --
from .graph_def import GraphDef, NodeDef  # noqa: E402,F401
from .importer import import_graph_def  # noqa: E402,F401
from . import graph_util, saved_model  # noqa: E402,F401
# -- end GraphDefs --------------------------------------------------------------------------------------
# -- strings, lookup tables, CSV (nnplug/ops/string_ops.py, string_number_ops.py, nnplug/lookup.py) ---------
from . import lookup, strings  # noqa: E402,F401
from .lookup import initialize_all_tables, tables_initializer  # noqa: E402,F401
from .ops.parsing_ops import decode_csv  # noqa: E402,F401
from .ops.string_number_ops import (  # noqa: E402,F401
    as_string, string_to_hash_bucket_fast, string_to_hash_bucket_strong, string_to_number,
)
from .ops.string_ops import (  # noqa: E402,F401
    decode_base64, encode_base64, reduce_join, regex_replace, string_join, string_split, string_strip, substr,
)
# -- end strings ----------------------------------------------------------------------------------------
# -- more top-level names (nnplug/ops/misc_ops.py, print_ops.py, function_ops.py, segment_more.py) ------
from .ops.misc_ops import (  # noqa: E402,F401
    AggregationMethod, batch_gather, batch_to_space_nd, bitcast, broadcast_to, div_no_nan, ensure_shape, floor_div,
    get_collection_ref, get_local_variable, histogram_fixed_width, histogram_fixed_width_bins, invert_permutation,
    is_tensor, moving_average_variables, realdiv, repeat, rint, searchsorted, space_to_batch_nd, truncatemod,
    tuple_ as tuple, unravel_index,
)
from .ops.print_ops import print_v2 as print  # noqa: E402,F401,A004
from .ops.function_ops import custom_gradient, numpy_function, py_function  # noqa: E402,F401
from .ops.segment_more import (  # noqa: E402,F401
    scatter_div, scatter_max, scatter_min, scatter_mul, scatter_nd_add, scatter_nd_sub, scatter_nd_update,
    segment_prod, sparse_segment_mean, sparse_segment_sqrt_n, sparse_segment_sum, tensor_scatter_add,
    tensor_scatter_nd_add, tensor_scatter_nd_max, tensor_scatter_nd_min, tensor_scatter_nd_sub,
    tensor_scatter_nd_update, tensor_scatter_sub, tensor_scatter_update, unsorted_segment_mean,
    unsorted_segment_prod, unsorted_segment_sqrt_n,
)
initialize_local_variables = local_variables_initializer
initialize_variables = variables_initializer
no_gradient = NotDifferentiable
from .ops.math_more import acosh, asinh, atanh, is_non_decreasing, is_strictly_increasing, lbeta  # noqa: E402,F401
from .ops.linalg_more import (  # noqa: E402,F401
    cholesky_solve, cross, matrix_solve_ls, matrix_triangular_solve, self_adjoint_eig, self_adjoint_eigvals, svd,
)
from .ops.random_more import get_seed_pair as get_seed, random_gamma, random_poisson  # noqa: E402,F401
from .ops.tail_more import (  # noqa: E402,F401
    accumulate_n, add_to_collections, assert_integer, assert_near, assert_rank, assert_rank_at_least, assert_rank_in,
    assert_same_float_dtype, assert_scalar, assert_type, batch_to_space, broadcast_dynamic_shape,
    broadcast_static_shape, conj, get_static_value, identity_n, imag, is_numeric_tensor, real, saturate_cast,
    space_to_batch, where_v2,
)
# -- end more top-level names ---------------------------------------------------------------------------
