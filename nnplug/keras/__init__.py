"""`from nnplug import keras`: the Keras API (Sequential, functional Model, layers, optimizers, fit/evaluate/
predict, callbacks, save/load) built on nnplug graph ops, so it runs on every backend."""
from . import activations, callbacks, datasets, initializers, layers, losses, metrics, optimizers, utils  # noqa: F401
from . import backend, models, saving  # noqa: F401
from .layers import Input  # noqa: F401
from .models import Model, Sequential, load_model  # noqa: F401
