"""Saver checkpoints: atomic, ordered writes that survive a crash mid-save, the last N kept, stale temporary files
cleaned, TF1 prefixes; loading of truncated, corrupted, foreign or hostile files (pickles, object arrays,
members that lie about their size, values that do not fit) fails with a CheckpointError naming the file, runs
nothing, costs bounded memory and leaves the session's variables as they were."""
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import nnplug as tf
from nnplug import files as files_mod
from nnplug.train import saver as saver_mod
from nnplug.train.saver import CheckpointError


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
        yield {"sess": sess, "w": w, "b": b, "step": step, "bump": bump, "saver": tf.train.Saver(max_to_keep=3),
               "graph": graph}
        sess.close()


def _values(m):
    return {k: m["sess"].variable_value(m[k]).copy() for k in ("w", "b", "step")}


def _same(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a)


def _temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def _npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def _checkpoint_like(path, **arrays):
    arrays = {"__format__": np.array("nnplug-checkpoint"), "__version__": np.array(1), **arrays}
    np.savez(path, **arrays)


GOOD = {"v/w": np.zeros((2, 3), np.float32), "v/b": np.zeros(2, np.float32), "v/step": np.array(3)}


def _good_members():
    """{member name: .npy bytes} of a valid checkpoint of the model holding GOOD."""
    markers = {"__format__": np.array("nnplug-checkpoint"), "__version__": np.array(1)}
    return {f"{k}.npy": _npy(v) for k, v in {**GOOD, **markers}.items()}


# -- writing -------------------------------------------------------------------------------------------------
def test_round_trip_index_and_tf1_prefixes(model, tmp_path):
    before = _values(model)
    prefix = model["saver"].save(model["sess"], str(tmp_path / "ckpt"), global_step=7)
    assert prefix == str(tmp_path / "ckpt-7") and os.path.isfile(prefix + ".npz")  # TF1: save returns the prefix
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix  # ... and so does latest_checkpoint
    for name in (prefix, prefix + ".npz"):  # restore takes the prefix, or the file's own name
        model["sess"].run(model["bump"])
        assert not _same(before, _values(model))
        model["saver"].restore(model["sess"], name)
        assert _same(before, _values(model))
    index = json.loads((tmp_path / "checkpoint").read_text())
    assert index["format"] == "nnplug-checkpoint" and index["version"] == 1 and index["latest"] == "ckpt-7.npz"


def test_index_written_by_older_nnplug_still_gives_the_prefix(model, tmp_path):
    model["saver"].save(model["sess"], str(tmp_path / "m.ckpt"), global_step=100)
    (tmp_path / "checkpoint").write_text(json.dumps({"latest": str(tmp_path / "m.ckpt-100.npz")}))
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "m.ckpt-100")
    model["saver"].restore(model["sess"], tf.train.latest_checkpoint(str(tmp_path)))


def test_keeps_last_n(model, tmp_path):
    prefixes = [model["saver"].save(model["sess"], str(tmp_path / "ckpt"), global_step=i) for i in range(6)]
    kept = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert kept == ["ckpt-3.npz", "ckpt-4.npz", "ckpt-5.npz"]
    assert json.loads((tmp_path / "checkpoint").read_text())["all"] == kept
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefixes[-1]


def test_old_checkpoints_are_deleted_only_after_the_index_stops_naming_them(model, tmp_path, monkeypatch):
    """Finding: the oldest checkpoint was deleted before the index was rewritten, so a kill in between left
    the index naming a deleted file."""
    for i in range(3):
        model["saver"].save(model["sess"], str(tmp_path / "ckpt"), global_step=i)
    real = saver_mod.atomic_write

    def killed_writing_the_index(path, write):
        if os.path.basename(path) == "checkpoint":
            raise KeyboardInterrupt  # the process dies here: the new checkpoint is on disk, the index is not
        return real(path, write)
    monkeypatch.setattr(saver_mod, "atomic_write", killed_writing_the_index)
    with pytest.raises(KeyboardInterrupt):
        model["saver"].save(model["sess"], str(tmp_path / "ckpt"), global_step=3)
    monkeypatch.undo()
    index = json.loads((tmp_path / "checkpoint").read_text())
    assert index["all"] == ["ckpt-0.npz", "ckpt-1.npz", "ckpt-2.npz"]
    for name in index["all"]:
        model["saver"].restore(model["sess"], str(tmp_path / name))  # every file the index names is whole


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_crash_mid_save_keeps_previous_checkpoint(model, tmp_path, monkeypatch, exc):
    prefix = model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    saved = _values(model)
    size = os.path.getsize(prefix + ".npz")
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
    assert os.path.getsize(prefix + ".npz") == size and _temp_files(tmp_path) == []
    model["saver"].restore(model["sess"], prefix)  # the old checkpoint is intact and still the latest
    assert _same(saved, _values(model))
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _temp_name(pid, host=files_mod._HOST, tag="0badf00d"):
    return f".nnplug-{pid:08x}-{host}-{tag}.tmp"


def test_next_save_removes_stale_temp_files_of_dead_writers_only(model, tmp_path):
    """Finding: temp files of killed saves were never cleaned (124 files, 531 MiB were found)."""
    dead, alive = _temp_name(_dead_pid()), _temp_name(os.getppid())
    far_old, far_new = _temp_name(os.getppid(), host="abcdef", tag="00000001"), _temp_name(1, "abcdef", "00000002")
    others = [".tmp-mine.npz", ".nnplug-notours.tmp", "notes.txt"]  # not atomic_write's pattern: never touched
    for name in [dead, alive, far_old, far_new, *others]:
        (tmp_path / name).write_bytes(b"x" * 100)
    day_ago = time.time() - files_mod.STALE_AFTER_S - 60
    os.utime(tmp_path / far_old, (day_ago, day_ago))  # another host's writer: stale only by age
    model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    left = {p.name for p in tmp_path.iterdir()}
    assert dead not in left and far_old not in left
    assert {alive, far_new, *others} <= left
    assert left == {alive, far_new, *others, "ckpt.npz", "ckpt.meta", "checkpoint"}


def test_long_legal_file_names_can_be_saved(model, tmp_path):
    """Finding: a legal 243-255-byte name failed because the temp name was 13 bytes longer."""
    for n in (243, 251):  # 251 + '.npz' = 255 bytes, NAME_MAX on Linux
        # (the .meta beside it would be 256 bytes: the checkpoint file's own name is what is tested here)
        prefix = model["saver"].save(model["sess"], str(tmp_path / ("a" * n)), write_meta_graph=False)
        assert len(os.path.basename(prefix + ".npz").encode()) == n + 4
        model["saver"].restore(model["sess"], prefix)
    assert _temp_files(tmp_path) == []


def test_atomic_write_cleans_up(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")

    def fail(f):
        f.write(b"partial")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        saver_mod.atomic_write(str(target), fail)
    assert target.read_bytes() == b"old" and _temp_files(tmp_path) == []
    saver_mod.atomic_write(str(target), lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new" and _temp_files(tmp_path) == []


# -- reading what is not a good checkpoint -----------------------------------------------------------------
def _restore_fails(model, path, *words):
    before = _values(model)
    model["sess"].run(model["bump"])
    changed = _values(model)
    with pytest.raises(CheckpointError) as e:
        model["saver"].restore(model["sess"], str(path))
    message = str(e.value)
    assert str(path) in message, message
    for w in words:
        assert w in message, message
    assert _same(changed, _values(model)) and not _same(before, changed)  # untouched by the failed restore
    return message


def test_truncated_file(model, tmp_path):
    model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    data = (tmp_path / "ckpt.npz").read_bytes()
    for n in (0, 10, len(data) // 2, len(data) - 5):
        bad = tmp_path / f"trunc{n}.npz"
        bad.write_bytes(data[:n])
        _restore_fails(model, bad, "cannot read checkpoint")


def test_corrupted_bytes(model, tmp_path):
    model["saver"].save(model["sess"], str(tmp_path / "ckpt"))
    data = bytearray((tmp_path / "ckpt.npz").read_bytes())
    rng = np.random.default_rng(0)
    for trial in range(5):
        bad_data = bytearray(data)
        for i in rng.integers(0, len(data), 40):
            bad_data[i] ^= 0xFF
        bad = tmp_path / f"bad{trial}.npz"
        bad.write_bytes(bytes(bad_data))
        _restore_fails(model, bad)


def test_missing_file_and_none(model, tmp_path):
    _restore_fails(model, tmp_path / "nothing.npz", "does not exist")
    _restore_fails(model, tmp_path / "nothing", "does not exist", "no file")
    _restore_fails(model, tmp_path, "is a folder")
    with pytest.raises(CheckpointError, match="path is None"):
        model["saver"].restore(model["sess"], tf.train.latest_checkpoint(str(tmp_path / "empty")))


def test_foreign_files(model, tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello, not a checkpoint")
    _restore_fails(model, text, "not an .npz (zip) file")
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros((2, 3)))  # an npz, but not ours
    _restore_fails(model, plain, "not an nnplug checkpoint")
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))  # a bare .npy under an .npz name
    _restore_fails(model, npy, "bare .npy")
    other_zip = tmp_path / "archive.npz"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "zip, not npz")
    _restore_fails(model, other_zip, "not an nnplug checkpoint")


def test_wrong_shapes_dtypes_and_missing_variables(model, tmp_path):
    _checkpoint_like(tmp_path / "shape.npz", **{**GOOD, "v/b": np.zeros(3, np.float32)})
    _restore_fails(model, tmp_path / "shape.npz", "'b:0'", "(3,)", "(2,)")
    _checkpoint_like(tmp_path / "missing.npz", **{k: v for k, v in GOOD.items() if k != "v/step"})
    _restore_fails(model, tmp_path / "missing.npz", "no value for variable 'step:0'", "it holds: b, w")
    _checkpoint_like(tmp_path / "strings.npz", **{**GOOD, "v/b": np.array(["a", "b"])})
    _restore_fails(model, tmp_path / "strings.npz", "'b:0'", "<U1", "cannot become float32")
    _checkpoint_like(tmp_path / "floatint.npz", **{**GOOD, "v/step": np.array(3.0)})
    _restore_fails(model, tmp_path / "floatint.npz", "'step:0'", "float64", "cannot become int64")
    np.savez(tmp_path / "future.npz", **{"__format__": np.array("nnplug-checkpoint"), "__version__": np.array(99),
                                         **GOOD})
    _restore_fails(model, tmp_path / "future.npz", "version 99")


@pytest.mark.parametrize("stored, var_dtype, words", [
    (np.array(2**32 + 5, np.int64), np.int32, ["from 4294967301 to 4294967301", "int32 [-2147483648, 2147483647]"]),
    (np.array(-1, np.int64), np.uint8, ["from -1 to -1", "uint8 [0, 255]"]),
    (np.array(1e300), np.float32, ["up to 1e+300", "float32 (largest 3.40282e+38)"]),
    (np.array(70000.0, np.float32), np.float16, ["up to 70000", "float16"]),
    (np.array(2**24 + 1, np.int64), np.float32, ["16777217", "cannot hold exactly"]),
])
def test_values_that_do_not_fit_the_variable_are_refused(tmp_path, stored, var_dtype, words):
    """Finding: restoring int64 2**32+5 into int32 gave 5, float64 1e300 into float32 gave inf."""
    g = tf.Graph()
    with g.as_default():
        x = tf.Variable(np.array(7, var_dtype), name="x")
        y = tf.Variable(np.array(1.5, np.float32), name="y")
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            path = tmp_path / "wide.npz"
            _checkpoint_like(path, **{"v/x": stored, "v/y": np.array(-2.5, np.float32)})
            with pytest.raises(CheckpointError) as e:
                tf.train.Saver().restore(s, str(path))
            message = str(e.value)
            assert str(path) in message and "variable 'x:0'" in message and "nothing was restored" in message
            for w in words:
                assert w in message, message
            assert s.run(x) == 7 and s.run(y) == 1.5  # neither variable changed


def test_values_that_fit_are_converted(tmp_path):
    g = tf.Graph()
    with g.as_default():
        i = tf.Variable(np.zeros(3, np.int32), name="i")
        f = tf.Variable(np.zeros(2, np.float32), name="f")
        u = tf.Variable(np.zeros(2, np.uint8), name="u")
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            path = tmp_path / "fits.npz"
            _checkpoint_like(path, **{"v/i": np.array([-2**31, 0, 2**31 - 1], np.int64),
                                      "v/f": np.array([0.1, -3e38]), "v/u": np.array([0, 255], np.int64)})
            tf.train.Saver().restore(s, str(path))
            np.testing.assert_array_equal(s.run(i), [-2**31, 0, 2**31 - 1])
            np.testing.assert_array_equal(s.run(f), np.array([0.1, -3e38], np.float32))  # rounded, in range
            np.testing.assert_array_equal(s.run(u), [0, 255])
            assert s.run(i).dtype == np.int32


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
    obj = np.empty((2, 3), dtype=object)
    obj[0, 0] = _Hostile(str(marker))
    np.savez(evil, **{"__format__": np.array("nnplug-checkpoint"), "__version__": np.array(1),
                      "v/w": obj, "v/b": np.zeros(2, np.float32), "v/step": np.array(1)})
    assert not marker.exists()  # saving did not run it either
    _restore_fails(model, evil, "'w:0' is stored as object")
    assert not marker.exists()
    fmt_evil = tmp_path / "evil_format.npz"  # the object array where the marker is read first
    np.savez(fmt_evil, __format__=obj[:1, 0].reshape(()), __version__=np.array(1))
    _restore_fails(model, fmt_evil, "'__format__' marker is stored as object")
    assert not marker.exists()


def test_unknown_and_duplicate_members_are_refused(model, tmp_path):
    base = _good_members()
    junk = tmp_path / "junk.npz"
    with zipfile.ZipFile(junk, "w") as z:
        for name, data in {**base, "payload.exe": b"MZ..."}.items():
            z.writestr(name, data)
    _restore_fails(model, junk, "unexpected member 'payload.exe'")
    twice = tmp_path / "twice.npz"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(twice, "w") as z:
        for name, data in base.items():
            z.writestr(name, data)
        z.writestr("v/w.npy", _npy(np.ones((2, 3), np.float32)))
    _restore_fails(model, twice, "member 'v/w.npy' appears twice")


def _write_zeros_member(z, name, header_shape, nbytes, compress=zipfile.ZIP_DEFLATED):
    """A member whose .npy header says `header_shape` float32, followed by `nbytes` zero bytes, streamed."""
    info = zipfile.ZipInfo(name)
    info.compress_type = compress
    with z.open(info, "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": header_shape})
        chunk = bytes(1 << 20)
        for _ in range(nbytes >> 20):
            f.write(chunk)


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _zip_with(path, members, extra):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        extra(z)


@pytest.mark.parametrize("name, header_shape, words", [
    ("v/w.npy", (16 << 18,), ["member 'v/w.npy' declares", "more than the"]),  # 64 MiB where 48 bytes do
    ("v/unused.npy", (16 << 18,), []),  # a member no variable asks for is never read: restore succeeds
])
def test_compressed_bombs_cost_no_memory(model, tmp_path, name, header_shape, words):
    """Finding: a 0.3 MB checkpoint with a compressed 300 MiB member cost 300 MB before any check, and an
    unused member was loaded too."""
    members = _good_members()
    if name == "v/w.npy":
        del members["v/w.npy"]
    bomb = tmp_path / "bomb.npz"
    _zip_with(bomb, members, lambda z: _write_zeros_member(z, name, header_shape, 64 << 20))
    assert os.path.getsize(bomb) < 1 << 20
    if words:
        peak = _peak_bytes(lambda: _restore_fails(model, bomb, *words))
    else:
        peak = _peak_bytes(lambda: model["saver"].restore(model["sess"], str(bomb)))
        assert _same(_values(model), {k: GOOD["v/" + k] for k in ("w", "b", "step")})
    assert peak < 2 << 20, peak


def _patch_declared_size(data, member, size):
    """Rewrite the uncompressed size the central directory declares for `member`."""
    data = bytearray(data)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46: at + 46 + name_len]) == member.encode():
            struct.pack_into("<I", data, at + 24, size)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no central directory entry for {member}")


def test_member_lying_about_its_size_is_not_inflated(model, tmp_path):
    """The directory says 176 bytes (what w needs) but the stream inflates to 64 MiB: reading stops at 176."""
    members = _good_members()
    honest = len(members.pop("v/w.npy"))
    liar = tmp_path / "liar.npz"
    _zip_with(liar, members, lambda z: _write_zeros_member(z, "v/w.npy", (2, 3), 64 << 20))
    liar.write_bytes(_patch_declared_size(liar.read_bytes(), "v/w.npy", honest))
    peak = _peak_bytes(lambda: _restore_fails(model, liar, "member 'v/w.npy' is damaged"))
    assert peak < 2 << 20, peak


def test_header_that_disagrees_with_the_member_size_is_refused(model, tmp_path):
    members = _good_members()
    honest = len(members["v/w.npy"])
    members["v/w.npy"] = members["v/w.npy"] + b"\0" * 8  # 8 bytes more than its header describes
    padded = tmp_path / "padded.npz"
    _zip_with(padded, members, lambda z: None)
    _restore_fails(model, padded, f"member 'v/w.npy' holds {honest + 8} bytes, but its header describes {honest}")


# -- the index ---------------------------------------------------------------------------------------------
def test_hostile_index_file(model, tmp_path):
    (tmp_path / "checkpoint").write_text("{not json")
    with pytest.raises(CheckpointError) as e:
        tf.train.latest_checkpoint(str(tmp_path))
    assert "corrupted" in str(e.value) and str(tmp_path) in str(e.value)
    (tmp_path / "checkpoint").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="corrupted"):
        tf.train.latest_checkpoint(str(tmp_path))
    (tmp_path / "checkpoint").write_bytes(b" " * (saver_mod.MAX_INDEX_BYTES + 1))
    with pytest.raises(CheckpointError, match="not an nnplug index"):
        tf.train.latest_checkpoint(str(tmp_path))
    (tmp_path / "checkpoint").write_text(json.dumps({"latest": ".."}))
    with pytest.raises(CheckpointError, match="not a file in the folder"):
        tf.train.latest_checkpoint(str(tmp_path))
    (tmp_path / "checkpoint").write_text(json.dumps({"latest": "../../etc/passwd"}))
    assert tf.train.latest_checkpoint(str(tmp_path)) is None  # names no file in the folder: none, as TF1
    model["saver"].save(model["sess"], str(tmp_path / "ckpt-1"))
    (tmp_path / "checkpoint").write_text(json.dumps({"latest": "../../elsewhere/ckpt-1.npz"}))
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "ckpt-1")  # never outside the folder
