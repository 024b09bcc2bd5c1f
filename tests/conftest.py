"""Shared helpers: compose configs the way the CLI does, shrunk for speed."""

from __future__ import annotations

import numpy as np
import pytest

import sim


def pytest_runtest_setup(item):
    """`make test` runs two processes with ``--dist loadgroup``: tests marked ``xdist_group`` must share a
    process (the Slurm tests share one Slurm, which one process starts and stops; the knockouts share one
    computation). pytest-xdist marks them with a node-id suffix that pytest 9.2 silently drops
    (pytest-xdist issue 1386), and the groups would be split without a word: fail them instead."""
    if getattr(item.config.option, "loadgroup", False) and item.get_closest_marker("xdist_group"):
        if "@" not in item.nodeid:
            pytest.fail(
                "--dist loadgroup is not grouping this test (no group suffix on its id): this pytest-xdist does "
                "not support this pytest; install the versions pyproject.toml's test extra allows",
                pytrace=False,
            )


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


@pytest.fixture(scope="session")
def slurm():
    """A one-node Slurm (scripts/slurm-local): started when installed and not running, stopped at the end only
    if this session started it. Tests that use it skip, with the reason, where Slurm is not installed."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    if not shutil.which("slurmctld") or not shutil.which("sbatch"):
        pytest.skip("Slurm is not installed (apt-get install slurm-wlm munge; .ci/run does this)")
    if os.geteuid() != 0:
        pytest.skip("starting a one-node Slurm needs root")
    script = Path(__file__).resolve().parent.parent / "scripts" / "slurm-local"
    # the script bounds its own wait (60 s for the node, 5 s a query) and says why it failed, with the
    # daemons' logs; what it started is stopped even then
    p = subprocess.run([str(script), "start"], capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        subprocess.run([str(script), "stop"], timeout=120)
        pytest.fail(f"scripts/slurm-local start exited {p.returncode}:\n{p.stdout}{p.stderr}")
    yield
    if p.stdout.startswith("started"):
        subprocess.run([str(script), "stop"], timeout=120)
