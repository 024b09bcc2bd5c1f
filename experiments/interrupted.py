"""How a command ends: a bad setting, or a store or scheduler that refuses, in one line with exit status 2;
Ctrl-C in one line with exit status 130, as ``python -m sim`` does, not a traceback.

Kept apart from experiments.studies (plotting, pandas) so that a script's module imports it cheaply.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

RESUMES = "the runs already finished are kept, and the same command resumes from them"
NOTHING = "no results were written"


def says_when_interrupted(words: str) -> Callable:
    """For a command's ``main``: Ctrl-C (and SIGTERM, which sweeps turn into it) ends with one line and exit
    status 130, as ``python -m sim`` does, instead of a traceback."""

    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def guarded(*args: Any, **kwargs: Any) -> int:
            try:
                return main(*args, **kwargs)
            except KeyboardInterrupt:
                print(f"interrupted: {words}", file=sys.stderr)
                return 130

        return guarded

    return wrap


def command(settings: Callable[[], Any], work: Callable[[Any], Any], says_where: bool = True) -> int:
    """A command's body: its ``settings()``, checked before anything is written, then ``work(settings)``. A bad
    setting, or a store or scheduler that refuses, ends with ``error: ...`` and exit status 2; otherwise the
    folder ``work`` returns is named (unless the work names it itself: ``says_where=False``)."""
    from sim.params import ConfigError
    from sim.store import StoreError

    try:
        cfg = settings()
        out = work(cfg)
    except (ConfigError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if says_where:
        print(f"Wrote {out}")
    return 0
