"""The README is a contract: every command in it runs here, at a tiny size, and its examples are the files.

Each command of a ```bash block is run with overrides that shrink it (fewer residents, replications,
weeks; outputs under a temporary folder); none is left out: a command no rule covers fails the test.
Commands that start servers (`make app`, `dask scheduler`, `dask worker`) are started and checked to
come up; `make test` is the command running this suite; `sbatch` runs where Slurm runs; the emulator build
is run, shrunk by the same rule, by tests/test_emulator.py, which also checks what it wrote. The ```python
block is executed; the new-study example must be the shipped files; the error examples must be what the
command line prints.
"""

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.headless import no_browser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PY = sys.executable
SIM_TINY = ["replications=1", "horizon_weeks=4", "area.residents=200"]
STUDY_TINY = ["replications=2", "noise_replications=0", "horizon_weeks=20", "area.residents=200"]
SHRINK = {  # module -> extra arguments that shrink it (later values win in Hydra)
    "experiments.compare": STUDY_TINY,
    "experiments.bra2018": STUDY_TINY,
    "experiments.reach": STUDY_TINY,
    "experiments.feedback_demo": [*STUDY_TINY, "study.gif_every_weeks=10"],
    "experiments.evaluation_power": [*STUDY_TINY, "study.sample_sizes=[100,400]", "study.draws=2"],
    "experiments.ambition": [
        *STUDY_TINY,
        "horizon_weeks=52",  # it reports gains by year
        "study.executor=serial",
        "study.grid={promise.actions:[1,3],police.planned_hours_per_week:[20,40]}",
    ],
    "experiments.budget": [
        *STUDY_TINY,
        "study.executor=serial",
        "study.effort=[0.6]",
        "study.grid={promise.actions:[1,3],feedback.interval_weeks:[13]}",
    ],
    "experiments.robust": [
        "conditions=2",
        "residents=200",
        "horizon_weeks=20",
        "executor=serial",
        "study.designs={promise.actions:[1,3],feedback.interval_weeks:[4,13]}",
    ],
    "experiments.sensitivity": [
        "experiment@study=sensitivity_tiny",
        "n=4",
        "noise_points=2",
        "noise_replications=2",
        "bootstrap=20",
        "executor=serial",
    ],
    "experiments.calibrate": [
        "name=readme",
        "population=10",
        "threshold=50",
        "residents=200",
        "predictive_draws=3",
        "ensemble_size=4",
        "executor=serial",
        "install=false",
    ],
    "experiments.assumptions": ["n=2", "residents=200", "horizon_weeks=20", "executor=serial"],
    "experiments.crn": ["pairs=3", "residents=200", "horizon_weeks=20"],
    "experiments.whatif_check": ["worlds=2"],
    "experiments.cluster_benchmark": ["runs=6", "plan_runs=2000"],
    "scripts.app_step_time": ["3"],
    "scripts.planner_time": ["4"],
    "experiments.emulator": [
        "runs=80",
        "worlds=4",
        "held_out=20",
        "compare_gp=false",
        "residents=200",
        "install=false",
        "lever_study=sensitivity_tiny",
        "sensitivity_runs=60",
        "sobol_n=64",
        "bootstrap_models=2",
        "direct=null",
    ],
}
OUTPUT_KEY = {
    "experiments.sensitivity": "output_dir",
    "experiments.calibrate": "output_dir",
    "experiments.assumptions": "output_dir",
    "experiments.robust": "output_dir",
    "experiments.emulator": "output_dir",
    "experiments.crn": "output_dir",
    "experiments.whatif_check": "output_dir",
    "experiments.cluster_benchmark": "output_dir",
    "scripts.app_step_time": None,  # measures in the browser, writes nothing
    "scripts.planner_time": None,
}
SERVERS = ("make app", "dask scheduler", "dask worker")
RUN_ELSEWHERE = {"experiments.emulator build": "tests/test_emulator.py"}  # command -> the test that runs it


def bash_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def shrink(cmd: str, tmp: Path) -> tuple[list[str], dict]:
    """The command as run here: the venv's interpreter, tiny sizes, outputs under tmp."""
    env = {**os.environ}
    if cmd.startswith("make "):
        target = cmd.split()[1]
        if target == "run":
            args = SIM_TINY + [f"hydra.run.dir={tmp / 'make-run'}"]
            given = re.search(r'ARGS="([^"]*)"', cmd)
            args = (given.group(1).split() if given else []) + args
            return ["make", "--no-print-directory", "run", f"ARGS={' '.join(args)}"], env
        if target == "help":
            return ["make", "--no-print-directory", "help"], env
        if target == "benchmark":
            return ["make", "--no-print-directory", "benchmark", f"ARGS=--quick --out {tmp / 'bench'}"], env
        if target == "sweep-benchmark":
            args = f"ARGS=--runs 4 --no-dask --out {tmp / 'bench'}"
            return ["make", "--no-print-directory", "sweep-benchmark", args], env
        if target == "sensitivity":
            args = SHRINK["experiments.sensitivity"] + [f"output_dir={tmp / 'make-sens'}"]
            return ["make", "--no-print-directory", "sensitivity", f"ARGS={' '.join(args)}"], env
        raise AssertionError(f"no rule for README command: {cmd}")
    if cmd.startswith("sbatch "):
        env["PROMISE_PYTHON"] = PY
        words = shlex.split(cmd.replace("$PWD", str(tmp)))
        script_at = next(i for i, w in enumerate(words) if w.endswith(".sbatch"))
        opts = [w for w in words[1:script_at] if not w.startswith("--array")] + [
            "--wait",
            "-o",
            str(tmp / "job-%a.out"),
        ]
        array = [w for w in words[1:script_at] if w.startswith("--array")]
        args = [w for w in words[script_at + 1 :] if not w.startswith(("n=", "method=", "cluster.jobs="))]
        args = [a for a in args if not a.startswith("output_dir=")]
        extra = SHRINK["experiments.sensitivity"] + [f"output_dir={tmp / 'sbatch'}"]
        if "client" in words[script_at]:
            extra += ["cluster.jobs=2", "cluster.memory=1GB", f"cluster.log_directory={tmp / 'logs'}"]
        return ["sbatch", *opts, *(["--array=0-1"] if array else []), words[script_at], *args, *extra], env
    words = shlex.split(cmd)
    assert words[0].endswith("python") and words[1] == "-m", f"no rule for README command: {cmd}"
    module, args = words[2], words[3:]
    if module == "sim":
        if "-m" in args:
            args = (
                [a for a in args if not a.startswith("hydra.sweep.dir=")]
                + SIM_TINY
                + [f"hydra.sweep.dir={tmp / 'multirun'}"]
            )
        else:
            args = args + SIM_TINY + [f"hydra.run.dir={tmp / 'run'}"]
        return [PY, "-m", "sim", *args], env
    if module == "sim.collect":
        folder = next(a for a in args if not a.startswith("-"))
        args = [str(tmp / "multirun") if a == folder else a for a in args]
        args = [str(tmp / "collected.parquet") if a.endswith(".parquet") else a for a in args]
        return [PY, "-m", "sim.collect", *args], env
    if module not in SHRINK:
        raise AssertionError(f"no rule for README command: {cmd}")
    extra = list(SHRINK[module])
    if module == "experiments.emulator":
        extra = [
            e
            for e in extra
            if not (
                args
                and args[0] == "build"
                and e.startswith(("lever_study", "sensitivity_runs", "sobol_n", "bootstrap_models", "direct"))
            )
        ]
        if args and args[0] == "sensitivity":
            extra = [e for e in extra if not e.startswith(("worlds", "held_out", "compare_gp", "residents"))]
    if any(a.startswith("executor=") for a in args):  # the README's executor runs it: once serial whatever it said
        extra = [e for e in extra if not e.startswith("executor=")]
    if "scheduler=tcp://HOST:8786" in args:
        args = [a for a in args if not a.startswith("scheduler=")] + [f"scheduler={env.get('DASK_SCHEDULER', '')}"]
    args = [a for a in args if not a.startswith(("n=", "method=")) or module != "experiments.sensitivity"] + extra
    key = OUTPUT_KEY.get(module, "output_root")
    if key is not None:
        args.append(f"{key}={tmp / module.split('.')[-1]}")
    return [PY, "-m", module, *args], env


def drives_a_browser(module: str) -> bool:
    """Whether a README command's module opens Chromium (through scripts.headless)."""
    source = ROOT / (module.replace(".", "/") + ".py")
    return source.is_file() and "launch(" in source.read_text()


def commands_to_run() -> list:
    """The commands to run; those that submit to Slurm share the cluster tests' group (one at a time)."""
    return [
        pytest.param(c, marks=pytest.mark.xdist_group("slurm"))
        if c.startswith("sbatch") or "cluster_benchmark" in c
        else c
        for c in bash_commands()
        if c != "make test" and not c.startswith(SERVERS) and not any(k in c for k in RUN_ELSEWHERE)
    ]


def test_a_readme_command_runs_on_the_executor_it_names(tmp_path):
    """Shrinking once appended executor=serial to every sensitivity command, so the README's Dask commands
    (a local cluster, a scheduler's address) were run here in one process, and a scheduler never reached."""
    named = [c for c in bash_commands() if "executor=dask" in c and not c.startswith("sbatch")]
    assert len(named) >= 2
    for cmd in named:
        argv, _ = shrink(cmd, tmp_path)
        assert [a for a in argv if a.startswith("executor=")][-1] == "executor=dask", argv


def test_the_commands_run_elsewhere_are_run_there():
    for part, test_file in RUN_ELSEWHERE.items():
        assert any(part in c for c in bash_commands()), f"{part} is no longer in the README"
        assert f'"{part}" in c' in (ROOT / test_file).read_text(), f"{test_file} does not run {part}"


def test_a_browser_script_without_chromium_stops_with_one_line_before_starting_the_app(monkeypatch):
    import scripts.headless
    import scripts.planner_time

    assert drives_a_browser("scripts.planner_time") and drives_a_browser("scripts.app_step_time")
    assert not drives_a_browser("experiments.crn")
    monkeypatch.setattr(scripts.headless, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(scripts.planner_time, "serve_app", lambda: pytest.fail("the app was started"))
    with pytest.raises(SystemExit, match="^a browser is needed: /nonexistent/chromium not found .apt-get install"):
        scripts.planner_time.main([])


def test_every_readme_command_has_a_rule():
    for cmd in bash_commands():
        if cmd == "make test" or cmd.startswith(SERVERS):
            continue
        shrink(cmd, Path("/tmp/x"))  # raises for a command no rule covers


@pytest.mark.parametrize("cmd", commands_to_run())
def test_readme_command_runs(cmd, tmp_path, readme_multirun, dask_scheduler, request):
    if cmd.startswith("sbatch"):
        request.getfixturevalue("slurm")  # started (or skipped with the reason) by tests/conftest.py
    if "scheduler=tcp://HOST:8786" in cmd:
        os.environ["DASK_SCHEDULER"] = dask_scheduler
    tmp = readme_multirun if "sim.collect" in cmd else tmp_path
    argv, env = shrink(cmd, tmp)
    if drives_a_browser(argv[2]) and no_browser():
        pytest.skip(f"browser command skipped: {no_browser()}")
    p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=1200)
    assert p.returncode == 0, f"{cmd}\n{p.stdout[-1500:]}\n{p.stderr[-2500:]}"
    for report in tmp.rglob("report.md"):  # prose without stray spaces (once "other.  With" and "other. " at the end)
        assert "\n\n\n" not in report.read_text(), report  # or stray gaps between sections
        for line in report.read_text().splitlines():
            assert line.startswith("|") or ("  " not in line.strip() and line == line.rstrip()), (report, line)


@pytest.fixture(scope="module")
def readme_multirun(tmp_path_factory):
    """The README's multirun, run once, for its collect command."""
    tmp = tmp_path_factory.mktemp("multirun")
    cmd = next(c for c in bash_commands() if c.endswith("hydra.sweep.dir=results/multirun/grid"))
    argv, env = shrink(cmd, tmp)
    subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=True)
    return tmp


@pytest.fixture(scope="module")
def dask_scheduler():
    """The README's `dask scheduler` and `dask worker ... --nthreads 1`, started as written (on a free port)."""
    from scripts.headless import free_port

    port = free_port()
    bindir = Path(PY).parent
    sched = subprocess.Popen(
        [str(bindir / "dask"), "scheduler", "--port", str(port), "--dashboard-address", ":0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    address = f"tcp://127.0.0.1:{port}"
    worker = subprocess.Popen(
        [str(bindir / "dask"), "worker", address, "--nthreads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from dask.distributed import Client

    deadline = time.time() + 60
    while True:
        try:
            with Client(address, timeout=5) as c:
                if c.scheduler_info()["workers"]:
                    break
        except OSError:
            pass
        assert time.time() < deadline, "the README's dask scheduler and worker did not come up"
        time.sleep(1)
    yield address
    worker.terminate()
    sched.terminate()
    worker.wait(timeout=30)
    sched.wait(timeout=30)


def test_the_python_example_runs():
    (block,) = re.findall(r"```python\nimport sim\n(.*?)```", README, flags=re.S)
    from sim.emulator import EMULATOR_DIR

    if not (EMULATOR_DIR / "emulator.joblib").exists():
        block = "\n".join(line for line in block.splitlines() if "whatif" not in line)
    exec("import sim\n" + block, {})


def test_the_new_study_example_is_the_shipped_files():
    yaml_block = re.search(r"`configs/experiment/reach.yaml`:\n\n```yaml\n(.*?)```", README, flags=re.S).group(1)
    py_block = re.search(r"and `experiments/reach.py`:\n\n```python\n(.*?)```", README, flags=re.S).group(1)
    assert yaml_block == (ROOT / "configs" / "experiment" / "reach.yaml").read_text()
    assert py_block == (ROOT / "experiments" / "reach.py").read_text()


def test_the_error_examples_are_what_the_command_line_prints(tmp_path):
    for command, line in re.findall(r"^\$ (python -m sim [^\n]+)\n(error: [^\n]+)$", README, flags=re.M):
        p = subprocess.run([PY, "-m", "sim", *command.split()[3:]], capture_output=True, text=True, cwd=tmp_path)
        assert p.returncode == 2 and p.stderr.strip() == line, (command, p.stderr)


def test_the_app_command_serves_the_page():
    """`make app` runs `solara run sim/app.py`: the browser tests start exactly that (scripts/headless.py)."""
    make = (ROOT / "Makefile").read_text()
    assert "solara run sim/app.py" in make
    assert '"run", "sim/app.py"' in (ROOT / "scripts" / "headless.py").read_text()


def test_make_help_lists_every_target_with_what_it_does():
    """`make help` (a README command) names each target of the Makefile once, each with its description."""
    make = (ROOT / "Makefile").read_text()
    targets = re.search(r"^\.PHONY: (.*)$", make, flags=re.M).group(1).split()
    p = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rows = [line.split(None, 2) for line in p.stdout.splitlines()]
    assert sorted(r[1] for r in rows) == sorted(targets) and all(len(r) == 3 and r[0] == "make" for r in rows), rows


def promised_tests(readme: str) -> list[tuple[str, str | None]]:
    """(file, test or None) for each test the README's "What you can rely on" table names; ``::name`` after a
    file's test names another test in that file."""
    section = readme.split("## What you can rely on", 1)[1].split("\n## ", 1)[0]
    named = []
    for row in section.splitlines():
        if not row.startswith("| ") or "`" not in row:
            continue
        file = None
        for ref in re.findall(r"`([^`]+)`", row.split(" | ")[-1]):
            if ref.startswith("tests/"):
                file, _, test = ref.partition("::")
            else:
                test = ref.removeprefix("::")
            named.append((file, test or None))
    return named


def test_every_test_the_reliability_table_names_exists():
    """A promise backed by a test that was renamed or removed is a promise backed by nothing."""
    named = promised_tests((ROOT / "README.md").read_text())
    assert len(named) >= 15, named
    for file, test in named:
        path = ROOT / file
        assert path.is_file(), file
        if test:
            assert re.search(rf"^def {re.escape(test)}\(", path.read_text(), re.M), f"{file}::{test}"


def test_every_thumbnail_in_the_readme_is_drawn_by_its_rows_command():
    """scripts/thumbnails.py redraws each thumbnail from the command beside it: every row with a thumbnail is one it
    can run, and every shipped thumbnail is in a row (none left over from a study that was renamed)."""
    from scripts.thumbnails import FIGURE, thumbnail_rows

    rows = thumbnail_rows(README)
    shown = {thumb for _, _, thumb in rows}
    assert len(rows) == README.count("![](docs/thumb_") >= 5
    assert {study for study, _, _ in rows} <= set(FIGURE)
    assert shown == {f"docs/{p.name}" for p in (ROOT / "docs").glob("thumb_*.png")}


def test_the_thumbnail_script_draws_a_study_from_its_readme_command(tmp_path):
    """One study, shrunk, run by the script as a maintainer runs it: the thumbnail fits 360 x 240, filling one side."""
    from PIL import Image

    from scripts.thumbnails import BOX

    p = subprocess.run(
        [PY, "-m", "scripts.thumbnails", "--only", "compare", "--out", str(tmp_path), *STUDY_TINY],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("$ -m experiments.compare area=suburb " + " ".join(STUDY_TINY) + " output_root=")
    image = Image.open(tmp_path / "thumb_compare.png")
    assert image.width <= BOX[0] and image.height <= BOX[1]
    assert image.width == BOX[0] or image.height == BOX[1]
    assert [f.name for f in tmp_path.iterdir()] == ["thumb_compare.png"]
