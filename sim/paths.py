"""Where the project's files are, in a source checkout and after a normal install.

In a checkout (or an editable install) the Hydra configs live in ``configs/`` at the project's
root; a built wheel carries the same files inside the package as ``sim/configs`` (setup.py copies
them at build time). Outputs go under the current directory, never inside the installed package.
"""

from __future__ import annotations

from pathlib import Path

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
