"""Shared helpers: compose configs the way the CLI does, shrunk for speed."""

from __future__ import annotations

import numpy as np
import pytest

import sim


def cfg(*overrides: str) -> sim.Config:
    """The project's config with overrides (Hydra syntax), validated."""
    return sim.load_config(list(overrides))


def small(*overrides: str) -> sim.Config:
    """A small, fast config for mechanism tests."""
    return cfg("area.residents=800", "area.officers=5", "horizon_weeks=60", "replications=2", *overrides)


def change(trajectories, column: str, week: int):
    """Per-replication change of a column from week 0 to ``week``."""
    t = trajectories.set_index(["replication", "week"])[column]
    return (t.xs(week, level="week") - t.xs(0, level="week")).to_numpy()


def yearly_mean(trajectories, column: str, year: int):
    t = trajectories[(trajectories.week > 52 * (year - 1)) & (trajectories.week <= 52 * year)]
    return t.groupby("replication")[column].mean().to_numpy()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
