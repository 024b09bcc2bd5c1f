"""Configurations: presets and overrides composed with Hydra into one validated Config, and the one-line
messages that say what is wrong with a bad one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from .params import PARAMS, Config, ConfigError, allowed, register, validate
from .paths import config_dir
from .posterior import check_posterior_config

CONFIG_DIR = config_dir()
GROUP_KEYS = ("area", "scenario", "experiment")  # config groups: a text value names a preset


def presets(group: str) -> list[str]:
    """The names of the presets in configs/<group>/ (areas, scenarios, studies), sorted; [] for no such group."""
    return sorted(f.stem for f in (CONFIG_DIR / group).glob("*.yaml"))


def unknown_keys(node: Any, prefix: str = "") -> list[str]:
    """Dotted keys of a plain config tree that the declaration does not know (hydra's own are ignored)."""
    found = []
    for key, value in node.items():
        name = f"{prefix}{key}"
        if name in ("hydra", "experiment") or name in PARAMS:
            continue
        if isinstance(value, dict) and any(p.startswith(name + ".") for p in PARAMS):
            found += unknown_keys(value, name + ".")
        else:
            found.append(name)
    return found


def leaf_keys(node: dict, prefix: str = "") -> list[str]:
    """The dotted names of a plain config tree's values (police.effort, seed, ...)."""
    found = []
    for key, value in node.items():
        name = f"{prefix}{key}"
        found += leaf_keys(value, name + ".") if isinstance(value, dict) else [name]
    return found


def unknown_message(key: str) -> str:
    """'unknown parameter x' with the closest known names, in one short line."""
    import difflib

    group = key.split(".", 1)[0]
    known = sorted(n for n in PARAMS if n.startswith(group + "."))
    if key == group and known:  # police=0.5: a group given a value
        shown = ", ".join(n.split(".", 1)[1] for n in known[:12]) + (", ..." if len(known) > 12 else "")
        return f"{key} is a group, not a parameter: give one of its parameters as {key}.<name>=value ({shown})"
    close = difflib.get_close_matches(key, list(PARAMS), n=3, cutoff=0.6)
    if close:
        return f"unknown parameter {key} (did you mean {' or '.join(close)}?)"
    if known:
        shown = ", ".join(n.split(".", 1)[1] for n in known[:12]) + (", ..." if len(known) > 12 else "")
        return f"unknown parameter {key} (parameters in {group}: {shown}; all are listed in docs/model.md §9)"
    groups = "area, police, promise, feedback, partners, behaviour, survey"
    if "." not in key:
        top = ", ".join(n for n in PARAMS if "." not in n)
        return f"unknown parameter {key} (top level: {top}; groups: {groups}; see docs/model.md §9)"
    return f"unknown parameter {key} (groups: {groups}; see docs/model.md §9)"


def config_of(cfg: Any) -> Any:
    """``cfg`` itself when it has a config's attributes (a Config, or a stand-in with the same ones), else
    ``to_config(cfg)``: overrides, a Hydra config, or a ConfigError naming what was given."""
    return cfg if hasattr(cfg, "horizon_weeks") and not OmegaConf.is_config(cfg) else to_config(cfg)


def to_config(cfg: Any) -> Config:
    """A validated Config from a Hydra/OmegaConf config, overrides (a dict, a list or one string) or a Config;
    raises ConfigError.

    Overrides are composed as `python -m sim` would (``load_config``), so a partial dict gets its scenario's values
    for everything it leaves out, not the schema's defaults, which are no scenario's values; so does a partial
    OmegaConf config (one that leaves out any parameter)."""
    if isinstance(cfg, Config):
        validate(cfg)
        return cfg
    if isinstance(cfg, (str, list, tuple, dict)):  # overrides, as sim.run takes them
        return load_config(cfg)
    if not OmegaConf.is_config(cfg):
        raise ConfigError(
            f"a config is a sim.Config, a Hydra config, or overrides (a dict, a list or one string of key=value), "
            f"not {type(cfg).__name__} {cfg!r}"[:300]
        )
    container = OmegaConf.to_container(cfg, resolve=False) if OmegaConf.is_config(cfg) else cfg
    if isinstance(container, dict):
        if set(PARAMS) - set(leaf_keys(container)):  # a partial config: overrides of its scenario, as a dict is
            return load_config({k: v for k, v in container.items() if k != "hydra"})
        extra = unknown_keys({k: v for k, v in container.items() if k != "hydra"})
        if extra:
            raise ConfigError(unknown_message(extra[0]))
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
        obj = OmegaConf.to_object(merged)
    except Exception as exc:  # OmegaConf names the key in its message
        raise ConfigError(config_error_message(exc)) from exc
    validate(obj)
    return obj


def config_error_message(exc: BaseException, known: Sequence[str] | None = None) -> str:
    """One readable line from a Hydra/OmegaConf composition error (``known``: the settings a command takes,
    when it is not the model's own config). A bad value in a preset's file names the file: it once came as Hydra's
    five-line "In 'area/my_town': ValidationError raised while composing config: ..."."""
    message = composition_message(exc, known)
    preset = re.match(r"In '([\w-]+)/([\w-]+)': ", str(exc))
    return f"configs/{preset[1]}/{preset[2]}.yaml: {message}" if preset else message


def composition_message(exc: BaseException, known: Sequence[str] | None = None) -> str:
    """``config_error_message`` without the preset's file."""
    import difflib

    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, InterpolationResolutionError

    cause = exc  # Hydra raises a preset's error inside its own (__context__), an override's from it (__cause__)
    while (cause.__cause__ or cause.__context__) is not None and not getattr(cause, "full_key", None):
        cause = cause.__cause__ or cause.__context__
    key = getattr(cause, "full_key", None)
    if key and known is not None and isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
        close = difflib.get_close_matches(key, list(known), n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}?" if close else "known: " + ", ".join(known)
        return f"unknown setting {key} ({hint})"
    if (
        key in PARAMS
        and isinstance(cause, (ConfigKeyError, ConfigAttributeError))
        and getattr(cause, "value", 1) is None
    ):
        return f"{key} is not a setting of this command"
    if key and isinstance(cause, InterpolationResolutionError):  # ${...} naming nothing: not an invalid value None
        return f"cannot resolve {key}: {str(cause).splitlines()[0]}"
    if key in PARAMS:
        value = getattr(cause, "value", None)
        spec = PARAMS[key]
        whole = whole_float(value) if spec.type is int else None
        write = f"write {whole}; " if whole is not None else ""
        return f"invalid value for {key}: {value!r} ({write}allowed: {allowed(spec)}; unit: {spec.unit})"
    if key and known is not None and key in known:  # a known setting given a mapping for a list, or the like
        given = re.search(r"Error merging override [^=]*=(.*)", str(exc))
        kind = {list: "a list", dict: "a mapping"}.get(getattr(cause, "object_type", None), "another kind of value")
        shown = given.group(1).strip() if given else "this value"
        return f"invalid value for {key}: {shown} (allowed: {kind}, as its default; --help shows it)"
    if key:
        return unknown_message(key)
    missing = re.search(
        r"Could not find '([^/']+)/([^']*)'.*?Available options in '[^']+':\s*(.*?)\s*Config search path",
        str(exc),
        re.S,
    )
    if missing:
        group, name, options = missing.groups()
        what = f"unknown {group} preset {name!r}" if name else f"{group}= needs a preset"
        return f"{what} (available: {', '.join(options.split())})"
    several = re.search(r"(?:Ambiguous value for argument|Sweep parameters) '([^']*)'", str(exc))
    if several:  # Hydra's own words list three ways out, some of which this command does not take
        word = several.group(1)
        return (
            f"{word!r} gives several values where one is needed (a list is key=[a,b]; python -m sim -m {word} sweeps)"
        )
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def flat_items(mapping: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """{"police": {"effort": 0.5}} -> [("police.effort", 0.5)]: nested and dotted keys alike."""
    items = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        items += flat_items(value, name + ".") if isinstance(value, dict) else [(name, value)]
    return items


def as_overrides(overrides: Sequence[str] | str | dict | None) -> list[str]:
    """Overrides as Hydra strings: a list, one string ("a=1 b=2"), or a dict ({"area": "suburb",
    "police.effort": 0.5} or {"police": {"effort": 0.5}}; a group key with a text value picks a preset). In a
    dict, None is Hydra's null (it once reached the checks as the text 'None') and a whole-number float of a
    whole-number parameter is that number (4.0 weeks, as read from a table of floats, once was refused)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [whole_numbers(o) for o in checked_words(overrides.split())]
    if isinstance(overrides, dict):
        out = []
        for key, value in flat_items(overrides):
            if isinstance(value, bool):
                value = str(value).lower()
            elif value is None:
                value = "null"
            elif key in PARAMS and PARAMS[key].type is int and (whole := whole_float(value)) is not None:
                value = whole
            out.append(f"{key}={value}")
        return checked_words(out)
    if not isinstance(overrides, Iterable):
        raise ConfigError(
            f"invalid overrides: {overrides!r} (allowed: a list of 'key=value' strings, one string of them, or a dict)"
        )
    return [whole_numbers(o) for o in checked_words([str(o) for o in overrides])]


def given(overrides: Sequence[str]) -> list[tuple[str, str]]:
    """The (key, value) pairs of key=value overrides, the key without Hydra's + or ++ (flags and ~key left out)."""
    return [(k.lstrip("+"), v) for k, eq, v in (o.partition("=") for o in overrides) if eq and not k.startswith("~")]


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def whole_numbers(override: str) -> str:
    """``key=4.0`` or ``key=2e3`` for a whole-number parameter as ``key=4`` or ``key=2000`` (also each value of a
    sweep's ``a,b,c``); anything else as given. Hydra reads 4.0 as a float, which a whole-number parameter refused
    with "allowed: a whole number", though 4.0 is one; 4.5 is still refused, by the parameter's check."""
    key, eq, value = override.partition("=")
    spec = PARAMS.get(key.lstrip("+"))
    parts = value.split(",")
    if not eq or spec is None or spec.type is not int or all(p.lstrip("+-").isdigit() for p in parts):
        return override  # not a whole-number parameter, or written as whole numbers already
    numbers = [whole_value(p) for p in parts]
    return override if None in numbers else f"{key}={','.join(map(str, numbers))}"


def whole_value(text: str) -> int | None:
    """The whole number a number's text gives (24, 24.0 or 2.4e1), else None (4.5, 1e30, nan, words)."""
    return whole_float(float(text)) if NUMBER.fullmatch(text) else None


def whole_float(number: Any) -> int | None:
    """The whole number a float is (4.0 -> 4), else None: 4.5, nan, inf, a float from 2**53 up (where floats skip
    whole numbers, so 1e30 is no whole number anyone wrote) or anything not a float."""
    return int(number) if isinstance(number, float) and number.is_integer() and abs(number) < 2**53 else None


PROMISE_WORK = ("police.", "promise.", "feedback.", "partners.")  # groups that act only through the promise work


def idle_settings_note(overrides: Sequence[str], configs: Sequence[Config]) -> str | None:
    """A note on the overrides that change nothing residents see, because no run asked for does promise work
    (scenario no_promise, or promise.active=false): officers, the promise, feedback and partners act on residents only
    through that work (docs/model.md §3). None when there are none. ``promise.actions=1`` with no_promise once ran
    without a word, and a sweep over it ran the same runs under different names."""
    if any(c.promise.active for c in configs):
        return None
    idle = [o for o in overrides if any(k.startswith(PROMISE_WORK) and k != "promise.active" for k, _ in given([o]))]
    if not idle:
        return None
    who = "scenario no_promise" if all(c.scenario == "no_promise" for c in configs) else "promise.active=false"
    listed = idle[0] if len(idle) == 1 else f"{', '.join(idle[:-1])} and {idle[-1]}"
    return (
        f"note: with {who} there is no promise work, so {listed} change{'s' * (len(idle) == 1)} nothing residents see"
    )


def checked_words(overrides: list[str], otherwise: str = "such as area=suburb or police.effort=0.6") -> list[str]:
    """Overrides as given, once each is known to be key=value that Hydra's parser can read. A bare word such as
    'suburb' is refused naming the preset it may mean (else ``otherwise``), instead of Hydra's 'missing EQUAL' parse
    error; so is Hydra's ~key, which deletes a setting, for any of the model's (every run needs each of them: ~seed
    once ran on the default seed, and crashed python -m sim); anything else the parser cannot read, by
    grammar_message."""
    for word in overrides:
        if word.startswith("~") and not word[1:].startswith(("hydra.", "hydra/")):
            key = word[1:].split("=", 1)[0]
            group = key not in PARAMS and any(name.startswith(f"{key}.") for name in PARAMS)
            hint = f"set its parameters instead ({key}.<name>=...)" if group else f"set it instead ({key}=...)"
            if key in ("area", "scenario"):
                hint = f"choose one instead ({key}={'|'.join(presets(key))})"
            raise ConfigError(f"{word} would remove {key}, which every run needs: {hint}")
        if ("=" not in word and not word.startswith("~")) or word.startswith("="):
            named = re.fullmatch(r"[\w-]+", word) is not None  # a preset's name, not a path
            groups = [g for g in ("area", "scenario") if named and (CONFIG_DIR / g / f"{word}.yaml").is_file()]
            hint = "such as " + " or ".join(f"{g}={word}" for g in groups) if groups else otherwise
            raise ConfigError(f"{word!r} needs a key: give key=value ({hint})")
        key, _, value = word.partition("=")
        if key.lstrip("+") in ("area", "scenario") and value in ("null", "~"):  # Hydra: 'Got NoneType'
            raise ConfigError(f"{word} needs a preset (available: {', '.join(presets(key.lstrip('+')))})")
    unreadable = grammar_message(overrides)
    if unreadable:
        raise ConfigError(unreadable)
    return overrides


def load_config(overrides: Sequence[str] | str | dict = (), config_name: str = "config") -> Config:
    """Compose the project's Hydra config with overrides, as `python -m sim` would, and validate it.

    ``overrides`` may be a list of "key=value" strings, one string of them, or a dict.
    """
    overrides = as_overrides(overrides)
    register()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides))
    except Exception as exc:
        raise ConfigError(config_error_message(exc)) from exc
    try:
        config = to_config(cfg)
    except ConfigError as exc:  # a value out of range: name the preset file it came from, if one did
        bad = re.match(r"invalid value for ([\w.]+): ", str(exc))
        file = bad and preset_file(bad[1], overrides, config_name)
        raise ConfigError(f"{file}: {exc}" if file else str(exc)) from exc
    check_preset_name(overrides, config.area.name)
    # an uncertain coefficient named at its default value was once taken, then overwritten by the draws
    check_posterior_config(config, given=[key for key, _ in given(overrides)])
    return config


def preset_name(choice: str) -> str:
    """The preset a group's choice reads: area=suburb, area=suburb.yaml and area=./suburb all read
    configs/area/suburb.yaml."""
    return Path(choice).name.removesuffix(".yaml")


def preset_file(key: str, overrides: Sequence[str], config_name: str = "config") -> str | None:
    """The preset file, as configs/<group>/<name>.yaml, that set ``key`` when no override did (None otherwise): where a
    bad value in a planner's own area preset is to be mended."""
    import yaml

    keys = given(overrides)
    if any(k == key for k, _ in keys):
        return None
    defaults = yaml.safe_load((CONFIG_DIR / f"{config_name}.yaml").read_text()).get("defaults", [])
    chosen = {group: name for entry in defaults if isinstance(entry, dict) for group, name in entry.items()}
    chosen |= {k: preset_name(v) for k, v in keys if k in ("area", "scenario")}
    for group in ("scenario", "area"):  # the scenario is composed last, so what it sets wins
        file = CONFIG_DIR / group / f"{chosen.get(group)}.yaml"
        if file.is_file():
            node = yaml.safe_load(file.read_text()) or {}
            if key in dict(flat_items(node, "area." if group == "area" else "")):
                return f"configs/{group}/{file.name}"
    return None


def check_preset_name(overrides: Sequence[str], name: str) -> None:
    """An area preset's ``name:`` is its file's name, as it labels every run, folder and table; a copy of suburb.yaml
    saved as my_town.yaml that still said ``name: suburb`` would have put a planner's runs under suburb. ConfigError
    names the file; ``area.name=...`` given with it relabels on purpose."""
    keys = given(overrides)
    chosen = [preset_name(value) for key, value in keys if key == "area"]
    if chosen and not any(key == "area.name" for key, _ in keys) and name != chosen[-1]:
        raise ConfigError(
            f"configs/area/{chosen[-1]}.yaml says name: {name}; a preset's name is its file's, as it labels every run "
            f"and folder: set name: {chosen[-1]} in it"
        )


def grammar_message(overrides: Sequence[str]) -> str | None:
    """The first override Hydra's parser cannot read, named, with what it found there (None: all read); Hydra's own
    message may not name it, and lists the parser's tokens and a link."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for o in overrides:
        try:
            parser.parse_overrides([o])
        except Exception as exc:
            text = " ".join(str(exc).split()).split(" See https://")[0]
            found = re.sub(r" expecting (\{[^}]*\}|\S+)", "", re.sub(r"^Error parsing override '.*?' ", "", text))
            found = "" if found.startswith("LexerNoViableAltException") else f": {found}"
            return f"cannot read the override {o!r}{found} (an override is key=value, a list key=[a,b])"
    return None
