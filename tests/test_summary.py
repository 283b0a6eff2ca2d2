"""tf.summary: summaries and graphs written as TensorBoard event files, read back with TensorBoard's own
loader and checked against hand-computed values."""
import io
import itertools
import os
import sys

import numpy as np
import pytest

import nnplug as tf
from nnplug import summary
from nnplug.testing import available_backends

pytest.importorskip("tensorboard", reason='needs the tensorboard extra: pip install -e ".[tensorboard]"')
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def load(logdir):
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def tf_bucket_limit(v):
    """TF's default bucket for a positive value: the first edge 1e-12 * 1.1**k above it (histogram.cc)."""
    edge = 1.0e-12
    while edge <= v:
        edge *= 1.1
    return edge


def test_scalars_over_steps_and_the_graph_read_back_by_tensorboard(tmp_path):
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable(np.array([[1.0], [2.0]], np.float32), name="weights")
    loss = tf.reduce_mean(tf.matmul(x, w), name="loss_value")
    with tf.name_scope("train"):
        summary.scalar("loss", loss)
    merged = summary.merge_all()
    feeds = [np.array([[1, 1]], np.float32), np.array([[0, 1], [2, 0]], np.float32), np.zeros((1, 2), np.float32)]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with summary.FileWriter(tmp_path, sess.graph) as writer:
            for step, feed in enumerate(feeds):
                writer.add_summary(sess.run(merged, {x: feed}), global_step=10 * step)
    acc = load(tmp_path)
    assert acc.Tags()["scalars"] == ["train/loss"]
    events = acc.Scalars("train/loss")
    assert [e.step for e in events] == [0, 10, 20]
    assert [e.value for e in events] == [3.0, 2.0, 0.0]  # mean(x @ [1, 2]) by hand
    nodes = {n.name: n for n in acc.Graph().node}
    assert {"x", "weights", "loss_value", "train/loss", "MatMul"} <= set(nodes)
    assert nodes["MatMul"].op == "MatMul" and list(nodes["MatMul"].input) == ["x", "weights"]
    assert nodes["train/loss"].op == "ScalarSummary"
    shape = nodes["x"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [-1, 2]


def test_a_graph_def_from_the_session_reaches_tensorboard_as_its_graph(tmp_path):
    """`FileWriter(logdir, graph_def=sess.graph_def)`, as TF1 programs write it: TensorBoard reads the graph."""
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    tf.matmul(x, w, name="y")
    with tf.Session() as sess:
        with summary.FileWriter(tmp_path, graph_def=sess.graph_def):
            pass
    nodes = {n.name: n for n in load(tmp_path).Graph().node}
    assert {"x", "w", "y"} <= set(nodes)
    assert nodes["y"].op == "MatMul" and list(nodes["y"].input) == ["x", "w"]


def test_a_zero_scalar_survives_the_fetch(tmp_path):
    """A Summary of 0.0 ends in zero bytes, which NumPy's fixed-width bytes would drop: strings are
    object arrays of bytes, as in TF1."""
    s = summary.scalar("zero", tf.constant(0.0))
    with tf.Session() as sess:
        out = sess.run(s)
    assert isinstance(out, bytes) and out.endswith(b"\x00\x00\x00\x00")
    parsed = summary.Summary.FromString(out)
    assert parsed.value[0].tag == "zero" and parsed.value[0].simple_value == 0.0
    assert s.dtype == summary.string and s.shape == ()


def test_histogram_buckets_match_tf1(tmp_path):
    values = np.array([0.5, 0.5, 2.0, -3.0, 0.0, 7.5], np.float32)
    v = tf.placeholder(tf.float32, [None], name="v")
    h = summary.histogram("activations", v)
    with tf.Session() as sess, summary.FileWriter(tmp_path) as writer:
        writer.add_summary(sess.run(h, {v: values}), 5)
    (event,) = load(tmp_path).Histograms("activations")
    assert event.step == 5
    hist = event.histogram_value
    assert (hist.min, hist.max, hist.num) == (-3.0, 7.5, 6)
    assert hist.sum == pytest.approx(7.5) and hist.sum_squares == pytest.approx(0.25 * 2 + 4 + 9 + 56.25)
    limits, counts = list(hist.bucket_limit), list(hist.bucket)
    assert sum(counts) == 6
    nonempty = [(limit, c) for limit, c in zip(limits, counts) if c]
    # each value sits in the first bucket whose upper edge exceeds it; 0 in the bucket ending at 1e-12,
    # -3 in the one ending at minus the largest edge below 3
    expected = sorted([(tf_bucket_limit(0.5), 2), (tf_bucket_limit(2.0), 1), (tf_bucket_limit(7.5), 1),
                       (-tf_bucket_limit(3.0) / 1.1, 1), (1e-12, 1)])
    assert [c for _, c in nonempty] == [c for _, c in expected]
    assert [limit for limit, _ in nonempty] == pytest.approx([limit for limit, _ in expected], rel=1e-12)
    assert limits == sorted(limits) and limits[-1] == sys.float_info.max
    assert all(c > 0 or nxt > 0 for c, nxt in itertools.pairwise(counts))  # runs of empty buckets are one entry


def test_images_as_tf1_scales_them(tmp_path):
    batch = np.array([[[[0.0], [0.5], [1.0]]],           # non-negative: scaled so the largest is 255
                      [[[-1.0], [0.0], [1.0]]]], np.float32)  # signed: 127/max|x| around 128
    img = tf.placeholder(tf.float32, [None, 1, 3, 1], name="img")
    rgb = tf.constant(np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3))
    summary.image("gray", img, max_outputs=2)
    summary.image("colour", rgb, max_outputs=1)
    with tf.Session() as sess, summary.FileWriter(tmp_path) as writer:
        writer.add_summary(sess.run(summary.merge_all(), {img: batch}), 1)
    acc = load(tmp_path)
    assert sorted(acc.Tags()["images"]) == ["colour/image", "gray/image/0", "gray/image/1"]

    def pixels(tag):
        (e,) = acc.Images(tag)
        return np.asarray(Image.open(io.BytesIO(e.encoded_image_string))), (e.height, e.width)
    first, size = pixels("gray/image/0")
    assert size == (1, 3) and first.tolist() == [[0, 127, 255]]
    assert pixels("gray/image/1")[0].tolist() == [[1, 128, 255]]
    colour, size = pixels("colour/image")
    assert size == (2, 2)
    np.testing.assert_array_equal(colour, np.arange(12).reshape(2, 2, 3))


def test_text_for_the_text_dashboard(tmp_path):
    summary.text("notes", "learning rate **0.1**")
    with tf.Session() as sess, summary.FileWriter(tmp_path) as writer:
        writer.add_summary(sess.run(summary.merge_all()), 0)
    acc = load(tmp_path)
    (event,) = acc.Tensors("notes")
    assert list(event.tensor_proto.string_val) == [b"learning rate **0.1**"]
    assert acc.SummaryMetadata("notes").plugin_data.plugin_name == "text"


def test_writer_api_for_callbacks(tmp_path):
    with summary.FileWriter(tmp_path / "run") as writer:
        for epoch in range(3):
            writer.add_scalars(epoch, {"loss": 1.0 / (epoch + 1), "val/accuracy": 0.25 * epoch})
        writer.add_histograms(2, {"dense/kernel": np.array([1.0, 1.0, -1.0])})
    acc = load(tmp_path / "run")
    assert [e.value for e in acc.Scalars("loss")] == pytest.approx([1.0, 0.5, 1 / 3])
    assert [e.step for e in acc.Scalars("val/accuracy")] == [0, 1, 2]
    (h,) = acc.Histograms("dense/kernel")
    assert h.histogram_value.num == 3 and h.histogram_value.sum == 1.0
    assert summary.FileWriterCache.get(str(tmp_path / "c")) is summary.FileWriterCache.get(str(tmp_path / "c"))
    summary.FileWriterCache.clear()


def test_summaries_in_a_training_step_on_every_backend(backend, tmp_path):
    x = tf.placeholder(tf.float32, [None, 1], name="x")
    w = tf.Variable(np.zeros((1, 1), np.float32), name="w")
    predictions = tf.matmul(x, w)
    loss = tf.reduce_mean(tf.square(predictions - 2.0 * x))
    train = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    summary.scalar("loss", loss)
    summary.histogram("predictions", predictions)
    merged = summary.merge_all()
    feed = {x: np.ones((4, 1), np.float32)}
    with tf.Session(backend=backend) as sess, summary.FileWriter(tmp_path) as writer:
        sess.run(tf.global_variables_initializer())
        for step in range(3):
            s, _ = sess.run([merged, train], feed)
            writer.add_summary(s, step)
    # w goes 0 -> 1 -> 1.5 -> 1.75 (loss (w - 2)^2, gradient 2(w - 2)); the summaries see each step's w
    acc = load(tmp_path)
    assert [e.value for e in acc.Scalars("loss")] == pytest.approx([4.0, 1.0, 0.25])
    assert [h.histogram_value.sum for h in acc.Histograms("predictions")] == pytest.approx([0.0, 4.0, 6.0])


@pytest.mark.skipif("opencl" not in available_backends(), reason="the opencl backend cannot run here")
def test_replayed_training_steps_still_run_their_summaries(monkeypatch):
    """A step that is recorded and replayed (OpenCL here, CUDA graphs on CuPy) would skip a host op's
    Python: steps with summaries are never replayed."""
    monkeypatch.setenv("NNPLUG_OPENCL_REPLAY", "1")
    x = tf.placeholder(tf.float32, [None, 1], name="x")
    w = tf.Variable(np.zeros((1, 1), np.float32), name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 2.0 * x))
    train = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    s = summary.scalar("loss", loss)
    with tf.Session(backend="opencl") as sess:
        sess.run(tf.global_variables_initializer())
        got = [summary.Summary.FromString(sess.run([s, train], {x: np.ones((4, 1), np.float32)})[0])
               .value[0].simple_value for _ in range(6)]
    assert got == pytest.approx([4.0 * 0.25 ** k for k in range(6)])  # w - 2 halves each step


# -- bad input ----------------------------------------------------------------------------------
def test_a_non_scalar_scalar_summary_is_named_at_build_and_run_time():
    m = tf.placeholder(tf.float32, [2, 3], name="matrix")
    with pytest.raises(ValueError, match=r"scalar summary 'm' takes a scalar.*\(2, 3\).*'matrix:0'"):
        summary.scalar("m", m)
    u = tf.placeholder(tf.float32, None, name="unknown")
    s = summary.scalar("u", u)
    with tf.Session() as sess:
        assert summary.Summary.FromString(sess.run(s, {u: 1.5})).value[0].simple_value == 1.5
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"ScalarSummary op 'u'.*shape \(2,\)"):
            sess.run(s, {u: [1.0, 2.0]})


def test_bad_summaries_are_named():
    with pytest.raises(ValueError, match="image summary 'pic'.*channels"):
        summary.image("pic", tf.placeholder(tf.float32, [None, 4, 4, 2]))
    with pytest.raises(TypeError, match="text summary 'note'"):
        summary.text("note", tf.constant(1.0))
    with pytest.raises(ValueError, match="merge takes serialized summaries"):
        summary.merge([tf.constant(1.0)])
    assert summary.merge_all() is None
    with pytest.warns(UserWarning, match="illegal"):
        assert summary.scalar("a b", 1.0).op.attrs["tag"] == "a_b"
    v = tf.placeholder(tf.float32, [None], name="v")
    h = summary.histogram("acts", v)
    dup = summary.merge([summary.scalar("x", 1.0), summary.scalar("x", 2.0)])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Nan or Inf in summary histogram for: acts"):
            sess.run(h, {v: [1.0, np.nan]})
        assert sess.run(dup)  # names are made unique, so the tags are x and x_1
        same = summary.merge([summary.scalar("y", 1.0, collections=[])] * 2)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Duplicate tag y"):
            sess.run(same)


def test_unwritable_logdir_and_bad_summaries_are_named(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match=f"logdir '{blocker / 'logs'}'"):
        summary.FileWriter(blocker / "logs")
    assert sorted(os.listdir(tmp_path)) == ["a_file"]  # nothing was written
    with summary.FileWriter(tmp_path / "ok") as writer:
        with pytest.raises(ValueError, match="add_summary is not a serialized Summary"):
            writer.add_summary(b"\xff\xff\xff", 0)
        with pytest.raises(TypeError, match="add_summary must be a serialized Summary"):
            writer.add_summary(3.0, 0)
    with pytest.raises(RuntimeError, match="closed"):
        writer.add_scalars(0, {"x": 1.0})


def test_missing_tensorboard_names_the_extra(monkeypatch):
    from nnplug.summary import _tensorboard
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto.summary_pb2", None)
    with pytest.raises(ImportError, match=r'pip install "nnplug\[tensorboard\]"'):
        _tensorboard.proto("summary_pb2")
    with pytest.raises(ImportError, match="tensorboard"):
        summary.scalar("loss", 1.0)
