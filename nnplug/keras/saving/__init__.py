"""Saving and loading models (no pickle, no code: configs are JSON checked against a schema, weights plain
arrays). The file name picks what `save` writes:

- `m.keras`: Keras 3's zip (config.json, metadata.json, model.weights.h5), h5py needed;
- `m.h5` / `m.hdf5`: tf.keras 2's HDF5 layout, h5py needed;
- anything else (`m.npz`): nnplug's own .npz.

`load_model` / `load_weights` recognise the file by its content. A file that does not fit the model, or is
damaged, raises ModelFileError (a ValueError) naming the file and the fault, and changes nothing.
"""
from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from ...train.saver import atomic_write
from .. import losses as _losses
from .. import optimizers as _optimizers
from . import archive, h5_format, h5_model, keras_format, npz_format
from ..compile_utils import per_output
from .assemble import model_from_spec
from .errors import ModelFileError, refuse_overwrite
from ..._types import StrPath

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["ModelFileError", "load_model", "load_weights", "model_from_config", "model_from_json", "save_model",
           "save_weights", "to_json"]


# -- the model's description ---------------------------------------------------------------
def model_spec(model: Model) -> dict[str, Any]:
    """{'format', 'version', 'model': {class_name, config}, 'training': compile settings if compiled}."""
    spec = {"format": npz_format.FORMAT, "version": npz_format.VERSION,
            "model": {"class_name": model.config_class_name, "config": model.get_config()}}
    if model.loss is not None:
        spec["training"] = {**_compile_settings(model), "optimizer": _optimizers.serialize(model.optimizer)}
    return spec


def _compile_settings(model: Model) -> dict[str, Any]:
    """{loss, metrics, loss_weights?}: one loss, or a list in output order when compile had several."""
    names, keys = model.output_names, model._output_keys
    if isinstance(model.loss, (list, dict)):
        loss: Any = [None if l is None else _losses.serialize(l)
                     for l in per_output(model.loss, names, keys, "loss", None)]
    else:
        loss = _losses.serialize(model.loss)
    metrics = model._metrics_arg
    if isinstance(metrics, dict):
        metrics = {names[keys[k]]: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in metrics.items()}
    out = {"loss": loss, "metrics": metrics}
    if model._loss_weights_arg is not None:
        out["loss_weights"] = [float(w) for w in per_output(model._loss_weights_arg, names, keys, "loss_weights",
                                                            1.0)]
    return out


def model_from_config(spec: dict[str, Any]) -> Model:
    return model_from_spec(spec, "<config>")


def model_from_json(text: str) -> Model:
    return model_from_spec(npz_format.parse_json(text, "<json>", "JSON"), "<json>")


def to_json(model: Model) -> str:
    return json.dumps(model_spec(model)["model"])


def _kind(path):
    name = str(path).lower()
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".weights.h5"):
        return "keras3-weights"
    return "h5" if name.endswith((".h5", ".hdf5")) else "npz"


def _h5_bytes(write):
    buf = io.BytesIO()
    with h5_format.h5py().File(buf, "w") as f:
        write(f)
    return buf.getvalue()


# -- save ----------------------------------------------------------------------------------
def save_model(model: Model, filepath: StrPath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    path = str(filepath)
    refuse_overwrite(path, overwrite)
    model._build()
    spec, values = model_spec(model), model.get_weights()
    compiled = include_optimizer and model._train is not None
    state = [model._session.variable_value(v) for v in model.optimizer.weights] if compiled else []
    kind = _kind(path)
    if kind == "keras":
        # Keras 3's optimizer vars: iterations (int32 there), the learning rate, then the slots
        opt = [state[0].astype("int32"), model.optimizer.learning_rate] + state[1:] if compiled else None
        atomic_write(path, lambda f: keras_format.write(f, model, spec, values, opt))
    elif kind in ("h5", "keras3-weights"):
        names = [v.name.split(":")[0] for v in model.optimizer.weights] if compiled else []
        data = _h5_bytes(lambda f: h5_format.write_keras2_model(f, model, spec, values, list(zip(names, state))))
        atomic_write(path, lambda f: f.write(data))
    else:
        atomic_write(path, lambda f: npz_format.write(f, spec, values, state))


def save_weights(model: Model, filepath: StrPath, overwrite: bool = True) -> None:
    path = str(filepath)
    if _kind(path) == "keras":
        raise ValueError(f"save_weights('{path}'): a .keras file holds a whole model; use model.save('{path}'), "
                         f"or a weights file name ending in .weights.h5, .h5 or .npz")
    refuse_overwrite(path, overwrite)
    model._build()
    values, kind = model.get_weights(), _kind(path)
    if kind == "keras3-weights":
        data = _h5_bytes(lambda f: h5_format.write_keras3_weights(f, model, values))
    elif kind == "h5":
        data = _h5_bytes(lambda f: h5_format.write_keras2_weights(f, model, values))
    else:
        spec = {"format": npz_format.FORMAT, "version": npz_format.VERSION, "weights": [w.name for w in model.weights]}
        atomic_write(path, lambda f: npz_format.write(f, spec, values))
        return
    atomic_write(path, lambda f: f.write(data))


# -- load ----------------------------------------------------------------------------------
def _open(path):
    """(kind, opened object) by the file's first bytes: ('h5', h5py File) or ('keras'|'npz', ZipFile)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"no such model file: '{path}'") from None
    except IsADirectoryError:
        raise ModelFileError(path, "it is a folder (TF SavedModel folders are not read; use .keras or .h5)") \
            from None
    with f:
        head = f.read(8)
    if head == h5_format.HDF5_SIGNATURE:
        return "h5", h5_format.open_file(path, path)
    if head[:2] != b"PK":
        raise ModelFileError(path, "it is neither a zip (.keras, .npz) nor an HDF5 (.h5) file")
    zf = archive.open_zip(path, path)
    names = zf.namelist()
    if keras_format.CONFIG in names:
        return "keras", zf
    if npz_format.CONFIG in names:
        return "npz", zf
    zf.close()
    raise ModelFileError(path, "a zip archive with neither config.json (.keras) nor __config__ (nnplug .npz)")


def load_model(filepath: StrPath, compile: bool = True) -> Model:  # noqa: A002 - the Keras name
    """A model saved by `model.save` (or by Keras: .keras, .h5): architecture, weights, and, when it was
    compiled, loss, metrics and optimizer state."""
    path = str(filepath)
    kind, opened = _open(path)
    with opened:
        return {"h5": h5_model, "keras": keras_format, "npz": npz_format}[kind].load_model(opened, path, compile)


def load_weights(model: Model, filepath: StrPath) -> None:
    """Weights from any model or weights file; checked against the model first, so a misfit changes nothing."""
    path = str(filepath)
    model._build()
    kind, opened = _open(path)
    with opened:
        return {"h5": h5_model, "keras": keras_format, "npz": npz_format}[kind].load_weights(model, opened, path)

