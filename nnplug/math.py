"""`nnplug.math`: TF1.13+'s `tf.math` names for the math functions nnplug has (aliases, no new ops)."""
from .ops.clip_ops import l2_normalize  # noqa: F401
from .ops.elementwise import (  # noqa: F401,A004
    abs, acos, add, asin, atan, atan2, ceil, cos, cosh, equal, erf, exp, expm1, floor, floormod, greater,
    greater_equal, is_finite, is_inf, is_nan, less, less_equal, log, log1p, logical_and, logical_not, logical_or,
    logical_xor, maximum, minimum, mod, multiply, negative, not_equal, pow, reciprocal, round, rsqrt, sigmoid, sign,
    sin, sinh, softplus, softsign, sqrt, square, squared_difference, subtract, tan, tanh, truncatediv,
)
from .ops.math_extra_ops import (  # noqa: F401
    bincount, cumprod, cumsum, log_sigmoid, reduce_logsumexp, scalar_mul, segment_sum, unsorted_segment_sum,
    zero_fraction,
)
from .ops.math_ops import (  # noqa: F401
    add_n, argmax, argmin, divide, floordiv, reduce_all, reduce_any, reduce_max, reduce_mean, reduce_min,
    reduce_prod, reduce_sum, truediv,
)
from .ops.sort_ops import in_top_k, top_k  # noqa: F401
from .ops.stats_ops import count_nonzero  # noqa: F401
from .ops.linalg_ops import digamma, erfc, lgamma  # noqa: E402,F401
from .ops.segment_ops import (  # noqa: E402,F401
    segment_max, segment_mean, segment_min, unsorted_segment_max, unsorted_segment_min,
)
from .ops.tail_ops2 import confusion_matrix  # noqa: E402,F401
# -- more tf.math (nnplug/ops/math_more.py, misc_ops.py, segment_more.py) -------------------------------
from .nn import log_softmax, softmax  # noqa: E402,F401
from .ops.math_more import (  # noqa: E402,F401
    acosh, asinh, atanh, bessel_i0, bessel_i0e, bessel_i1, bessel_i1e, cumulative_logsumexp, divide_no_nan, erfinv,
    is_non_decreasing, is_strictly_increasing, lbeta, multiply_no_nan, ndtri, nextafter, polyval, reciprocal_no_nan,
    reduce_euclidean_norm, reduce_std, reduce_variance, xdivy, xlog1py, xlogy,
)
from .ops.misc_ops import invert_permutation, rint, truncatemod  # noqa: E402,F401
from .ops.segment_more import (  # noqa: E402,F401
    segment_prod, unsorted_segment_mean, unsorted_segment_prod, unsorted_segment_sqrt_n,
)
from .ops.math_more import erfcinv  # noqa: E402,F401
from .ops.tail_more import accumulate_n, conj, imag, real  # noqa: E402,F401
