"""How the product writes counts and lists in its reports and messages: '4 replications', 'weeks 52 and 104'."""

from __future__ import annotations

from collections.abc import Iterable


def counted(n: int, word: str) -> str:
    """'1 generation', '4 generations', '1,000 runs': a count with its noun in the right number."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def joined(items: Iterable[object], conjunction: str = " and ") -> str:
    """'52', '52 and 104', '52, 104 and 156': items in a sentence, the last joined with ``conjunction`` (with its
    spaces; " och " in Swedish)."""
    *first, last = (str(i) for i in items)
    return f"{', '.join(first)}{conjunction}{last}" if first else last


def signed(x: float, digits: int = 3) -> str:
    """A change with its sign, to ``digits`` decimals; "+0.000" for one that rounds to nothing ("-0.000" read as a
    loss)."""
    return f"{round(x, digits) + 0.0:+.{digits}f}"
