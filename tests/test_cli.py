"""The main job as a user runs it: `python -m sim ...`, including the edges a careful user hits."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.outputs import summary_text
from sim.params import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def run_sim(*args, cwd=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def test_one_replication_shows_no_band(tmp_path):
    """A band from one replication was [x, x]: zero spread, as if the answer were certain."""
    out = tmp_path / "run"
    p = run_sim("replications=1", "horizon_weeks=6", "area.residents=200", f"hydra.run.dir={out}")
    assert p.returncode == 0, p.stderr
    assert "1 replication," in p.stdout and "one replication shows no spread" in p.stdout
    rows = [line for line in p.stdout.splitlines() if line.startswith("trust_mean")]
    assert rows and rows[0].rstrip().endswith("—"), rows
    summary = pd.read_csv(out / "summary.csv")
    assert summary[["change_ci_low", "change_ci_high", "district_low", "district_high", "change_sd"]].isna().all().all()


def test_main_job_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    p = run_sim(
        "scenario=observed_2018",
        "area=suburb",
        "replications=3",
        "seed=7",
        "feedback.interval_weeks=4",
        "area.residents=600",
        "horizon_weeks=30",
        f"hydra.run.dir={out}",
    )
    assert p.returncode == 0, p.stderr
    assert "trust_mean" in p.stdout and "95% interval of the mean" in p.stdout and "replication noise only" in p.stdout
    for name in (
        "trajectories.csv",
        "summary.csv",
        "trajectories.png",
        "neighbourhoods.csv",
        "run.json",
        "config.yaml",
        "feedback_rounds.csv",
        "draws.csv",
    ):
        assert (out / name).exists(), name
    traj = pd.read_csv(out / "trajectories.csv")
    expected = """run scenario area replication week trust_mean trust_high_share delaktighet_mean delaktighet_high_share
        participation_rate trygghet_mean unsafe_share awareness_share problem_severity recorded_crime hours_planned
        hours_delivered delivery_ratio officer_attitude_mean""".split()  # identity, then the outcomes in order
    assert list(traj.columns) == expected
    assert len(traj) == 3 * 31 and traj.week.min() == 0
    assert (traj.scenario == "observed_2018").all() and (traj.area == "suburb").all()
    hoods = pd.read_csv(out / "neighbourhoods.csv")
    assert {"trust_baseline", "trust_horizon", "trygghet_horizon", "delaktighet_horizon"} <= set(hoods.columns)
    info = json.loads((out / "run.json").read_text())
    assert info["complete"] and info["seed"] == 7 and len(info["replication_seconds"]) == 3 and info["config_hash"]
    config = (out / "config.yaml").read_text()
    assert "interval_weeks: 4" in config and "name: suburb" in config and "seed: 7" in config
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left behind"


@pytest.mark.parametrize(
    "arg,needle",
    [
        ("police.effort=3", "police.effort: 3"),
        ("area.residents=many", "area.residents: 'many'"),
        ("promise.colour=red", "unknown parameter promise.colour"),
        ("police.efort=0.9", "did you mean police.effort"),
        ("+police.efort=0.9", "did you mean police.effort"),
        ("scenario=utopia", "unknown scenario preset 'utopia'"),
        ("area.name=../../../../x", "invalid value for area.name"),
        ("uncertainty=maybe", "allowed: one of fixed, posterior"),
        ("output_dir=x", "unknown parameter output_dir (top level: seed, replications, horizon_weeks, scenario"),
        # a bare word once gave Hydra's "Error parsing override 'suburb' missing EQUAL at '<EOF>' See https://..."
        ("suburb", "error: 'suburb' needs a key: give key=value (such as area=suburb)"),
        ("full_implementation", "(such as scenario=full_implementation)"),
        ("-m suburb", "error: 'suburb' needs a key: give key=value (such as area=suburb)"),
        # Hydra's parser errors once came with its token list and a link, and some did not name the override
        ("police.effort=[0.5", "error: cannot read the override 'police.effort=[0.5': no viable alternative at"),
        ("police..effort=0.5", "error: cannot read the override 'police..effort=0.5' (an override is key=value"),
        ("police.effort==0.5", "error: cannot read the override 'police.effort==0.5': extraneous input '=' (an"),
        ("-m police.effort=[0.5", "error: cannot read the override 'police.effort=[0.5': no viable alternative"),
        # Hydra once answered these with its three ways out, or "Got NoneType", and no preset named
        ("police.effort=0.5,0.6", "error: 'police.effort=0.5,0.6' gives several values where one is needed (a list"),
        # a sweep with no values once launched 0 jobs and said how to collect them; glob() and interval() ended in
        # "ConfigLoader is not set" and "Can only enumerate CHOICE and RANGE sweeps"
        ("-m police.effort=range(1,0.5)", "error: police.effort=range(1,0.5) gives no values to sweep, so nothing"),
        ("-m police.effort=interval(0.5,1)", "error: police.effort=interval(0.5,1): interval() is for sweepers that"),
        ("-m police.effort=glob(*)", "error: police.effort=glob(*): glob() picks presets of a group (area, scenario)"),
        # Hydra's own settings: an unknown one printed Hydra's stack and "the run failed"; hydra.mode=MULTIRUN ran a
        # sweep into ./results/multirun, then said "the run failed: nothing was written"
        ("hydra.nosuch=1", "error: unknown Hydra setting hydra.nosuch (python -m sim --hydra-help lists them)"),
        # added with + (or ++), a misspelt setting was taken and did nothing
        ("+hydra.job.chdri=true", "error: unknown Hydra setting hydra.job.chdri (python -m sim --hydra-help lists"),
        ("++hydra.nosuch=1", "error: unknown Hydra setting hydra.nosuch (python -m sim --hydra-help lists them)"),
        ("hydra/launcher=nosuch", "error: unknown hydra/launcher option 'nosuch' (available: basic"),
        ("hydra.mode=MULTIRUN", "error: hydra.mode=MULTIRUN: give -m (--multirun) for a sweep; the mode follows"),
        ("police=0.5", "error: police is a group, not a parameter: give one of its parameters as police.<name>=val"),
        ("scenario=null", "error: scenario=null needs a preset (available: full_implementation, no_promise,"),
        ("-m area=null", "error: area=null needs a preset (available: default, small_town, suburb, vulnerable_d"),
        ("area=", "error: area= needs a preset (available: default, small_town, suburb, vulnerable_district)"),
        ("=0.5", "error: '=0.5' needs a key: give key=value"),
        # Hydra's deletion: ~seed once ran on the default seed through the API and crashed the command line with
        # "GlobalHydra is already initialized"; ~police too
        ("~seed", "error: ~seed would remove seed, which every run needs: set it instead (seed=...)"),
        ("~police", "error: ~police would remove police, which every run needs: set its parameters instead (polic"),
        ("~police.effort=1.0", "error: ~police.effort=1.0 would remove police.effort, which every run needs"),
        ("-m ~area", "error: ~area would remove area, which every run needs: choose one instead (area=default|sm"),
        # an unknown option once printed Hydra's usage, then "the run failed: nothing was written to results/..."
        ("--dry-run", "error: unknown option --dry-run (python -m sim takes key=value overrides, see --help;"),
        # Hydra's options for other configs: -cn sensitivity and -cp ran the checks on configs/ and then failed with
        # Hydra's "Could not override" or "Cannot find primary config" and "the run failed"; -cd (and
        # hydra.searchpath) with an area preset of its own was refused as an unknown preset
        ("-cn sensitivity", "error: -cn sensitivity: python -m sim runs the model's config (config) only; the other"),
        ("--config-name=robust", "error: --config-name robust: python -m sim runs the model's config (config) only"),
        ("-cp /tmp area=suburb", "error: -cp: python -m sim reads its configs and presets from "),
        ("--config-dir /tmp area=my_town", "error: --config-dir: python -m sim reads its configs and presets from "),
        ("hydra.searchpath=[file:///tmp]", "error: hydra.searchpath: python -m sim reads its configs and presets from"),
        ("--experimental-rerun x.pickle", "error: --experimental-rerun is not taken: to run a run again, give python"),
        # two of Hydra's modes once ended in a traceback ("Only one of --run, --multirun, --cfg, ...")
        ("-m --cfg job police.effort=0.5,0.6", "error: --cfg and --multirun cannot be combined: give one of"),
        # Hydra's tab completion was taken as an option, then its install=bash refused as an unknown parameter
        ("-sc install=csh", "error: --shell-completion takes install=, uninstall= or query= with bash, zsh, fish"),
        ("--shell-completion", "error: --shell-completion takes install=, uninstall= or query= with bash, zsh"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, arg, needle):
    out = tmp_path / "never"
    p = run_sim(*arg.split(), f"hydra.run.dir={out}", cwd=tmp_path)
    assert p.returncode == 2
    assert needle in p.stderr and p.stderr.count("\n") == 1 and len(p.stderr) < 400, p.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_hydra_settings_added_where_hydra_keeps_an_open_mapping_are_taken(tmp_path):
    """+ adds a key where Hydra's settings are an open mapping (environment variables), and ++ sets one that exists;
    only a new key among Hydra's fixed settings is refused (test_bad_input_exits_2_and_writes_nothing)."""
    out = tmp_path / "run"
    tiny = ("replications=1", "horizon_weeks=2", "area.residents=200")
    p = run_sim("+hydra.job.env_set.PROMISE_SIM_NOTE=1", "++hydra.job.chdir=false", *tiny, f"hydra.run.dir={out}")
    assert p.returncode == 0 and (out / "run.json").exists(), p.stderr


def test_hydras_options_print_and_run_nothing_and_version_names_the_product(tmp_path):
    """`--cfg job` once failed on its own value ('job' read as an override); `--version` answered 'Hydra 1.3.8'."""
    for args in (["--cfg", "job", "area=suburb"], ["--cfg=job", "area=suburb"], ["--info", "config", "area=suburb"]):
        p = run_sim(*args, cwd=tmp_path)
        assert p.returncode == 0 and "suburb" in p.stdout, (args, p.stderr[-500:])
    p = run_sim("--version", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout.startswith("promise-sim ") and "model code" in p.stdout, p.stdout
    assert list(tmp_path.iterdir()) == []  # printing a config or a version runs nothing and writes nothing


def test_an_option_between_the_overrides_is_read_as_where_it_belongs(tmp_path):
    """``scenario=x -m a=1,2`` and ``area=suburb --cfg job police.effort=0.6`` passed every check, then Hydra's
    parser called the overrides after the option "unrecognized" and printed its usage, exit 2."""
    p = run_sim("area=suburb", "--cfg", "job", "police.effort=0.6", cwd=tmp_path)
    assert p.returncode == 0 and "name: suburb" in p.stdout and "effort: 0.6" in p.stdout, p.stderr[-500:]
    small = ("replications=1", "area.residents=200", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    p = run_sim("scenario=no_promise", "-m", "horizon_weeks=2,3", *small, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-500:]
    assert sorted(f.name[0] for f in (tmp_path / "sweep").iterdir() if (f / "run.json").exists()) == ["0", "1"]
    p = run_sim("area.residents=200", "-cn", "config", "replications=1", "horizon_weeks=2", cwd=tmp_path)
    assert p.returncode == 0 and "200 residents, 2 weeks" in p.stdout, p.stderr[-500:]


def test_an_area_preset_of_ones_own_works_in_a_run_a_sweep_and_a_study(tmp_path):
    """README, 'Your own area': a copy of a preset with its own name in configs/area/ runs, sweeps and is studied
    under its name; one that kept the old name is refused. Tried on a copy of the project, so that the suite's
    presets stay the four it ships."""
    project = tmp_path / "project"
    for part in ("sim", "experiments", "configs"):
        shutil.copytree(ROOT / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", project)
    own = (ROOT / "configs/area/suburb.yaml").read_text().replace("name: suburb", "name: my_town")
    (project / "configs/area/my_town.yaml").write_text(own.replace("residents: 6000", "residents: 300"))
    tiny = ("replications=1", "horizon_weeks=2")
    p = run_sim("area=my_town", *tiny, f"hydra.run.dir={tmp_path / 'run'}", cwd=project)
    assert p.returncode == 0 and "on area my_town: 300 residents" in p.stdout, p.stderr[-500:]
    assert json.loads((tmp_path / "run/run.json").read_text())["area"] == "my_town"
    for spelt in ("area=my_town.yaml", "area=./my_town"):  # the same file to Hydra (once refused by the name check)
        p = run_sim(spelt, *tiny, f"hydra.run.dir={tmp_path / 'spelt'}", cwd=project)
        assert p.returncode == 0 and "on area my_town: 300 residents" in p.stdout, p.stderr[-500:]
    p = run_sim(
        "-m", "area=my_town,suburb", "area.residents=200", *tiny, f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=project
    )
    areas = sorted(json.loads(f.read_text())["area"] for f in (tmp_path / "sweep").glob("*/run.json"))
    assert p.returncode == 0 and areas == ["my_town", "suburb"], p.stderr[-500:]
    study = ["-m", "experiments.compare", "area=my_town", "replications=2", "noise_replications=0", *tiny[1:]]
    p = subprocess.run([sys.executable, *study, f"output_root={tmp_path}"], cwd=project, capture_output=True, text=True)
    assert p.returncode == 0 and "my_town" in next(tmp_path.glob("compare/*/report.md")).read_text(), p.stderr[-500:]
    # a copy that kept its old name would have labelled every run suburb
    shutil.copy(ROOT / "configs/area/suburb.yaml", project / "configs/area/copied.yaml")
    p = run_sim("area=copied", *tiny, f"hydra.run.dir={tmp_path / 'copied'}", cwd=project)
    assert p.returncode == 2 and not (tmp_path / "copied").exists(), p.stderr[-500:]
    assert (
        p.stderr == "error: configs/area/copied.yaml says name: suburb; a preset's name is its file's, as it "
        "labels every run and folder: set name: copied in it\n"
    )
    relabelled = ("area=copied", "area.name=copied_suburb")  # a name given with it relabels on purpose
    p = run_sim(*relabelled, *tiny, f"hydra.run.dir={tmp_path / 'relabelled'}", cwd=project)
    assert p.returncode == 0 and "on area copied_suburb" in p.stdout, p.stderr[-500:]
    # a bad value or key in the file was Hydra's five lines, "In 'area/my_town': ValidationError raised while ...", or
    # (out of range) a line that did not say where the value came from
    for edit, says in (
        (
            ("residents: 300", "residents: 300.0"),
            "invalid value for area.residents: 300.0 (write 300; allowed: a whole",
        ),
        (("officers:", "oficers:"), "unknown parameter area.oficers (did you mean area.officers"),
        (("officers: 10", "officers: 900"), "invalid value for area.officers: 900 (allowed: a whole number from 1"),
    ):
        (project / "configs/area/my_town.yaml").write_text(
            own.replace("residents: 6000", "residents: 300").replace(*edit)
        )
        p = run_sim("area=my_town", *tiny, f"hydra.run.dir={tmp_path / 'bad'}", cwd=project)
        assert p.returncode == 2 and p.stderr.startswith(f"error: configs/area/my_town.yaml: {says}"), p.stderr
        assert p.stderr.count("\n") == 1 and not (tmp_path / "bad").exists()
    p = run_sim("area=my_town", "area.officers=300", *tiny, cwd=project)  # the value given, not the file's: no file
    assert p.returncode == 2 and p.stderr.startswith("error: invalid value for area.officers: 300 (allowed"), p.stderr


def test_tab_completion_installs_and_completes_the_parameters_names(tmp_path):
    """`-sc install=bash` (in --help) was accepted as an option, then refused: 'unknown parameter install'."""
    assert 'eval "$(promise-sim -sc install=bash)"' in run_sim("--help").stdout
    program = str(Path(sys.executable).with_name("promise-sim"))
    p = subprocess.run([program, "-sc", "install=bash"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.rstrip().endswith("hydra_bash_completion promise-sim"), p.stderr[-500:]
    # through python -m sim Hydra wrote the script for `python`: it took over python's own completion and did not
    # complete `python -m sim`
    p = run_sim("-sc", "install=bash", cwd=tmp_path)
    assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1
    assert p.stderr.startswith("error: tab completion works for the promise-sim command, not for python -m sim")
    assert p.stderr.rstrip().endswith('install it with eval "$(promise-sim -sc install=bash)"'), p.stderr
    env = {**os.environ, "COMP_LINE": "promise-sim police.eff", "COMP_POINT": "22"}
    p = subprocess.run(
        [sys.executable, "-m", "sim", "-sc", "query=bash"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert p.returncode == 0 and p.stdout.split() == ["police.effort="], (p.stdout, p.stderr[-500:])
    env.pop("COMP_LINE")  # run by hand, without the line the completion passes: once Hydra's KeyError traceback
    p = subprocess.run(
        [sys.executable, "-m", "sim", "-sc", "query=bash"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert p.returncode == 2 and p.stderr.startswith("error: query= is what the installed completion calls"), p.stderr
    assert p.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_two_runs_started_in_the_same_second_get_their_own_whole_folders(tmp_path):
    args = [sys.executable, "-m", "sim", "replications=1", "horizon_weeks=8", "area.residents=300"]
    procs = [
        subprocess.Popen([*args, f"seed={s}"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for s in (1, 2)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0
    folders = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(folders) == 2
    seeds = sorted(json.loads((f / "run.json").read_text())["seed"] for f in folders)
    assert seeds == [1, 2]
    for f in folders:
        assert len(pd.read_csv(f / "trajectories.csv")) == 9


def test_rerun_into_an_existing_folder_replaces_it_whole(tmp_path):
    out = tmp_path / "run"
    assert (
        run_sim("replications=2", "horizon_weeks=6", "area.residents=300", "seed=1", f"hydra.run.dir={out}").returncode
        == 0
    )
    (out / "stray.txt").write_text("from the old run")
    assert (
        run_sim("replications=1", "horizon_weeks=4", "area.residents=300", "seed=2", f"hydra.run.dir={out}").returncode
        == 0
    )
    assert json.loads((out / "run.json").read_text())["seed"] == 2
    assert len(pd.read_csv(out / "trajectories.csv")) == 5 and not (out / "stray.txt").exists()


def test_a_run_never_replaces_a_file_or_a_folder_that_is_not_a_run(tmp_path):
    """hydra.run.dir=docs once moved docs/ aside and deleted it (as an earlier run would be); README.md was
    moved aside to a hidden name. Both are refused before the run, and left as they were."""
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine too")
    for target, why in ((notes, "it is a file"), (folder, "it is a folder of other files, not an earlier run's")):
        p = run_sim("replications=1", "horizon_weeks=2", "area.residents=100", f"hydra.run.dir={target}")
        assert p.returncode == 2 and f"hydra.run.dir={target}: {why}" in p.stderr and p.stderr.count("\n") == 1
    p = run_sim("-m", "police.effort=0.5,0.6", "replications=1", "horizon_weeks=2", f"hydra.sweep.dir={notes}")
    assert p.returncode == 2 and f"hydra.sweep.dir={notes}: it is a file" in p.stderr, p.stderr  # once a traceback
    assert notes.read_text() == "mine" and (folder / "keep.txt").read_text() == "mine too"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["docs", "notes.md"]
    assert sorted(x.name for x in folder.iterdir()) == ["keep.txt"]
    # a folder that cannot be made (under a file; /proc refuses too) was a mkdir traceback and exit 1, for a sweep
    # once Hydra had composed every point
    under = notes / "run"
    p = run_sim("replications=1", "horizon_weeks=2", "area.residents=100", f"hydra.run.dir={under}")
    assert (
        p.returncode == 2
        and p.stderr == f"error: hydra.run.dir={under}: no folder can be written there ({notes} is a file)\n"
    )
    p = run_sim("-m", "police.effort=0.5,0.6", "replications=1", "horizon_weeks=2", f"hydra.sweep.dir={under}")
    assert p.returncode == 2 and p.stderr.startswith(f"error: hydra.sweep.dir={under}: no folder can be written there")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["docs", "notes.md"] and notes.read_text() == "mine"


def ctrl_c_as_in_a_terminal() -> None:
    """A runner started in the background (nohup, CI) ignores SIGINT, and its children inherit that; a user's
    ctrl-c in a terminal is delivered, so give the child the default disposition (Python then raises
    KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_an_interrupted_run_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "replications=500", "area.residents=3000", f"hydra.run.dir={out}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )
    time.sleep(6)
    assert proc.poll() is None, "the run finished before it could be interrupted: give it more work"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


def test_switching_the_promise_off_is_in_the_folder_name(tmp_path):
    p = run_sim("promise.active=0", "replications=1", "horizon_weeks=3", "area.residents=200", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    assert "observed_2018-promise_off_default" in folder.name


def test_a_promise_setting_in_a_run_without_promise_work_is_noted(tmp_path):
    """``scenario=no_promise promise.actions=1`` ran without a word about the setting it could not use."""
    small = ("replications=1", "horizon_weeks=3", "area.residents=200")
    p = run_sim(
        "scenario=no_promise", "promise.actions=1", "behaviour.crime_rate=20", "police.effort=0.3", *small, cwd=tmp_path
    )
    assert p.returncode == 0, p.stderr
    assert (
        "note: with scenario no_promise there is no promise work, so promise.actions=1 and police.effort=0.3 change "
        "nothing residents see"
    ) in p.stderr
    p = run_sim("promise.active=false", "feedback.reach=0.9", *small, cwd=tmp_path)
    assert "note: with promise.active=false there is no promise work, so feedback.reach=0.9 changes nothing" in p.stderr
    p = run_sim("promise.actions=1", "scenario=no_promise", "promise.active=true", *small, cwd=tmp_path)
    assert p.returncode == 0 and "note:" not in p.stderr, p.stderr
    sweep = ("-m", "promise.actions=1,3", *small, f"hydra.sweep.dir={tmp_path / 'sweep'}")
    p = run_sim("scenario=no_promise", *sweep, cwd=tmp_path)  # two runs of the same thing under two names
    assert p.returncode == 0 and "so promise.actions=1,3 changes nothing residents see" in p.stderr, p.stderr
    p = run_sim("scenario=no_promise,full_implementation", *sweep, cwd=tmp_path)
    assert p.returncode == 0 and "note:" not in p.stderr, p.stderr
    # from Python the same note, as a warning (sim.run once said nothing)
    with pytest.warns(UserWarning, match="so police.effort=0.3 changes nothing residents see"):
        sim.run({"scenario": "no_promise", "police.effort": 0.3, "replications": 1, "horizon_weeks": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim.run(["scenario=observed_2018", "police.effort=0.3", "replications=1", "horizon_weeks=3"])


def test_a_whole_number_written_as_a_float_runs_as_that_number(tmp_path):
    """``feedback.interval_weeks=4.0`` and ``area.residents=2e2`` were refused with "allowed: a whole number"; now they
    run as 4 and 200, in one run and in each value of a sweep, and a study takes them too, in its own whole-number
    settings as well (the sensitivity study's n=16.0), and so do the small scripts (crn's pairs=24.0). 4.5 is still
    refused."""
    from experiments.settings import compose_settings

    small = ("replications=1", "horizon_weeks=3", f"hydra.run.dir={tmp_path / 'one'}")
    p = run_sim("feedback.interval_weeks=4.0", "area.residents=2e2", *small)
    assert p.returncode == 0, p.stderr
    config = yaml.safe_load((tmp_path / "one" / "config.yaml").read_text())
    assert (config["feedback"]["interval_weeks"], config["area"]["residents"]) == (4, 200), config
    p = run_sim("feedback.interval_weeks=4.5", *small)
    assert p.returncode == 2 and "invalid value for feedback.interval_weeks: 4.5" in p.stderr, p.stderr
    sweep = ("-m", "feedback.interval_weeks=0,4.0", "replications=1", "horizon_weeks=3", "area.residents=200")
    p = run_sim(*sweep, f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert p.returncode == 0, p.stderr
    names = sorted(f.name for f in (tmp_path / "sweep").glob("*_*"))
    assert len(names) == 2 and "feedback.interval_weeks=4," in names[1] and "4.0" not in names[1], names
    assert compose_settings("study", ["replications=20.0", "seed=7e0"]).replications == 20  # a study's own settings
    from experiments.sensitivity import load_settings

    sobol = load_settings(["n=16.0", "bootstrap=1e2", "conf_level=0.9"])
    assert (sobol.n, sobol.bootstrap, sobol.conf_level) == (16, 100, 0.9) and type(sobol.n) is int
    with pytest.raises(ConfigError, match=r"invalid value for n: 16.5 \(allowed: a whole number"):
        load_settings(["n=16.5"])
    from experiments.settings import count_arg, key_values  # the small scripts' settings (crn, whatif_check, scripts/)

    assert key_values(["pairs=24.0"], {"pairs": (24, 3, 100)}, {})["pairs"] == 24 and count_arg(1, 99)("1.5e1") == 15
    with pytest.raises(ConfigError, match="pairs=2.5 must be a whole number from 3 to 100"):
        key_values(["pairs=2.5"], {"pairs": (24, 3, 100)}, {})


def moved(spec):
    """Another allowed value of a parameter: a flag flipped, a count one step up (or down at its top), a number
    halfway to its top (or to its bottom when it sits at the top)."""
    d = spec.default
    if isinstance(d, bool):
        return not d
    if isinstance(d, int):
        return d + 1 if d + 1 <= spec.high else d - 1
    return (d + (spec.high if spec.high != d else spec.low)) / 2


def test_what_the_no_promise_note_calls_idle_changes_nothing_residents_see():
    """Every officer, promise, feedback and partner setting, moved, leaves the residents' outcomes of a run without
    promise work as they were: the note's claim, checked over the whole parameter table."""
    from sim.config import PROMISE_WORK
    from sim.params import iter_params

    base = {"scenario": "no_promise", "area.residents": 400, "horizon_weeks": 30, "replications": 2}
    reference = sim.run(base).trajectories
    residents = [m for m in reference.columns if m not in ("run", "scenario", "area")]
    residents = [m for m in residents if not m.startswith(("officer_", "hours_"))]
    specs = [p for p in iter_params() if p.name.startswith(PROMISE_WORK) and p.name != "promise.active"]
    for spec in specs:
        with pytest.warns(UserWarning, match=f"so {spec.name}=.* changes nothing residents see"):
            got = sim.run({**base, spec.name: moved(spec)}).trajectories[residents]
        pd.testing.assert_frame_equal(got, reference[residents], obj=f"{spec.name}={moved(spec)}")
    assert len(specs) >= 25, len(specs)


def test_empty_neighbourhoods_are_missing_not_zero(tmp_path):
    out = tmp_path / "run"
    p = run_sim(
        "area.residents=100",
        "area.ties_per_resident=30",
        "area.neighbourhoods_per_side=10",
        "replications=1",
        "horizon_weeks=10",
        f"hydra.run.dir={out}",
    )
    assert p.returncode == 0, p.stderr
    hoods = pd.read_csv(out / "neighbourhoods.csv")
    empty = hoods[hoods.residents == 0]
    assert (
        len(empty) > 0 and empty.trust_baseline.isna().all() and hoods[hoods.residents > 0].trust_baseline.notna().all()
    )


def test_a_valid_edge_where_no_resident_is_within_reach_of_the_work_runs(tmp_path):
    p = run_sim(
        "area.residents=100",
        "area.cells_per_side=300",
        "area.problem_reach_cells=0.5",
        "area.problems=1",
        "horizon_weeks=30",
        "scenario=full_implementation",
        "replications=1",
        "seed=1618",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert p.returncode == 0, p.stderr[-1500:]


def test_the_api_takes_numpy_numbers_strings_and_dicts_and_refuses_zero_replications():
    from sim.space import apply_params

    cfg = apply_params(sim.load_config([]), {"promise.actions": np.int64(2), "police.effort": np.float64(0.5)})
    assert cfg.promise.actions == 2
    assert sim.load_config("police.effort=0.5 replications=2").replications == 2
    assert (
        sim.run({"area": "suburb", "replications": 1, "horizon_weeks": 2, "area.residents": 200}).config.area.name
        == "suburb"
    )
    # Nested keys are overrides as dotted ones are: the scenario's values, not the schema's, with the preset picked.
    dotted = {"area": "suburb", "police.effort": 0.6, "replications": 1, "horizon_weeks": 2, "area.residents": 200}
    nested = {"area": "suburb", "police": {"effort": 0.6}, "replications": 1, "horizon_weeks": 2}
    nested["area.residents"] = 200
    result = sim.run(nested)
    assert result.config == sim.run(dotted).config == sim.load_config(nested)
    # Shown in a notebook, a result says what ran and how big its tables are, not every table in full.
    shown = repr(result)
    assert shown.startswith("RunResult: observed_2018 on suburb, 1 replication of 2 weeks, seed 2018")
    assert len(shown.splitlines()) <= 4 and f"trajectories={len(result.trajectories)}" in shown
    with pytest.raises(ConfigError, match=r"^'suburb' needs a key: give key=value \(such as area=suburb\)$"):
        sim.run("suburb")  # as sim.whatif("suburb") reads; once Hydra's "missing EQUAL at '<EOF>'"
    with pytest.raises(TypeError, match="seed is a setting of the config: put it there"):
        sim.run(dotted, seed=5)
    one_week = sim.run({**dotted, "horizon_weeks": 1})  # once "of 1 weeks"; the printed summary said so too
    assert repr(one_week).startswith("RunResult: observed_2018 on suburb, 1 replication of 1 week, seed 2018")
    assert summary_text(one_week).startswith(
        "Scenario observed_2018 on area suburb: 200 residents, 1 week, 1 replication,"
    )
    assert sim.run({"police": {"effort": 0.6}, "replications": 1, "horizon_weeks": 2}).config.feedback.reach == (
        sim.load_config([]).feedback.reach
    )
    small = sim.load_config(["area.residents=200", "horizon_weeks=2"])
    assert sim.run(small, replications=np.int64(2)).summary.replications.iloc[0] == 2  # a NumPy count, as from a design
    for bad in (0, 10_001, True, 1.5):
        with pytest.raises(ConfigError, match="replications"):
            sim.run(small, replications=bad)
    # from a table of floats: 4.0 weeks is 4 weeks (once refused), 4.5 is not; None is null (once the text 'None')
    weeks = sim.load_config({"feedback.interval_weeks": np.float64(4.0), "promise": {"actions": 2.0}})
    assert (weeks.feedback.interval_weeks, weeks.promise.actions) == (4, 2) and type(weeks.promise.actions) is int
    with pytest.raises(ConfigError, match=r"feedback.interval_weeks: 4.5 \(allowed: a whole number"):
        sim.load_config({"feedback.interval_weeks": 4.5})
    # so as text: Hydra reads 4.0 and 2e3 as floats, which were refused as "allowed: a whole number"
    for given in (
        ["feedback.interval_weeks=4.0", "area.residents=2e3"],
        "feedback.interval_weeks=4. ++area.residents=2000.0",
    ):
        text = sim.load_config(given)
        assert (text.feedback.interval_weeks, text.area.residents) == (4, 2000) and type(text.area.residents) is int
    for bad in ("feedback.interval_weeks=4.5", "area.residents=1e30", "promise.actions=nan"):
        with pytest.raises(ConfigError, match=f"invalid value for {bad.split('=')[0]}"):
            sim.load_config([bad])
    assert sim.load_config(["police.effort=1"]).police.effort == 1.0  # a number parameter keeps its type
    with pytest.raises(ConfigError, match=r"^invalid value for seed: None \(allowed"):
        sim.load_config({"seed": None})


@pytest.mark.parametrize(
    "request_,needle",
    [
        ({"survey_weeks": [-1]}, "survey_weeks: -1"),
        ({"survey_weeks": [3]}, "survey_weeks: 3 (allowed: whole numbers from 0 to 2)"),
        ({"map_weeks": [9]}, "map_weeks: 9"),
        ({"survey_sizes": [0]}, "survey_sizes: 0"),
        ({"survey_draws": 0}, "survey_draws: 0"),
        ({"map_weeks": [1], "map_fields": ["fear"]}, "map_fields: 'fear'"),
    ],
)
def test_a_table_the_run_cannot_answer_is_refused_before_it_runs(request_, needle):
    """Surveys or maps asked for outside the horizon, of no one, or of an unknown outcome: one clear error."""
    with pytest.raises(ConfigError) as err:
        sim.run({"replications": 1, "horizon_weeks": 2, "area.residents": 200}, **request_)
    assert needle in str(err.value)


def test_a_table_request_is_read_once_for_every_replication():
    """A generator, a range or one number asks for the same surveys and maps in each replication as a list does."""
    small = {"replications": 2, "horizon_weeks": 2, "area.residents": 200}
    as_list = sim.run(small, survey_weeks=[0, 2], map_weeks=[1], map_fields=["trust"])
    assert sorted(as_list.surveys.groupby("replication").week.apply(tuple)) == [(0, 2), (0, 2)]
    for request in (
        {"survey_weeks": (w for w in (0, 2)), "map_weeks": (w for w in [1]), "map_fields": (f for f in ["trust"])},
        {"survey_weeks": range(0, 3, 2), "map_weeks": 1, "map_fields": "trust"},
    ):
        other = sim.run(small, **request)
        pd.testing.assert_frame_equal(other.surveys, as_list.surveys)
        pd.testing.assert_frame_equal(other.maps, as_list.maps)
    with pytest.raises(ConfigError, match="invalid value for survey_weeks: <object object"):
        sim.run(small, survey_weeks=object())


@pytest.mark.parametrize("seed", [-1, "7", 1.5, True])
def test_a_replication_seed_that_cannot_seed_is_refused_by_name(seed):
    cfg = sim.load_config({"horizon_weeks": 2, "area.residents": 200})
    with pytest.raises(ConfigError, match=f"invalid value for seed: {re.escape(repr(seed))} .allowed: a whole number"):
        sim.run_replication(cfg, seed)


def test_a_change_that_rounds_to_nothing_is_printed_as_none():
    """500 residents over 20 weeks of the observed regime: mean trust moves by less than 0.0005, which the summary
    once printed as "-0.000", a loss that is not one."""
    result = sim.run({"area.residents": 500, "horizon_weeks": 20, "replications": 2})
    change = result.summary.set_index("metric").loc["trust_mean", "change"]
    assert -0.0005 < change < 0  # the case: a small loss that rounds to nothing
    row = next(ln for ln in summary_text(result).splitlines() if ln.startswith("trust_mean "))
    assert row.split()[3] == "+0.000" and "-0.000" not in summary_text(result), row


def trust_changes(result: sim.RunResult) -> np.ndarray:
    t = result.trajectories
    wide = t[t.week.isin([0, t.week.max()])].pivot(index="replication", columns="week", values="trust_mean")
    return (wide[t.week.max()] - wide[0]).to_numpy()


def test_the_summary_says_how_sure_the_mean_is_and_what_one_district_could_see():
    """The summary's one band was the middle 90% of the replications by numpy's default quantiles: neither how
    sure the mean change is nor what one district could see (from 4 values it holds another district's value
    about half the time). It now gives the mean's 95% t interval and, from 19 replications, the 90% range."""
    from scipy import stats

    small = sim.run({"area.residents": 300, "horizon_weeks": 8, "replications": 4})
    d = trust_changes(small)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    row = small.summary.set_index("metric").loc["trust_mean"]
    assert half > 0 and np.allclose([row.change_ci_low, row.change_ci_high], [d.mean() - half, d.mean() + half])
    assert small.summary[["district_low", "district_high"]].isna().all().all()
    text = summary_text(small)
    assert "95% interval of the mean" in text and "With 4 replications, no 90% range" in text, text

    big = sim.run({"area.residents": 300, "horizon_weeks": 8, "replications": 19})
    d = trust_changes(big)
    row = big.summary.set_index("metric").loc["trust_mean"]
    expected = np.quantile(d, [0.05, 0.95], method="weibull")
    assert np.allclose([row.district_low, row.district_high], expected) and expected[1] > expected[0]
    text = summary_text(big)
    line = next(ln for ln in text.splitlines() if ln.startswith("trust_mean "))
    assert line.count("[") == 2 and "no 90% range" not in text, text


@pytest.mark.parametrize("replication", [-1, 2.5, "0", True])
def test_a_replication_label_that_is_not_a_whole_number_is_refused_by_name(replication):
    """run_replication once took -1 and 2.5, and labelled the rows with them."""
    cfg = sim.load_config({"horizon_weeks": 2, "area.residents": 200})
    with pytest.raises(ConfigError, match=f"invalid value for replication: {re.escape(repr(replication))} .allowed"):
        sim.run_replication(cfg, 1, replication=replication)
    assert sim.run_replication(cfg, 1, replication=np.int64(3))["trajectories"].replication.eq(3).all()


def test_a_numpy_seed_seeds_as_its_value_and_bad_overrides_are_refused():
    cfg = sim.load_config({"horizon_weeks": 2, "area.residents": 200})
    big = 4_000_000_000  # replication seeds are 32-bit unsigned
    assert sim.run_replication(cfg, np.uint32(big))["trajectories"].equals(
        sim.run_replication(cfg, big)["trajectories"]
    )
    with pytest.raises(ConfigError, match="invalid overrides: 5 .allowed: a list of 'key=value' strings"):
        sim.load_config(5)


def test_a_nested_dict_of_overrides_reads_as_dotted_keys():
    nested = sim.load_config({"police": {"effort": 0.5}, "promise": {"active": False}, "area": "suburb"})
    assert nested == sim.load_config({"police.effort": 0.5, "promise.active": False, "area": "suburb"})
    assert nested.police.effort == 0.5 and not nested.promise.active and nested.area.name == "suburb"
    with pytest.raises(ConfigError, match="unknown parameter police.efort .did you mean police.effort"):
        sim.load_config({"police": {"efort": 0.5}})


def test_run_names_its_table_options_when_given_another():
    with pytest.raises(
        TypeError, match="unexpected keyword argument 'nonsense' .allowed: replications, progress, survey_weeks"
    ):
        sim.run({"replications": 1, "horizon_weeks": 2, "area.residents": 200}, nonsense=1)


def test_multirun_checks_every_point_first(tmp_path):
    p = run_sim("-m", "feedback.interval_weeks=0,4,400", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert p.returncode == 2 and "feedback.interval_weeks: 400" in p.stderr
    assert not (tmp_path / "sweep").exists()


def test_a_multirun_over_presets_by_glob_runs_each_preset_it_matches(tmp_path):
    """Hydra's glob() picks a group's presets; the check before a multirun once failed on it ("ConfigLoader is not
    set"), so `-m area=glob(s*)` could not run at all."""
    tiny = ("replications=1", "horizon_weeks=2", "area.residents=200")
    p = run_sim("-m", "area=glob(s*)", *tiny, f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    areas = sorted(json.loads(f.read_text())["area"] for f in (tmp_path / "sweep").glob("*/run.json"))
    assert areas == ["small_town", "suburb"]


@pytest.mark.parametrize(
    "sweep, values",
    [
        # Hydra 1.3 added float steps up in binary: 0.6000000000000001, and range(0.1,0.4,0.1) ended on 0.4
        ("police.effort=range(0.2,1,0.2)", ["0.2", "0.4", "0.6", "0.8"]),
        ("police.effort=range(0.1,0.4,0.1)", ["0.1", "0.2", "0.3"]),
        ("police.effort=range(1,1.5,0.1)", ["1.0", "1.1", "1.2", "1.3", "1.4"]),
        # its sort() of a range that does not land on its stop once swept 3, 6, 9, 12 and 0.3 to 1.1
        ("promise.actions=sort(range(10,0,-3))", ["1", "4", "7", "10"]),
        ("police.effort=sort(range(0.9,0.1,-0.2))", ["0.3", "0.5", "0.7", "0.9"]),
        ("police.effort=sort(range(0.1,0.4,0.1),reverse=true)", ["0.3", "0.2", "0.1"]),
        ("promise.actions=range(1,5)", ["1", "2", "3", "4"]),
        ("promise.actions=range(3)", ["0", "1", "2"]),
    ],
)
def test_a_range_sweep_runs_the_values_it_names(sweep, values):
    from sim.cli import expand_sweeps

    key = sweep.split("=", 1)[0]
    assert expand_sweeps([sweep]) == [[f"{key}={v}"] for v in values]


def test_a_float_range_multirun_writes_the_values_as_written(tmp_path):
    """range(0.2,0.7,0.2) once ran police.effort=0.6000000000000001: in the folder name, the config and the
    collected table, where selecting effort 0.6 found nothing."""
    tiny = ("replications=1", "horizon_weeks=2", "area.residents=200")
    p = run_sim("-m", "police.effort=range(0.2,0.7,0.2)", *tiny, f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert p.returncode == 0, p.stderr
    runs = sorted((tmp_path / "sweep").glob("*/run.json"))
    assert [f.parent.name.split("police.effort=")[1].split(",")[0] for f in runs] == ["0.2", "0.4", "0.6"]
    efforts = [yaml.safe_load((f.parent / "config.yaml").read_text())["police"]["effort"] for f in runs]
    assert efforts == [0.2, 0.4, 0.6]
    step0 = run_sim("-m", "police.effort=range(1,0.5,0)", *tiny, f"hydra.sweep.dir={tmp_path / 'zero'}")
    assert step0.returncode == 2 and step0.stderr.strip() == (
        "error: police.effort=range(1,0.5,0): range() needs a step other than 0"
    )


def test_collect_keeps_a_tables_own_column_beside_the_parameter_of_that_name(tmp_path):
    """draws.csv holds each replication's seed; collecting runs of two seeds once overwrote it with the run's seed."""
    from sim.api import replication_seeds
    from sim.collect import collect
    from sim.outputs import write_run

    for seed in (1, 2):
        result = sim.run(["replications=2", "horizon_weeks=2", "area.residents=200", f"seed={seed}"])
        write_run(result, tmp_path / f"run{seed}", sim.__version__)
    table, folders, _ = collect([tmp_path], "draws")
    assert table.seed.tolist() == [*replication_seeds(1, 2), *replication_seeds(2, 2)]
    assert table["config.seed"].tolist() == [1, 1, 2, 2] and len(folders) == 2
    write_run(sim.run(["replications=3", "horizon_weeks=2", "area.residents=200"]), tmp_path / "run3", sim.__version__)
    summary, _, _ = collect([tmp_path], "summary")  # summary's count of replications is the parameter itself
    assert "config.replications" not in summary and set(summary.replications) == {2, 3}


def test_collect_keeps_the_mark_of_a_run_whose_promise_work_was_switched_off(tmp_path):
    """Collected beside another scenario, observed_2018 with promise.active=false was labelled observed_2018, as if
    its promise had run; its folder and summary.csv say observed_2018-promise_off."""
    from sim.collect import collect
    from sim.outputs import write_run

    small = ["replications=1", "horizon_weeks=2", "area.residents=200"]
    for name, overrides in (("a", ["scenario=no_promise"]), ("b", ["promise.active=false"]), ("c", [])):
        write_run(sim.run([*small, *overrides]), tmp_path / name, sim.__version__)
    summary, _, _ = collect([tmp_path], "summary")
    labels = summary.groupby("folder", sort=True)[["scenario", "promise.active"]].first()
    assert labels.scenario.tolist() == ["no_promise", "observed_2018-promise_off", "observed_2018"]
    assert labels["promise.active"].tolist() == [False, False, True] and "config.scenario" not in summary


def test_multirun_grid_runs_and_collects_into_one_table(tmp_path):
    p = run_sim(
        "-m",
        "feedback.interval_weeks=0,13",
        "police.effort=0.5,1.0",
        "replications=1",
        "horizon_weeks=10",
        "area.residents=300",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert p.returncode == 0, p.stderr
    assert len(list((tmp_path / "sweep").glob("*/run.json"))) == 4
    # each point says where it went, and the sweep how to collect them (a multirun once ended on a summary alone)
    wrote = [line.split(" ", 1)[1] for line in p.stdout.splitlines() if line.startswith("Wrote ")]
    assert sorted(map(Path, wrote)) == sorted(f.parent for f in (tmp_path / "sweep").glob("*/run.json"))
    hint = f"Collect the runs into one table: python -m sim.collect {tmp_path / 'sweep'} --table summary"
    assert p.stdout.splitlines()[-1] == hint
    c = subprocess.run(
        [sys.executable, "-m", "sim.collect", str(tmp_path / "sweep"), "--out", str(tmp_path / "all.parquet")],
        capture_output=True,
        text=True,
    )
    assert c.returncode == 0, c.stderr
    table = pd.read_parquet(tmp_path / "all.parquet")
    assert table.folder.nunique() == 4
    assert sorted(table.groupby(["feedback.interval_weeks", "police.effort"]).size().index.tolist()) == [
        (0, 0.5),
        (0, 1.0),
        (13, 0.5),
        (13, 1.0),
    ]

    # --out ending in .csv writes CSV (it once wrote Parquet bytes under the .csv name); a folder or another
    # ending is refused in one line before anything is written (a folder once gave IsADirectoryError)
    def collect(out):
        cmd = [sys.executable, "-m", "sim.collect", str(tmp_path / "sweep"), "--out", str(out)]
        return subprocess.run(cmd, capture_output=True, text=True)

    assert collect(tmp_path / "all.csv").returncode == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "all.csv"), table, check_dtype=False)
    for bad in (tmp_path / "sweep", tmp_path / "all.txt"):
        c = collect(bad)
        assert c.returncode == 2 and c.stderr.startswith(f"error: --out {bad}:") and c.stderr.count("\n") == 1
    assert not (tmp_path / "all.txt").exists()
    # a folder whose run.json does not say it is whole is skipped, and counted
    half = tmp_path / "sweep" / "half"
    shutil.copytree(next((tmp_path / "sweep").glob("0_*")), half)
    (half / "run.json").write_text(json.dumps({**json.loads((half / "run.json").read_text()), "complete": False}))
    c = collect(tmp_path / "some.csv")
    assert c.returncode == 0 and c.stdout.strip().endswith("; skipped 1 incomplete folder"), c.stdout
    assert pd.read_csv(tmp_path / "some.csv").folder.nunique() == 4
    one = [sys.executable, "-m", "sim.collect", str(half.parent / "0_x"), "--out", str(tmp_path / "one.csv")]
    shutil.copytree(next((tmp_path / "sweep").glob("0_*")), half.parent / "0_x")
    c = subprocess.run(one, capture_output=True, text=True)  # once "Collected 1 runs"
    assert c.returncode == 0 and c.stdout.startswith("Collected 1 run, "), c.stdout
    # an option between the folders once left the folders after it "unrecognized"
    first, second = [f for f in sorted((tmp_path / "sweep").iterdir()) if "police.effort=" in f.name][:2]
    between = [sys.executable, "-m", "sim.collect", str(first), "--out", str(tmp_path / "two.csv"), str(second)]
    c = subprocess.run(between, capture_output=True, text=True)
    assert c.returncode == 0 and c.stdout.startswith("Collected 2 runs, "), c.stderr
    # a study's folder (config.yaml, report.md, tables) is not a run: it was once counted an incomplete run, and
    # alone gave "no whole run folders found"; a file once gave the same
    study = tmp_path / "sweep" / "a_study"
    study.mkdir()
    shutil.copy(half / "config.yaml", study / "config.yaml")
    (study / "report.md").write_text("# A study\n")
    c = collect(tmp_path / "again.csv")
    assert c.returncode == 0 and c.stdout.strip().endswith("; skipped 1 incomplete folder"), c.stdout
    for given, needle in (
        (study, f"error: {study} is a study's folder (report.md and its tables), not a run's"),
        (tmp_path / "all.csv", f"error: {tmp_path / 'all.csv'} is a file: give run folders"),
    ):
        c = subprocess.run([sys.executable, "-m", "sim.collect", str(given)], capture_output=True, text=True)
        assert c.returncode == 2 and c.stderr.startswith(needle) and c.stderr.count("\n") == 1, c.stderr
    # --out where no file can be written was a traceback after reading every run
    c = collect(tmp_path / "all.csv" / "x.csv")
    why = f"no file can be written there ({tmp_path / 'all.csv'} is a file)"
    assert c.returncode == 2 and c.stderr == f"error: --out {tmp_path / 'all.csv' / 'x.csv'}: {why}\n", c.stderr
    # damaged folders: a run.json cut short is not whole (it was a JSONDecodeError traceback); a whole run's
    # table or config.yaml cut short, or missing, is named (pandas' "No columns to parse from file", or a traceback)
    (half / "run.json").write_text('{"complete": tr')
    assert collect(tmp_path / "cut.csv").stdout.strip().endswith("; skipped 1 incomplete folder")
    whole = half.parent / "0_x"
    for name, text, needle in (
        ("summary.csv", "", f"{whole / 'summary.csv'} cannot be read (No columns to parse from file)"),
        ("config.yaml", "seed: [1,\n", f"{whole / 'config.yaml'} cannot be read ("),
        ("summary.csv", None, f"{whole} is marked whole but has no summary.csv"),
    ):
        kept = (whole / name).read_text()
        (whole / name).unlink() if text is None else (whole / name).write_text(text)
        c = collect(tmp_path / "damaged.csv")
        assert c.returncode == 2 and c.stderr.startswith(f"error: {needle}") and c.stderr.count("\n") == 1, c.stderr
        (whole / name).write_text(kept)
    assert not (tmp_path / "damaged.csv").exists()


def test_help_lists_only_what_python_m_sim_takes():
    p = run_sim("--help")
    assert p.returncode == 0 and "area=default|vulnerable_district" in p.stdout and "experiment" not in p.stdout
    for group in ("area", "scenario"):  # every preset a user can pick (over_promising was once missing)
        line = next(w for w in p.stdout.split() if w.startswith(f"{group}="))
        presets = {f.stem for f in (ROOT / "configs" / group).glob("*.yaml")}
        assert set(line.split("=", 1)[1].split("|")) == presets, (group, line)


def test_the_trajectory_figure_says_what_each_axis_measures(tmp_path):
    """Its panels once had no y-axis label: means on the 0-1 scale, and participation a share of residents."""
    from sim.outputs import PLOTTED, plot_trajectories

    t = pd.DataFrame([{"replication": r, "week": w, **dict.fromkeys(PLOTTED, 0.5)} for r in (0, 1) for w in (0, 1)])
    fig = plot_trajectories(t, tmp_path / "t.png", "title")
    labels = {ax.get_title(): ax.get_ylabel() for ax in fig.axes}
    assert labels[PLOTTED["trust_mean"]] == "mean (0-1 scale)"
    assert labels[PLOTTED["participation_rate"]] == "share of residents (0-1)" and (tmp_path / "t.png").exists()
