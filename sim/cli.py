"""The command line: check every requested config before Hydra creates anything, then run.

Hydra makes the run folder before the task starts, so a bad value found inside the task
would leave a half-written folder. Every config the command line asks for (each point of a
multirun sweep too) is composed and validated first; a bad one stops with exit status 2
and one message naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

import itertools
import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from .api import CONFIG_DIR, load_config, run, to_config
from .params import ConfigError, register

FLAGS_WITH_VALUE = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun"}


def config_overrides(argv: list[str]) -> tuple[list[str], bool]:
    """The config overrides among the arguments (hydra.* and flags left out), and whether it is a multirun."""
    overrides, skip, multirun = [], False, False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("-m", "--multirun"):
            multirun = True
        elif arg in FLAGS_WITH_VALUE:
            skip = True
        elif arg.startswith("-") or arg.startswith("hydra.") or arg.startswith("hydra/") or arg.startswith("+hydra"):
            continue
        else:
            overrides.append(arg)
    return overrides, multirun


def expand_sweeps(overrides: list[str]) -> list[list[str]]:
    """Every combination a multirun would launch (Hydra's basic sweeper: the cartesian product)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = []
    for o in parsed:
        key = o.get_key_element()
        values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]
        choices.append([f"{key}={v}" for v in values])
    return [list(c) for c in itertools.product(*choices)]


def check(argv: list[str]) -> None:
    """Compose and validate every config the command line asks for; raise ConfigError on the first bad one."""
    overrides, multirun = config_overrides(argv)
    combos = expand_sweeps(overrides) if multirun else [overrides]
    for combo in combos:
        load_config(combo)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from . import __version__
    from .outputs import summary_text, write_run

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO under Hydra's logging
    config = to_config(cfg)
    out = Path(HydraConfig.get().runtime.output_dir)
    result = run(config, progress=True)
    write_run(result, out, __version__)
    print(summary_text(result))
    print(f"Wrote {out}")


def main(argv: list[str]) -> int:
    register()
    try:
        check(argv)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. malformed override syntax
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    sys.argv = [sys.argv[0], *argv]
    hydra_main()
    return 0
