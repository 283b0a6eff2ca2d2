"""`tf.contrib.rnn`: the cells of `tf.nn.rnn_cell`, the static drivers, contrib's stacked bidirectional RNN,
and `LSTMBlockCell` (TF1's fused LSTM, here the same arithmetic as LSTMCell under the same variable names)."""
from __future__ import annotations

from ..._types import DTypeLike
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

    def __init__(self, num_units: int, forget_bias: float = 1.0, cell_clip: float | None = None,
                 use_peephole: bool = False, reuse: bool | None = None, dtype: DTypeLike | None = None,
                 name: str = "lstm_cell") -> None:
        super().__init__(num_units, use_peepholes=use_peephole, cell_clip=cell_clip, forget_bias=forget_bias,
                         reuse=reuse, name=name, dtype=dtype)

