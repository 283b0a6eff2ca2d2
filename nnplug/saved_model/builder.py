"""`tf.saved_model.builder.SavedModelBuilder`: meta graphs with tags and signatures, one set of variables,
assets, written as one export folder.

The variables' values are taken when `add_meta_graph_and_variables` is called (as TF1 writes them then);
`save()` writes everything into a staging folder beside the export folder and renames it into place, so
the export folder appears whole or not at all (TF1 makes it in the constructor and fills it piece by
piece). A staging folder left by a killed process is removed by the next builder in that folder."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..files import _HOST, _fsync_folder, _pid_alive, atomic_write
from ..graph import Graph, GraphKeys, Operation, Tensor, get_default_graph
from ..train.meta_graph import meta_graph_dict
from ..train.saver import SUFFIX, write_checkpoint
from .._types import StrPath
from . import constants
from .protos import SignatureDef

if TYPE_CHECKING:
    from ..session import Session
    from ..train.saver import Saver

FORMAT = "nnplug-saved-model"
VERSION = 1
_STAGING = re.compile(r"\.nnplug-([0-9a-f]{8})-([0-9a-f]{6})-[0-9a-f]{8}\.staging\Z")


def _check_free(export_dir: str) -> None:
    """TF1 refuses an export folder that exists and is not empty."""
    if os.path.isdir(export_dir):
        if os.listdir(export_dir):
            raise AssertionError(f"Export directory {export_dir} already exists, and isn't empty. Please choose a "
                                 f"different export directory, or delete all the contents of the specified "
                                 f"directory.")
    elif os.path.lexists(export_dir):
        raise AssertionError(f"Export directory {export_dir} already exists and is not a directory.")


def _remove_dead_staging(parent: str) -> None:
    """Staging folders of builders on this host whose process is gone."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        match = _STAGING.match(entry.name)
        if match and match.group(2) == _HOST and not _pid_alive(int(match.group(1), 16)) \
                and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def _tags(tags: Any) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, Sequence) or not all(isinstance(t, str) for t in tags):
        raise TypeError(f"tags must be a list of strings (e.g. [tag_constants.SERVING]), got {tags!r:.60}")
    return list(tags)


class SavedModelBuilder:
    def __init__(self, export_dir: StrPath) -> None:
        self._export_dir = os.fspath(export_dir)
        _check_free(self._export_dir)
        _remove_dead_staging(os.path.dirname(os.path.abspath(self._export_dir)))
        self._values: dict[str, np.ndarray] | None = None  # taken by add_meta_graph_and_variables
        self._meta_graphs: list[dict[str, Any]] = []
        self._assets: dict[str, str] = {}  # file name in assets/ -> the file it copies

    def add_meta_graph_and_variables(self, sess: Session, tags: Sequence[str],
                                     signature_def_map: Mapping[str, SignatureDef] | None = None,
                                     assets_collection: Sequence[Tensor] | None = None,
                                     legacy_init_op: Operation | None = None, clear_devices: bool = False,
                                     main_op: Operation | None = None, strip_default_attrs: bool = False,
                                     saver: Saver | None = None) -> None:
        """The session's graph under `tags`, and the values of its global variables (or `saver`'s) now."""
        if self._values is not None:
            raise AssertionError("Graph state including variables and assets has already been saved. Please "
                                 "invoke `add_meta_graph()` instead.")
        variables = dict(saver._vars) if saver is not None else {
            v.op.name: v for v in sess.graph.get_collection(GraphKeys.GLOBAL_VARIABLES)}
        values = {}
        for name, var in variables.items():
            value = sess.variable_value(var)
            if value is None:
                raise ValueError(f"SavedModelBuilder: variable '{var.name}' is not initialized in this session")
            values[name] = np.array(value, copy=True)
        record = self._record(sess.graph, tags, signature_def_map, assets_collection, main_op, legacy_init_op,
                              sorted(values))
        self._values = values
        self._meta_graphs.append(record)

    def add_meta_graph(self, tags: Sequence[str], signature_def_map: Mapping[str, SignatureDef] | None = None,
                       assets_collection: Sequence[Tensor] | None = None, legacy_init_op: Operation | None = None,
                       clear_devices: bool = False, main_op: Operation | None = None,
                       strip_default_attrs: bool = False, saver: Saver | None = None) -> None:
        """The default graph under `tags`, restored on load from the variables saved already."""
        if self._values is None:
            raise AssertionError("Graph state including variables and assets has not been saved yet. Please "
                                 "invoke `add_meta_graph_and_variables()` first.")
        graph = get_default_graph()
        names = list(saver._vars) if saver is not None else [
            v.op.name for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES)]
        for name in names:
            if name not in self._values:
                raise ValueError(f"add_meta_graph: variable '{name}:0' of this graph is not among the variables "
                                 f"add_meta_graph_and_variables saved")
        self._meta_graphs.append(self._record(graph, tags, signature_def_map, assets_collection, main_op,
                                              legacy_init_op, sorted(names)))

    def _record(self, graph: Graph, tags: Any, signature_def_map: Any, assets_collection: Any, main_op: Any,
                legacy_init_op: Any, restored: list[str]) -> dict[str, Any]:
        """The meta graph's record (`restored`: the variables a load restores), every part checked before
        the builder changes."""
        tags = _tags(tags)
        for other in self._meta_graphs:
            if set(other["tags"]) == set(tags):
                raise ValueError(f"SavedModelBuilder: a meta graph with tags {tags} was added already")
        signatures = {}
        for key, sig in (signature_def_map or {}).items():
            if not isinstance(key, str) or not isinstance(sig, SignatureDef):
                raise TypeError(f"signature_def_map must map keys to SignatureDefs, got {key!r:.40}: "
                                f"{type(sig).__name__}")
            for side in (sig.inputs, sig.outputs):
                for name, info in side.items():
                    try:
                        graph.get_tensor_by_name(info.name)
                    except (KeyError, ValueError) as e:
                        raise ValueError(f"signature '{key}', tensor '{name}': {e}") from None
            signatures[key] = sig._record()
        if main_op is not None and legacy_init_op is not None:
            raise ValueError("Only one of main_op or legacy_init_op may be specified.")
        init = main_op if main_op is not None else legacy_init_op
        if init is not None:
            init = getattr(init, "op", init)
            if not isinstance(init, Operation) or init.graph is not graph:
                raise TypeError(f"main_op / legacy_init_op must be an op of the graph being saved, got {init!r:.60}")
        assets = [self._asset(t) for t in assets_collection or ()]
        return {"tags": tags, "signature_def": signatures, "init_op": None if init is None else init.name,
                "assets": assets, "variables": restored, "meta_graph": meta_graph_dict(graph)}

    def _asset(self, tensor: Any) -> dict[str, str]:
        """An asset: a scalar string constant holding a file's path; the file is copied into assets/."""
        op = getattr(tensor, "op", None)
        value = op.attrs.get("value") if op is not None and op.type == "Const" else None
        if value is None or getattr(value, "shape", None) != () or not isinstance(value[()], bytes):
            raise TypeError(f"assets_collection holds {tensor!r:.60}; an asset is a scalar string constant naming a "
                            f"file")
        source = os.fsdecode(value[()])
        if not os.path.isfile(source):
            raise ValueError(f"asset '{tensor.name}' names '{source}', which is not a file")
        filename = os.path.basename(source)
        if self._assets.get(filename, source) != source:
            raise ValueError(f"assets '{self._assets[filename]}' and '{source}' have the same file name")
        self._assets[filename] = source
        return {"tensor": tensor.name, "filename": filename}

    def save(self, as_text: bool = False) -> str:
        """Write the export folder whole, or leave none; returns the path of its saved_model.json."""
        if self._values is None:
            raise AssertionError("nothing to save: invoke `add_meta_graph_and_variables()` first.")
        _check_free(self._export_dir)
        parent = os.path.dirname(os.path.abspath(self._export_dir))
        os.makedirs(parent, exist_ok=True)
        staging = os.path.join(parent, f".nnplug-{os.getpid():08x}-{_HOST}-{secrets.token_hex(4)}.staging")
        os.mkdir(staging)
        try:
            self._write(staging, as_text)
            _check_free(self._export_dir)
            _move_into_place(staging, self._export_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_folder(parent)
        return os.path.join(self._export_dir, constants.SAVED_MODEL_FILENAME_JSON)

    def _write(self, folder: str, as_text: bool) -> None:
        variables = os.path.join(folder, constants.VARIABLES_DIRECTORY)
        os.mkdir(variables)
        write_checkpoint(os.path.join(variables, constants.VARIABLES_FILENAME + SUFFIX), self._values or {})
        if self._assets:
            assets = os.path.join(folder, constants.ASSETS_DIRECTORY)
            os.mkdir(assets)
            for filename, source in self._assets.items():
                shutil.copyfile(source, os.path.join(assets, filename))
        body = {"format": FORMAT, "version": VERSION, "meta_graphs": self._meta_graphs}
        text = json.dumps(body, indent=1 if as_text else None, separators=None if as_text else (",", ":")).encode()
        atomic_write(os.path.join(folder, constants.SAVED_MODEL_FILENAME_JSON), lambda f: f.write(text))


def _move_into_place(staging: str, export_dir: str) -> None:
    """Rename the staging folder to the export folder (which may exist, empty)."""
    try:
        os.rename(staging, export_dir)
    except OSError:
        if not (os.path.isdir(export_dir) and not os.listdir(export_dir)):
            raise
        os.rmdir(export_dir)  # where rename does not replace an empty folder (Windows)
        os.rename(staging, export_dir)
