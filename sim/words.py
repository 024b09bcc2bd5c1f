"""How the product writes a count in its reports and messages: '1 replication', '4 replications'."""

from __future__ import annotations


def counted(n: int, word: str) -> str:
    """'1 generation', '4 generations', '1,000 runs': a count with its noun in the right number."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
