"""`nnplug.nn`: activations, softmax and the cross-entropy losses (numerically stable)."""
from .ops.elementwise import elu, leaky_relu, relu, selu, sigmoid, softplus, softsign, tanh  # noqa: F401
from .ops.nn_ops import (  # noqa: F401
    bias_add, dropout, l2_loss, log_softmax, relu6, sigmoid_cross_entropy_with_logits, softmax,
    softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2, sparse_softmax_cross_entropy_with_logits,
)
# -- TF1 surface ops (manip/clip/sort) ---------------------------------------------------------
from .ops.clip_ops import l2_normalize  # noqa: F401,E402
from .ops.sort_ops import in_top_k, top_k  # noqa: F401,E402
from .ops.stats_ops import moments  # noqa: F401,E402
# -- end TF1 surface ops ----------------------------------------------------------------------
# -- recurrent networks (nnplug/ops/rnn_cell.py, rnn.py, embedding_ops.py) ------------------------
from .ops import rnn_cell  # noqa: F401,E402 - tf.nn.rnn_cell.BasicLSTMCell, ...
from .ops.embedding_ops import embedding_lookup  # noqa: F401,E402
from .ops.rnn import (  # noqa: F401,E402
    bidirectional_dynamic_rnn, dynamic_rnn, static_bidirectional_rnn, static_rnn,
)
# -- end recurrent networks -----------------------------------------------------------------------
