"""`nnplug.random`: TF1.13+'s `tf.random` names for the random ops (aliases, seeded as the others)."""
from .ops.math_extra_ops import random_shuffle as shuffle  # noqa: F401
from .ops.random_ops import (  # noqa: F401
    random_normal as normal, random_uniform as uniform, set_random_seed, set_random_seed as set_seed,
    truncated_normal,
)
from .ops.tail_ops2 import categorical  # noqa: E402,F401
# -- gamma, poisson and the stateless draws (nnplug/ops/random_more.py) -----------------------------------
from .ops.random_more import (  # noqa: E402,F401
    fold_in, gamma, poisson, stateless_categorical, stateless_normal, stateless_truncated_normal, stateless_uniform,
)
from .ops.tail_ops2 import multinomial  # noqa: E402,F401
from .ops.random_more import get_seed_pair as get_seed  # noqa: E402,F401
from .ops.random_more import split, stateless_multinomial  # noqa: E402,F401
from .ops.candidate_sampling_ops import log_uniform_candidate_sampler, uniform_candidate_sampler  # noqa: E402,F401
