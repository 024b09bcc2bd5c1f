"""The one parameter declaration: every parameter with type, unit, default, bounds, doc, source.

Each field carries its metadata; validation, the documentation table, the sensitivity
problem and the app's sliders are all derived from here. Registered in Hydra's ConfigStore
as ``base_config``, so YAML files hold only presets and studies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


class ConfigError(ValueError):
    """A parameter value outside what is allowed; the message names parameter, value and range."""


def param(default: Any, unit: str, low: float | None, high: float | None, doc: str, source: str) -> Any:
    """Declare one parameter: its default and the metadata everything else derives from."""
    return field(
        default=default,
        metadata={"unit": unit, "low": low, "high": high, "doc": doc, "source": source},
    )


def _factory(cls: type) -> Any:
    return field(default_factory=cls)


@dataclass
class AreaParams:
    """Local conditions of one local police area (lokalpolisområde)."""

    name: str = param("default", "-", None, None, "Name of the area preset", "-")
    residents: int = param(5000, "persons", 100, 1_000_000, "Number of residents simulated", "assumption; a local police area sub-district")
    officers: int = param(12, "officers", 1, 200, "Community officers working the promise", "MODEL.md (10-30)")
    baseline_trust: float = param(0.52, "0-1 scale", 0.05, 0.95, "Mean trust in the police (förtroende) at the start; 0.52 gives about 55% with high confidence", "calibrated to NTU 2023 high-confidence share 54%, evidence.md §1")
    baseline_trygghet: float = param(0.605, "0-1 scale", 0.05, 0.95, "Mean perceived safety (trygghet) at the start; 0.605 gives about 27% feeling unsafe", "calibrated to NTU 2019-22 unsafe share 27-28%, evidence.md §1")
    baseline_delaktighet: float = param(0.47, "0-1 scale", 0.05, 0.95, "Mean delaktighet ('the police listen and act on what people like me say') at the start", "calibrated to 'police care about local problems' 40.5-47.6%, police region Syd, evidence.md §1")
    heterogeneity: float = param(8.0, "Beta concentration", 2.0, 50.0, "Concentration of the baseline Beta distributions (lower = more spread between residents)", "assumption")
    problems: int = param(5, "hot spots", 1, 12, "Local problems (hot spots) in the area", "MODEL.md (3-6)")
    problem_severity: float = param(0.4, "0-1 scale", 0.05, 0.95, "Mean baseline severity of the local problems", "assumption")
    problem_reach_cells: float = param(4.0, "grid cells", 0.5, 30.0, "Distance over which a problem is felt (exponential kernel length)", "assumption")
    ties_per_resident: int = param(6, "ties", 0, 30, "Social ties per resident for word of mouth (0 = none)", "assumption")
    local_tie_share: float = param(0.8, "share", 0.0, 1.0, "Share of ties inside the resident's own neighbourhood", "assumption (spatial small world)")
    cells_per_side: int = param(30, "cells", 6, 300, "Side of the square grid residents live on", "assumption")
    neighbourhoods_per_side: int = param(3, "neighbourhoods", 1, 10, "Neighbourhoods per side (the grid is cut into n x n neighbourhoods)", "assumption")


@dataclass
class PoliceParams:
    """How the police staff and run the promise work."""

    effort: float = param(1.0, "actual/planned time", 0.0, 1.5, "Share of the planned promise hours the organisation actually makes available", "Brå 2018:14: less time than planned; level is an assumption")
    planned_hours_per_week: float = param(40.0, "officer-hours/week", 0.0, 400.0, "Planned promise hours a week for the whole team (ambition)", "assumption")
    training: float = param(0.5, "0-1", 0.0, 1.0, "Training in the method: sets how fast officers learn it", "Brå 2018:14 recommendation 2; level is an assumption")
    priority: float = param(0.7, "0-1", 0.0, 1.0, "Clarity of leadership priority for the promise work", "Brå 2018:14 recommendation 1; level is an assumption")
    turnover_per_year: float = param(0.15, "share/year", 0.0, 0.6, "Officers leaving the promise work a year (leaving the police plus local moves)", "4.1-4.4% leave, evidence.md §6, plus 10-25% local moves (assumption)")
    competing_demand: float = param(0.2, "share", 0.0, 0.9, "Mean share of promise hours lost to acute demand in a week", "assumption")
    attitude: float = param(0.5, "0-1", 0.0, 1.0, "Mean starting attitude of officers toward the promise work (0.5 neutral)", "Brå 2018:14 found negative attitudes; level is an assumption")


@dataclass
class PromiseParams:
    """The promise cycle: dialogue, problem picture, promise, implementation."""

    active: bool = param(True, "-", None, None, "Whether the area works with a promise at all (false = the counterfactual)", "-")
    period_weeks: int = param(52, "weeks", 8, 156, "Length of one promise cycle", "yearly cycle, evidence.md §5")
    actions: int = param(3, "actions", 1, 12, "Promised actions per cycle (ambition); each targets one problem", "assumption")
    action_hours_per_week: float = param(12.0, "hours/week", 1.0, 100.0, "Work an action needs each week to count as kept", "assumption")
    citizen_weight: float = param(0.5, "0-1", 0.0, 1.0, "Weight of the citizens' problem picture against police records", "Brå 2018:14 (combine problembilder); level is an assumption")
    outreach: float = param(0.5, "0-1", 0.0, 1.0, "Dialogue outreach effort (meetings, walks, surveys)", "assumption")
    dialogue_hours: float = param(80.0, "officer-hours/cycle", 0.0, 2000.0, "Officer hours each dialogue and drafting round costs before a promise can be issued", "assumption")
    publicity: float = param(0.1, "share", 0.0, 1.0, "Share of residents who learn of a new promise when it is published", "assumption")


@dataclass
class FeedbackParams:
    """Feedback (återkoppling) to citizens and to staff."""

    interval_weeks: int = param(13, "weeks", 0, 104, "Weeks between feedback rounds to citizens (0 = no feedback)", "assumption; quarterly newsletters, Hohl et al. 2010, evidence.md §4")
    reach: float = param(0.3, "share", 0.0, 1.0, "Share of residents a feedback round reaches", "assumption")
    staff: float = param(0.5, "0-1", 0.0, 1.0, "Intensity of feedback to staff on what the promise achieved", "Brå 2018:14 (deficient staff feedback); level is an assumption")
    staff_interval_weeks: int = param(13, "weeks", 1, 104, "Weeks between feedback rounds to staff (its own schedule, so citizens' feedback leaves officers' work unchanged)", "assumption; quarterly staff briefings")
    expectation: float = param(0.6, "share delivered", 0.0, 1.0, "Share of the promise residents expect to see delivered", "assumption")


@dataclass
class PartnersParams:
    """The municipality as partner owning part of the promised actions."""

    share: float = param(0.3, "share", 0.0, 0.9, "Share of each action's work owned by partners", "assumption")
    reliability: float = param(0.8, "probability/week", 0.0, 1.0, "Chance a partner delivers its share in a given week", "assumption")


@dataclass
class BehaviourParams:
    """How residents, officers and problems respond: the model's behavioural coefficients."""

    trust_memory_weeks: float = param(78.0, "weeks", 13.0, 520.0, "Time over which a change in trust fades back toward the resident's baseline", "assumption (persistence not found, evidence.md §6)")
    delaktighet_memory_weeks: float = param(104.0, "weeks", 13.0, 520.0, "Time over which a change in delaktighet fades", "assumption")
    trygghet_inertia_weeks: float = param(52.0, "weeks", 4.0, 520.0, "Time trygghet takes to follow what a resident is exposed to", "assumption; fear of crime moves little, evidence.md §2")
    awareness_memory_weeks: float = param(52.0, "weeks", 4.0, 520.0, "Mean time a resident remembers the promise", "assumption")
    participation_base: float = param(0.02, "probability", 0.0, 0.5, "Dialogue participation at full outreach for a resident with zero trust and delaktighet", "assumption")
    participation_delaktighet: float = param(0.15, "probability", 0.0, 1.0, "Added participation per unit delaktighet at full outreach", "assumption")
    participation_trust: float = param(0.05, "probability", 0.0, 1.0, "Added participation per unit trust at full outreach", "assumption")
    participation_bonus: float = param(0.02, "0-1 scale", 0.0, 0.2, "Delaktighet gained by taking part in a dialogue", "Mazerolle et al. 2013, evidence.md §3; size assumption")
    contacts_per_hour: float = param(0.5, "contacts/hour", 0.0, 5.0, "Resident contacts per hour of police promise work", "assumption")
    good_contact: float = param(0.02, "0-1 scale", 0.0, 0.1, "Trust gained from a good contact", "evidence.md suggested defaults (0 to a few %)")
    bad_contact_ratio: float = param(5.0, "ratio", 1.0, 14.0, "Size of a bad contact's effect relative to a good one", "Skogan 2006 (4-14x), evidence.md §3")
    bad_contact_base: float = param(0.15, "probability", 0.0, 0.5, "Chance a contact goes badly with an untrained, indifferent officer", "assumption")
    feedback_trust: float = param(0.06, "0-1 scale", 0.0, 0.5, "Trust change per unit of (delivered - expected) for a resident a feedback round reaches", "calibrated to +1-3 pp per round, evidence.md §4")
    feedback_delaktighet: float = param(0.1, "0-1 scale", 0.0, 0.5, "Delaktighet change per unit of (delivered - expected) for a reached resident", "calibrated to Hohl et al. 2010 (engagement), evidence.md §4")
    feedback_information: float = param(0.01, "0-1 scale", 0.0, 0.1, "Delaktighet gained from being told at all ('you said, we did')", "Wünsch & Hohl 2009, evidence.md §4; size assumption")
    broken_promise_ratio: float = param(2.0, "ratio", 1.0, 5.0, "Weight of a shortfall against expectation relative to a surplus", "assumption, by analogy with Skogan 2006")
    feedback_novelty_weeks: float = param(13.0, "weeks", 1.0, 104.0, "Habituation: a feedback round counts 1 - exp(-weeks since the resident last heard one / this) of its full effect", "assumption; keeps effects per round near +1-3 pp, evidence.md §4")
    heard_bonus: float = param(0.06, "0-1 scale", 0.0, 0.3, "Delaktighet for a participant whose concern was promised, times the delivery ratio", "MODEL.md; size assumption")
    attribution_aware: float = param(1.0, "weight", 0.0, 1.0, "Credit given to the police for visible work by a resident aware of the promise", "MODEL.md (attribution); assumption")
    attribution_unaware: float = param(0.15, "weight", 0.0, 1.0, "Credit given by a resident unaware of the promise", "MODEL.md (attribution); assumption")
    visible_work_trust: float = param(0.0015, "0-1 scale/week", 0.0, 0.02, "Weekly trust gain per unit of visible work near home, times attribution", "assumption")
    visible_work_trygghet: float = param(0.05, "0-1 scale", 0.0, 0.5, "Trygghet target per unit of visible presence near home, times attribution", "assumption; fear of crime moves little, evidence.md §2")
    exposure_trygghet: float = param(0.5, "0-1 scale", 0.0, 2.0, "Trygghet lost per unit rise in problem exposure near home", "assumption")
    trust_trygghet: float = param(0.2, "ratio", 0.0, 1.0, "Share of a trust change carried into trygghet", "assumption")
    word_of_mouth: float = param(0.05, "share/week", 0.0, 0.5, "Weekly pull of a resident's changes toward its ties' changes", "assumption")
    word_of_mouth_awareness: float = param(0.015, "probability/week", 0.0, 0.5, "Weekly chance of learning of the promise if all ties know of it", "calibrated to about one in four aware, evidence.md §5")
    contact_awareness: float = param(0.5, "probability", 0.0, 1.0, "Chance that a contact tells the resident about the promise", "assumption")
    officer_learning_weeks: float = param(26.0, "weeks", 4.0, 260.0, "Time a fully trained officer takes to learn the method", "assumption")
    officer_attitude_weeks: float = param(26.0, "weeks", 4.0, 260.0, "Time over which an officer's attitude follows knowledge and priority", "assumption")
    staff_feedback_lift: float = param(0.1, "0-1 scale", 0.0, 0.5, "Attitude lift per feedback round to staff at full intensity", "Brå 2018:14 (staff feedback); size assumption")
    problem_memory_weeks: float = param(26.0, "weeks", 2.0, 260.0, "Time a problem's severity takes to revert toward its baseline", "assumption")
    work_effect: float = param(0.007, "share/week", 0.0, 0.1, "Largest weekly share of a problem's severity removed by work on it", "calibrated so full implementation lowers area crime about 6% in year two and targeted problems about 10% (hot spots -8%, Braga & Weisburd 2022, evidence.md §2)")
    work_half_hours: float = param(20.0, "hours/week", 1.0, 200.0, "Weekly work on a problem giving half the largest effect (diminishing returns)", "assumption")
    severity_noise: float = param(0.03, "share/week", 0.0, 0.3, "Weekly random variation of a problem's severity", "assumption")
    crime_rate: float = param(2.0, "crimes/1000 residents/week", 0.0, 50.0, "Recorded crimes a week per 1000 residents at severity 1 and full recordability", "assumption")


@dataclass
class SurveyParams:
    """The virtual survey an evaluator would run (Brå recommendation 5)."""

    sample_size: int = param(1000, "persons", 20, 100_000, "Residents invited to the survey", "assumption; NTU-like local survey")
    response_rate: float = param(0.4, "share", 0.05, 1.0, "Share of invited residents who answer", "assumption")
    noise: float = param(0.1, "0-1 scale", 0.0, 0.5, "Standard deviation of measurement error in an answer", "assumption")


@dataclass
class Config:
    """A whole run: area, levers, behaviour, survey and run settings."""

    seed: int = param(2018, "-", 0, 2**31 - 1, "Master seed; replication seeds are spawned from it", "-")
    replications: int = param(10, "runs", 1, 10_000, "Replications (independent runs) of the scenario", "-")
    horizon_weeks: int = param(156, "weeks", 1, 1040, "Weeks simulated (156 = three yearly cycles)", "MODEL.md")
    scenario: str = param("observed_2018", "-", None, None, "Name of the scenario preset", "-")
    area: AreaParams = _factory(AreaParams)
    police: PoliceParams = _factory(PoliceParams)
    promise: PromiseParams = _factory(PromiseParams)
    feedback: FeedbackParams = _factory(FeedbackParams)
    partners: PartnersParams = _factory(PartnersParams)
    behaviour: BehaviourParams = _factory(BehaviourParams)
    survey: SurveyParams = _factory(SurveyParams)


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter, flattened: dotted name plus its metadata."""

    name: str
    type: type
    default: Any
    unit: str
    low: float | None
    high: float | None
    doc: str
    source: str


def iter_params(cls: type = Config, prefix: str = "") -> Iterator[ParamSpec]:
    """Yield every leaf parameter of the declaration, depth first, with dotted names."""
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(f.type) or f.default_factory is not dataclasses.MISSING:
            yield from iter_params(f.default_factory().__class__, prefix=f"{name}.")
            continue
        m = f.metadata
        ftype = {"int": int, "float": float, "bool": bool, "str": str}.get(f.type, f.type) if isinstance(f.type, str) else f.type
        yield ParamSpec(name, ftype, f.default, m["unit"], m["low"], m["high"], m["doc"], m["source"])


PARAMS: dict[str, ParamSpec] = {p.name: p for p in iter_params()}


def _lookup(cfg: Any, dotted: str) -> Any:
    node = cfg
    for part in dotted.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def allowed(spec: ParamSpec) -> str:
    """Plain words for what a parameter accepts."""
    kind = {int: "a whole number", float: "a number", bool: "true or false", str: "a text"}[spec.type]
    if spec.low is None:
        return kind
    def num(v: float) -> str:
        return f"{v:,}" if spec.type is int else f"{v:g}"

    return f"{kind} from {num(spec.low)} to {num(spec.high)}"


def validate(cfg: Any) -> None:
    """Check every parameter against its declared bounds; raise ConfigError naming the first bad one."""
    for spec in PARAMS.values():
        value = _lookup(cfg, spec.name)
        if spec.type is bool:
            ok = isinstance(value, bool)
        elif spec.type is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif spec.type is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if ok and spec.low is not None:
            ok = spec.low <= value <= spec.high
        if not ok:
            raise ConfigError(f"invalid value for {spec.name}: {value!r} (allowed: {allowed(spec)}; unit: {spec.unit})")


def register() -> None:
    """Register the schema in Hydra's ConfigStore as ``base_config``."""
    ConfigStore.instance().store(name="base_config", node=Config)
