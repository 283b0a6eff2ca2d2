"""Where a data set's files are looked for, and whether missing ones may be downloaded there.

In order: the `path` argument; else `$NNPLUG_DATA_DIR/<data set>/` (or `$NNPLUG_DATA_DIR` itself when the
data set says it holds its files); else the per-user cache (`~/.cache/nnplug/<data set>` on Linux, the
platform's cache folder elsewhere). Only the per-user cache is downloaded into on its own: with a path or
$NNPLUG_DATA_DIR, pass `download=True`, so that a mistyped folder is reported, not silently filled.
"""
import os
from pathlib import Path

ENV_VAR = "NNPLUG_DATA_DIR"


def cache_dir(dataset):
    """The per-user cache folder of `dataset` on this platform."""
    import pooch  # here, not at import: it adds ~30 ms to `import nnplug`

    return Path(pooch.os_cache("nnplug")) / dataset


def data_dir(dataset, path=None, download=None, holds=None):
    """(folder, may_download) for `dataset`; `holds(folder)` says whether $NNPLUG_DATA_DIR itself is the
    data set's folder (data sets whose files could be mistaken for another's pass None)."""
    if path is not None:
        return Path(path).expanduser(), bool(download)
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env).expanduser()
        return (folder if holds is not None and holds(folder) else folder / dataset), bool(download)
    return cache_dir(dataset), download is None or bool(download)


def not_found(what, folder, dataset):
    """The error for a data file missing from a folder that is not downloaded into on its own."""
    return FileNotFoundError(f"{what} not found in {folder}; pass the folder that holds it, set {ENV_VAR} "
                             f"(to a folder holding {dataset}/), or call load_data(download=True)")
