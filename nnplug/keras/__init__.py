"""`from nnplug import keras`: the Keras API (Sequential, functional Model, layers, optimizers, fit/evaluate/
predict, callbacks, save/load) built on nnplug graph ops, so it runs on every backend."""
from . import activations, callbacks, constraints, datasets, initializers, layers, losses, metrics  # noqa: F401
from . import optimizers, preprocessing, regularizers, utils  # noqa: F401
from . import backend, models, saving  # noqa: F401
from .layers import Input  # noqa: F401
from .models import Model, Sequential, load_model  # noqa: F401
