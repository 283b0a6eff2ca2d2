"""The load steps every format shares, in the order that keeps a hostile file cheap: check the config, wire
the model symbolically (nothing allocated), compare the weight shapes it needs with the shapes the file
declares (so nothing is read or allocated for a file that does not fit), then read, build and load."""
import math
import warnings

import numpy as np

from .. import losses as _losses
from .. import optimizers as _optimizers
from . import dialects, schema
from .errors import ModelFileError

_BUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, NotImplementedError, AttributeError)


MODEL_CLASSES = {}  # class name -> model class; models.py registers Model and Sequential (it imports us)


def model_class(cls):
    """Class decorator: configs naming `cls.__name__` build this class."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def model_from_spec(spec, path):
    """An unbuilt model from a config in any dialect; every problem is a ModelFileError naming the field."""
    spec = schema.check_model(dialects.read_model(spec, path), path)
    cls = MODEL_CLASSES[spec["class_name"]]
    try:
        model = cls.from_config(spec["config"])
    except ModelFileError:
        raise
    except _BUILD_ERRORS as e:
        raise ModelFileError(path, f"the config does not describe a working model: {e}") from None
    if not model._ready():
        raise ModelFileError(path, "the model has no input shape (its first layer gives no batch_input_shape)")
    return model


def needed_shapes(model):
    """[(weight name, shape)] in the order of model.weights, from the layers' specs: nothing allocated."""
    return [(f"{layer.name}/{name}", tuple(shape)) for layer in model.layers
            for name, shape, _, _ in layer.weight_specs(layer.input_spec)]


def check_declared(path, needed, declared, what="weights"):
    """`declared`: [(entry name, shape, dtype)] as the file describes them, before any data is read."""
    if len(declared) != len(needed):
        raise ModelFileError(path, f"it holds {len(declared)} {what} arrays; the model needs {len(needed)} "
                                   f"({', '.join(n for n, _ in needed) or 'none'})")
    for (name, shape), (entry, got, dtype) in zip(needed, declared):
        if tuple(got) != tuple(shape):
            raise ModelFileError(path, f"{what} entry '{entry}' has shape {tuple(got)}; the model's '{name}' "
                                       f"needs {tuple(shape)}")
        if np.dtype(dtype).kind not in "biuf":
            raise ModelFileError(path, f"{what} entry '{entry}' holds {dtype} data, not numbers")


def check_optimizer_declared(path, model_needed, declared, optimizer):
    """The optimizer state may hold at most iterations, the learning rate and the slots: bounded by the
    weights' own size before it is read."""
    limit = (optimizer.slots_per_weight * sum(math.prod(s) for _, s in model_needed) + 2) * 8
    size = sum(math.prod(shape) * np.dtype(dtype).itemsize for _, shape, dtype in declared)
    if size > limit:
        raise ModelFileError(path, f"its optimizer state declares {size} bytes; a {type(optimizer).__name__} "
                                   f"for this model keeps at most {limit}")
    for entry, _, dtype in declared:
        if np.dtype(dtype).kind not in "biuf":
            raise ModelFileError(path, f"optimizer entry '{entry}' holds {dtype} data, not numbers")


def compile_from(model, training, path):
    """Compile with the saved loss, metrics and optimizer; a setting nnplug cannot honour is named."""
    training = schema.check(training, schema.TRAINING, path, "training")
    try:
        optimizer = _optimizers.deserialize(training["optimizer"])
        loss = training["loss"]
        loss = [None if l is None else _losses.deserialize(l) for l in loss] if isinstance(loss, list) else \
            _losses.deserialize(loss)
        model.compile(optimizer=optimizer, loss=loss, metrics=training["metrics"],
                      loss_weights=training.get("loss_weights"))
    except _BUILD_ERRORS as e:
        raise ModelFileError(path, f"training: cannot compile with the saved settings: {e}") from None


def load_weights_into(model, values, path):
    try:
        model._load_values(list(zip(model.weights, values)), "load", len(model.weights), len(values))
    except (ValueError, TypeError) as e:
        raise ModelFileError(path, str(e)) from None


def load_optimizer_state(model, values, path):
    """Restore the optimizer's variables where they fit its layout exactly; else warn and start fresh (as
    Keras does for a state it cannot use)."""
    model._compiled("load_model")
    variables = model.optimizer.weights
    shapes_fit = len(values) == len(variables) and all(
        tuple(np.shape(v)) == tuple(var.shape) for v, var in zip(values, variables))
    if not shapes_fit:
        warnings.warn(f"'{path}': the saved optimizer state ({len(values)} arrays) does not fit this optimizer "
                      f"({len(variables)} variables); it starts fresh", RuntimeWarning, stacklevel=3)
        return
    model._load_values(list(zip(variables, values)), f"load_model('{path}') optimizer")
