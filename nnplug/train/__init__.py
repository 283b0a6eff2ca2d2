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
