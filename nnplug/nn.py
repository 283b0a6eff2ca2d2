"""`nnplug.nn`: activations, softmax and the cross-entropy losses (numerically stable)."""
from .ops.elementwise import elu, leaky_relu, relu, selu, sigmoid, softplus, softsign, tanh  # noqa: F401
from .ops.nn_ops import (  # noqa: F401
    bias_add, dropout, l2_loss, log_softmax, relu6, sigmoid_cross_entropy_with_logits, softmax,
    softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2, sparse_softmax_cross_entropy_with_logits,
)
# -- convolution, pooling, normalisation (nnplug/ops/conv_ops.py, pool_ops.py, norm_ops.py) --------------
from .ops.conv_ops import (  # noqa: E402,F401
    atrous_conv2d, conv1d, conv2d, conv2d_backprop_filter, conv2d_backprop_input, conv2d_transpose, depthwise_conv2d,
    separable_conv2d,
)
from .ops.pool_ops import avg_pool, avg_pool2d, max_pool, max_pool2d, max_pool_with_argmax  # noqa: E402,F401
from .ops.norm_ops import (  # noqa: E402,F401
    batch_normalization, fused_batch_norm, local_response_normalization, lrn,
)
# -- end convolution block --------------------------------------------------------------------------------
# -- TF1 surface ops (manip/clip/sort) ---------------------------------------------------------
from .ops.clip_ops import l2_normalize  # noqa: F401,E402
from .ops.sort_ops import in_top_k, top_k  # noqa: F401,E402
from .ops.stats_ops import moments  # noqa: F401,E402
# -- end TF1 surface ops ----------------------------------------------------------------------
# -- TF1 long tail ------------------------------------------------------------------------------
from .ops.math_extra_ops import (  # noqa: F401,E402
    crelu, log_poisson_loss, swish, weighted_cross_entropy_with_logits, xw_plus_b, zero_fraction,
)
# -- end TF1 long tail --------------------------------------------------------------------------
# -- recurrent networks (nnplug/ops/rnn_cell.py, rnn.py, embedding_ops.py) ------------------------
from .ops import rnn_cell  # noqa: F401,E402 - tf.nn.rnn_cell.BasicLSTMCell, ...
from .ops.embedding_ops import embedding_lookup  # noqa: F401,E402
from .ops.rnn import (  # noqa: F401,E402
    bidirectional_dynamic_rnn, dynamic_rnn, static_bidirectional_rnn, static_rnn,
)
# -- end recurrent networks -----------------------------------------------------------------------
from .ops.candidate_sampling_ops import (  # noqa: F401,E402 - word2vec's sampled losses
    log_uniform_candidate_sampler, nce_loss, sampled_softmax_loss, uniform_candidate_sampler,
)
# -- more tf.nn (nnplug/ops/conv3d.py, nn_more.py) -------------------------------------------------------
from .ops.conv3d import avg_pool3d, conv3d, conv3d_transpose, max_pool3d  # noqa: F401,E402
from .ops.nn_more import (  # noqa: F401,E402
    avg_pool1d, avg_pool_v2, convolution, depthwise_conv2d_native, max_pool1d, max_pool_v2, normalize_moments, pool,
    relu_layer, silu, sufficient_statistics, weighted_moments,
)
from .ops.tail_ops2 import depth_to_space, space_to_depth  # noqa: F401,E402
from .ops.ctc_ops import ctc_greedy_decoder, ctc_loss  # noqa: F401,E402
from .ops.nn_more import compute_average_loss, conv1d_transpose, scale_regularization_loss  # noqa: F401,E402
from .ops.tail_more import space_to_batch  # noqa: F401,E402
