"""HDF5 model and weights files in Keras's layouts (h5py, the `nnplug[h5]` extra, imported when needed).

tf.keras 2 (`m.h5`): root attrs `model_config` (JSON), `keras_version`, `backend`, `training_config`; group
`model_weights` (attr `layer_names`) with a group per layer (attr `weight_names`, datasets such as
`dense/kernel:0`); group `optimizer_weights`. `save_weights('w.h5')` writes the model_weights part at the root.
Keras 3 (`model.weights.h5` inside a .keras file, and `w.weights.h5`): `layers/<dense, dense_1, ...>/vars/<i>`
and `optimizer/vars/<i>` (iterations, learning rate, then the slots).

A file is untrusted input: each dataset must be plain, uncompressed and stored in the file (its bytes are in
the file), its shape is compared with the model's before it is read, and every dataset must be used.
"""
import contextlib
import io
import json
import math

import numpy as np

from . import archive, dialects
from .errors import ModelFileError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ATTR_CHUNK = 64000  # tf.keras 2 splits longer name lists into attrs name0, name1, ...


def h5py():
    try:
        import h5py as module
    except ImportError:
        raise ImportError("reading and writing .h5 and .keras model files needs h5py: pip install "
                          "\"nnplug[h5]\" (or pip install -e \".[h5]\" in a clone)") from None
    return module


def open_file(source, path):
    """An h5py File on a path or bytes; a corrupted file is a ModelFileError."""
    try:
        return h5py().File(io.BytesIO(source) if isinstance(source, bytes) else source, "r")
    except (OSError, ValueError) as e:
        raise ModelFileError(path, f"not a readable HDF5 file ({type(e).__name__}: {e})") from None


@contextlib.contextmanager
def reading(path):
    """HDF5 raises RuntimeError, KeyError, OSError ... from any look-up in a damaged file: one ModelFileError."""
    try:
        yield
    except ModelFileError:
        raise
    except (RuntimeError, KeyError, OSError, ValueError, TypeError, IndexError) as e:
        raise ModelFileError(path, f"its HDF5 structure is damaged ({type(e).__name__}: {str(e)[:120]})") from None


# -- plain values out of an untrusted file ---------------------------------------------------
def read_attr(obj, name, path, cap=archive.MAX_JSON_BYTES):
    """An attribute as str / list of str, or None; its stored size is checked before it is read."""
    if name not in obj.attrs:
        parts, i = [], 0
        while f"{name}{i}" in obj.attrs and len(parts) < 1000:
            parts.append(read_attr(obj, f"{name}{i}", path, cap))
            i += 1
        if not parts:
            return None
        if not all(isinstance(p, list) for p in parts):
            raise ModelFileError(path, f"attribute '{name}' is split into parts that are not name lists")
        return [item for part in parts for item in part]
    try:
        aid = obj.attrs.get_id(name)  # a fixed-size value's bytes; variable-length text lies in the file itself
        size = aid.get_space().get_simple_extent_npoints() * aid.dtype.itemsize
        if size > cap:
            raise ModelFileError(path, f"attribute '{name}' holds {size} bytes, more than {cap}")
        value = obj.attrs[name]
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - h5py raises OSError, TypeError, KeyError, ValueError on bad files
        raise ModelFileError(path, f"attribute '{name}' is unreadable ({type(e).__name__}: {e})") from None
    return _text(value, name, path)


def _text(value, name, path):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 1 and (value.dtype.kind in "SUO" or value.size == 0):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value.tolist()]
    raise ModelFileError(path, f"attribute '{name}' is not text (got {type(value).__name__})")


def json_attr(obj, name, path):
    text = read_attr(obj, name, path)
    if text is None:
        return None
    if not isinstance(text, str):
        raise ModelFileError(path, f"attribute '{name}' must be one JSON string")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ModelFileError(path, f"attribute '{name}' is not valid JSON ({type(e).__name__})") from None


def dataset(group, key, path):
    """(h5py Dataset, its name, shape, dtype) of a plain stored dataset, or a ModelFileError."""
    try:
        ds = group[key]
    except Exception as e:  # noqa: BLE001 - KeyError, OSError, ValueError from a broken file
        raise ModelFileError(path, f"entry '{group.name}/{key}' is missing or unreadable ({type(e).__name__})") \
            from None
    if not isinstance(ds, h5py().Dataset):
        raise ModelFileError(path, f"entry '{ds.name}' is a group, not a weights array")
    try:
        shape, dtype = tuple(ds.shape or ()), ds.dtype
        plist = ds.id.get_create_plist()
        special = plist.get_nfilters() or plist.get_external_count() or ds.is_virtual
        stored = ds.id.get_storage_size()
    except Exception as e:  # noqa: BLE001
        raise ModelFileError(path, f"entry '{ds.name}' is unreadable ({type(e).__name__}: {e})") from None
    if dtype.kind not in "biuf":
        raise ModelFileError(path, f"entry '{ds.name}' holds {dtype} data, not numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    if special or stored != nbytes:
        raise ModelFileError(path, f"entry '{ds.name}' stores {stored} bytes for its {nbytes}-byte array "
                                   f"(or uses filters or external storage); only plain uncompressed arrays "
                                   f"stored in the file are read")
    return ds, ds.name, shape, dtype


def read_datasets(found, path, file_size):
    """The arrays of [(Dataset, name, shape, dtype)], after checking they fit in the file."""
    total = sum(math.prod(s) * d.itemsize for _, _, s, d in found)
    if total > file_size:
        raise ModelFileError(path, f"its arrays declare {total} bytes but the file holds {file_size}")
    try:
        return [np.asarray(ds[()]) for ds, _, _, _ in found]
    except Exception as e:  # noqa: BLE001
        raise ModelFileError(path, f"its weights are corrupted ({type(e).__name__}: {e})") from None


def all_datasets(group):
    """Names of every dataset under `group` (to reject what a load does not use)."""
    names = []
    group.visititems(lambda name, obj: names.append(obj.name) if isinstance(obj, h5py().Dataset) else None)
    return names


def reject_unused(group, used, path):
    extra = sorted(set(all_datasets(group)) - set(used))
    if extra:
        raise ModelFileError(path, f"it holds arrays the model does not use: {', '.join(extra[:5])}")


# -- tf.keras 2 layout -----------------------------------------------------------------------
def keras2_declared(group, model, path):
    """[(Dataset, name, shape, dtype)] of a tf.keras 2 weights group, in the model's weight order: layers
    with weights, in order, each with its `weight_names`."""
    names = read_attr(group, "layer_names", path)
    if not isinstance(names, list):
        raise ModelFileError(path, f"group '{group.name}' has no layer_names list")
    with_weights, found = [], []
    for name in names:
        if name not in group:
            raise ModelFileError(path, f"layer_names lists '{name}', which has no group")
        weight_names = read_attr(group[name], "weight_names", path)
        if weight_names:
            with_weights.append((name, weight_names))
    layers = [layer for layer in model.layers if layer.weight_specs(layer.input_spec)]
    if len(with_weights) != len(layers):
        raise ModelFileError(path, f"it holds weights for {len(with_weights)} layers; the model has {len(layers)} "
                                   f"layers with weights")
    for name, weight_names in with_weights:
        found += [dataset(group[name], w, path) for w in weight_names]
    return found


def _names(names):
    """A name list as tf.keras 2 stores it: fixed-length byte strings."""
    encoded = [n.encode() for n in names]
    return np.array(encoded, dtype="S") if encoded else np.zeros(0, "S1")


def write_keras2_weights(group, model, values):
    layers = model.layers
    group.attrs["layer_names"] = _names(l.name for l in layers)
    group.attrs["backend"], group.attrs["keras_version"] = b"tensorflow", dialects.KERAS2_VERSION.encode()
    it = iter(values)
    for layer in layers:
        g = group.create_group(layer.name)
        names = [f"{layer.name}/{w}:0" for w, _, _, _ in layer.weight_specs(layer.input_spec)]
        g.attrs["weight_names"] = _names(names)
        for name in names:
            g.create_dataset(name, data=next(it))


def write_keras2_model(f, model, spec, values, optimizer_state):
    """`spec`: nnplug's {model, training?}; `optimizer_state`: [(variable name, value)]."""
    f.attrs["model_config"] = json.dumps(dialects.keras2_model(spec["model"])).encode()
    f.attrs["keras_version"], f.attrs["backend"] = dialects.KERAS2_VERSION.encode(), b"tensorflow"
    if spec.get("training") is not None:
        f.attrs["training_config"] = json.dumps(dialects.keras2_training(spec["training"])).encode()
    write_keras2_weights(f.create_group("model_weights"), model, values)
    if optimizer_state:
        g = f.create_group("optimizer_weights")
        g.attrs["weight_names"] = _names(f"{name}:0" for name, _ in optimizer_state)
        for name, value in optimizer_state:
            g.create_dataset(f"{name}:0", data=value)


def keras2_optimizer_declared(f, path):
    if "optimizer_weights" not in f:
        return []
    group = f["optimizer_weights"]
    return [dataset(group, name, path) for name in read_attr(group, "weight_names", path) or []]


# -- Keras 3 layout --------------------------------------------------------------------------
def keras3_paths(model):
    """`layers/dense`, `layers/dense_1`, ...: Keras 3 names a layer's group by its class, counted."""
    used, paths = {}, []
    for layer in model.layers:
        base = "".join("_" + c.lower() if c.isupper() and i else c.lower()
                       for i, c in enumerate(type(layer).__name__))
        n = used.get(base, -1) + 1
        used[base] = n
        paths.append(f"layers/{base}" + (f"_{n}" if n else ""))
    return paths


def write_keras3_weights(f, model, values, optimizer_values=None):
    f.create_group("vars")
    it = iter(values)
    for layer, path in zip(model.layers, keras3_paths(model)):
        g = f.create_group(path).create_group("vars")
        for i in range(len(layer.weight_specs(layer.input_spec))):
            g.create_dataset(str(i), data=next(it))
    if optimizer_values is not None:
        g = f.create_group("optimizer").create_group("vars")
        for i, value in enumerate(optimizer_values):
            g.create_dataset(str(i), data=value)


def keras3_declared(f, model, path):
    found = []
    for layer, group_path in zip(model.layers, keras3_paths(model)):
        n = len(layer.weight_specs(layer.input_spec))
        if n == 0:
            continue
        if group_path + "/vars" not in f:
            raise ModelFileError(path, f"it has no group '{group_path}/vars' for layer '{layer.name}'")
        group = f[group_path + "/vars"]
        found += [dataset(group, str(i), path) for i in range(n)]
    return found


def keras3_optimizer_declared(f, path):
    if "optimizer/vars" not in f:
        return []
    group = f["optimizer/vars"]
    keys = sorted(group.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    if keys != [str(i) for i in range(len(keys))]:
        raise ModelFileError(path, f"optimizer/vars must hold entries 0..n-1, got {', '.join(keys[:5])}")
    return [dataset(group, k, path) for k in keys]
