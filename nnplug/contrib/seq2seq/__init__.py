"""`tf.contrib.seq2seq`: the weighted sequence loss."""
from .loss import sequence_loss  # noqa: F401
