"""`tf.saved_model.simple_save`: the common case of the builder — one serving meta graph whose default
signature predicts `outputs` from `inputs`."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..graph import GraphKeys, Operation, Tensor
from . import signature_constants, signature_def_utils, tag_constants
from .._types import StrPath
from .builder import SavedModelBuilder

if TYPE_CHECKING:
    from ..session import Session


def simple_save(session: Session, export_dir: StrPath, inputs: Mapping[str, Tensor], outputs: Mapping[str, Tensor],
                legacy_init_op: Operation | None = None) -> None:
    """Save the session's graph and variables for serving (tags [SERVING], signature 'serving_default')."""
    signature_def_map = {signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
                         signature_def_utils.predict_signature_def(inputs, outputs)}
    builder = SavedModelBuilder(export_dir)
    builder.add_meta_graph_and_variables(session, tags=[tag_constants.SERVING], signature_def_map=signature_def_map,
                                         assets_collection=session.graph.get_collection(GraphKeys.ASSET_FILEPATHS),
                                         main_op=legacy_init_op, clear_devices=True)
    builder.save()
