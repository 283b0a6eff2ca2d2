"""`nnplug.nn`: activations, softmax and the cross-entropy losses (numerically stable)."""
from .ops.elementwise import elu, leaky_relu, relu, selu, sigmoid, softplus, softsign, tanh  # noqa: F401
from .ops.nn_ops import (  # noqa: F401
    bias_add, dropout, l2_loss, log_softmax, relu6, sigmoid_cross_entropy_with_logits, softmax,
    softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2, sparse_softmax_cross_entropy_with_logits,
)
