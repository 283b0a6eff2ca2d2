"""Loading tf.keras 2 HDF5 files (`model.save('m.h5')`, `save_weights('w.h5')`) and Keras 3 `.weights.h5`
files: the layout is recognised by its groups, the weights checked against the model before they are read."""
import os

from . import assemble, dialects, h5_format
from .errors import ModelFileError


def _size(f):
    try:
        return os.path.getsize(f.filename)
    except (OSError, TypeError):
        return 0


def load_model(f, path, compile):  # noqa: A002 - the Keras name
    with h5_format.reading(path):
        model, values, opt_values = _read_model(f, path, compile)
    model._build()
    assemble.load_weights_into(model, values, path)
    if opt_values:
        assemble.load_optimizer_state(model, opt_values, path)
    return model


def _read_model(f, path, compile):  # noqa: A002
    config = h5_format.json_attr(f, "model_config", path)
    if config is None:
        raise ModelFileError(path, f"it holds weights only (no model_config); build the model and call "
                                   f"model.load_weights('{path}')")
    if "model_weights" not in f:
        raise ModelFileError(path, "it has no 'model_weights' group")
    model = assemble.model_from_spec(config, path)
    needed = assemble.needed_shapes(model)
    found = h5_format.keras2_declared(f["model_weights"], model, path)
    assemble.check_declared(path, needed, [(n, s, d) for _, n, s, d in found])
    opt_found = h5_format.keras2_optimizer_declared(f, path)
    h5_format.reject_unused(f, [e[1] for e in found + opt_found], path)
    training = h5_format.json_attr(f, "training_config", path) if compile else None
    if training is not None:
        assemble.compile_from(model, dialects.read_training(training, path, "training_config"), path)
        assemble.check_optimizer_declared(path, needed, [(n, s, d) for _, n, s, d in opt_found], model.optimizer)
    values = h5_format.read_datasets(found, path, _size(f))
    opt_values = h5_format.read_datasets(opt_found, path, _size(f)) if training is not None else []
    return model, values, opt_values


def load_weights(model, f, path):
    with h5_format.reading(path):
        values = _read_weights(model, f, path)
    assemble.load_weights_into(model, values, path)


def _read_weights(model, f, path):
    needed = assemble.needed_shapes(model)
    if "model_weights" in f or "layer_names" in f.attrs:
        group = f["model_weights"] if "model_weights" in f else f
        found = h5_format.keras2_declared(group, model, path)
        used = found + h5_format.keras2_optimizer_declared(f, path)
    elif "layers" in f or "vars" in f:
        found = h5_format.keras3_declared(f, model, path)
        used = found + h5_format.keras3_optimizer_declared(f, path)
    else:
        raise ModelFileError(path, "an HDF5 file in no Keras layout (no model_weights, layer_names or layers)")
    assemble.check_declared(path, needed, [(n, s, d) for _, n, s, d in found])
    h5_format.reject_unused(f, [e[1] for e in used], path)
    return h5_format.read_datasets(found, path, _size(f))
