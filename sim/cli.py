"""The command line: check every requested config before anything is written, then run.

Every config the command line asks for (each point of a multirun sweep too) is composed and
validated first; a bad one stops with exit status 2 and one message naming the parameter,
the value and what is allowed, and nothing is written.

A single run is written whole or not at all: Hydra runs in a hidden staging folder beside the
final one, which is renamed into place only when the run has finished (replacing an earlier
run of the same folder as a whole; a file or a folder that is not a run's is never replaced, and
is refused before the run). A failed or interrupted run removes its staging folder.
Default folder names carry the time, what was run and a random suffix, so two runs started in
the same second never share a folder. In a multirun each point's folder is marked whole by its
run.json, written last.
"""

from __future__ import annotations

import builtins
import dataclasses
import itertools
import logging
import math
import os
import re
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from .api import run
from .config import CONFIG_DIR, checked_words, idle_settings_note, load_config, presets, to_config, whole_numbers
from .params import Config, ConfigError, register
from .paths import cannot_make

# Hydra's own options (`python -m sim --hydra-help` lists them): those that take the next argument as their value,
# --info whose value may be left out, and the rest. Any other option is refused before anything runs.
FLAGS_WITH_VALUE = {
    "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun", "--cfg", "-c",
    "--package", "-p",
}  # fmt: skip
CONFIG_PLACES = {"--config-path", "-cp", "--config-dir", "-cd"}  # Hydra's would be read, the checks' never were
INFO = {"--info", "-i"}
INFO_VALUES = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}
FLAGS = FLAGS_WITH_VALUE | INFO | {
    "--help", "-h", "--hydra-help", "--version", "--resolve", "--run", "-r", "--multirun", "-m", "--shell-completion",
    "-sc",
}  # fmt: skip
MODES = {  # Hydra runs in one of these at a time
    "--run": {"--run", "-r"},
    "--multirun": {"--multirun", "-m"},
    "--cfg": {"--cfg", "-c"},
    "--info": INFO,
    "--shell-completion": {"--shell-completion", "-sc"},
}
SHELLS = ("bash", "zsh", "fish")  # Hydra's completion plugins
COMPLETION = {f"{what}={shell}" for what in ("install", "uninstall", "query") for shell in SHELLS}
UID = uuid.uuid4().hex[:6]  # one per process: the suffix of this process's default folder names


def options_first(argv: list[str]) -> list[str]:
    """The arguments with Hydra's options (and their values) in front of the overrides, in their own orders.

    Hydra's parser reads the overrides as one run of arguments, so an option between them (``scenario=x -m a=1,2``,
    ``area=suburb --cfg job police.effort=0.6``) left the rest "unrecognized", with its usage printed, after every
    value had been checked."""
    options, overrides, skip = [], [], False
    for i, arg in enumerate(argv):
        if skip or arg.startswith("-"):
            options.append(arg)
            skip = not skip and (
                arg in FLAGS_WITH_VALUE or (arg in INFO and i + 1 < len(argv) and argv[i + 1] in INFO_VALUES)
            )
        else:
            overrides.append(arg)
    return options + overrides


def register_resolvers() -> None:
    """``${uid:}`` in configs: this process's random suffix (unique folder names)."""
    if not OmegaConf.has_resolver("uid"):
        OmegaConf.register_new_resolver("uid", lambda: UID)


def config_overrides(argv: list[str]) -> tuple[list[str], bool]:
    """The config overrides among the arguments (hydra.* and flags left out), and whether it is a multirun."""
    overrides, skip, multirun = [], False, False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in ("-m", "--multirun"):
            multirun = True
        elif arg in FLAGS_WITH_VALUE:
            skip = True
        elif arg in INFO:
            skip = i + 1 < len(argv) and argv[i + 1] in INFO_VALUES
        elif arg.startswith("-") or arg.startswith("hydra.") or arg.startswith("hydra/") or arg.startswith("+hydra"):
            continue
        else:
            overrides.append(arg)
    return overrides, multirun


def exact_range(*args: Any, **kwargs: Any) -> Any:
    """Hydra's ``range()``, its values listed exactly: the decimals as written, Python's rule (stop left out).

    Hydra 1.3 adds a float step up in binary, so ``range(0.2,1,0.2)`` swept 0.6000000000000001 (in the config, the
    folder name and the collected table, where ``== 0.6`` then found nothing) and ``range(0.1,0.4,0.1)`` swept 0.4
    as well; its ``sort()`` of a range that does not land on its stop swept other values (``sort(range(10,0,-3))``
    gave 3, 6, 9, 12). A listed sweep sorts and shuffles as Hydra's ``choice()`` does.
    """
    from decimal import Decimal

    from hydra._internal.grammar import grammar_functions
    from hydra.core.override_parser.types import ChoiceSweep

    r = grammar_functions.range(*args, **kwargs)
    if r.step == 0:
        raise ValueError("range() needs a step other than 0")
    if all(isinstance(v, int) for v in (r.start, r.stop, r.step)):
        return ChoiceSweep(list=list(builtins.range(r.start, r.stop, r.step)))
    start, stop, step = (Decimal(repr(float(v))) for v in (r.start, r.stop, r.step))
    return ChoiceSweep(list=[float(start + i * step) for i in builtins.range(max(0, math.ceil((stop - start) / step)))])


def overrides_parser() -> Any:
    """Hydra's override parser with :func:`exact_range` as its ``range()``."""
    import inspect

    from hydra._internal.grammar import grammar_functions
    from hydra.core.override_parser.overrides_parser import OverridesParser, create_functions

    functions = create_functions()
    functions.definitions["range"] = inspect.signature(grammar_functions.range)
    functions.functions["range"] = exact_range
    return OverridesParser(functions)


def exact_sweeps(argv: list[str]) -> list[str]:
    """A multirun's arguments with each sweep that uses ``range()`` listed value by value (:func:`exact_range`), so
    Hydra's sweeper launches exactly those values; any other argument as given."""
    overrides, _ = config_overrides(argv)
    parser = overrides_parser()
    out = []
    for arg in argv:
        if arg in overrides and "range(" in arg:
            o = parser.parse_override(arg)
            values = list(o.sweep_string_iterator()) if o.is_sweep_override() else []
            if values:  # none: sweep_values says so in one line
                arg = f"{o.get_key_element()}={','.join(values)}"
        out.append(arg)
    return out


def sweep_values(o: Any) -> list[str]:
    """The values one parsed override sweeps over, as Hydra's basic sweeper would launch them; ConfigError naming
    the override when there are none or it cannot be enumerated (interval() is for optimising sweepers)."""
    from hydra.core.override_parser.types import ValueType

    if not o.is_sweep_override():
        return [o.get_value_element_as_str()]
    if o.value_type == ValueType.INTERVAL_SWEEP:
        raise ConfigError(
            f"{o.input_line}: interval() is for sweepers that search; a multirun here sweeps listed values "
            "(0.5,0.6), choice(...) or range(start,stop,step)"
        )
    if o.value_type == ValueType.GLOB_CHOICE_SWEEP:  # Hydra matches a group's presets; our check has no loader
        group = o.get_key_element().lstrip("+")
        names = presets(group)
        if not names:
            raise ConfigError(f"{o.input_line}: glob() picks presets of a group (area, scenario), not values")
        values = o.value().filter(names)
    else:
        values = list(o.sweep_string_iterator())
    if not values:
        raise ConfigError(f"{o.input_line} gives no values to sweep, so nothing would run")
    return values


def expand_sweeps(overrides: list[str]) -> list[list[str]]:
    """Every combination a multirun would launch (Hydra's basic sweeper: the cartesian product)."""
    parser, parsed = overrides_parser(), []
    for text in overrides:
        try:
            parsed.append(parser.parse_override(text))
        except Exception as exc:  # Hydra's message: "Error parsing override ... ValueError while evaluating ..."
            why = re.search(r"while evaluating '[^']*': (.*?)(?: See https://|$)", " ".join(str(exc).split()))
            if not why:
                raise
            raise ConfigError(f"{text}: {why.group(1)}") from None
    choices = [[f"{o.get_key_element()}={v}" for v in sweep_values(o)] for o in parsed]
    return [list(c) for c in itertools.product(*choices)]


def check_hydra_settings(argv: list[str]) -> None:
    """Hydra's own settings on the command line (hydra.run.dir=..., hydra/launcher=...), composed as Hydra will
    compose them; ConfigError in one line for one it does not know (Hydra would print a stack of its own and the
    run would end in 'the run failed'), and for hydra.mode, which -m sets. A setting added with ``+`` is refused
    where Hydra has a fixed set of settings (``+hydra.job.chdri=true`` was taken and did nothing), and taken where it
    keeps an open mapping (``+hydra.job.env_set.NAME=value``)."""
    from hydra import compose, initialize_config_dir

    given = [a for a in argv if a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    for arg in given:
        if arg.lstrip("+~").split("=", 1)[0] == "hydra.mode":
            raise ConfigError(f"{arg}: give -m (--multirun) for a sweep; the mode follows from it")
    if not given:
        return
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            composed = compose(config_name="config", overrides=given, return_hydra_config=True)
    except Exception as exc:
        text = " ".join(str(exc).split())
        unknown = re.search(r"Could not override '(hydra[^']*)'", text)
        option = re.search(
            r"Could not find '(hydra/[^']*)/([^'/]*)' Available options in '[^']*': (.*?) Config search", text
        )
        if unknown:
            why = f"unknown Hydra setting {unknown.group(1)} (python -m sim --hydra-help lists them)"
        elif option:
            group, name, options = option.groups()
            why = f"unknown {group} option {name!r} (available: {', '.join(options.split())})"
        else:
            why = f"cannot use {' '.join(given)}: {text[:200]}"
        raise ConfigError(why) from None
    for key in (a.split("=", 1)[0].lstrip("+") for a in given if a.startswith("+")):
        where, _, name = key.rpartition(".")
        kind = OmegaConf.get_type(OmegaConf.select(composed, where)) if "/" not in key else None
        if dataclasses.is_dataclass(kind) and name not in {f.name for f in dataclasses.fields(kind)}:
            raise ConfigError(f"unknown Hydra setting {key} (python -m sim --hydra-help lists them)")


def check(argv: list[str]) -> list[Config]:
    """Compose and validate every config the command line asks for; raise ConfigError on the first bad one."""
    check_hydra_settings(argv)
    overrides, multirun = config_overrides(argv)
    combos = expand_sweeps(checked_words(overrides)) if multirun else [overrides]
    return [load_config(combo) for combo in combos]


def default_run_dir(cfg: Config) -> Path:
    """results/runs/<date>_<time>_<what was run>_<area>_<random suffix>."""
    from .outputs import run_label

    return Path("results/runs") / f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{run_label(cfg)}_{cfg.area.name}_{UID}"


def not_replaceable(final: Path) -> str | None:
    """Why ``final`` may not receive a run's folder (None: it may). Only a new path, an empty folder or an
    earlier run's folder (it has a run.json) is replaced: a run never moves aside or deletes anything else."""
    if not final.exists():
        why = cannot_make(final)
        return f"no folder can be written there ({why})" if why else None
    if not final.is_dir():
        return "it is a file, not a folder"
    if (final / "run.json").is_file() or not any(final.iterdir()):
        return None
    return "it is a folder of other files, not an earlier run's (no run.json); name a new folder"


def publish(stage: Path, final: Path) -> None:
    """Move a finished staging folder into place; an earlier run in ``final`` is replaced as a whole."""
    why = not_replaceable(final)
    if why:
        raise FileExistsError(f"{final}: {why}")
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{UID}")
        final.rename(old)
    stage.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from . import __version__
    from .outputs import summary_text, write_run

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO under Hydra's logging
    config = to_config(cfg)
    out = Path(HydraConfig.get().runtime.output_dir)
    result = run(config, progress=True)
    write_run(result, out, __version__)
    print(summary_text(result))
    if HydraConfig.get().mode == RunMode.MULTIRUN:  # a single run says so in main, once it is in place
        print(f"Wrote {out}")


def option_problem(argv: list[str]) -> str | None:
    """What is wrong with the options, in one line (None: nothing): one that is neither Hydra's nor a value
    (``--dry-run``), one of Hydra's that points at other configs (``-cd``, ``-cp``, ``hydra.searchpath``, ``-cn``
    other than config) or reruns a pickle, or two of Hydra's modes at once (``-m --cfg job``). Hydra would print its
    usage, or a traceback, after the run had said it started; ``-cd`` with a preset of its own was refused as an
    unknown preset, the checks reading configs/ only."""
    for arg in argv:
        if arg.startswith("-") and arg.split("=", 1)[0] not in FLAGS:
            return (
                f"unknown option {arg} (python -m sim takes key=value overrides, see --help; Hydra's options: "
                "--hydra-help)"
            )
    for i, arg in enumerate(argv):
        name, _, value = arg.partition("=")
        if name in CONFIG_PLACES or name.lstrip("+") == "hydra.searchpath":
            return (
                f"{name}: python -m sim reads its configs and presets from {CONFIG_DIR} only; an area of your own is a "
                "preset there, configs/area/<name>.yaml (README, 'Your own area')"
            )
        value = value or (argv[i + 1] if i + 1 < len(argv) else "")  # --config-name=x or -cn x
        if name in ("--config-name", "-cn") and value != "config":
            return (
                f"{name} {value}".strip()
                + ": python -m sim runs the model's config (config) only; the other configs in "
                "configs/ are the settings of the scripts in experiments/"
            )
        if name == "--experimental-rerun":
            return (
                "--experimental-rerun is not taken: to run a run again, give python -m sim the overrides in its "
                ".hydra/overrides.yaml (the same seed and model code give the same result)"
            )
    modes = {m for a in argv for m, spellings in MODES.items() if a.split("=", 1)[0] in spellings}
    if len(modes) > 1:
        return f"{' and '.join(sorted(modes))} cannot be combined: give one of {', '.join(MODES)}"
    return None


def main(argv: list[str]) -> int:
    """``python -m sim``: check every run the command line names before anything runs, then run one scenario into
    a folder that is whole or absent, or hand a sweep, help or tab completion to Hydra. Exit 2 on bad input."""
    register()
    register_resolvers()
    problem = option_problem(argv)
    if problem:
        return refused(problem)
    if "--version" in argv:  # the product's version (Hydra's own would answer "Hydra 1.3.8")
        from . import __version__
        from .version import code_version

        print(f"promise-sim {__version__} (model code {code_version()})")
        return 0
    if any(a in MODES["--shell-completion"] for a in argv):  # tab completion of the parameters' names, by Hydra
        return shell_completion(argv)
    overrides, _ = config_overrides(argv)
    argv = [whole_numbers(a) if a in overrides else a for a in argv]  # feedback.interval_weeks=4.0 runs as 4
    try:
        configs = check(argv)
    except ConfigError as exc:
        return refused(str(exc))
    except Exception as exc:  # e.g. malformed override syntax
        return refused(" ".join(str(exc).split()))
    overrides, multirun = config_overrides(argv)
    asks_help = any(a.split("=", 1)[0] in ("--help", "-h", "--hydra-help", "--cfg", "-c", *INFO) for a in argv)
    note = None if asks_help else idle_settings_note(overrides, configs)
    if note:
        print(note, file=sys.stderr)
    if multirun:
        return sweep(exact_sweeps(argv))
    if asks_help:
        sys.argv = [sys.argv[0], *options_first(argv)]
        hydra_main()
        return 0
    return run_whole(argv, configs[0])


def refused(message: str) -> int:
    """Bad input: one line on stderr, exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def shell_completion(argv: list[str]) -> int:
    """Hydra's tab completion, where it can work: for the promise-sim command, asked as the installed script asks."""
    words = [a for a in argv if a not in MODES["--shell-completion"]]
    if len(words) != 1 or words[0] not in COMPLETION:
        return refused(
            f"--shell-completion takes install=, uninstall= or query= with {', '.join(SHELLS)}, as in "
            'eval "$(promise-sim -sc install=bash)"'
        )
    if words[0].startswith("install=") and Path(sys.argv[0]).name == "__main__.py":
        # Hydra writes the script for the program it was started as: here `python`, whose own completion it
        # then took over, without completing `python -m sim`
        return refused(
            "tab completion works for the promise-sim command, not for python -m sim (the script would take "
            f'over python\'s own completion); install it with eval "$(promise-sim -sc {words[0]})"'
        )
    if words[0].startswith("query=") and "COMP_LINE" not in os.environ:  # once Hydra's KeyError traceback
        return refused(
            "query= is what the installed completion calls, with the line being typed in COMP_LINE; "
            'install it with eval "$(promise-sim -sc install=bash)"'
        )
    sys.argv = [sys.argv[0], *argv]
    hydra_main()
    return 0


def sweep(argv: list[str]) -> int:
    """A multirun through Hydra, its points already checked; ends with the command that collects the runs."""
    sweep_dirs = [a.split("=", 1)[1] for a in argv if a.startswith("hydra.sweep.dir=")]
    if sweep_dirs and Path(sweep_dirs[-1]).exists() and not Path(sweep_dirs[-1]).is_dir():
        return refused(f"hydra.sweep.dir={sweep_dirs[-1]}: it is a file, not a folder")
    if sweep_dirs and (why := cannot_make(sweep_dirs[-1])):  # Hydra's mkdir raised after composing
        return refused(f"hydra.sweep.dir={sweep_dirs[-1]}: no folder can be written there ({why})")
    sys.argv = [sys.argv[0], *options_first(argv)]
    hydra_main()
    where = sweep_dirs[-1] if sweep_dirs else "<the sweep folder above>"
    print(f"Collect the runs into one table: python -m sim.collect {where} --table summary")
    return 0


def run_whole(argv: list[str], config: Config) -> int:
    """One run, made in a hidden staging folder and renamed into place at the end: a run that fails or is
    interrupted leaves nothing, and a file or another folder where it would go is refused before it runs."""
    asked = [a.split("=", 1)[1] for a in argv if a.startswith("hydra.run.dir=")]
    final = Path(asked[-1]) if asked else default_run_dir(config)
    why = not_replaceable(final)
    if why:
        return refused(f"hydra.run.dir={final}: {why}")
    stage = final.parent / f".{final.name}.partial-{UID}"
    kept = [a for a in argv if not a.startswith("hydra.run.dir=")]
    sys.argv = [sys.argv[0], *options_first([*kept, f"hydra.run.dir={stage}"])]
    try:
        hydra_main()
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, KeyboardInterrupt):
            print("interrupted: nothing was written", file=sys.stderr)
            return 130
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            raise
        print(f"the run failed: nothing was written to {final}", file=sys.stderr)
        raise
    if not (stage / "run.json").exists():  # Hydra reported an error itself and returned
        shutil.rmtree(stage, ignore_errors=True)
        print(f"the run failed: nothing was written to {final}", file=sys.stderr)
        return 1
    publish(stage, final)
    print(f"Wrote {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def entry() -> None:
    """The `promise-sim` console script: the same as `python -m sim`."""
    sys.exit(main(sys.argv[1:]))
