"""`python -m nnplug`: the same as the `nnplug` command."""
import sys

from .cli import main

if __name__ == "__main__":  # importing this module (tools that walk nnplug's packages do) runs nothing
    sys.exit(main())
