"""`nnplug.train`: optimizers, the global step and checkpoint saving."""
from .optimizers import (  # noqa: F401
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer, RMSPropOptimizer,
    create_global_step, get_global_step, get_or_create_global_step,
)
from .saver import Saver, latest_checkpoint  # noqa: F401
# -- TF1 surface: learning-rate schedules -------------------------------------------------------
from .learning_rate_decay import (  # noqa: F401,E402
    cosine_decay, exponential_decay, inverse_time_decay, natural_exp_decay, piecewise_constant, polynomial_decay,
)
# -- end learning-rate schedules ----------------------------------------------------------------
