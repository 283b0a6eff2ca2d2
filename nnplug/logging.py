"""`nnplug.logging`: TF1's `tf.logging` on Python's logging, through the logger named "tensorflow" (the
name TF1 programs configure), writing `LEVEL:tensorflow:message` lines to stderr; WARN by default, as TF1."""
from __future__ import annotations

import logging as _logging
import sys
from typing import Any, TextIO

DEBUG, INFO, WARN, ERROR, FATAL = _logging.DEBUG, _logging.INFO, _logging.WARNING, _logging.ERROR, _logging.FATAL
WARNING = WARN

_logger = _logging.getLogger("tensorflow")


class _StderrHandler(_logging.StreamHandler):
    """Writes to the sys.stderr of the moment (tests and tools replace it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_logging.Formatter("%(levelname)s:%(name)s:%(message)s"))

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


if not _logger.handlers:
    _logger.addHandler(_StderrHandler())
    _logger.propagate = False  # one line per message even when the root logger is configured
    if _logger.level == _logging.NOTSET:
        _logger.setLevel(WARN)


def get_logger() -> _logging.Logger:
    return _logger


def set_verbosity(v: int) -> None:
    """Show messages at level `v` (tf.logging.INFO, ...) and above."""
    _logger.setLevel(v)


def get_verbosity() -> int:
    return _logger.getEffectiveLevel()


def log(level: int, msg: object, *args: Any, **kwargs: Any) -> None:
    _logger.log(level, msg, *args, **kwargs)


def debug(msg: object, *args: Any, **kwargs: Any) -> None:
    _logger.debug(msg, *args, **kwargs)


def info(msg: object, *args: Any, **kwargs: Any) -> None:
    _logger.info(msg, *args, **kwargs)


def warning(msg: object, *args: Any, **kwargs: Any) -> None:
    _logger.warning(msg, *args, **kwargs)


def error(msg: object, *args: Any, **kwargs: Any) -> None:
    _logger.error(msg, *args, **kwargs)


def fatal(msg: object, *args: Any, **kwargs: Any) -> None:
    _logger.critical(msg, *args, **kwargs)


warn = warning


def log_every_n(level: int, msg: object, n: int, *args: Any) -> None:
    """Log on the first call and every n-th one after it (counted per call site)."""
    key = sys._getframe(1).f_code, sys._getframe(1).f_lineno
    count = _counts[key] = _counts.get(key, -1) + 1
    if count % max(int(n), 1) == 0:
        _logger.log(level, msg, *args)


def log_first_n(level: int, msg: object, n: int, *args: Any) -> None:
    key = sys._getframe(1).f_code, sys._getframe(1).f_lineno
    count = _counts[key] = _counts.get(key, -1) + 1
    if count < n:
        _logger.log(level, msg, *args)


_counts: dict[tuple[Any, int], int] = {}
