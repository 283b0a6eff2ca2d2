"""`nnplug.app`: TF1's `tf.app.run` and `tf.app.flags` (also `tf.flags`), TF1's argparse-based flags
before absl: `flags.DEFINE_string(name, default, help)` and friends declare flags; `flags.FLAGS` parses
sys.argv on its first attribute read (unknown arguments are left for the program), `tf.app.run()` parses
and calls `main(remaining argv)`. Booleans take `--x`, `--nox` and `--x=true|false`.
"""
from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any, NoReturn


def _boolean(text):
    value = str(text).strip().lower()
    if value in ("true", "t", "1", "yes", "y"):
        return True
    if value in ("false", "f", "0", "no", "n"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class _FlagValues:
    """The parsed flags: attributes by flag name, parsed from sys.argv when first read."""

    def __init__(self) -> None:
        object.__setattr__(self, "_defs", {})  # name -> (type, default, help)
        object.__setattr__(self, "_values", None)
        object.__setattr__(self, "_rest", None)

    def _define(self, name, default, help_text, kind):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"flag name must be a Python identifier, got {name!r}")
        if name in self._defs:
            raise ValueError(f"flag '{name}' is defined twice")
        self._defs[name] = (kind, default, help_text)
        if self._values is not None:  # defined after parsing: take its default (or a value given in argv)
            self._parse(self._argv)

    def _parser(self):
        p = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
        for name, (kind, default, help_text) in self._defs.items():
            if kind is bool:
                p.add_argument(f"--{name}", type=_boolean, nargs="?", const=True, default=default, help=help_text)
                p.add_argument(f"--no{name}", dest=name, action="store_false")
            else:
                p.add_argument(f"--{name}", type=kind, default=default, help=help_text)
        return p

    def _parse(self, argv):
        """Parse argv (argv[0] is the program); returns the arguments that are not flags, argv[0] first."""
        argv = list(argv)
        try:
            known, rest = self._parser().parse_known_args(argv[1:])
        except SystemExit:  # argparse reports a bad value on stderr and exits; say which flag failed
            raise ValueError(f"bad flag value in {argv[1:]!r:.200}") from None
        object.__setattr__(self, "_values", vars(known))
        object.__setattr__(self, "_rest", argv[:1] + rest)
        object.__setattr__(self, "_argv", argv)
        return self._rest

    def __call__(self, argv: Sequence[str]) -> list[str]:
        return self._parse(argv)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._values is None:
            self._parse(sys.argv)
        if name not in self._values:
            raise AttributeError(f"no flag '{name}' is defined (flags: {sorted(self._defs)})")
        return self._values[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if self._values is None:
            self._parse(sys.argv)
        if name not in self._defs:
            raise AttributeError(f"no flag '{name}' is defined (flags: {sorted(self._defs)})")
        self._values[name] = value

    def __contains__(self, name: object) -> bool:
        return name in self._defs

    def flag_values_dict(self) -> dict[str, Any]:
        if self._values is None:
            self._parse(sys.argv)
        return dict(self._values)


FLAGS = _FlagValues()


def _definer(kind):
    def define(name: str, default: Any, help: str | None = None, **kwargs: Any) -> None:  # noqa: A002 - TF1's name
        FLAGS._define(name, default, help, kind)
    return define


flags = types.SimpleNamespace(
    FLAGS=FLAGS, DEFINE_string=_definer(str), DEFINE_integer=_definer(int), DEFINE_float=_definer(float),
    DEFINE_boolean=_definer(bool), DEFINE_bool=_definer(bool),
)


def run(main: Callable[[list[str]], Any] | None = None, argv: Sequence[str] | None = None) -> NoReturn:
    """Parse the flags from argv (default sys.argv), call main(remaining argv) (default: __main__.main)
    and exit with its result, as TF1."""
    args = FLAGS._parse(sys.argv if argv is None else argv)
    if main is None:
        main = getattr(sys.modules["__main__"], "main", None)
        if main is None:
            raise ValueError("tf.app.run(): no main given and the __main__ module has no main()")
    sys.exit(main(args))
