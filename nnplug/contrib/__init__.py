"""`nnplug.contrib`: the parts of TF1's `tf.contrib` that real programs use (`tf.contrib.layers`,
`tf.contrib.rnn`, `tf.contrib.seq2seq`, `tf.contrib.legacy_seq2seq`, and `tf.contrib.keras`, which is
`nnplug.keras`)."""
from .. import keras  # noqa: F401 - `import tensorflow.contrib.keras as keras`
from . import layers  # noqa: F401
from . import legacy_seq2seq, rnn, seq2seq  # noqa: F401
from . import lookup  # noqa: F401,E402 - tf.contrib.lookup
