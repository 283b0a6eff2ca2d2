"""The Keras 3 `.keras` file: a zip of `metadata.json`, `config.json` (the model in Keras 3's config dialect,
compile settings as `compile_config`) and `model.weights.h5` (Keras 3's weights layout). Nothing else is
accepted in it, and the weights member is decompressed only up to what the model can need."""
import datetime
import io
import json
import math
import zipfile

from . import archive, assemble, dialects, h5_format
from .errors import ModelFileError
from .npz_format import parse_json

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
H5_OVERHEAD = 4 << 20  # HDF5 metadata (groups, headers) allowed beyond the arrays themselves


def write(f, model, spec, values, optimizer_values):
    """`optimizer_values`: Keras 3's optimizer vars (iterations, learning rate, slots), or None."""
    weights = io.BytesIO()
    with h5_format.h5py().File(weights, "w") as h5:
        h5_format.write_keras3_weights(h5, model, values, optimizer_values)
    metadata = {"keras_version": dialects.KERAS3_VERSION, "date_saved": datetime.datetime.now().strftime(
        "%Y-%m-%d@%H:%M:%S"), "saved_by": "nnplug"}
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(METADATA, json.dumps(metadata))
        zf.writestr(CONFIG, json.dumps(dialects.keras3_model(spec["model"], spec.get("training"))))
        zf.writestr(WEIGHTS, weights.getvalue(), compress_type=zipfile.ZIP_STORED)


def _members(zf, path):
    names = set(zf.namelist())
    unknown = sorted(names - {CONFIG, METADATA, WEIGHTS})
    if unknown:
        raise ModelFileError(path, f"unexpected member{'s' if len(unknown) > 1 else ''} "
                                   f"{', '.join(repr(u) for u in unknown[:5])} in a .keras file (assets are not read)")
    for needed in (CONFIG, WEIGHTS):
        if needed not in names:
            raise ModelFileError(path, f"it has no '{needed}'")


def _weights_file(zf, needed, path, slots=2):
    """The weights member as an h5py File, read lazily up to what the model's weights (and an optimizer
    state of `slots` arrays per weight) can take."""
    nbytes = sum(math.prod(s) for _, s in needed) * 8
    data = archive.read_member(zf, WEIGHTS, nbytes * (1 + slots) + H5_OVERHEAD, path)
    return h5_format.open_file(data, path), len(data)


def _declared(h5, model, needed, path):
    """The model's weights and the optimizer's vars in the weights file, checked, and nothing else in it."""
    found = h5_format.keras3_declared(h5, model, path)
    assemble.check_declared(path, needed, [(name, s, d) for _, name, s, d in found])
    opt_found = h5_format.keras3_optimizer_declared(h5, path)
    h5_format.reject_unused(h5, [e[1] for e in found + opt_found], path)
    return found, opt_found


def read_config(zf, path):
    _members(zf, path)
    if METADATA in zf.namelist():
        meta = parse_json(archive.read_member(zf, METADATA, archive.MAX_JSON_BYTES, path).decode("utf-8", "replace"),
                          path, METADATA)
        if not isinstance(meta, dict):
            raise ModelFileError(path, f"{METADATA} must be an object")
    text = archive.read_member(zf, CONFIG, archive.MAX_JSON_BYTES, path).decode("utf-8", "replace")
    return parse_json(text, path, CONFIG)


def load_model(zf, path, compile):  # noqa: A002 - the Keras name
    config = read_config(zf, path)
    model = assemble.model_from_spec(config, path)
    needed = assemble.needed_shapes(model)
    h5, size = _weights_file(zf, needed, path)
    with h5, h5_format.reading(path):
        found, opt_found = _declared(h5, model, needed, path)
        training = config.get("compile_config") if compile else None
        if training is not None:
            assemble.compile_from(model, dialects.read_training(training, path, "compile_config"), path)
            assemble.check_optimizer_declared(path, needed, [(n, s, d) for _, n, s, d in opt_found], model.optimizer)
        values = h5_format.read_datasets(found, path, size)
        opt_values = h5_format.read_datasets(opt_found, path, size) if training is not None else []
    model._build()
    assemble.load_weights_into(model, values, path)
    if len(opt_values) >= 2:
        _set_learning_rate(model, opt_values[1], path)
        assemble.load_optimizer_state(model, [opt_values[0]] + opt_values[2:], path)
    return model


def _set_learning_rate(model, value, path):
    try:
        model.optimizer.learning_rate = float(value) if value.shape == () else value
    except (ValueError, TypeError) as e:
        raise ModelFileError(path, f"optimizer/vars/1 (the learning rate): {e}") from None


def load_weights(model, zf, path):
    _members(zf, path)
    needed = assemble.needed_shapes(model)
    h5, size = _weights_file(zf, needed, path)
    with h5, h5_format.reading(path):
        found, _ = _declared(h5, model, needed, path)
        values = h5_format.read_datasets(found, path, size)
    assemble.load_weights_into(model, values, path)
