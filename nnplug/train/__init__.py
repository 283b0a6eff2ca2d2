"""`nnplug.train`: optimizers, the global step and checkpoint saving."""
from .optimizers import (  # noqa: F401
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer, RMSPropOptimizer,
    create_global_step, get_global_step, get_or_create_global_step,
)
from .meta_graph import export_meta_graph  # noqa: F401
from .saver import Saver, import_meta_graph, latest_checkpoint  # noqa: F401
