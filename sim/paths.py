"""Where the project's files are, in a source checkout and after a normal install.

In a checkout (or an editable install) the Hydra configs live in ``configs/`` at the project's
root; a built wheel carries the same files inside the package as ``sim/configs`` (setup.py copies
them at build time). Outputs go under the current directory, never inside the installed package.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent


def config_dir() -> Path:
    """The Hydra config folder: the checkout's configs/ when running from one, else the packaged copy."""
    if (CHECKOUT / "pyproject.toml").exists() and (CHECKOUT / "configs" / "config.yaml").exists():
        return CHECKOUT / "configs"
    return PACKAGE / "configs"


def output_path(path: str | Path) -> Path:
    """An output location: absolute as given, relative ones under the current directory."""
    p = Path(path)
    return p if p.is_absolute() else Path.cwd() / p


def cannot_make(value: Any) -> str | None:
    """Why no folder can be written where an output folder setting points (a read-only or system place, a path
    under a file), or None. Tried by making and removing an empty folder in the nearest existing parent, so the
    answer is the file system's own, before anything runs (a traceback once came after all the runs)."""
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    parent = output_path(value)
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is a file"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".promise-sim-check-", dir=parent))
    except OSError as exc:
        return f"making a folder in {parent} failed: {exc.strerror or exc}"
    return None
