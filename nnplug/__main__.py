"""`python -m nnplug`: the same as the `nnplug` command."""
import sys

from .cli import main

sys.exit(main())
