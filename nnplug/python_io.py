"""`tf.python_io`: TFRecord files written and read on the host (nnplug/lib/tfrecord.py)."""
from .lib.tfrecord import (  # noqa: F401
    TFRecordCompressionType, TFRecordOptions, TFRecordWriter, tf_record_iterator,
)
