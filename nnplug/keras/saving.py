"""Saving and loading models: architecture and compile settings as JSON, weights and optimizer state as
arrays, in one .npz file (plain data: no pickle, no code). A file that does not fit changes nothing."""
import json

import numpy as np

from ..train.saver import atomic_write
from . import losses as _losses
from . import optimizers as _optimizers

FORMAT = "nnplug-keras"
VERSION = 1


# -- the model's description ---------------------------------------------------------------
def model_spec(model):
    """{'format', 'version', 'model': {class_name, config}, 'training': compile settings if compiled}."""
    spec = {"format": FORMAT, "version": VERSION,
            "model": {"class_name": model.config_class_name, "config": model.get_config()}}
    if model.loss is not None:
        spec["training"] = {"loss": _losses.serialize(model.loss), "metrics": model._metric_names,
                            "optimizer": _optimizers.serialize(model.optimizer)}
    return spec


def model_from_config(spec):
    from .models import Model, Sequential  # models import this module for their save methods
    cls = {"Sequential": Sequential, "Model": Model}.get(spec["class_name"])
    if cls is None:
        raise ValueError(f"unknown model class '{spec['class_name']}'")
    return cls.from_config(spec["config"])


def model_from_json(text):
    return model_from_config(json.loads(text))


def to_json(model):
    return json.dumps(model_spec(model)["model"])


# -- save ----------------------------------------------------------------------------------
def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """One .npz file: the architecture and compile settings as JSON, the weights (and optimizer state)."""
    model._build()
    spec = model_spec(model)
    arrays = {f"w/{i}": v for i, v in enumerate(model.get_weights())}
    if include_optimizer and model._train is not None:
        arrays.update({f"o/{i}": model._session.variable_value(v) for i, v in enumerate(model.optimizer.weights)})
    _write(filepath, spec, arrays)


def save_weights(model, filepath, overwrite=True):
    model._build()
    names = [w.name for w in model.weights]
    spec = {"format": FORMAT, "version": VERSION, "weights": names}
    _write(filepath, spec, {f"w/{i}": v for i, v in enumerate(model.get_weights())})


# -- load ----------------------------------------------------------------------------------
def load_weights(model, filepath):
    """Load weights saved by save_weights or save; a file that does not fit changes nothing."""
    model._build()
    _, arrays = _read(filepath)
    ws = _indexed(arrays, "w/")
    try:
        model._load_values(list(zip(model.weights, ws)), "load_weights", len(model.weights), len(ws))
    except (ValueError, TypeError) as e:
        raise ValueError(f"cannot load weights from '{filepath}': {e}") from None


def load_model(filepath, compile=True):  # noqa: A002 - the Keras name
    """A model saved by `model.save`: architecture, weights, and (if it was compiled) loss and optimizer."""
    spec, arrays = _read(filepath)
    if "model" not in spec:
        raise ValueError(f"'{filepath}' holds weights only (written by save_weights); build the model and "
                         f"call model.load_weights('{filepath}')")
    model = model_from_config(spec["model"])
    ws = _indexed(arrays, "w/")
    model._load_values(list(zip(model.weights, ws)), f"load_model('{filepath}')", len(model.weights), len(ws))
    training = spec.get("training")
    if compile and training:
        model.compile(optimizer=_optimizers.deserialize(training["optimizer"]),
                      loss=_losses.deserialize(training["loss"]), metrics=training["metrics"])
        opt_values = _indexed(arrays, "o/")
        if opt_values:
            model._compiled("load_model")
            model._load_values(list(zip(model.optimizer.weights, opt_values)), f"load_model('{filepath}') optimizer",
                               len(model.optimizer.weights), len(opt_values))
    return model


# -- the .npz file -------------------------------------------------------------------------
def _write(path, spec, arrays):
    arrays = {"__config__": np.array(json.dumps(spec)), **arrays}
    atomic_write(str(path), lambda f: np.savez(f, **arrays))


def _read(path):
    try:
        with np.load(str(path), allow_pickle=False) as data:
            if "__config__" not in data.files:
                raise ValueError("it is not an nnplug Keras file (no '__config__' entry)")
            spec = json.loads(str(data["__config__"]))
            if spec.get("format") != FORMAT:
                raise ValueError(f"its format is {spec.get('format')!r}, not {FORMAT!r}")
            if int(spec.get("version", 0)) > VERSION:
                raise ValueError(f"it has version {spec['version']}; this nnplug reads up to {VERSION}")
            return spec, {k: data[k] for k in data.files if k != "__config__"}
    except FileNotFoundError:
        raise FileNotFoundError(f"no such model file: '{path}'") from None
    except ValueError as e:
        raise ValueError(f"cannot read '{path}': {e}") from None
    except Exception as e:  # zipfile.BadZipFile, EOFError, OSError ...
        raise ValueError(f"cannot read '{path}': corrupted or not an .npz file ({type(e).__name__}: {e})") from None


def _indexed(arrays, prefix):
    keys = sorted((int(k[len(prefix):]), k) for k in arrays if k.startswith(prefix))
    return [arrays[k] for _, k in keys]
