"""Saver checkpoints: atomic writes that survive a crash mid-save, the last N kept, and loading of truncated,
corrupted, foreign or hostile files (pickles, object arrays) that fails naming the file, runs nothing and
leaves the session's variables as they were."""
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import nnplug as tf
from nnplug.train import saver as saver_mod


@pytest.fixture
def model():
    graph = tf.Graph()
    with graph.as_default():
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
        b = tf.Variable(np.array([0.5, -0.5], np.float32), name="b")
        step = tf.Variable(0, dtype=tf.int64, name="step", trainable=False)
        bump = [tf.assign_add(w, tf.ones((2, 3))), tf.assign_add(step, tf.constant(1, tf.int64))]
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        yield {"sess": sess, "w": w, "b": b, "step": step, "bump": bump, "saver": tf.train.Saver(max_to_keep=3)}
        sess.close()


def _values(m):
    return {k: m["sess"].variable_value(m[k]).copy() for k in ("w", "b", "step")}


def _same(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


def test_round_trip_and_index(model, tmp_path):
    before = _values(model)
    path = model["saver"].save(model["sess"], str(tmp_path / "ckpt"), global_step=7)
    assert path.endswith("ckpt-7.npz") and os.path.exists(path)
    model["sess"].run(model["bump"])
    assert not _same(before, _values(model))
    model["saver"].restore(model["sess"], str(tmp_path / "ckpt-7"))
    assert _same(before, _values(model))
    assert tf.train.latest_checkpoint(str(tmp_path)) == path
    index = json.loads((tmp_path / "checkpoint").read_text())
    assert index["format"] == "nnplug-checkpoint" and index["version"] == 1 and index["latest"] == "ckpt-7.npz"


def test_keeps_last_n(model, tmp_path):
    paths = [model["saver"].save(model["sess"], str(tmp_path / "ckpt"), global_step=i) for i in range(6)]
    kept = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert kept == ["ckpt-3.npz", "ckpt-4.npz", "ckpt-5.npz"]
    assert json.loads((tmp_path / "checkpoint").read_text())["all"] == kept
    assert tf.train.latest_checkpoint(str(tmp_path)) == paths[-1]


def _no_temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".tmp")] == []


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_crash_mid_save_keeps_previous_checkpoint(model, tmp_path, monkeypatch, exc):
    path = model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    saved = _values(model)
    size = os.path.getsize(path)
    model["sess"].run(model["bump"])
    real_savez = np.savez

    def crashing_savez(f, **arrays):
        real_savez(f, **arrays)  # write a whole file's worth of bytes, then die before the rename
        f.truncate(size // 2)
        raise exc

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(type(exc)):
        model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    monkeypatch.undo()
    assert os.path.getsize(path) == size and _no_temp_files(tmp_path)
    model["saver"].restore(model["sess"], path)  # the old checkpoint is intact and still the latest
    assert _same(saved, _values(model))
    assert tf.train.latest_checkpoint(str(tmp_path)) == path


def _restore_fails(model, path, *words):
    before = _values(model)
    model["sess"].run(model["bump"])
    changed = _values(model)
    with pytest.raises((ValueError, KeyError, FileNotFoundError)) as e:
        model["saver"].restore(model["sess"], str(path))
    message = str(e.value)
    assert str(path) in message, message
    for w in words:
        assert w in message, message
    assert _same(changed, _values(model)) and not _same(before, changed)  # untouched by the failed restore
    return message


def test_truncated_file(model, tmp_path):
    path = model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    data = open(path, "rb").read()
    for n in (0, 10, len(data) // 2, len(data) - 5):
        bad = tmp_path / f"trunc{n}.npz"
        bad.write_bytes(data[:n])
        _restore_fails(model, bad, "cannot read checkpoint")


def test_corrupted_bytes(model, tmp_path):
    path = model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    data = bytearray(open(path, "rb").read())
    rng = np.random.default_rng(0)
    for trial in range(5):
        bad_data = bytearray(data)
        for i in rng.integers(0, len(data), 40):
            bad_data[i] ^= 0xFF
        bad = tmp_path / f"bad{trial}.npz"
        bad.write_bytes(bytes(bad_data))
        before = _values(model)
        try:
            model["saver"].restore(model["sess"], str(bad))
        except (ValueError, KeyError) as e:
            assert str(bad) in str(e)
            assert _same(before, _values(model))


def test_missing_file(model, tmp_path):
    _restore_fails(model, tmp_path / "nothing.npz", "does not exist")


def test_foreign_files(model, tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello, not a checkpoint")
    _restore_fails(model, text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros((2, 3)))  # an npz, but not ours
    _restore_fails(model, plain, "not an nnplug checkpoint")
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))  # a bare .npy under an .npz name
    _restore_fails(model, npy)
    other_zip = tmp_path / "archive.npz"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "zip, not npz")
    _restore_fails(model, other_zip)


def _checkpoint_like(path, **arrays):
    arrays = {"__format__": np.array("nnplug-checkpoint"), "__version__": np.array(1), **arrays}
    np.savez(path, **arrays)


def test_wrong_shapes_dtypes_and_missing_variables(model, tmp_path):
    good = {"v/w": np.zeros((2, 3), np.float32), "v/b": np.zeros(2, np.float32), "v/step": np.array(3)}
    _checkpoint_like(tmp_path / "shape.npz", **{**good, "v/b": np.zeros(3, np.float32)})
    _restore_fails(model, tmp_path / "shape.npz", "'b:0'", "(3,)", "(2,)")
    _checkpoint_like(tmp_path / "missing.npz", **{k: v for k, v in good.items() if k != "v/step"})
    _restore_fails(model, tmp_path / "missing.npz", "'step:0'")
    _checkpoint_like(tmp_path / "strings.npz", **{**good, "v/b": np.array(["a", "b"])})
    _restore_fails(model, tmp_path / "strings.npz", "'b:0'")
    _checkpoint_like(tmp_path / "future.npz", **good)
    np.savez(tmp_path / "future.npz", **{"__format__": np.array("nnplug-checkpoint"), "__version__": np.array(99),
                                         **good})
    _restore_fails(model, tmp_path / "future.npz", "version 99")


class _Hostile:
    """Unpickling this would create the marker file: the test asserts it never appears."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_file_never_runs(model, tmp_path):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.npz"
    with open(evil, "wb") as f:
        pickle.dump({"v/w": _Hostile(str(marker))}, f)
    _restore_fails(model, evil, "pickle")
    assert not marker.exists()


def test_npz_with_object_array_never_runs(model, tmp_path):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.npz"
    obj = np.empty(1, dtype=object)
    obj[0] = _Hostile(str(marker))
    good_b = np.zeros(2, np.float32)
    np.savez(evil, **{"__format__": np.array("nnplug-checkpoint"), "__version__": np.array(1),
                      "v/w": obj, "v/b": good_b, "v/step": np.array(1)})
    assert not marker.exists()  # saving did not run it either
    _restore_fails(model, evil, "cannot read checkpoint")
    assert not marker.exists()
    fmt_evil = tmp_path / "evil_format.npz"  # the object array where the marker is read first
    np.savez(fmt_evil, **{"__format__": obj, "__version__": np.array(1)})
    _restore_fails(model, fmt_evil)
    assert not marker.exists()


def test_hostile_index_file(model, tmp_path):
    (tmp_path / "checkpoint").write_text("{not json")
    with pytest.raises(ValueError) as e:
        tf.train.latest_checkpoint(str(tmp_path))
    assert "checkpoint" in str(e.value) and str(tmp_path) in str(e.value)
    (tmp_path / "checkpoint").write_text(json.dumps({"latest": "../../etc/passwd"}))
    latest = tf.train.latest_checkpoint(str(tmp_path))
    assert os.path.dirname(latest) == str(tmp_path)  # never points outside the folder


def test_atomic_write_cleans_up(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")

    def fail(f):
        f.write(b"partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        saver_mod.atomic_write(str(target), fail)
    assert target.read_bytes() == b"old" and _no_temp_files(tmp_path)
    saver_mod.atomic_write(str(target), lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new" and _no_temp_files(tmp_path)
