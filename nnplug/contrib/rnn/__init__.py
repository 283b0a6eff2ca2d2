"""`tf.contrib.rnn`: the cells of `tf.nn.rnn_cell`, the static drivers, contrib's stacked bidirectional RNN,
and `LSTMBlockCell` (TF1's fused LSTM, here the same arithmetic as LSTMCell under the same variable names)."""
from ...ops.rnn import (  # noqa: F401
    bidirectional_dynamic_rnn, stack_bidirectional_dynamic_rnn, static_bidirectional_rnn, static_rnn,
)
from ...ops.rnn_cell import (  # noqa: F401
    BasicLSTMCell, BasicRNNCell, DeviceWrapper, DropoutWrapper, GRUCell, LSTMCell, LSTMStateTuple, MultiRNNCell,
    ResidualWrapper, RNNCell,
)


class LSTMBlockCell(LSTMCell):
    """contrib's LSTMBlockCell: i, j, f, o gates from one product with `lstm_cell/kernel`, optional peepholes
    (`use_peephole`) and cell clipping, no projection."""

    def __init__(self, num_units, forget_bias=1.0, cell_clip=None, use_peephole=False, reuse=None, dtype=None,
                 name="lstm_cell"):
        super().__init__(num_units, use_peepholes=use_peephole, cell_clip=cell_clip, forget_bias=forget_bias,
                         reuse=reuse, name=name, dtype=dtype)

