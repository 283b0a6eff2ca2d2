"""Saver: checkpoints as plain-data `.npz` files (never pickle), written atomically, with a JSON index."""
import json
import os
import tempfile

import numpy as np

from ..graph import GraphKeys, get_default_graph

FORMAT = "nnplug-checkpoint"
VERSION = 1
INDEX = "checkpoint"


def atomic_write(path, write):
    """Call write(file) on a temporary file beside `path`, fsync, then rename over `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _key(var):
    return var.op.name


class Saver:
    def __init__(self, var_list=None, max_to_keep=5, name=None):
        if var_list is None:
            var_list = get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES)
        if isinstance(var_list, dict):
            self._vars = dict(var_list)
        else:
            self._vars = {_key(v): v for v in var_list}
        if not self._vars:
            raise ValueError("no variables to save")
        self.max_to_keep = max_to_keep
        self._kept = []

    def save(self, sess, save_path, global_step=None, write_meta_graph=False):
        """Write every variable's value; returns the checkpoint path (ending in .npz)."""
        step = None
        if global_step is not None:
            step = int(sess.run(global_step) if hasattr(global_step, "op") else global_step)
        base = f"{save_path}-{step}" if step is not None else str(save_path)
        path = base if base.endswith(".npz") else base + ".npz"
        arrays = {}
        for name, var in self._vars.items():
            value = sess.variable_value(var)
            if value is None:
                raise ValueError(f"cannot save: variable '{var.name}' is not initialized in this session")
            arrays["v/" + name] = value
        arrays["__format__"] = np.array(FORMAT)
        arrays["__version__"] = np.array(VERSION)
        atomic_write(path, lambda f: np.savez(f, **arrays))
        self._remember(path)
        return path

    def _remember(self, path):
        if path in self._kept:
            self._kept.remove(path)
        self._kept.append(path)
        while self.max_to_keep and len(self._kept) > self.max_to_keep:
            old = self._kept.pop(0)
            if os.path.exists(old):
                os.unlink(old)
        folder = os.path.dirname(os.path.abspath(path))
        index = {"format": FORMAT, "version": VERSION, "latest": os.path.basename(path),
                 "all": [os.path.basename(p) for p in self._kept]}
        atomic_write(os.path.join(folder, INDEX), lambda f: f.write(json.dumps(index, indent=1).encode()))

    def restore(self, sess, save_path):
        """Load every variable; all are checked before any is changed, so a bad file changes nothing."""
        path = save_path if str(save_path).endswith(".npz") or not os.path.exists(str(save_path) + ".npz") \
            else str(save_path) + ".npz"
        values = read_checkpoint(path)
        staged = {}
        for name, var in self._vars.items():
            if name not in values:
                raise KeyError(f"checkpoint '{path}' has no value for variable '{var.name}' "
                               f"(it holds: {', '.join(sorted(values)) or 'nothing'})")
            value = values[name]
            if tuple(value.shape) != tuple(var.shape):
                raise ValueError(f"checkpoint '{path}': variable '{var.name}' has shape {tuple(value.shape)} "
                                 f"in the file but {tuple(var.shape)} in the graph")
            if value.dtype.kind not in "biuf" or not np.can_cast(value.dtype, var.dtype.np, "same_kind"):
                raise ValueError(f"checkpoint '{path}': variable '{var.name}' is stored as {value.dtype} "
                                 f"in the file, which cannot become {var.dtype.name}")
            staged[var] = value
        for var, value in staged.items():
            sess.load_variable(var, value)


def read_checkpoint(path):
    """{variable name: array} from a checkpoint file; raises naming the file if it is not one of ours."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint file '{path}' does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "__format__" not in data.files or str(data["__format__"]) != FORMAT:
                raise ValueError(f"'{path}' is not an nnplug checkpoint (no '{FORMAT}' marker)")
            if int(data["__version__"]) > VERSION:
                raise ValueError(f"checkpoint '{path}' has format version {int(data['__version__'])}; "
                                 f"this nnplug reads up to {VERSION}")
            return {k[2:]: data[k] for k in data.files if k.startswith("v/")}
    except ValueError as e:
        if "nnplug" in str(e):
            raise
        raise ValueError(f"cannot read checkpoint '{path}': {e}") from None
    except (OSError, EOFError, KeyError) as e:
        raise ValueError(f"cannot read checkpoint '{path}': {type(e).__name__}: {e}") from None
    except Exception as e:  # zipfile.BadZipFile and friends
        raise ValueError(f"cannot read checkpoint '{path}': corrupted or not an .npz file ({e})") from None


def latest_checkpoint(checkpoint_dir):
    index = os.path.join(checkpoint_dir, INDEX)
    if not os.path.exists(index):
        return None
    try:
        with open(index) as f:
            latest = json.load(f).get("latest")
    except (ValueError, AttributeError, UnicodeDecodeError) as e:
        raise ValueError(f"checkpoint index '{index}' is corrupted: {e}") from None
    if not isinstance(latest, str) or not latest:
        return None
    return os.path.join(checkpoint_dir, os.path.basename(latest))  # never a path outside the folder
