"""The tensorboard package, imported when first needed: its protos (Summary, Event, GraphDef) and its
event-file writer are what nnplug.summary writes with. It is an optional dependency."""
import importlib
import sys
import types

_INSTALL = 'pip install "nnplug[tensorboard]" (or pip install -e ".[tensorboard]" in a clone of nnplug)'


def _without_tensorflow():
    """TensorBoard's writer uses TensorFlow's file API when `import tensorflow` works, else its own stub.
    Where `tensorflow` is nnplug under another name (an alias package, as TF1 programs run on nnplug use),
    that would call nnplug for `tf.io.gfile`: `tensorboard.compat.notf` is TensorBoard's own switch to its
    stub, set here before TensorBoard looks."""
    if "tensorboard.compat.notf" not in sys.modules:
        sys.modules["tensorboard.compat.notf"] = types.ModuleType("tensorboard.compat.notf")


def module(name):
    """`tensorboard.<name>`, or an ImportError that says how to install it."""
    _without_tensorflow()
    try:
        return importlib.import_module(f"tensorboard.{name}")
    except ImportError as e:
        raise ImportError(f"nnplug.summary writes TensorBoard files with the tensorboard package, which is "
                          f"not installed ({e}): {_INSTALL}") from e


def proto(name):
    """A protobuf module of TensorBoard's, e.g. proto('summary_pb2')."""
    return module(f"compat.proto.{name}")


def pillow_image():
    """PIL.Image, for the PNGs of image summaries."""
    try:
        return importlib.import_module("PIL.Image")
    except ImportError as e:
        raise ImportError(f"image summaries are encoded as PNG with Pillow, which is not installed: "
                          f"{_INSTALL}") from e
