"""Settings of the studies and the other commands in experiments/: rules for each value, reading them from the
command line through Hydra, and the checks of an output folder.

``compose_settings`` composes a command's config (configs/<name>.yaml) with the command line, where the entries
keyed by dotted parameter names (``study.grid``, ``study.arms``, ...) are replaced whole or one parameter at a
time; ``check_settings`` applies each value's rule (``whole``, ``one_of``, ``fraction``, ...) and stops at the
first bad value with one line that names it and what is allowed. ``make_output_folder`` refuses a folder a
command of this project did not make.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from sim.config import (
    CONFIG_DIR,
    checked_words,
    config_error_message,
    presets,
    whole_float,
    whole_numbers,
    whole_value,
)
from sim.params import PARAMS, ConfigError, register
from sim.paths import cannot_make, output_path

# entries keyed by dotted parameter names, replaced whole or one parameter at a time (Hydra would read
# study.grid.promise.actions as nested keys, and merge study.grid={...} into the default instead of replacing it)
REPLACEABLE = (
    *("study.grid", "study.arms", "study.vary", "study.fixed", "study.designs", "study.conditions"),
    *("levers", "arms", "answers"),  # the emulator's training ranges; the assumptions study's arms and answers
)
MAPPINGS = {  # the replaceable entries that are mappings, each with an example a user can copy
    "study.grid": "a mapping parameter: [values], such as {promise.actions: [1, 3]}",
    "study.designs": "a mapping parameter: [values], such as {promise.actions: [1, 3]}",
    "study.vary": "a mapping parameter: [low, high] or null, such as {police.effort: [0.3, 1.1]}",
    "study.conditions": "a mapping parameter: [low, high] or null, such as {police.effort: [0.3, 1.1]}",
    "study.fixed": "a mapping parameter: value, such as {police.effort: 0.8}",
    "levers": "a mapping lever: [low, high], such as {police.effort: [0.3, 1.2]}",
}
MERGED = ("levers",)  # given whole, these are merged into the default: the emulator must keep every planner's lever


def whole(low: int, high: int | None = None):
    """A rule: a whole number from low (to high)."""
    words = f"a whole number from {low:,} to {high:,}" if high is not None else f"a whole number of at least {low:,}"
    return (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low and (high is None or v <= high)
    ), words


def optional(rule):
    ok, words = rule
    return (lambda v: v is None or ok(v)), f"empty (null) or {words}"


def repeats(values: Sequence[Any]) -> Any:
    """The first value a grid's list gives twice (1 and 1.0 are the same), else None."""
    seen = set()
    for v in values:
        key = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(v)
        if key in seen:
            return v
        seen.add(key)
    return None


def check_grid(grid: Mapping[str, Any], label: str) -> None:
    """Each entry of a grid (``parameter: [values]``, study.grid or study.designs) is a non-empty list of values
    of a parameter a study may vary, each value once ([1, 1] ran each design twice and reported it twice)."""
    from sim.space import check_variable

    for name, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"{label}.{name} must be a non-empty list of values, got {values!r}")
        check_variable(name, label)
        twice = repeats(values)
        if twice is not None:  # 0 or 0.0 given twice is a repeat too
            raise ConfigError(f"{label}.{name} repeats {twice!r}: give each value once, got {values!r}")


def one_of(*choices):
    return (lambda v: v in choices), "one of " + ", ".join(map(str, choices))


def preset(group: str):
    """A rule: the name of one of the presets in configs/<group>/ (a scenario or an area)."""
    return one_of(*presets(group))


def fraction():
    return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1), "a number between 0 and 1"


def text():
    return (lambda v: isinstance(v, str) and v.strip() != ""), "a non-empty text"


def number(low: float, high: float):
    """A rule: a number from low to high."""
    return (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high
    ), f"a number from {low:g} to {high:g}"


def list_of(rule):
    """A rule: a non-empty list, each item following ``rule``."""
    ok, words = rule
    return (
        lambda v: isinstance(v, Sequence) and not isinstance(v, str) and len(v) > 0 and all(ok(x) for x in v)
    ), f"a non-empty list, each {words}"


def count_arg(low: int, high: int) -> Callable[[str], int]:
    """An argparse type for a count: a whole number from low to high (a bad one exits 2 naming the argument)."""

    def parse(text_value: str) -> int:
        number = whole_value(text_value.strip())
        if number is None or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low:,} to {high:,}, not {text_value!r}")
        return number

    return parse


def is_a_file(value: Any) -> bool:
    """Whether an output folder setting names an existing file: refused before anything runs (writing into it
    would fail only at the end, after all the runs)."""
    if not isinstance(value, str) or not value.strip():
        return False
    path = output_path(value)
    return path.exists() and not path.is_dir()


OUTPUT_MARK = ".promise-sim-output"  # in every folder a command writes into, so a rerun may write there again


def is_foreign(value: Any) -> bool:
    """Whether an output folder setting names a folder outside results/ that holds files but no earlier output
    of this project (docs/, the project root, a folder of one's own): refused before anything runs, since a
    command that writes into a folder (sweeps resume there) would mix its files in and overwrite same-named
    ones. Folders under results/ (outputs only, and the defaults) are never refused."""
    if not isinstance(value, str) or not value.strip():
        return False
    path = output_path(value)
    if path.resolve().is_relative_to(output_path("results").resolve()):  # results/ holds only outputs
        return False
    return path.is_dir() and any(path.iterdir()) and not (path / OUTPUT_MARK).exists()


FOREIGN = "holds other files and no earlier output of this project; name a new or empty folder"


def make_output_folder(path: Path) -> Path:
    """Make (or reuse) a command's output folder and mark it as this project's output."""
    path.mkdir(parents=True, exist_ok=True)
    (path / OUTPUT_MARK).write_text("written by promise-sim; a rerun of a command may write here again\n")
    return path


def folder_arg(text_value: str) -> str:
    """An argparse type for an output folder: new, empty or earlier output; not empty text, not a file."""
    if not text_value.strip() or is_a_file(text_value):
        raise argparse.ArgumentTypeError(f"must name a folder, new or existing, not {text_value!r}")
    if is_foreign(text_value):
        raise argparse.ArgumentTypeError(f"{text_value!r} {FOREIGN}")
    if why := cannot_make(text_value):
        raise argparse.ArgumentTypeError(f"no folder can be written at {text_value!r} ({why})")
    return text_value


def overrides_list():
    """A rule: a list of key=value overrides, possibly empty (the model's defaults)."""
    return (
        lambda v: isinstance(v, Sequence) and not isinstance(v, str) and all(isinstance(x, str) for x in v)
    ), "a list of overrides, such as [scenario=observed_2018, area=suburb]"


def one_or_more(rule):
    """A rule: one value following ``rule``, or a non-empty list of them."""
    ok, words = rule
    many, _ = list_of(rule)
    return (lambda v: ok(v) or many(v)), f"{words}, or a non-empty list of them"


def declared(name: str):
    """A rule: a number in the declared range of model parameter ``name`` (sim/params.py)."""
    return number(PARAMS[name].low, PARAMS[name].high)


def check_settings(cfg: DictConfig, rules: Mapping[str, tuple]) -> None:
    """Check settings against rules {key: (ok, words)}; raise ConfigError naming the first bad one and its range.
    A whole number written as a float (n=64.0, bootstrap=1e3) becomes that whole number where a rule takes one."""
    for key, (ok, words) in rules.items():
        value = OmegaConf.select(cfg, key)
        whole = whole_float(value)
        if whole is not None and not ok(value) and ok(whole):
            value = whole
            with _open(cfg):
                OmegaConf.update(cfg, key, value)
        if not ok(value):
            raise ConfigError(f"invalid value for {key}: {value!r} (allowed: {words})")
    for key in rules:
        if key.rpartition(".")[2] == "scheduler":
            check_executor(cfg, key.removesuffix("scheduler"))


def check_executor(cfg: DictConfig, prefix: str = "") -> None:
    """Settings only some executors use. A scheduler's address is used only by executor=dask; with another executor
    it was taken and ignored, and the work ran on this machine. workers=4 with executor=serial was taken and ignored
    too: the study ran one run at a time."""
    scheduler = OmegaConf.select(cfg, prefix + "scheduler")
    workers = OmegaConf.select(cfg, prefix + "workers")
    executor = OmegaConf.select(cfg, prefix + "executor") or "processes"
    if scheduler is not None and executor != "dask":
        raise ConfigError(
            f"{prefix}scheduler={scheduler} names a Dask scheduler: add {prefix}executor=dask "
            f"({prefix}executor is {executor})"
        )
    if executor == "serial" and workers is not None and workers != 1:
        raise ConfigError(
            f"{prefix}workers={workers} runs that many at once: add {prefix}executor=processes or dask "
            f"({prefix}executor is serial, one run at a time)"
        )


def check_sobol_size(key: str, n: int) -> None:
    """Saltelli's sequence (SALib) is balanced only at a power of 2: refuse any other size, naming the setting."""
    if n & (n - 1):
        raise ConfigError(f"invalid value for {key}: {n} (allowed: a power of 2 for sobol, e.g. 256, 512, 1024)")


def key_values(
    argv: Sequence[str], wholes: dict[str, tuple[int, int, int]], texts: dict[str, str], usage: str = ""
) -> dict[str, Any]:
    """Settings of a small ``key=value`` script: whole numbers ``wholes`` {key: (default, low, high)} and non-empty
    ``texts`` {key: default}; raise ConfigError naming the first unknown key or bad value before anything runs.
    ``--help`` prints ``usage`` (the script's docstring) and exits."""
    exit_with_help(argv, lambda: usage.strip())
    keys = (*wholes, *texts)
    given = {}
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq or key not in keys:
            raise ConfigError(f"{arg} is not a setting; use " + ", ".join(k + "=" for k in keys))
        given[key] = value
    values: dict[str, Any] = {}
    for key, (default, low, high) in wholes.items():
        v = given.get(key, str(default))
        number = whole_value(v.strip())
        if number is None or not low <= number <= high:
            raise ConfigError(f"{key}={v} must be a whole number from {low} to {high}")
        values[key] = number
    for key, default in texts.items():
        v = given.get(key, default)
        if key in given and not v.strip():
            raise ConfigError(f"{key}= must not be empty (default: {default or 'none'})")
        if key == "output_dir" and is_a_file(v):
            raise ConfigError(f"{key}={v} is a file; name a folder, new or existing")
        if key == "output_dir" and is_foreign(v):
            raise ConfigError(f"{key}={v} {FOREIGN}")
        if key == "output_dir" and (why := cannot_make(v)):
            raise ConfigError(f"{key}={v}: no folder can be written there ({why})")
        values[key] = v
    return values


HELP = ("-h", "--help")


def exit_with_help(argv: Sequence[str], text: Callable[[], str]) -> None:
    """``-h`` or ``--help`` anywhere on the command line: print ``text()`` and exit 0, as argparse does."""
    if any(a in HELP for a in argv):
        print(text())
        raise SystemExit(0)


def settings_text(config_name: str, argv: Sequence[str]) -> str:
    """What ``--help`` prints: the settings files with their comments (each setting, its default, what it does)."""
    files = [CONFIG_DIR / f"{config_name}.yaml"]
    given = [a.split("=", 1)[1] for a in argv if a.startswith("experiment@study=")]
    default = re.search(r"experiment@study:\s*(\w+)", files[0].read_text())
    study = given[-1] if given else default.group(1) if default and config_name != "study" else None
    if study:
        files.append(CONFIG_DIR / "experiment" / f"{study}.yaml")
    head = "Settings are given as key=value; each with its default and what it does"
    head += f" ({files[1].name}'s as study.<key>=...):" if study else ":"
    return "\n\n".join([head, *(f"# {f.parent.name}/{f.name}\n{f.read_text().strip()}" for f in files)])


def default_settings(config_name: str, argv: Sequence[str] = ()) -> DictConfig:
    """The settings file as composed with none of the user's values, only their choices of group
    (experiment@study=...), so a study's own keys are there: what messages name and suggest."""
    chosen = [a for a in argv if "@" in a.split("=", 1)[0]]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        try:
            return compose(config_name=config_name, overrides=chosen)
        except Exception:  # a bad choice is reported by the compose that failed
            return compose(config_name=config_name)


def plain_values(config_name: str, argv: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The overrides Hydra should compose, and the settings to set after it: a setting named like a config group
    (robust's ``area``, the emulator's ``scenario``) holds a plain value, but Hydra reads ``area=suburb`` as a group
    choice and refuses it ("No match in the defaults list")."""
    groups = {p.name for p in CONFIG_DIR.iterdir() if p.is_dir()}
    if not any(a.split("=", 1)[0] in groups for a in argv):
        return argv, []
    plain = default_settings(config_name, argv)
    direct = [a.split("=", 1) for a in argv if a.split("=", 1)[0] in groups and "=" in a]
    for key, _ in direct:
        if key not in plain:  # Hydra would answer "Could not override ... No match in the defaults list"
            hint = f"did you mean study.{key}?" if key in plain.get("study", {}) else "--help lists the settings"
            raise ConfigError(f"unknown setting {key} ({hint})")
    direct = [(k, v) for k, v in direct if not OmegaConf.is_config(plain[k])]
    return [a for a in argv if a.split("=", 1)[0] not in {k for k, _ in direct}], direct


def quoting(value: str) -> str:
    """What to quote in a list or mapping of overrides given unquoted ([scenario=x], {A: seed=1}), else ''."""
    v = value.strip()
    if "=" not in v or set("'\"") & set(v) or v[:1] + v[-1:] not in ("[]", "{}"):
        return ""
    return "each override in a list is quoted" if v.startswith("[") else "each override in a mapping is quoted"


def quoted(value: str) -> str:
    """``value`` (a list or mapping of unquoted overrides) with each override quoted."""
    v = value.strip()
    if v.startswith("["):
        return "[" + ",".join(f'"{x.strip()}"' for x in v[1:-1].split(",")) + "]"
    pairs = (x.partition(":") for x in v[1:-1].split(","))
    return "{" + ", ".join(f'{k.strip()}: "{w.strip()}"' for k, _, w in pairs) + "}"


def quote_hint(key: str, value: str) -> str:
    """How to quote a setting's value that holds '=' unquoted (Hydra says only "mismatched input '='"), else ''."""
    if "=" in value and value[:1] not in "[{'\"":
        return f"a value that holds '=' is quoted, such as '{key}=\"{value}\"'"
    what = quoting(value)
    return f"{what}, such as '{key}={quoted(value)}'" if what else ""


def compose_settings(config_name: str, argv: Sequence[str]) -> DictConfig:
    """Compose one of the settings files in configs/ with the user's overrides; ConfigError on a bad one.

    ``study.<entry>=...`` for an entry keyed by parameters (grid, arms, vary, fixed, designs, conditions) replaces
    it whole (the emulator's ``levers``: merged, MERGED), and ``study.<entry>.<parameter>=[...]`` replaces or adds
    one key (dotted parameter names stay whole). An entry the settings file does not have is refused, not added
    unread.
    """
    exit_with_help(argv, lambda: settings_text(config_name, argv))
    register()
    refuse_options(config_name, argv)
    plain_argv, replace = split_replacements(argv)
    check_plain(config_name, plain_argv)
    plain_argv = [whole_numbers(a) for a in plain_argv]  # replications=20.0 or area.residents=2e3, as python -m sim
    plain_argv, direct = plain_values(config_name, plain_argv)
    cfg = compose_checked(config_name, plain_argv)
    check_output_folders(cfg)
    for key, value in direct:
        try:
            parsed = parse_value(value)
        except Exception as exc:
            raise ConfigError(f"cannot read {key}={value}: {exc}") from exc
        with _open(cfg):
            cfg[key] = parsed
    for entry, sub, value in replace:
        replace_entry(cfg, entry, sub, value)
    return cfg


def refuse_options(config_name: str, argv: Sequence[str]) -> None:
    """--dry-run, --cfg, ...: these commands take no options but --help; say how settings are given."""
    flags = [a for a in argv if a.startswith("-")]
    if flags:
        plain = default_settings(config_name, argv)
        key = flags[0].lstrip("-").split("=", 1)[0].replace("-", "_")
        like = f"{key}=..." if key in plain else "key=value"
        raise ConfigError(f"unknown option {flags[0]}: settings are given as {like} (--help lists them)")


def split_replacements(argv: Sequence[str]) -> tuple[list[str], list[tuple[str, str | None, str]]]:
    """The overrides Hydra reads, and the (entry, parameter or None, value) of each that replaces a REPLACEABLE
    entry or one parameter of it (read by ``parse_value``, not by Hydra's parser)."""
    plain_argv, replace = [], []
    pattern = "(" + "|".join(map(re.escape, REPLACEABLE)) + r")(?:\.(.+))?"
    for arg in argv:
        m = re.fullmatch(pattern, arg.split("=", 1)[0].lstrip("+~"))
        if m and "=" in arg:
            replace.append((m.group(1), m.group(2), arg.split("=", 1)[1]))
        else:
            plain_argv.append(arg)
    return plain_argv, replace


def check_plain(config_name: str, plain_argv: Sequence[str]) -> None:
    """Refuse, with one line, an override Hydra would misread or take and do nothing with."""
    for arg in plain_argv:  # study.staff_on=feedback.staff=0.8: Hydra's "mismatched input '='" does not say why
        key, _, value = arg.partition("=")
        if hint := quote_hint(key, value):
            raise ConfigError(f"{arg}: {hint}")
    checked_words(list(plain_argv), otherwise="--help lists the settings")
    for arg in plain_argv:
        key = arg.split("=", 1)[0].lstrip("+~")
        if key.split(".", 1)[0] == "hydra":  # Hydra's compose would take it and do nothing with it
            where = "output_root" if "output_root" in default_settings(config_name, plain_argv) else "output_dir"
            raise ConfigError(f"{key}: this command takes no Hydra settings; its output folder is {where}=PATH")


def compose_checked(config_name: str, plain_argv: list[str]) -> DictConfig:
    """Hydra's compose of the settings file, its error in one line naming the known settings."""
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=plain_argv)
    except Exception as exc:
        plain = default_settings(config_name, plain_argv)
        known = [k for k in plain if k != "study"] + [f"study.{k}" for k in plain.get("study", {})]
        raise ConfigError(config_error_message(exc, known)) from exc


def check_output_folders(cfg: DictConfig) -> None:
    """An output folder must be one that can be made, not a file; output_dir must not hold another's files
    (output_root only gains a new <study>/<run>/ folder: no mixing)."""
    for key in ("output_dir", "output_root"):
        if is_a_file(cfg.get(key)):
            raise ConfigError(f"invalid value for {key}: {cfg.get(key)!r} (a file; allowed: a folder, new or existing)")
        if why := cannot_make(cfg.get(key)):
            raise ConfigError(f"invalid value for {key}: {cfg.get(key)!r} (no folder can be written there: {why})")
    if is_foreign(cfg.get("output_dir")):
        raise ConfigError(f"invalid value for output_dir: {cfg.get('output_dir')!r} ({FOREIGN})")


def replace_entry(cfg: DictConfig, entry: str, sub: str | None, value: str) -> None:
    """Replace a REPLACEABLE entry whole (``sub`` None; MERGED entries are merged) or one parameter of it."""
    named = f"{entry}.{sub}" if sub else entry
    where, _, name = entry.rpartition(".")
    parent = cfg.get(where) if where else cfg
    if not isinstance(parent, DictConfig) or name not in parent:  # another study's entry: taken, never read
        own = [e for e in REPLACEABLE if OmegaConf.select(cfg, e, default=None) is not None]
        hint = f"it has {' and '.join(own)}" if own else "--help lists the settings"
        raise ConfigError(f"unknown setting {named}: this command has no {entry} ({hint})")
    try:
        parsed = parse_value(value)
    except Exception as exc:
        hint = quote_hint(named, value)
        raise ConfigError(f"cannot read {named}={value}: {exc}{'; ' + hint if hint else ''}") from exc
    with _open(cfg):
        if sub is None and entry in MERGED and isinstance(parsed, dict):
            if not parsed:
                raise ConfigError(
                    f"{entry}={value} changes nothing: give ranges, such as {entry}.police.effort=[0.4,1]"
                )
            parent[name] = {**OmegaConf.to_container(parent[name]), **parsed}
        elif sub is None:
            parent[name] = parsed
        else:
            node = parent.get(name)  # an empty mapping (``fixed: {}``) is falsy, so test its type
            if node is not None and not isinstance(node, DictConfig):
                raise ConfigError(f"{entry} is {node!r}, not a mapping, so {named} cannot be set")
            current = OmegaConf.to_container(node) if node is not None else {}
            current[sub] = parsed
            parent[name] = current
    if entry in MAPPINGS and not OmegaConf.is_dict(parent[name]):  # arms: each study's arms() checks
        raise ConfigError(f"invalid value for {entry}: {value} (allowed: {MAPPINGS[entry]})")


def parse_value(text_value: str) -> Any:
    """A command-line value as Hydra reads it: [1,2], {a: 1}, 0.5, true, text. A sweep (``0.5,1``, ``range()``,
    ``choice()``, ``interval()``, ``glob()``) is refused, with the list that says the same where there is one: a
    setting holds one value or one list (a sweep once reached the config as Hydra's sweep object, in a traceback)."""
    from hydra.core.override_parser.types import ValueType

    from sim.cli import overrides_parser

    o = overrides_parser().parse_override(f"x={text_value}")
    if o.is_discrete_sweep() and o.value_type != ValueType.GLOB_CHOICE_SWEEP:
        listed = ",".join(o.sweep_string_iterator())
        raise ValueError(f"a sweep, where a setting takes one value or a list: give [{listed}]")
    if o.is_sweep_override():
        raise ValueError("a sweep, where a setting takes one value or a list, such as [0.5,1.0]")
    return o.value()


class _open:
    """Context manager: allow new keys in a struct config while a replacement is made."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    def __enter__(self):
        OmegaConf.set_struct(self.cfg, False)

    def __exit__(self, *exc):
        OmegaConf.set_struct(self.cfg, True)
