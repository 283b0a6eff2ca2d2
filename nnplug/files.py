"""Crash-safe file writes: a file is written under a short temporary name beside its destination, fsynced
and renamed over it, so a reader sees the old file or the new one, never half of one. A temporary name
carries its writer's host and pid; the next write in that folder removes those whose writer is dead."""
import contextlib
import hashlib
import os
import re
import secrets
import socket
import stat
import threading
import time

STALE_AFTER_S = 24 * 3600  # a temp file untouched this long is stale even if a process has its pid (reuse)
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
_TEMP_NAME = re.compile(r"\.nnplug-([0-9a-f]{8})-([0-9a-f]{6})-[0-9a-f]{8}\.tmp\Z")
_writing = set()  # temp files this process is writing now
_writing_lock = threading.Lock()


def _pid_alive(pid):
    if os.name != "posix":
        return True  # no side-effect-free check (os.kill would end it): such temps go by age alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def remove_stale_temps(folder):
    """Delete temporary files of nnplug writes in `folder` whose writer is gone: named by atomic_write, not being
    written by this process, and either from a dead process on this host or untouched for STALE_AFTER_S."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None:
            continue
        with _writing_lock:
            if entry.path in _writing:
                continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        pid, host = int(match.group(1), 16), match.group(2)
        dead = host == _HOST and (pid == os.getpid() or not _pid_alive(pid))
        if dead or time.time() - info.st_mtime > STALE_AFTER_S:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _fsync_folder(folder):
    """Make a rename durable (POSIX); filesystems that cannot fsync a folder are left to their own devices."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path, write):
    """Call write(file) on a temporary file beside `path`, fsync, rename it over `path`, fsync the folder.
    A write that fails leaves `path` as it was and no temporary file; one killed leaves a temporary file that
    the next atomic_write in the folder removes."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temps(folder)
    tmp = os.path.join(folder, f".nnplug-{os.getpid():08x}-{_HOST}-{secrets.token_hex(4)}.tmp")
    with _writing_lock:
        _writing.add(tmp)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_folder(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        with _writing_lock:
            _writing.discard(tmp)
