"""`nnplug.linalg`: TF1's `tf.linalg` names for the matrix functions nnplug has."""
from .ops.clip_ops import l2_normalize, norm  # noqa: F401
from .ops.manip_ops import matrix_transpose  # noqa: F401
from .ops.math_ops import matmul  # noqa: F401
from .ops.sequence_ops import eye  # noqa: F401

transpose = matrix_transpose
