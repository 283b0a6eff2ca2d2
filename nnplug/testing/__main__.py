"""`python -m nnplug.testing BACKEND [pytest args...]`: run the conformance suite on one backend."""
import argparse
import os
import sys
from pathlib import Path

from . import ENV_BACKENDS


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m nnplug.testing",
        description="Run nnplug's op conformance suite (every op, dtype, broadcasting case and gradient "
                    "against float64 NumPy references) on a backend.")
    parser.add_argument("backend", help="backend name as Session(backend=...) takes it, e.g. numpy, opencl:0")
    args, extra = parser.parse_known_args(argv)

    from .. import plugins
    from ..errors import BackendError
    try:
        plugins.get_backend(args.backend)
    except BackendError as e:
        print(f"nnplug.testing: cannot test backend '{args.backend}': {e}", file=sys.stderr)
        return 2

    import pytest
    os.environ[ENV_BACKENDS] = args.backend
    suite = Path(__file__).with_name("conformance.py")
    # -p loads the fixture; the suite's own folder is the rootdir so no project's config interferes
    return pytest.main([str(suite), "-p", "nnplug.testing.plugin", "-p", "no:cacheprovider",
                        "--rootdir", str(suite.parent), "-c", os.devnull, *extra])


if __name__ == "__main__":
    sys.exit(main())
