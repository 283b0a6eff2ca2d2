"""TFRecord files and tf.train.Example: the framing (masked CRC-32C) checked against the CRC-32C check value
and TensorFlow itself (files written by nnplug read by TensorFlow and the reverse, in a separate process;
skipped, saying why, without tensorflow); corrupted files fail naming the file and the record's offset;
parse_single_example / parse_example / decode_raw against hand-built Examples and bytes; TFRecordReader
and TFRecordDataset read what TFRecordWriter wrote."""
import gzip
import importlib.util
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

import nnplug as tf
from nnplug.lib import tfrecord

pytest.importorskip("google_crc32c", reason="TFRecord checksums need the tfrecord extra (google-crc32c)")
pytest.importorskip("google.protobuf", reason="tf.train.Example needs the tfrecord extra (protobuf)")


def _example(**features):
    """A tf.train.Example of float lists (floats), int64 lists (ints, or empty) and byte lists (bytes)."""
    def feature(v):
        v = v if isinstance(v, list) else [v]
        if v and isinstance(v[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
        if v and isinstance(v[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=v))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
    return tf.train.Example(features=tf.train.Features(feature={k: feature(v) for k, v in features.items()}))


def _write(path, records, options=None):
    with tf.python_io.TFRecordWriter(str(path), options) as w:
        for r in records:
            w.write(r)


# -- framing -------------------------------------------------------------------------------------------
def test_masked_crc32c_and_the_record_layout(tmp_path):
    crc = 0xE3069283  # CRC-32C of b"123456789", the algorithm's published check value
    assert tfrecord.masked_crc32c(b"123456789") == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    path = tmp_path / "a.tfrecord"
    _write(path, [b"abc", b""])
    data = path.read_bytes()
    length = struct.pack("<Q", 3)
    assert data[:8] == length and data[8:12] == struct.pack("<I", tfrecord.masked_crc32c(length))
    assert data[12:15] == b"abc" and data[15:19] == struct.pack("<I", tfrecord.masked_crc32c(b"abc"))
    assert len(data) == 19 + 16
    assert list(tf.python_io.tf_record_iterator(str(path))) == [b"abc", b""]


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_compressed_files_round_trip(tmp_path, kind):
    path = tmp_path / "c.tfrecord"
    records = [bytes([i]) * (i * 1000) for i in range(6)]
    _write(path, records, tf.python_io.TFRecordOptions(kind))
    assert list(tf.io.tf_record_iterator(str(path), tf.python_io.TFRecordOptions(kind))) == records
    plain = tmp_path / "p.tfrecord"
    _write(plain, records)
    inflated = gzip.decompress(path.read_bytes()) if kind == "GZIP" else zlib.decompress(path.read_bytes())
    assert inflated == plain.read_bytes()  # the compressed stream holds exactly the plain file
    with pytest.raises(ValueError, match="compression type"):
        tf.python_io.TFRecordOptions("LZ4")


# -- corrupted files -----------------------------------------------------------------------------------
def test_corrupted_records_name_the_file_and_offset(tmp_path):
    good = tmp_path / "good.tfrecord"
    _write(good, [b"first", b"second record"])
    data = good.read_bytes()
    second = 16 + len(b"first")

    def read(raw):
        p = tmp_path / "bad.tfrecord"
        p.write_bytes(raw)
        return list(tf.python_io.tf_record_iterator(str(p)))
    with pytest.raises(tf.errors.DataLossError, match=rf"truncated record at offset {second} .*bad.tfrecord"):
        read(data[:-3])
    with pytest.raises(tf.errors.DataLossError, match=rf"truncated record at offset {second}.*header"):
        read(data[:second + 5])
    flipped = bytearray(data)
    flipped[second + 12] ^= 1
    with pytest.raises(tf.errors.DataLossError, match=rf"corrupted record at offset {second} .*data bytes"):
        read(bytes(flipped))
    flipped = bytearray(data)
    flipped[2] ^= 1
    with pytest.raises(tf.errors.DataLossError, match="corrupted record at offset 0 .*length"):
        read(bytes(flipped))
    length = struct.pack("<Q", 1 << 60)  # a valid header claiming an exabyte: refused, not allocated
    huge = length + struct.pack("<I", tfrecord.masked_crc32c(length)) + b"xxxx"
    with pytest.raises(tf.errors.DataLossError, match=f"claims {1 << 60} bytes"):
        read(huge)
    compressed = tmp_path / "bad.gz"
    compressed.write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(tf.errors.DataLossError, match="bad.gz"):
        list(tf.python_io.tf_record_iterator(str(compressed), "GZIP"))


def test_missing_libraries_are_named(monkeypatch):
    from nnplug.lib import example_proto
    monkeypatch.setitem(sys.modules, "google_crc32c", None)
    with pytest.raises(ImportError, match=r"nnplug\[tfrecord\]"):
        tfrecord.masked_crc32c(b"x")
    example_proto.classes.cache_clear()
    monkeypatch.setitem(sys.modules, "google.protobuf", None)
    try:
        with pytest.raises(ImportError, match=r"protobuf.*nnplug\[tfrecord\]"):
            _ = tf.train.Example
    finally:
        monkeypatch.undo()
        example_proto.classes.cache_clear()


# -- tf.train.Example parsing --------------------------------------------------------------------------
FEATURES = {"image": tf.FixedLenFeature([2, 2], tf.float32), "label": tf.FixedLenFeature([], tf.int64),
            "name": tf.FixedLenFeature([], tf.string, default_value=b"none"), "tags": tf.VarLenFeature(tf.int64)}


def test_parse_single_example_dense_sparse_and_defaults():
    ex = _example(image=[1.0, 2.0, 3.0, 4.5], label=7, tags=[5, 6, 9])
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [])
        parsed = tf.parse_single_example(s, FEATURES)
        assert parsed["image"].shape.as_list() == [2, 2] and parsed["label"].dtype == tf.int64
        assert isinstance(parsed["tags"], tf.SparseTensor)
        with tf.Session() as sess:
            out = sess.run(parsed, {s: ex.SerializeToString()})
    np.testing.assert_array_equal(out["image"], [[1.0, 2.0], [3.0, 4.5]])
    assert out["label"] == 7 and out["name"] == b"none"
    np.testing.assert_array_equal(out["tags"].values, [5, 6, 9])
    np.testing.assert_array_equal(out["tags"].indices, [[0], [1], [2]])
    np.testing.assert_array_equal(out["tags"].dense_shape, [3])


def test_parse_example_batches_and_pads_sparse():
    serialized = [_example(image=[0.0] * 4, label=i, name=b"n%d" % i, tags=[10 * i] * i).SerializeToString()
                  for i in range(3)]
    with tf.Graph().as_default():
        parsed = tf.parse_example(tf.constant(serialized), FEATURES)
        with tf.Session() as sess:
            out = sess.run(parsed)
    np.testing.assert_array_equal(out["label"], [0, 1, 2])
    assert list(out["name"]) == [b"n0", b"n1", b"n2"] and out["image"].shape == (3, 2, 2)
    np.testing.assert_array_equal(out["tags"].indices, [[1, 0], [2, 0], [2, 1]])
    np.testing.assert_array_equal(out["tags"].values, [10, 20, 20])
    np.testing.assert_array_equal(out["tags"].dense_shape, [3, 2])


def test_parse_errors_name_the_feature():
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [])
        parsed = tf.parse_single_example(s, {"label": tf.FixedLenFeature([], tf.int64),
                                             "x": tf.FixedLenFeature([2], tf.float32, default_value=[0.0, 0.0])})
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="Feature: label .* is required"):
                sess.run(parsed, {s: _example(x=[1.0, 2.0]).SerializeToString()})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Key: label.*Data type: float but expected "
                                                                     "type: int64"):
                sess.run(parsed, {s: _example(label=1.0).SerializeToString()})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Key: x.*values size: 3"):
                sess.run(parsed, {s: _example(label=1, x=[1.0, 2.0, 3.0]).SerializeToString()})
            with pytest.raises(tf.errors.InvalidArgumentError, match="Could not parse example"):
                sess.run(parsed, {s: b"\xff\xff not a proto"})
    with pytest.raises(ValueError, match="float32, int64 or string"):
        tf.parse_single_example(tf.constant(b""), {"a": tf.FixedLenFeature([], tf.int32)})


def test_decode_raw_byte_orders_and_errors():
    values = np.array([1.5, -2.0, 3.25], np.float32)
    with tf.Graph().as_default():
        s = tf.placeholder(tf.string, [None])
        little = tf.decode_raw(s, tf.float32)
        big = tf.decode_raw(s, tf.int16, little_endian=False)
        assert little.shape.as_list() == [None, None]
        with tf.Session() as sess:
            out = sess.run(little, {s: [values.tobytes(), (values * 2).tobytes()]})
            np.testing.assert_array_equal(out, [values, values * 2])
            np.testing.assert_array_equal(sess.run(big, {s: [b"\x01\x02\xff\xfe"]}), [[0x0102, -2]])
            with pytest.raises(tf.errors.InvalidArgumentError, match="same size, but element 1 has size 2 != 4"):
                sess.run(big, {s: [b"abcd", b"ab"]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="length 5 that is not a multiple of 4"):
                sess.run(little, {s: [b"abcde"]})


# -- readers and datasets ------------------------------------------------------------------------------
def test_tfrecord_reader_reads_every_record_of_every_file_per_epoch(tmp_path):
    paths = []
    for k in range(2):
        paths.append(str(tmp_path / f"part-{k}.tfrecord"))
        _write(paths[-1], [_example(label=10 * k + i).SerializeToString() for i in range(3)])
    with tf.Graph().as_default():
        queue = tf.train.string_input_producer(paths, num_epochs=2, shuffle=False)
        key, value = tf.TFRecordReader().read(queue)
        label = tf.parse_single_example(value, {"label": tf.FixedLenFeature([], tf.int64)})["label"]
        keys_up_to, _ = tf.TFRecordReader().read_up_to(tf.train.string_input_producer(paths, num_epochs=1,
                                                                                     shuffle=False), 4)
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            got = []
            with pytest.raises(tf.errors.OutOfRangeError):
                while True:
                    got.append(sess.run([key, label]))
            chunks = []
            with pytest.raises(tf.errors.OutOfRangeError):
                while True:
                    chunks.append(len(sess.run(keys_up_to)))
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
    assert [int(v) for _, v in got] == [0, 1, 2, 10, 11, 12] * 2
    size = os.path.getsize(paths[0]) // 3
    assert [k for k, _ in got[:3]] == [f"{paths[0]}:{i * size}".encode() for i in range(3)]
    assert sum(chunks) == 6 and chunks[0] == 4


def test_tfrecord_dataset_with_a_parsing_map(tmp_path):
    path = tmp_path / "d.tfrecord"
    _write(path, [_example(x=[float(i), float(-i)], y=i).SerializeToString() for i in range(5)])
    spec = {"x": tf.FixedLenFeature([2], tf.float32), "y": tf.FixedLenFeature([], tf.int64)}
    with tf.Graph().as_default():
        names = tf.placeholder(tf.string, [None])
        ds = tf.data.TFRecordDataset(names).map(lambda s: tf.parse_single_example(s, spec)).batch(2)
        it = ds.make_initializable_iterator()
        nxt = it.get_next()
        with tf.Session() as sess:
            sess.run(it.initializer, {names: [str(path)]})
            batches = []
            with pytest.raises(tf.errors.OutOfRangeError):
                while True:
                    batches.append(sess.run(nxt))
    assert [list(b["y"]) for b in batches] == [[0, 1], [2, 3], [4]]
    np.testing.assert_array_equal(batches[1]["x"], [[2, -2], [3, -3]])
    gz = tmp_path / "d.gz"
    _write(gz, [b"a", b"b"], "GZIP")
    assert list(tf.data.as_numpy(tf.data.TFRecordDataset(str(gz), compression_type="GZIP"))) == [b"a", b"b"]


# -- TensorFlow itself ---------------------------------------------------------------------------------
TF_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    ours, theirs, theirs_gz = sys.argv[1:4]
    spec = {"x": tf.io.FixedLenFeature([3], tf.float32), "name": tf.io.FixedLenFeature([], tf.string),
            "tags": tf.io.VarLenFeature(tf.int64)}
    read = []
    for record in tf.data.TFRecordDataset(ours):
        p = tf.io.parse_single_example(record, spec)
        read.append({"x": p["x"].numpy().tolist(), "name": p["name"].numpy().decode(),
                     "tags": tf.sparse.to_dense(p["tags"]).numpy().tolist()})
    for path, options in ((theirs, None), (theirs_gz, tf.io.TFRecordOptions(compression_type="GZIP"))):
        with tf.io.TFRecordWriter(path, options) as w:
            for i in range(3):
                ex = tf.train.Example(features=tf.train.Features(feature={
                    "x": tf.train.Feature(float_list=tf.train.FloatList(value=[i, i + 0.5, -i])),
                    "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"tf%d" % i])),
                    "tags": tf.train.Feature(int64_list=tf.train.Int64List(value=list(range(i))))}))
                w.write(ex.SerializeToString())
    print(json.dumps(read))
""")


def test_tensorflow_reads_our_files_and_we_read_its(tmp_path):
    if importlib.util.find_spec("tensorflow") is None:
        print("skipped: tensorflow is not installed, so TensorFlow's side of the TFRecord format is not checked")
        pytest.skip("tensorflow is not installed")
    ours = tmp_path / "ours.tfrecord"
    _write(ours, [_example(x=[1.0, 2.5, -3.0], name=b"first", tags=[4, 5]).SerializeToString(),
                  _example(x=[0.0, 0.0, 1e-3], name=b"second", tags=[]).SerializeToString()])
    theirs, theirs_gz = tmp_path / "theirs.tfrecord", tmp_path / "theirs.gz"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-c", TF_SCRIPT, str(ours), str(theirs), str(theirs_gz)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["name"] for r in read] == ["first", "second"] and read[0]["tags"] == [4, 5] and read[1]["tags"] == []
    np.testing.assert_allclose(read[0]["x"], [1.0, 2.5, -3.0])
    spec = {"x": tf.FixedLenFeature([3], tf.float32), "name": tf.FixedLenFeature([], tf.string),
            "tags": tf.VarLenFeature(tf.int64)}
    for path, kind in ((theirs, None), (theirs_gz, "GZIP")):
        records = list(tf.python_io.tf_record_iterator(str(path), kind))
        assert len(records) == 3
        with tf.Graph().as_default():
            parsed = tf.parse_example(tf.constant(records), spec)
            with tf.Session() as sess:
                out = sess.run(parsed)
        np.testing.assert_allclose(out["x"], [[i, i + 0.5, -i] for i in range(3)])
        assert list(out["name"]) == [b"tf0", b"tf1", b"tf2"]
        np.testing.assert_array_equal(out["tags"].indices, [[1, 0], [2, 0], [2, 1]])
        np.testing.assert_array_equal(out["tags"].values, [0, 0, 1])
