"""Fuzz Saver.restore with 320 seeded mutations of a real checkpoint: flipped and truncated bytes, damaged zip
structures, swapped, dropped, added and re-compressed members, rewritten .npy headers and data.

Each restore must either succeed with exactly the values the mutated file holds (decoded independently by
numpy, and then converted to each variable's dtype) or raise CheckpointError naming the file, leaving every
variable as it was; never another exception from deep inside. Each restore's peak memory (tracemalloc) stays
under 1 MiB for a ~1.5 KB file. Seeded and bounded (a few seconds).
"""
import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

import nnplug as tf
from nnplug.train.saver import CheckpointError

SEED = 7
TRIALS = 320
PEAK_BYTES = 1 << 20
# pairwise different shapes: a swapped member can never pass for another variable
SHAPES = {"w": ((2, 3), np.float32), "b": ((4,), np.float64), "step": ((), np.int64), "c": ((5,), np.int32)}
DESCRS = ["<f4", "<f8", "<i4", "<i8", "|u1", "|b1", "<f2", ">f4", ">i8", "|O", "<U3", "<c8", "|V8", "<M8[s]",
          "[('a', '<f4')]", "('<f4', (2,))", "'<f4'", "<g"]


@pytest.fixture(scope="module")
def model():
    g = tf.Graph()
    with g.as_default():
        variables = {name: tf.Variable(np.zeros(shape, dtype), name=name) for name, (shape, dtype) in SHAPES.items()}
        sess = tf.Session()
        values = {"w": np.arange(6, dtype=np.float32).reshape(2, 3) / 7, "b": np.array([1e300, -2.5, 0.0, np.inf]),
                  "step": np.array(2**40, np.int64), "c": np.array([-3, 0, 2**31 - 1, 7, -2**31], np.int32)}
        for name, var in variables.items():
            sess.load_variable(var, values[name])
        yield {"sess": sess, "vars": variables, "saver": tf.train.Saver(list(variables.values()))}
        sess.close()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def _zip(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compress) as z:
        for name, payload in members:
            z.writestr(name, payload)
    return buf.getvalue()


def _npy_with_header(header, body):
    """An .npy member: magic 1.0, the header text padded as numpy pads it, then `body`."""
    text = header.encode("latin1")
    text += b" " * ((-(10 + len(text) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body


def _split_npy(payload):
    """(header text, body) of a version-1 .npy member."""
    n = struct.unpack_from("<H", payload, 8)[0]
    return payload[10:10 + n].decode("latin1"), payload[10 + n:]


def _rewrite_header(rng, payload):
    header, body = _split_npy(payload)
    choice = rng.integers(7)
    if choice == 0:
        shape = tuple(int(d) for d in rng.integers(0, 7, rng.integers(0, 4)))
        header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    elif choice == 1:
        descr = DESCRS[rng.integers(len(DESCRS))]
        descr = descr if descr[0] in "[('" else repr(descr)
        header = header.replace(header.split("'descr': ")[1].split(", 'fortran")[0], descr)
    elif choice == 2:
        header = header.replace("False", "True")
    elif choice == 3:
        header = header.replace("'shape': (", "'shape': (1000000000, ")
    elif choice == 4:
        header = "{'descr': '<f4', 'shape': (2, 3)}"  # a key missing
    elif choice == 5:
        header = "[" * 3000 + "]" * 3000  # deep nesting
    else:
        header = header[: rng.integers(len(header))]
    return _npy_with_header(header, body)


def _mutate(rng, data, members):
    """One mutated checkpoint file, and what kind of mutation it is."""
    kind = ["flip", "truncate", "structure", "swap", "header", "drop", "add", "recompress", "data", "magic"][
        rng.integers(10)]
    if kind == "flip":
        out = bytearray(data)
        for i in rng.integers(0, len(out), rng.integers(1, 9)):
            out[i] ^= int(rng.integers(1, 256))
        return kind, bytes(out)
    if kind == "truncate":
        return kind, data[: rng.integers(0, len(data))]
    if kind == "structure":  # bytes of a zip header record: names, sizes, offsets, counts
        out = bytearray(data)
        starts = [i for i in range(len(data) - 4) if data[i:i + 2] == b"PK" and data[i + 2] in (1, 3, 5)]
        at = starts[rng.integers(len(starts))] + int(rng.integers(4, 30))
        out[min(at, len(out) - 1)] ^= int(rng.integers(1, 256))
        return kind, bytes(out)
    members = list(members)
    i, j = rng.choice(len(members), 2, replace=False)
    if kind == "swap":
        (ni, pi), (nj, pj) = members[i], members[j]
        members[i], members[j] = (ni, pj), (nj, pi)
    elif kind == "header":
        members[i] = (members[i][0], _rewrite_header(rng, members[i][1]))
    elif kind == "drop":
        del members[i]
    elif kind == "add":
        extra = [("v/w.npy", members[i][1]), ("v/other.npy", members[i][1]), ("evil.py", b"import os"),
                 ("v/", b""), ("../v/w.npy", members[i][1])][rng.integers(5)]
        members.insert(int(rng.integers(len(members) + 1)), extra)
    elif kind == "data":  # rewritten values under a correct CRC: a valid file holding other numbers
        header, body = _split_npy(members[i][1])
        body = bytes(rng.integers(0, 256, len(body), dtype=np.uint8))
        members[i] = (members[i][0], _npy_with_header(header, body))
    elif kind == "magic":
        payload = bytearray(members[i][1])
        payload[int(rng.integers(0, 8))] ^= 0xFF
        members[i] = (members[i][0], bytes(payload))
    compress = zipfile.ZIP_DEFLATED if kind == "recompress" or rng.random() < 0.3 else zipfile.ZIP_STORED
    return kind, _zip(members, compress)


def _expected(path, variables):
    """What a successful restore must have given: numpy's own reading of the file, cast to each dtype, checking
    independently that the values fit (integers in range and exact, finite floats staying finite)."""
    with np.load(path, allow_pickle=False) as data:
        assert str(data["__format__"]) == "nnplug-checkpoint" and int(data["__version__"]) == 1
        out = {}
        for name in variables:
            stored = data[f"v/{name}"]
            assert stored.shape == SHAPES[name][0]
            target = np.dtype(SHAPES[name][1])
            with np.errstate(all="ignore"):
                cast = stored.astype(target)
            if target.kind in "iu":
                assert stored.dtype.kind in "biu" and np.array_equal(cast.astype(np.float64), stored.astype(np.float64))
            else:
                assert np.array_equal(np.isfinite(cast), np.isfinite(stored))
            out[name] = cast
    return out


@pytest.mark.filterwarnings("ignore:Duplicate name")  # zipfile warns as the "add" mutation writes a duplicate
def test_restore_survives_hostile_mutations(model, tmp_path):
    sess, variables, saver = model["sess"], model["vars"], model["saver"]
    saver.save(sess, str(tmp_path / "good"))
    original = (tmp_path / "good.npz").read_bytes()
    members = _members(original)
    rng = np.random.default_rng(SEED)
    outcomes = {}
    tracemalloc.start()
    try:
        for trial in range(TRIALS):
            kind, data = _mutate(rng, original, members)
            path = tmp_path / f"m{trial}.npz"
            path.write_bytes(data)
            before = {n: sess.variable_value(v) for n, v in variables.items()}
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            try:
                saver.restore(sess, str(path))
                error = None
            except CheckpointError as e:
                error = e
            peak = tracemalloc.get_traced_memory()[1] - base
            assert peak < PEAK_BYTES, (trial, kind, peak)
            after = {n: sess.variable_value(v) for n, v in variables.items()}
            if error is None:
                expected = _expected(path, variables)
                for name in variables:
                    np.testing.assert_array_equal(after[name], expected[name], err_msg=f"trial {trial} {kind}")
                    assert after[name].dtype == np.dtype(SHAPES[name][1])
            else:
                assert str(path) in str(error), (trial, kind, str(error))
                for name in variables:
                    np.testing.assert_array_equal(after[name], before[name], err_msg=f"trial {trial} {kind}")
            outcomes.setdefault(kind, []).append(error is None)
            saver.restore(sess, str(tmp_path / "good"))  # back to the original values for the next trial
    finally:
        tracemalloc.stop()
    assert len(outcomes) == 10 and sum(len(v) for v in outcomes.values()) == TRIALS
    assert all(outcomes["recompress"]) or not outcomes["recompress"]  # deflated but intact: always restores
    assert not any(outcomes["truncate"]) and not any(outcomes["swap"]) and not any(outcomes["drop"])
