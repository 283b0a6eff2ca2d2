"""`tf.saved_model` as TF1 (`tf.compat.v1.saved_model`) programs use it: `simple_save`, the builder, the
loader, signatures and the constants. An export folder holds `saved_model.json` (meta graphs as
nnplug's JSON meta graphs, with tags and signatures), `variables/variables.npz` (an nnplug checkpoint) and
`assets/`; TensorFlow's protobuf SavedModels are not read. TF2's object-based `save` and `load_v2` have no
TF1 graph form: they raise, naming what to use instead."""
from __future__ import annotations

from typing import Any, NoReturn

from . import builder, constants, loader, signature_constants, signature_def_utils  # noqa: F401
from . import tag_constants, utils  # noqa: F401
from .builder import SavedModelBuilder
from .constants import (  # noqa: F401
    ASSETS_DIRECTORY, ASSETS_KEY, DEBUG_DIRECTORY, DEBUG_INFO_FILENAME_PB, LEGACY_INIT_OP_KEY, MAIN_OP_KEY,
    SAVED_MODEL_FILENAME_JSON, SAVED_MODEL_FILENAME_PB, SAVED_MODEL_FILENAME_PBTXT, SAVED_MODEL_SCHEMA_VERSION,
    VARIABLES_DIRECTORY, VARIABLES_FILENAME,
)
from .loader import load, maybe_saved_model_directory  # noqa: F401
from . import main_op  # noqa: F401 - a module, as TF1: tf.saved_model.main_op.main_op()
from .main_op import main_op_with_restore  # noqa: F401
from .signature_constants import (  # noqa: F401
    CLASSIFY_INPUTS, CLASSIFY_METHOD_NAME, CLASSIFY_OUTPUT_CLASSES, CLASSIFY_OUTPUT_SCORES,
    DEFAULT_SERVING_SIGNATURE_DEF_KEY, PREDICT_INPUTS, PREDICT_METHOD_NAME, PREDICT_OUTPUTS, REGRESS_INPUTS,
    REGRESS_METHOD_NAME, REGRESS_OUTPUTS,
)
from .signature_def_utils import (  # noqa: F401
    build_signature_def, classification_signature_def, is_valid_signature, predict_signature_def,
    regression_signature_def,
)
from .simple_save import simple_save  # noqa: F401
from .tag_constants import GPU, SERVING, TPU, TRAINING  # noqa: F401
from .utils import build_tensor_info, get_tensor_from_tensor_info  # noqa: F401

Builder = SavedModelBuilder
contains_saved_model = maybe_saved_model_directory


def save(*args: Any, **kwargs: Any) -> NoReturn:
    """TF2's tf.saved_model.save of trackable objects, which TF1 graphs are not."""
    raise NotImplementedError("tf.saved_model.save saves TF2 trackable objects; a TF1 graph is saved with "
                              "tf.saved_model.simple_save or tf.saved_model.builder.SavedModelBuilder")


def load_v2(*args: Any, **kwargs: Any) -> NoReturn:
    """TF2's object-based loading, which TF1 graphs are not."""
    raise NotImplementedError("tf.saved_model.load_v2 loads TF2 objects; load a TF1 SavedModel with "
                              "tf.saved_model.loader.load(sess, tags, export_dir)")
