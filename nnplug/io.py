"""`tf.io` as TF1 (1.13-1.15) programs use it: TFRecord files, tf.train.Example parsing, decode_raw,
read_file, the queues, and gfile."""
from . import gfile  # noqa: F401
from .lib.tfrecord import (  # noqa: F401
    TFRecordCompressionType, TFRecordOptions, TFRecordWriter, tf_record_iterator,
)
from .ops.parsing_ops import FixedLenFeature, VarLenFeature, decode_raw, parse_example, parse_single_example  # noqa: F401
from .ops.queue_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue  # noqa: F401
from .ops.reader_ops import read_file  # noqa: F401
from .ops.file_io_ops import write_file  # noqa: F401
from .image.codecs import (  # noqa: F401
    decode_bmp, decode_gif, decode_image, decode_jpeg, decode_png, encode_jpeg, encode_png, is_jpeg,
)
from .graph_io import write_graph  # noqa: F401
from .ops.parsing_ops import decode_csv  # noqa: F401,E402
from .ops.string_ops import decode_base64, encode_base64  # noqa: F401,E402
