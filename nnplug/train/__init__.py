"""`nnplug.train`: optimizers, the global step and checkpoint saving."""
from .optimizers import (  # noqa: F401
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer, RMSPropOptimizer,
    create_global_step, get_global_step, get_or_create_global_step,
)
from .saver import Saver, latest_checkpoint  # noqa: F401
