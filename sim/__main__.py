"""`python -m sim`: the Hydra entry point. Validates first, then runs and writes the run folder."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
