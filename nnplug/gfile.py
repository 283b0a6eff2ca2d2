"""`nnplug.gfile`: TF1's `tf.gfile` file functions on the local file system (os, shutil, glob), with TF1's
errors: a missing path raises NotFoundError naming it. Copy and Rename write the destination whole or not
at all (a temporary beside it, renamed over it)."""
from __future__ import annotations

import glob as _glob
import os
import shutil
from collections.abc import Iterator
from typing import IO, Any

from .errors import NotFoundError, OpError
from .files import atomic_write
from ._types import StrPath

__all__ = [
    "AlreadyExistsError", "Copy", "DeleteRecursively", "Exists", "FastGFile", "GFile", "Glob", "IsDirectory",
    "ListDirectory", "MakeDirs", "MkDir", "Open", "Remove", "Rename", "Stat", "Walk",
]


class AlreadyExistsError(OpError, FileExistsError):
    """The destination exists and overwrite is false."""


def _missing(path, what):
    return NotFoundError(f"{what}: {os.fspath(path)!r} does not exist")


def Exists(filename: StrPath) -> bool:  # noqa: N802 - TF1's names
    return os.path.exists(filename)


def IsDirectory(dirname: StrPath) -> bool:  # noqa: N802
    return os.path.isdir(dirname)


def MakeDirs(dirname: StrPath) -> None:  # noqa: N802
    """Make dirname and its parents; an existing folder is fine."""
    os.makedirs(dirname, exist_ok=True)


def MkDir(dirname: StrPath) -> None:  # noqa: N802
    os.mkdir(dirname)


def ListDirectory(dirname: StrPath) -> list[str]:  # noqa: N802
    if not os.path.isdir(dirname):
        raise _missing(dirname, "ListDirectory")
    return sorted(os.listdir(dirname))


def Glob(filename: str) -> list[str]:  # noqa: N802
    return sorted(_glob.glob(filename))


def Remove(filename: StrPath) -> None:  # noqa: N802
    try:
        os.remove(filename)
    except FileNotFoundError:
        raise _missing(filename, "Remove") from None


def DeleteRecursively(dirname: StrPath) -> None:  # noqa: N802
    """Remove a folder and everything in it (or a single file)."""
    if os.path.isdir(dirname) and not os.path.islink(dirname):
        shutil.rmtree(dirname)
    elif os.path.lexists(dirname):
        os.remove(dirname)
    else:
        raise _missing(dirname, "DeleteRecursively")


def _check_destination(newpath, overwrite, what):
    if not overwrite and os.path.exists(newpath):
        raise AlreadyExistsError(f"{what}: {os.fspath(newpath)!r} exists (pass overwrite=True)")


def Copy(oldpath: StrPath, newpath: StrPath, overwrite: bool = False) -> None:  # noqa: N802
    if not os.path.isfile(oldpath):
        raise _missing(oldpath, "Copy")
    _check_destination(newpath, overwrite, "Copy")
    with open(oldpath, "rb") as src:
        atomic_write(newpath, lambda dst: shutil.copyfileobj(src, dst))


def Rename(oldname: StrPath, newname: StrPath, overwrite: bool = False) -> None:  # noqa: N802
    if not os.path.lexists(oldname):
        raise _missing(oldname, "Rename")
    _check_destination(newname, overwrite, "Rename")
    os.replace(oldname, newname)


def Stat(filename: StrPath) -> os.stat_result:  # noqa: N802
    try:
        return os.stat(filename)
    except FileNotFoundError:
        raise _missing(filename, "Stat") from None


def Walk(top: str, in_order: bool = True) -> Iterator[tuple[str, list[str], list[str]]]:  # noqa: N802
    """(folder, subfolders, files) for each folder under top, as os.walk (top-down when in_order)."""
    return os.walk(top, topdown=in_order)


def GFile(name: StrPath, mode: str = "r") -> IO[Any]:  # noqa: N802
    """The file opened as Python's open does ('r' text, 'rb' bytes, 'w', 'a'); a missing file to read raises
    NotFoundError."""
    try:
        return open(name, mode)
    except FileNotFoundError:
        raise _missing(name, "GFile") from None


Open = FastGFile = GFile
