"""The code version a result was made with: the package version plus a fingerprint of the model's source.

A run's identity includes it, so a store filled by older code is never taken for the current
model's results, and Dask workers are checked against the client before a sweep starts.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The trainer app's page and figures draw runs and never change one: a change to them must not make
# stores and the shipped emulator look as if they came from another model.
NOT_MODEL = {"app.py", "app_figures.py"}


@lru_cache(maxsize=1)
def code_version() -> str:
    """``<package version>+<12 hex of the sim/*.py sources>`` (all but the app's, `NOT_MODEL`)."""
    from . import __version__

    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.glob("*.py") if p.name not in NOT_MODEL):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"
