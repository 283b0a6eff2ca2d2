"""Model files users exchange with Keras: `.keras` (Keras 3's zip layout), `.h5` (tf.keras 2's HDF5 layout) and
nnplug's `.npz` -- round trips, a tf.keras-2 file written here with h5py as tf.keras 2.x lays it out, the
layouts themselves, and refusing to overwrite."""
import json
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")  # the nnplug[h5] extra
pytest.importorskip("jsonschema")

from nnplug import keras  # noqa: E402
from nnplug.keras.saving import ModelFileError  # noqa: E402
from test_keras import blobs, mlp, np_forward, np_softmax  # noqa: E402

L = keras.layers
FORMATS = ["m.keras", "m.h5", "m.npz"]


def _trained(optimizer=None):
    x, y = blobs()
    m = mlp()
    m.compile(optimizer or keras.optimizers.SGD(lr=0.05, momentum=0.9, decay=1e-3), "sparse_categorical_crossentropy",
              metrics=["acc"])
    m.fit(x, y, batch_size=20, epochs=2, verbose=0)
    return m, x, y


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_round_trip_keeps_predictions_compile_settings_and_optimizer_state(tmp_path, name, optimizer):
    m, x, y = _trained(keras.optimizers.SGD(lr=0.05, momentum=0.9) if optimizer == "sgd" else
                       keras.optimizers.Adam(learning_rate=0.01))
    m.save(tmp_path / name)
    m2 = keras.models.load_model(tmp_path / name)
    saved = m.predict(x)
    np.testing.assert_array_equal(m2.predict(x), saved)
    assert type(m2.optimizer) is type(m.optimizer) and m2.optimizer.learning_rate == m.optimizer.learning_rate
    assert m2.evaluate(x, y) == pytest.approx(m.evaluate(x, y))  # same loss and metrics
    m.train_on_batch(x, y)  # one more step: momentum / Adam moments and iterations came along
    m2.train_on_batch(x, y)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    m3 = keras.models.load_model(tmp_path / name, compile=False)
    assert m3.loss is None
    np.testing.assert_array_equal(m3.predict(x), saved)


@pytest.mark.parametrize("name", ["f.keras", "f.h5", "f.npz"])
def test_functional_model_round_trip(tmp_path, name):
    inp = keras.Input(shape=(4,))
    out = L.Dense(3, activation="softmax")(L.Dropout(0.2)(L.Dense(5, activation="relu")(inp)))
    m = keras.Model(inp, out)
    m.save(tmp_path / name)
    x = blobs(10)[0]
    np.testing.assert_allclose(keras.models.load_model(tmp_path / name).predict(x), m.predict(x))


@pytest.mark.parametrize("name", ["w.weights.h5", "w.h5", "w.npz", "m.keras", "m.h5"])
def test_load_weights_from_every_layout(tmp_path, name):
    a, b = mlp(), mlp()
    (a.save if name.startswith("m.") else a.save_weights)(tmp_path / name)
    b.load_weights(tmp_path / name)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    other = mlp(hidden=9)
    before = other.get_weights()
    with pytest.raises(ModelFileError, match=r"has shape \(4, 8\); the model's '.*kernel' needs \(4, 9\)"):
        other.load_weights(tmp_path / name)
    for u, v in zip(before, other.get_weights()):  # a misfit changes nothing
        np.testing.assert_array_equal(u, v)


def test_save_weights_to_a_keras_name_points_to_save(tmp_path):
    with pytest.raises(ValueError, match=r"use model\.save\('.*w\.keras'\)"):
        mlp().save_weights(tmp_path / "w.keras")
    keras.models.save_model(mlp(), tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").count_params() == 4 * 8 + 8 + 8 * 3 + 3


def test_keras_file_is_keras_3_zip_layout(tmp_path):
    m, x, _ = _trained()
    m.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        meta = json.loads(zf.read("metadata.json"))
        weights = zf.read("model.weights.h5")
    assert meta["keras_version"].startswith("3.")
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    layers = config["config"]["layers"]
    assert [l["class_name"] for l in layers] == ["InputLayer", "Dense", "Dense"]
    assert layers[0]["config"]["batch_shape"] == [None, 4] and layers[1]["config"]["units"] == 8
    assert config["compile_config"]["loss"] == "sparse_categorical_crossentropy"
    assert config["compile_config"]["optimizer"]["class_name"] == "SGD"
    (tmp_path / "w.h5").write_bytes(weights)
    with h5py.File(tmp_path / "w.h5", "r") as f:
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], m.get_weights()[0])
        np.testing.assert_array_equal(f["layers/dense_1/vars/1"][()], m.get_weights()[3])
        # Keras 3's optimizer vars: iterations, learning rate, then the slots
        assert f["optimizer/vars/0"][()] == 12 and f["optimizer/vars/1"][()] == pytest.approx(0.05)


def test_h5_file_is_tf_keras_2_hdf5_layout(tmp_path):
    m, _, _ = _trained()
    m.save(tmp_path / "m.h5")
    with open(tmp_path / "m.h5", "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"  # HDF5, not a zip under an .h5 name
    names = [l.name for l in m.layers]
    with h5py.File(tmp_path / "m.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert config["config"]["layers"][0]["config"]["batch_input_shape"] == [None, 4]
        text = {k: v.decode() if isinstance(v, bytes) else v for k, v in f.attrs.items()}
        assert text["keras_version"].startswith("2.") and text["backend"] == "tensorflow"
        assert json.loads(f.attrs["training_config"])["optimizer_config"]["class_name"] == "SGD"
        g = f["model_weights"]
        assert g.attrs["layer_names"].tolist() == [n.encode() for n in names]
        assert g[names[0]].attrs["weight_names"].tolist() == [f"{names[0]}/kernel:0".encode(),
                                                             f"{names[0]}/bias:0".encode()]
        np.testing.assert_array_equal(g[f"{names[0]}/{names[0]}/kernel:0"][()], m.get_weights()[0])


# -- a file as tf.keras 2.x writes it --------------------------------------------------------------
def _tf_keras2_mlp_file(path, weights):
    """The chapter's 784-50-50-10 MLP, laid out as tf.keras 2.x's `model.save('m.h5')` writes it."""
    def dense(name, units, act, first=False):
        cfg = {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": act,
               "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
               "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
               "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
               "bias_constraint": None}
        if first:
            cfg["batch_input_shape"] = [None, 784]
        return {"class_name": "Dense", "config": cfg}
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 784], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "dense_input"}},
        dense("dense", 50, "tanh", first=True), dense("dense_1", 50, "tanh"), dense("dense_2", 10, "softmax")]}}
    training = {"loss": "categorical_crossentropy", "metrics": None, "weighted_metrics": None,
                "loss_weights": None, "optimizer_config": {"class_name": "SGD", "config": {
                    "name": "SGD", "learning_rate": 0.001, "decay": 1e-07, "momentum": 0.9, "nesterov": False}}}
    with h5py.File(path, "w") as f:
        f.attrs["backend"], f.attrs["keras_version"] = "tensorflow", "2.4.0"
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["training_config"] = json.dumps(training)
        g = f.create_group("model_weights")
        g.attrs["backend"], g.attrs["keras_version"] = b"tensorflow", b"2.4.0"
        g.attrs["layer_names"] = [b"dense", b"dense_1", b"dense_2"]
        for i, name in enumerate(["dense", "dense_1", "dense_2"]):
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            lg.create_dataset(f"{name}/kernel:0", data=weights[2 * i])
            lg.create_dataset(f"{name}/bias:0", data=weights[2 * i + 1])


def test_a_tf_keras_2_h5_file_loads_and_predicts_as_numpy(tmp_path):
    rng = np.random.RandomState(0)
    shapes = [(784, 50), (50,), (50, 50), (50,), (50, 10), (10,)]
    weights = [(rng.randn(*s) * 0.3).astype(np.float32) for s in shapes]
    _tf_keras2_mlp_file(tmp_path / "chapter.h5", weights)
    m = keras.models.load_model(tmp_path / "chapter.h5")
    assert [l.name for l in m.layers] == ["dense", "dense_1", "dense_2"]
    assert m.loss.name == "categorical_crossentropy" and m.optimizer.momentum == 0.9
    x = rng.randn(200, 784).astype(np.float32)
    expect = np_forward([w.astype(np.float64) for w in weights], x.astype(np.float64),
                        [np.tanh, np.tanh, np_softmax])
    np.testing.assert_array_equal(m.predict(x).argmax(-1), expect.argmax(-1))
    np.testing.assert_allclose(m.predict(x), expect, rtol=1e-4, atol=1e-6)
    # and into a model built in code, by layer order as tf.keras 2 does
    mine = keras.Sequential([L.Dense(50, input_dim=784, activation="tanh"), L.Dense(50, activation="tanh"),
                             L.Dense(10, activation="softmax")])
    mine.load_weights(tmp_path / "chapter.h5")
    np.testing.assert_array_equal(mine.predict(x), m.predict(x))


# -- overwrite ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FORMATS + ["w.weights.h5"])
def test_overwrite_false_refuses_to_replace_a_file(tmp_path, name):
    m = mlp()
    path = tmp_path / name
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        m.save(path, overwrite=False)
    if not name.endswith(".keras"):  # save_weights writes no .keras file at all
        with pytest.raises(FileExistsError, match="overwrite=False"):
            m.save_weights(path, overwrite=False)
    assert path.read_bytes() == b"precious"
    m.save(path)  # overwrite=True, the default, replaces it
    assert path.read_bytes() != b"precious"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_without_h5py_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)  # as if h5py were not installed
    m = mlp()
    for name in ("m.h5", "m.keras"):
        with pytest.raises(ImportError, match=r'pip install "nnplug\[h5\]"'):
            m.save(tmp_path / name)
    m.save(tmp_path / "m.npz")  # nnplug's own format needs no h5py
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.npz").get_weights()[0], m.get_weights()[0])
    (tmp_path / "m.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(ImportError, match=r"nnplug\[h5\]"):
        keras.models.load_model(tmp_path / "m.h5")


def test_a_damaged_hdf5_file_is_a_model_file_error(tmp_path):
    (tmp_path / "m.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(ModelFileError, match=r"m\.h5': not a readable HDF5 file"):
        keras.models.load_model(tmp_path / "m.h5")
