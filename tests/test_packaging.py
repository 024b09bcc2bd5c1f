"""A normal install (a built wheel, no -e) runs the model and the studies from any directory.

The wheel is built from a copy of the project's files as git sees them; a fresh virtual environment gets
it, and finds the dependencies through a path file pointing at this environment's site-packages (so
nothing is downloaded).
"""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def source_copy(target: Path) -> Path:
    """The project's files as git sees them (tracked, and new ones not ignored), copied for a clean build."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        src = ROOT / name
        if src.is_file():
            dst = target / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return target


def test_a_wheel_install_runs_from_another_directory(tmp_path):
    src = source_copy(tmp_path / "src")
    wheel_dir = tmp_path / "dist"
    p = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir), "."],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=src,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    (wheel,) = wheel_dir.glob("promise_sim-*.whl")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import sim, experiments; print(sim.__file__, experiments.__file__)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        check=True,
    ).stdout
    assert str(ROOT) not in where and site in where, where
    run = subprocess.run(
        [str(python), "-m", "sim", "replications=1", "horizon_weeks=3", "area.residents=200", "uncertainty=posterior"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert list((elsewhere / "results" / "runs").iterdir()), "the run folder lands under the current directory"
    study = subprocess.run(
        [
            str(python),
            "-m",
            "experiments.compare",
            "replications=2",
            "noise_replications=0",
            "horizon_weeks=3",
            "area.residents=200",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=300,
    )
    assert study.returncode == 0, study.stderr[-2000:]
