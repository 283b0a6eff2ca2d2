"""`tf.contrib.seq2seq`: the weighted sequence loss, and BasicDecoder with its helpers run by
dynamic_decode."""
from .decoder import (  # noqa: F401
    BasicDecoder, BasicDecoderOutput, GreedyEmbeddingHelper, Helper, TrainingHelper, dynamic_decode,
)
from .loss import sequence_loss  # noqa: F401
