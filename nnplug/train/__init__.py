"""`nnplug.train`: optimizers, the global step, learning-rate schedules, checkpoints and meta graphs."""
from .learning_rate_decay import (  # noqa: F401
    cosine_decay, exponential_decay, inverse_time_decay, natural_exp_decay, piecewise_constant, polynomial_decay,
)
from .meta_graph import export_meta_graph  # noqa: F401
from .optimizers import (  # noqa: F401
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer, RMSPropOptimizer,
    create_global_step, get_global_step, get_or_create_global_step,
)
from .saver import Saver, import_meta_graph, latest_checkpoint  # noqa: F401
from .checkpoint_utils import NewCheckpointReader, checkpoint_exists, get_checkpoint_state, global_step, list_variables, load_variable  # noqa: F401,E501
# -- TF1 long tail ------------------------------------------------------------------------------
from .optimizers_extra import (  # noqa: F401,E402
    AdadeltaOptimizer, Coordinator, FtrlOptimizer, ProximalGradientDescentOptimizer, SessionRunArgs,
    SessionRunContext, SessionRunHook, SessionRunValues, start_queue_runners,
)
# -- end TF1 long tail --------------------------------------------------------------------------
# -- monitored sessions, stock hooks, moving averages -------------------------------------------
from .basic_session_run_hooks import (  # noqa: F401,E402
    CheckpointSaverHook, CheckpointSaverListener, FeedFnHook, FinalOpsHook, LoggingTensorHook,
    NanLossDuringTrainingError, NanTensorHook, SecondOrStepTimer, StepCounterHook, StopAtStepHook, SummarySaverHook,
    global_step,
)
from .monitored_session import (  # noqa: F401,E402
    ChiefSessionCreator, MonitoredSession, MonitoredTrainingSession, Scaffold, SessionCreator, SingularMonitoredSession,
    StepContext, WorkerSessionCreator,
)
from .moving_averages import ExponentialMovingAverage  # noqa: F401,E402
from .supervisor import Supervisor  # noqa: F401,E402
# -- end monitored sessions ---------------------------------------------------------------------
# -- queue input pipelines (nnplug/train/input.py, queue_runner.py) ----------------------------
from .input import (  # noqa: F401,E402
    batch, batch_join, input_producer, limit_epochs, range_input_producer, shuffle_batch, shuffle_batch_join,
    slice_input_producer, string_input_producer,
)
from .queue_runner import QueueRunner, add_queue_runner  # noqa: F401,E402
from . import queue_runner  # noqa: F401,E402 - tf.train.queue_runner.QueueRunner


def __getattr__(name: str) -> type:
    """tf.train.Example, Features, Feature, BytesList, FloatList, Int64List, ...: protobuf classes, made when
    first asked for (nnplug/lib/example_proto.py)."""
    from ..lib import example_proto
    if name in example_proto.NAMES:
        return example_proto.message_class(name)
    raise AttributeError(f"module 'nnplug.train' has no attribute {name!r}")
# -- end queue input pipelines --------------------------------------------------------------------
from ..graph_io import write_graph  # noqa: F401,E402 - tf.train.write_graph
