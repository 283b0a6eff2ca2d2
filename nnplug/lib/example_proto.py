"""tf.train.Example and its parts (Features, Feature, BytesList, FloatList, Int64List, FeatureList(s),
SequenceExample) as protobuf classes, with TensorFlow's message names and field numbers, so that their
serialized bytes are TensorFlow's. The schema (TensorFlow's example.proto and feature.proto) is built
here into a descriptor pool of nnplug's own, so it never clashes with another copy of it (TensorBoard's,
TensorFlow's) loaded in the same process."""
from __future__ import annotations

import functools
from typing import Any

NAMES = ("BytesList", "FloatList", "Int64List", "Feature", "Features", "FeatureList", "FeatureLists",
         "Example", "SequenceExample")
_INSTALL = 'pip install "nnplug[tfrecord]" (the protobuf package)'


def _protobuf() -> Any:
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError as e:
        raise ImportError(f"tf.train.Example needs the protobuf package, which is not installed ({e}): "
                          f"{_INSTALL}") from e
    return descriptor_pb2, descriptor_pool, message_factory


def _file(descriptor_pb2):
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="nnplug/tensorflow_example.proto", package="tensorflow",
                                            syntax="proto3")

    def message(name, fields, parent=None):
        m = (parent.nested_type if parent is not None else fd.message_type).add(name=name)
        for field_name, number, kind, type_name, repeated in fields:
            f = m.field.add(name=field_name, number=number, type=kind,
                            label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                f.type_name = type_name
        return m

    def map_of(m, field_name, entry_name, value_type):
        entry = message(entry_name,
                        [("key", 1, F.TYPE_STRING, None, False), ("value", 2, F.TYPE_MESSAGE, value_type, False)], m)
        entry.options.map_entry = True
        m.field.add(name=field_name, number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                    type_name=f".tensorflow.{m.name}.{entry.name}")

    message("BytesList", [("value", 1, F.TYPE_BYTES, None, True)])
    message("FloatList", [("value", 1, F.TYPE_FLOAT, None, True)])
    message("Int64List", [("value", 1, F.TYPE_INT64, None, True)])
    feature = message("Feature", [("bytes_list", 1, F.TYPE_MESSAGE, ".tensorflow.BytesList", False),
                                  ("float_list", 2, F.TYPE_MESSAGE, ".tensorflow.FloatList", False),
                                  ("int64_list", 3, F.TYPE_MESSAGE, ".tensorflow.Int64List", False)])
    feature.oneof_decl.add(name="kind")
    for f in feature.field:
        f.oneof_index = 0
    map_of(message("Features", []), "feature", "FeatureEntry", ".tensorflow.Feature")
    message("FeatureList", [("feature", 1, F.TYPE_MESSAGE, ".tensorflow.Feature", True)])
    map_of(message("FeatureLists", []), "feature_list", "FeatureListEntry", ".tensorflow.FeatureList")
    message("Example", [("features", 1, F.TYPE_MESSAGE, ".tensorflow.Features", False)])
    message("SequenceExample", [("context", 1, F.TYPE_MESSAGE, ".tensorflow.Features", False),
                                ("feature_lists", 2, F.TYPE_MESSAGE, ".tensorflow.FeatureLists", False)])
    return fd


@functools.cache
def classes() -> dict[str, type]:
    """{name: protobuf message class} for the names in NAMES."""
    descriptor_pb2, descriptor_pool, message_factory = _protobuf()
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file(descriptor_pb2))
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.{name}"))
            for name in NAMES}


def message_class(name: str) -> type:
    return classes()[name]
