"""nnplug's own model file: an .npz (zip of .npy arrays, no pickle) with the architecture and compile
settings as one JSON string (`__config__`), weights `w/<i>` and optimizer state `o/<i>`."""
import json
import re
import zipfile

import numpy as np

from . import archive, assemble
from .errors import ModelFileError

FORMAT = "nnplug-keras"
VERSION = 1
CONFIG = "__config__.npy"
_ENTRY = re.compile(r"(w|o)/(0|[1-9][0-9]{0,5})\.npy")


def write(f, spec, weights, optimizer_state=()):
    """Write into the open binary file `f` (the caller makes the write atomic)."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(CONFIG, archive.npy_bytes(np.array(json.dumps(spec))))
        for prefix, values in (("w", weights), ("o", optimizer_state)):
            for i, value in enumerate(values):
                zf.writestr(f"{prefix}/{i}.npy", archive.npy_bytes(value))


class NpzFile:
    """An open nnplug .npz: its spec, and the declared (entry, shape, dtype) of its weights and optimizer
    state, read from the .npy headers; `arrays(prefix)` then reads the data."""

    def __init__(self, zf, path):
        self.zf, self.path = zf, path
        entries = {"w": {}, "o": {}}
        for name in zf.namelist():
            if name == CONFIG:
                continue
            match = _ENTRY.fullmatch(name)
            if match is None:
                raise ModelFileError(path, f"member '{name}' is not an nnplug weights entry (expected "
                                           f"w/<index>.npy, o/<index>.npy or {CONFIG})")
            entries[match.group(1)][int(match.group(2))] = name
        if CONFIG not in zf.namelist():
            raise ModelFileError(path, f"it is not an nnplug Keras file (no '{CONFIG[:-4]}' entry)")
        self.spec = self._read_spec()
        self.declared = {}
        for prefix, found in entries.items():
            if sorted(found) != list(range(len(found))):
                missing = sorted(set(range(max(found) + 1)) - set(found))
                raise ModelFileError(path, f"its {prefix}/ entries skip index {missing[0]}")
            self.declared[prefix] = [(found[i][:-4], *archive.npy_header(zf, found[i], path))
                                     for i in range(len(found))]

    def _read_spec(self):
        shape, dtype = archive.npy_header(self.zf, CONFIG, self.path)
        if shape != () or dtype.kind != "U" or dtype.itemsize > archive.MAX_JSON_BYTES:
            raise ModelFileError(self.path, f"its '{CONFIG[:-4]}' entry must be one JSON string, got {dtype} "
                                            f"of shape {shape}")
        text = str(archive.npy_array(self.zf, CONFIG, self.path, shape, dtype))
        spec = parse_json(text, self.path, CONFIG[:-4])
        if not isinstance(spec, dict) or spec.get("format") != FORMAT:
            got = spec.get("format") if isinstance(spec, dict) else type(spec).__name__
            raise ModelFileError(self.path, f"its format is {got!r}, not {FORMAT!r}")
        version = spec.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
            raise ModelFileError(self.path, f"it has version {version!r}; this nnplug reads versions 1 to {VERSION}")
        return spec

    def arrays(self, prefix):
        return [archive.npy_array(self.zf, entry + ".npy", self.path, shape, dtype)
                for entry, shape, dtype in self.declared[prefix]]


def parse_json(text, path, what):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ModelFileError(path, f"its {what} is not valid JSON ({type(e).__name__}: {str(e)[:80]})") from None


def load_model(zf, path, compile):  # noqa: A002 - the Keras name
    f = NpzFile(zf, path)
    if "model" not in f.spec:
        raise ModelFileError(path, f"it holds weights only (written by save_weights); build the model and call "
                                   f"model.load_weights('{path}')")
    model = assemble.model_from_spec(f.spec["model"], path)
    needed = assemble.needed_shapes(model)
    assemble.check_declared(path, needed, f.declared["w"])
    training = f.spec.get("training") if compile else None
    if training is not None:
        assemble.compile_from(model, training, path)
        assemble.check_optimizer_declared(path, needed, f.declared["o"], model.optimizer)
    model._build()
    assemble.load_weights_into(model, f.arrays("w"), path)
    if training is not None and f.declared["o"]:
        assemble.load_optimizer_state(model, f.arrays("o"), path)
    return model


def load_weights(model, zf, path):
    f = NpzFile(zf, path)
    assemble.check_declared(path, assemble.needed_shapes(model), f.declared["w"])
    assemble.load_weights_into(model, f.arrays("w"), path)
