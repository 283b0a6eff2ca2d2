"""Broken and hostile model files: a config asking for huge layers fails before anything that size is
allocated, a mutated field is named by its path, archives hold only the members a format names and are
decompressed only up to what the model can need, and a seeded fuzz run (flipped bytes, truncations, changed
config fields) gets either a correct model or nnplug's ModelFileError, within a bounded amount of memory."""
import gc
import io
import json
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")  # the nnplug[h5] extra
pytest.importorskip("jsonschema")

from nnplug import keras  # noqa: E402
from nnplug.keras.saving import ModelFileError  # noqa: E402
from test_keras import mlp  # noqa: E402

MB = 1 << 20


def _saved(tmp_path, name):
    m = mlp()  # 4-8-3
    m.compile(keras.optimizers.SGD(lr=0.1, momentum=0.9), "sparse_categorical_crossentropy")
    m.train_on_batch(np.ones((2, 4), np.float32), [0, 1])
    path = tmp_path / name
    m.save(path)
    return m, path


def _rewrite_zip(src, dst, replace=None, add=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, (replace or {}).get(info.filename, zin.read(info.filename)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)


def _npy(value):
    buf = io.BytesIO()
    np.save(buf, np.asarray(value), allow_pickle=False)
    return buf.getvalue()


def read_config(path):
    """The model config of a saved file, in whichever layout it is."""
    if str(path).endswith(".keras"):
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("config.json"))
    if str(path).endswith(".h5"):
        with h5py.File(path, "r") as f:
            return json.loads(f.attrs["model_config"])
    with zipfile.ZipFile(path) as zf:
        return json.loads(str(np.load(io.BytesIO(zf.read("__config__.npy")))))


def write_config(src, dst, config):
    if str(src).endswith(".keras"):
        _rewrite_zip(src, dst, {"config.json": json.dumps(config).encode()})
    elif str(src).endswith(".h5"):
        dst.write_bytes(src.read_bytes())
        with h5py.File(dst, "r+") as f:
            f.attrs["model_config"] = json.dumps(config)
    else:
        _rewrite_zip(src, dst, {"__config__.npy": _npy(json.dumps(config))})


def _layers(config):
    """The layer list inside a config of any layout (an .npz keeps it under 'model')."""
    inner = config["model"] if "model" in config else config
    return inner["config"]["layers"]


def _dense_configs(config):
    return [layer["config"] for layer in _layers(config) if layer["class_name"] == "Dense"]


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.npz"])
def test_a_huge_layer_in_a_small_file_fails_before_allocating(tmp_path, name):
    _, path = _saved(tmp_path, name)
    config = read_config(path)
    for dense in _dense_configs(config):
        dense["units"] = 20000  # 4x20000 and 20000x20000 floats: 1.6 GB if built
    write_config(path, tmp_path / ("big." + name.split(".")[1]), config)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"has shape \(4, 8\); the model's '.*kernel' needs \(4, 20000\)"):
            keras.models.load_model(tmp_path / ("big." + name.split(".")[1]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * MB


@pytest.mark.parametrize("name,index", [("m.keras", 2), ("m.h5", 2), ("m.npz", 1)])
def test_a_mutated_field_is_named_by_its_path(tmp_path, name, index):
    _, path = _saved(tmp_path, name)
    config = read_config(path)
    _dense_configs(config)[1]["units"] = None
    write_config(path, tmp_path / ("bad." + name.split(".")[1]), config)
    with pytest.raises(ModelFileError, match=rf"bad\.\w+': layers\[{index}\]\.config\.units: expected a positive "
                                             rf"int, got None$"):
        keras.models.load_model(tmp_path / ("bad." + name.split(".")[1]))
    config = read_config(path)
    _dense_configs(config)[0]["surprise"] = 1
    write_config(path, tmp_path / ("bad2." + name.split(".")[1]), config)
    with pytest.raises(ModelFileError, match=rf"layers\[{index - 1}\]\.config: unknown field 'surprise'"):
        keras.models.load_model(tmp_path / ("bad2." + name.split(".")[1]))
    config = read_config(path)
    _dense_configs(config)[0]["activation"] = ["tanh"]
    write_config(path, tmp_path / ("bad3." + name.split(".")[1]), config)
    with pytest.raises(ModelFileError, match=rf"layers\[{index - 1}\]\.config\.activation: expected an activation "
                                             rf"name, got \['tanh'\]"):
        keras.models.load_model(tmp_path / ("bad3." + name.split(".")[1]))


def test_npz_entries_are_checked_by_name_and_index(tmp_path):
    _, path = _saved(tmp_path, "m.npz")
    _rewrite_zip(path, tmp_path / "x.npz", add={"w/x.npy": _npy(np.zeros(3))})
    with pytest.raises(ModelFileError, match=r"member 'w/x\.npy' is not an nnplug weights entry"):
        keras.models.load_model(tmp_path / "x.npz")
    _rewrite_zip(path, tmp_path / "extra.npz", add={"w/9.npy": _npy(np.zeros(3))})
    with pytest.raises(ModelFileError, match=r"w/ entries skip index 4"):
        keras.models.load_model(tmp_path / "extra.npz")
    _rewrite_zip(path, tmp_path / "obj.npz", {"w/0.npy": _npy(np.array(["a", "b"]))})
    with pytest.raises(ModelFileError, match=r"entry 'w/0' has shape \(2,\)"):
        keras.models.load_model(tmp_path / "obj.npz")


def test_keras_archives_hold_only_their_three_members_decompressed_within_a_cap(tmp_path):
    _, path = _saved(tmp_path, "m.keras")
    _rewrite_zip(path, tmp_path / "assets.keras", add={"assets/evil.py": b"import os"})
    with pytest.raises(ModelFileError, match=r"unexpected member 'assets/evil\.py'"):
        keras.models.load_model(tmp_path / "assets.keras")
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as out, zipfile.ZipFile(path) as zin:
        for name in ("config.json", "metadata.json"):
            out.writestr(name, zin.read(name))
        out.writestr("model.weights.h5", bytes(24 * MB))  # deflates to ~24 KB
    assert (tmp_path / "bomb.keras").stat().st_size < MB
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"'model\.weights\.h5' declares 25165824 bytes, more than"):
            keras.models.load_model(tmp_path / "bomb.keras")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * MB


def test_not_a_model_file_at_all(tmp_path):
    (tmp_path / "t.keras").write_bytes(b"hello")
    with pytest.raises(ModelFileError, match=r"t\.keras': it is neither a zip"):
        keras.models.load_model(tmp_path / "t.keras")
    with zipfile.ZipFile(tmp_path / "z.keras", "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(ModelFileError, match="neither config.json"):
        keras.models.load_model(tmp_path / "z.keras")
    with pytest.raises(FileNotFoundError, match="no such model file"):
        keras.models.load_model(tmp_path / "missing.keras")


# -- the fuzz run -------------------------------------------------------------------------------
_VALUES = [None, True, False, -1, 0, 1, 2.5, 1e308, 10 ** 6, 2 ** 40, "", "tanh", "x" * 300, [], {}, [None],
           [None, 4], {"class_name": "Dense"}, [1, 2, 3], "Sequential", "glorot_uniform"]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _mutate_config(config, rng):
    config = json.loads(json.dumps(config))
    paths = [p for p in _paths(config) if p]
    where = paths[rng.randint(len(paths))]
    parent = config
    for key in where[:-1]:
        parent = parent[key]
    op = rng.randint(4)
    if op == 0 and isinstance(parent, dict):
        del parent[where[-1]]
    elif op == 1 and isinstance(parent, dict):
        parent["unknown_" + str(rng.randint(100))] = _VALUES[rng.randint(len(_VALUES))]
    else:
        parent[where[-1]] = _VALUES[rng.randint(len(_VALUES))]
    return config


def _mutate_bytes(data, rng):
    data = bytearray(data)
    if rng.rand() < 0.25:
        return bytes(data[:rng.randint(len(data))])
    for _ in range(rng.randint(1, 4)):
        data[rng.randint(len(data))] ^= rng.randint(1, 256)
    return bytes(data)


def test_fuzzed_model_files_load_correctly_or_raise_model_file_error(tmp_path):
    rng = np.random.RandomState(2024)
    x = np.random.RandomState(1).randn(5, 4).astype(np.float32)
    originals = {}
    for name in ("m.keras", "m.h5", "m.npz"):
        m, path = _saved(tmp_path, name)
        originals[name] = (path, path.read_bytes(), read_config(path), m.get_weights())
    outcomes = {"loaded": 0, "refused": 0}
    target = tmp_path / "fuzzed"
    tracemalloc.start()
    try:
        for i in range(330):
            name = ("m.keras", "m.h5", "m.npz")[i % 3]
            path, data, config, weights = originals[name]
            case = target.with_suffix("." + name.split(".")[1])
            if rng.rand() < 0.5:
                write_config(path, case, _mutate_config(config, rng))
                exact_weights = True
            else:
                case.write_bytes(_mutate_bytes(data, rng))
                exact_weights = not name.endswith(".h5")  # HDF5 has no checksums: a flipped weight byte loads
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = keras.models.load_model(case)
            except ModelFileError:
                outcomes["refused"] += 1
                continue
            outcomes["loaded"] += 1
            if exact_weights:  # zip members are CRC-checked; config mutations leave the weights alone
                for a, b in zip(model.get_weights(), weights):
                    np.testing.assert_array_equal(a, b)
            assert model.predict(x).shape == (5,) + tuple(model.output_shape[1:])
            del model
            if i % 50 == 0:
                gc.collect()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcomes["refused"] > 100 and outcomes["loaded"] > 10, outcomes
    assert peak < 50 * MB
