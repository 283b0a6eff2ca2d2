"""`nnplug.linalg`: TF1's `tf.linalg` names for the matrix functions nnplug has."""
from .ops.clip_ops import l2_normalize, norm  # noqa: F401
from .ops.manip_ops import matrix_transpose  # noqa: F401
from .ops.math_ops import matmul  # noqa: F401
from .ops.sequence_ops import eye  # noqa: F401

transpose = matrix_transpose
from .ops.linalg_ops import (  # noqa: E402,F401
    cholesky, matrix_band_part as band_part, matrix_determinant as det, matrix_set_diag as set_diag,
    matrix_solve as solve, qr,
)
from .ops.math_extra_ops import matrix_diag as diag, matrix_diag_part as diag_part, matrix_inverse as inv  # noqa: E402,F401,E501
from .ops.math_extra_ops import trace  # noqa: E402,F401
from .ops.tail_ops2 import tensordot  # noqa: E402,F401
# -- decompositions, solvers and small compositions (nnplug/ops/linalg_more.py) ---------------------------
from .ops.clip_ops import global_norm  # noqa: E402,F401
from .ops.math_extra_ops import einsum  # noqa: E402,F401
from .ops.linalg_more import (  # noqa: E402,F401
    adjoint, cholesky_solve, cross, eigh, eigvalsh, expm, logdet, lstsq, lu, lu_solve, matrix_rank, matvec,
    normalize, pinv, slogdet, svd, tensor_diag, tensor_diag_part, triangular_solve,
)
from .ops.linalg_more import lu_matrix_inverse, lu_reconstruct  # noqa: E402,F401
