"""tf.summary for nnplug (TF1 style): summary ops give serialized Summary protobufs, a FileWriter
writes them, with the graph, to TensorBoard event files (through the optional tensorboard package).

    tf.summary.scalar("loss", loss)
    merged = tf.summary.merge_all()
    writer = tf.summary.FileWriter("logs/run1", sess.graph)
    writer.add_summary(sess.run(merged, feed), step)
"""
from .graph_def import graph_def
from .ops import clean_tag, histogram, image, merge, merge_all, scalar, string, text
from .writer import FileWriter, FileWriterCache

_PROTOS = {"Summary": "summary_pb2", "SummaryMetadata": "summary_pb2", "HistogramProto": "summary_pb2",
           "Event": "event_pb2", "SessionLog": "event_pb2"}


def __getattr__(name):
    """tf.summary.Summary and friends: TensorBoard's protobuf classes, imported when first used."""
    if name in _PROTOS:
        from . import _tensorboard
        return getattr(_tensorboard.proto(_PROTOS[name]), name)
    raise AttributeError(f"module 'nnplug.summary' has no attribute '{name}'")


__all__ = ["FileWriter", "FileWriterCache", "clean_tag", "graph_def", "histogram", "image", "merge", "merge_all",
           "scalar", "string", "text"]
