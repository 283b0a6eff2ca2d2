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
