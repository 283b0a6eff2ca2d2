"""nnplug.distributed for Keras models, with Horovod's names (`import nnplug.distributed.keras as hvd`).

    hvd.init()
    x_train, y_train = hvd.shard(x_train, y_train)           # users shard their data by rank
    opt = hvd.DistributedOptimizer(keras.optimizers.SGD(lr=0.001 * hvd.size(), momentum=0.9))
    model.compile(optimizer=opt, loss="categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=64, epochs=5, verbose=hvd.verbose(),
              callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0), hvd.callbacks.MetricAverageCallback()])

`batch_size` is per rank: the global batch is batch_size * size(), hence the scaled learning rate.
"""
from .. import (
    STATS, Average, Sum, allgather, allreduce, broadcast, init, is_initialized, local_rank, local_size, rank,
    shard, size, stats,
)
from . import callbacks
from .optimizers import DistributedOptimizer


def verbose(level: int = 1) -> int:
    """`level` on rank 0 and 0 elsewhere: pass it to fit/evaluate so that only rank 0 prints progress."""
    return level if rank() == 0 else 0


__all__ = ["STATS", "Average", "DistributedOptimizer", "Sum", "allgather", "allreduce", "broadcast", "callbacks",
           "init", "is_initialized", "local_rank", "local_size", "rank", "shard", "size", "stats", "verbose"]
