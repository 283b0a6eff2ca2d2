"""`nnplug.nn`: activations, softmax and the cross-entropy losses (numerically stable)."""
from .ops.math_ops import relu, sigmoid, tanh  # noqa: F401
from .ops.nn_ops import (  # noqa: F401
    bias_add, dropout, elu, l2_loss, leaky_relu, log_softmax, relu6, sigmoid_cross_entropy_with_logits, softmax,
    softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2, softplus,
    sparse_softmax_cross_entropy_with_logits,
)
