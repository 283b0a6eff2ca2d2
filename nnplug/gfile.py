"""`nnplug.gfile`: TF1's `tf.gfile` file functions on the local file system (os, shutil, glob), with TF1's
errors: a missing path raises NotFoundError naming it. Copy and Rename write the destination whole or not
at all (a temporary beside it, renamed over it)."""
import glob as _glob
import os
import shutil

from .errors import NotFoundError, OpError
from .files import atomic_write


class AlreadyExistsError(OpError, FileExistsError):
    """The destination exists and overwrite is false."""


def _missing(path, what):
    return NotFoundError(f"{what}: {os.fspath(path)!r} does not exist")


def Exists(filename):  # noqa: N802 - TF1's names
    return os.path.exists(filename)


def IsDirectory(dirname):  # noqa: N802
    return os.path.isdir(dirname)


def MakeDirs(dirname):  # noqa: N802
    """Make dirname and its parents; an existing folder is fine."""
    os.makedirs(dirname, exist_ok=True)


def MkDir(dirname):  # noqa: N802
    os.mkdir(dirname)


def ListDirectory(dirname):  # noqa: N802
    if not os.path.isdir(dirname):
        raise _missing(dirname, "ListDirectory")
    return sorted(os.listdir(dirname))


def Glob(filename):  # noqa: N802
    return sorted(_glob.glob(filename))


def Remove(filename):  # noqa: N802
    try:
        os.remove(filename)
    except FileNotFoundError:
        raise _missing(filename, "Remove") from None


def DeleteRecursively(dirname):  # noqa: N802
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


def Copy(oldpath, newpath, overwrite=False):  # noqa: N802
    if not os.path.isfile(oldpath):
        raise _missing(oldpath, "Copy")
    _check_destination(newpath, overwrite, "Copy")
    with open(oldpath, "rb") as src:
        atomic_write(newpath, lambda dst: shutil.copyfileobj(src, dst))


def Rename(oldname, newname, overwrite=False):  # noqa: N802
    if not os.path.lexists(oldname):
        raise _missing(oldname, "Rename")
    _check_destination(newname, overwrite, "Rename")
    os.replace(oldname, newname)


def Stat(filename):  # noqa: N802
    try:
        return os.stat(filename)
    except FileNotFoundError:
        raise _missing(filename, "Stat") from None


def Walk(top, in_order=True):  # noqa: N802
    """(folder, subfolders, files) for each folder under top, as os.walk (top-down when in_order)."""
    return os.walk(top, topdown=in_order)


def GFile(name, mode="r"):  # noqa: N802
    """The file opened as Python's open does ('r' text, 'rb' bytes, 'w', 'a'); a missing file to read raises
    NotFoundError."""
    try:
        return open(name, mode)
    except FileNotFoundError:
        raise _missing(name, "GFile") from None


Open = FastGFile = GFile
