"""The area: a square grid of cells cut into neighbourhoods, where residents and hot spots sit.

What a resident sees of a problem falls off with distance: an exponential kernel of length
``area.problem_reach_cells`` (assumption). The kernel matrix is computed once, so the weekly
step only multiplies it by the problems' current state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Layout:
    """Where everything is. Arrays are indexed by resident or by problem."""

    side: int
    hoods_per_side: int
    x: np.ndarray  # resident cell column, int
    y: np.ndarray  # resident cell row, int
    hood: np.ndarray  # resident neighbourhood id, int
    problem_x: np.ndarray
    problem_y: np.ndarray
    kernel: np.ndarray  # (residents, problems) float32, exp(-distance / reach)

    @property
    def n_hoods(self) -> int:
        return self.hoods_per_side**2

    @property
    def cell(self) -> np.ndarray:
        """Flat cell index of each resident (row-major)."""
        return self.y * self.side + self.x


def hood_of(x: np.ndarray, y: np.ndarray, side: int, hoods_per_side: int) -> np.ndarray:
    """Neighbourhood id of a cell: the grid cut into hoods_per_side x hoods_per_side blocks."""
    hx = np.minimum(x * hoods_per_side // side, hoods_per_side - 1)
    hy = np.minimum(y * hoods_per_side // side, hoods_per_side - 1)
    return hy * hoods_per_side + hx


def distance_kernel(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray, reach: float) -> np.ndarray:
    """exp(-d / reach) between every resident and every problem (cell centres)."""
    dx = x[:, None].astype(np.float32) - px[None, :].astype(np.float32)
    dy = y[:, None].astype(np.float32) - py[None, :].astype(np.float32)
    return np.exp(-np.sqrt(dx * dx + dy * dy) / np.float32(reach)).astype(np.float32)


def build_layout(
    residents_rng: np.random.Generator,
    problems_rng: np.random.Generator,
    residents: int,
    problems: int,
    side: int,
    hoods_per_side: int,
    reach: float,
) -> Layout:
    """Place residents uniformly on the grid and problems on random cells (each from its own stream)."""
    hoods_per_side = min(hoods_per_side, side)
    x = residents_rng.integers(0, side, residents)
    y = residents_rng.integers(0, side, residents)
    px = problems_rng.integers(0, side, problems)
    py = problems_rng.integers(0, side, problems)
    return Layout(
        side=side,
        hoods_per_side=hoods_per_side,
        x=x,
        y=y,
        hood=hood_of(x, y, side, hoods_per_side),
        problem_x=px,
        problem_y=py,
        kernel=distance_kernel(x, y, px, py, reach),
    )
