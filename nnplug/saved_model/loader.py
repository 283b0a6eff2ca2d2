"""`tf.saved_model.loader.load`: the meta graph saved under exactly `tags` rebuilt in the session's graph,
its variables restored from the export's checkpoint and its main op run (asset paths fed as files of this
export), as TF1 does. `saved_model.json` is checked field by field before anything is built; errors name
the file and what is at fault (a missing SavedModel is an OSError, unknown tags a RuntimeError, as TF1)."""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..graph_def import from_meta_graph
from ..train.meta_graph import MAX_FILE_BYTES, check_meta_graph, import_graph
from ..train.saver import Saver
from .._types import StrPath
from . import constants
from .builder import FORMAT, VERSION
from .protos import MetaGraphDef, SavedModelError, signature_from_record

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["load", "maybe_saved_model_directory"]


def _path(export_dir: StrPath) -> str:
    return os.path.join(os.fspath(export_dir), constants.SAVED_MODEL_FILENAME_JSON)


def maybe_saved_model_directory(export_dir: StrPath) -> bool:
    """Whether `export_dir` holds an nnplug SavedModel (its saved_model.json)."""
    return os.path.isfile(_path(export_dir))


def _read(export_dir: StrPath) -> tuple[dict[str, Any], str]:
    path = _path(export_dir)
    if not os.path.isfile(path):
        hint = ""
        if os.path.isfile(os.path.join(os.fspath(export_dir), constants.SAVED_MODEL_FILENAME_PB)):
            hint = " (the folder holds a TensorFlow saved_model.pb; nnplug reads the SavedModels it writes)"
        elif not os.path.isdir(export_dir):
            hint = " (the export folder does not exist)"
        raise OSError(f"SavedModel file does not exist at: {path}{hint}")
    if os.path.getsize(path) > MAX_FILE_BYTES:
        raise SavedModelError(f"SavedModel '{path}' is larger than the {MAX_FILE_BYTES} bytes allowed")
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise SavedModelError(f"SavedModel '{path}' is not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SavedModelError(f"'{path}' is not an nnplug SavedModel (no '{FORMAT}' format marker)")
    if data.get("version") != VERSION:
        raise SavedModelError(f"SavedModel '{path}' has version {data.get('version')!r:.20}; this nnplug reads "
                              f"version {VERSION}")
    if not isinstance(data.get("meta_graphs"), list) or not all(
            isinstance(m, dict) and isinstance(m.get("tags"), list) for m in data["meta_graphs"]):
        raise SavedModelError(f"SavedModel '{path}': 'meta_graphs' must be a list of records with 'tags'")
    return data, path


def _check_record(record: dict[str, Any], where: str) -> None:
    if not all(isinstance(t, str) for t in record["tags"]):
        raise SavedModelError(f"{where}: 'tags' must be strings")
    if not isinstance(record.get("signature_def", {}), dict):
        raise SavedModelError(f"{where}: 'signature_def' must be an object")
    if not (record.get("init_op") is None or isinstance(record["init_op"], str)):
        raise SavedModelError(f"{where}: 'init_op' must be an op name or null")
    restored = record.get("variables")
    if not isinstance(restored, list) or not all(isinstance(n, str) for n in restored):
        raise SavedModelError(f"{where}: 'variables' must be the list of the variables a load restores")
    assets = record.get("assets", [])
    if not isinstance(assets, list):
        raise SavedModelError(f"{where}: 'assets' must be a list")
    for asset in assets:
        name = asset.get("filename") if isinstance(asset, dict) else None
        if not (isinstance(name, str) and isinstance(asset.get("tensor"), str)) or name in ("", ".", "..") \
                or os.path.basename(name) != name or "/" in name or "\x00" in name:
            raise SavedModelError(f"{where}: asset {str(asset)[:80]!r} is not a tensor name and a file name in "
                                  f"{constants.ASSETS_DIRECTORY}/")


def load(sess: Session, tags: list[str], export_dir: StrPath, import_scope: str | None = None,
         **saver_kwargs: Any) -> MetaGraphDef:
    """Load the meta graph tagged `tags` into `sess.graph`, restore its variables, run its main op; returns
    its MetaGraphDef (`.signature_def[key].inputs[name].name` is a tensor name of the saved graph)."""
    if isinstance(tags, str):
        raise TypeError(f"tags must be a list of strings, got the string {tags!r:.40}")
    data, path = _read(export_dir)
    found = [m for m in data["meta_graphs"] if set(m["tags"]) == set(tags)]
    if not found:
        available = [m["tags"] for m in data["meta_graphs"]]
        raise RuntimeError(f"MetaGraphDef associated with tags {str(list(tags)).strip('[]')} could not be found in "
                           f"SavedModel '{path}', with available tags '{available}'.")
    record = found[0]
    where = f"SavedModel '{path}', meta graph {record['tags']}"
    _check_record(record, where)
    signatures = {k: signature_from_record(v, f"{where}, signature '{k[:60]}'")
                  for k, v in record.get("signature_def", {}).items()}
    meta = check_meta_graph(record.get("meta_graph"), where)
    graph, prefix = sess.graph, f"{import_scope}/" if import_scope else ""
    existing = {op.name for op in graph.get_operations()}
    taken = next((prefix + rec["name"] for rec in meta["ops"] if isinstance(rec, dict)
                  and isinstance(rec.get("name"), str) and prefix + rec["name"] in existing), None)
    if taken is not None:  # TF1 would rename the new ops; nnplug refuses rather than mix two graphs
        raise SavedModelError(f"{where}: the session's graph already has an op '{taken}'; load into a new graph "
                              f"or under an import_scope")
    with graph.as_default():
        variables = import_graph(meta, import_scope, source=where)
        for key, sig in signatures.items():
            for info in list(sig.inputs.values()) + list(sig.outputs.values()):
                _find(graph, prefix + info.name, f"{where}, signature '{key}'")
        missing = [n for n in record["variables"] if n not in variables]
        if missing:
            raise SavedModelError(f"{where}: restores variable '{missing[0][:80]}', which the meta graph lacks")
        if record["variables"]:
            Saver({n: variables[n] for n in record["variables"]}).restore(sess, os.path.join(os.fspath(export_dir), constants.VARIABLES_DIRECTORY,
                                                        constants.VARIABLES_FILENAME))
        if record.get("init_op"):
            feeds = {_find(graph, prefix + a["tensor"], f"{where}, asset"):
                     os.path.join(os.fspath(export_dir), constants.ASSETS_DIRECTORY, a["filename"])
                     for a in record.get("assets", [])}
            sess.run(_find(graph, prefix + record["init_op"], f"{where}, init op"), feed_dict=feeds or None)
    collections = {k: [next(iter(r.values())) for r in refs if isinstance(r, dict) and len(r) == 1]
                   for k, refs in meta["collections"].items() if isinstance(refs, list)}
    return MetaGraphDef(list(record["tags"]), signatures, from_meta_graph(meta), collections)


def _find(graph: Any, name: str, where: str) -> Any:
    try:
        return graph.as_graph_element(name)
    except (KeyError, ValueError) as e:
        raise SavedModelError(f"{where}: {e}") from None
