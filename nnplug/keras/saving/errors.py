"""The one error a model or weights file that cannot be used raises: it names the file and what is wrong."""
from __future__ import annotations

from ..._types import StrPath


class ModelFileError(ValueError):
    """`cannot load 'm.keras': layers[1].config.units: expected a positive int, got None`."""

    def __init__(self, path: StrPath, problem: str) -> None:
        super().__init__(f"cannot load '{path}': {problem}")
        self.path, self.problem = str(path), problem


def refuse_overwrite(path, overwrite):
    """save(..., overwrite=False) never replaces a file (Keras would ask; a program cannot answer)."""
    import os
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"'{path}' already exists and overwrite=False; pass overwrite=True to replace it "
                              f"or choose another path")
