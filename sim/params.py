"""The one parameter declaration: every parameter with type, unit, default, bounds, role, doc, source.

Each field carries its metadata; validation, the documentation table, the sensitivity
problem, the calibration's priors and the app's sliders are all derived from here.
Registered in Hydra's ConfigStore as ``base_config``, so YAML files hold only presets and
studies.

Every parameter has one of three roles:

- **lever**: what a planner chooses (effort, hours, actions, feedback interval, ...);
- **uncertain**: a behavioural coefficient nobody has measured well; it carries a *prior*
  (distribution, range, why) that the calibration (``experiments/calibrate.py``) narrows to
  a posterior against the targets in ``configs/targets.yaml``;
- **setting**: a local condition, a run setting or a modelling choice held fixed.

Sources cite ``docs/evidence.md`` (the published figures, in this project's words) by section.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

ROLES = ("lever", "uncertain", "setting")
UNCERTAINTY_MODES = ("fixed", "posterior")


class ConfigError(ValueError):
    """A parameter value outside what is allowed; the message names parameter, value and range."""


@dataclass(frozen=True)
class Prior:
    """What is believed about an uncertain coefficient before calibration: a distribution on [low, high] and why."""

    dist: str  # "uniform" or "loguniform"
    low: float
    high: float
    why: str

    def text(self) -> str:
        return f"{self.dist}({self.low:g}, {self.high:g})"


def _param(
    default: Any, unit: str, low: Any, high: Any, doc: str, source: str, role: str, prior: Prior | None, choices=None
) -> Any:
    meta = {"unit": unit, "low": low, "high": high, "doc": doc, "source": source, "role": role, "prior": prior}
    return field(default=default, metadata={**meta, "choices": choices})


def lever(default: Any, unit: str, low: Any, high: Any, doc: str, source: str) -> Any:
    """A parameter a planner chooses."""
    return _param(default, unit, low, high, doc, source, "lever", None)


def setting(default: Any, unit: str, low: Any, high: Any, doc: str, source: str, choices: tuple | None = None) -> Any:
    """A local condition, run setting or modelling choice, held fixed (a text setting may list its choices)."""
    return _param(default, unit, low, high, doc, source, "setting", None, choices)


def uncertain(default: Any, unit: str, low: Any, high: Any, doc: str, source: str, prior: tuple) -> Any:
    """A behavioural coefficient with a prior ``(dist, low, high, why)`` inside the allowed range."""
    return _param(default, unit, low, high, doc, source, "uncertain", Prior(*prior))


def _factory(cls: type) -> Any:
    return field(default_factory=cls)


@dataclass
class AreaParams:
    """Local conditions of one local police area (lokalpolisområde)."""

    name: str = setting("default", "-", None, None, "Name of the area preset (letters, digits, '_' and '-')", "-")
    residents: int = setting(5000, "persons", 100, 1_000_000, "Number of residents simulated", "assumption; a local police area sub-district")
    officers: int = setting(12, "officers", 1, 200, "Community officers working the promise", "assumption (10-30 in a local police area)")
    baseline_trust: float = setting(0.52, "0-1 scale", 0.05, 0.95, "Mean trust in the police (förtroende) at the start; 0.52 gives about 55% with high confidence", "calibrated to target T1 (NTU 2023 high-confidence share 54%), evidence.md §1")
    baseline_trygghet: float = setting(0.605, "0-1 scale", 0.05, 0.95, "Mean perceived safety (trygghet) at the start; 0.605 gives about 27% feeling unsafe", "calibrated to target T2 (NTU 2019-22 unsafe share 27-28%), evidence.md §1")
    baseline_delaktighet: float = setting(0.47, "0-1 scale", 0.05, 0.95, "Mean delaktighet ('the police listen and act on what people like me say') at the start", "calibrated to target T3 ('police care about local problems' 40.5-47.6%, police region Syd), evidence.md §1")
    heterogeneity: float = setting(8.0, "Beta concentration", 2.0, 50.0, "Concentration of the baseline Beta distributions (lower = more spread between residents)", "assumption")
    problems: int = setting(5, "hot spots", 1, 12, "Local problems (hot spots) in the area", "assumption (3-6 local problems)")
    problem_severity: float = setting(0.4, "0-1 scale", 0.05, 0.95, "Mean baseline severity of the local problems", "assumption")
    problem_spread: float = setting(0.3, "sd of a factor", 0.0, 0.6, "Spread of problem baselines: severity x a factor ~ N(1, this), kept in [0.4, 1.6]", "assumption")
    visibility_min: float = setting(0.2, "share", 0.0, 1.0, "Least visibility of a problem to residents (visibility ~ U(this, 1))", "assumption: the citizens' and police's pictures differ, Brå 2018:14")
    recordability_min: float = setting(0.2, "share", 0.0, 1.0, "Least recordability of a problem in police statistics (~ U(this, 1))", "assumption: the citizens' and police's pictures differ, Brå 2018:14")
    problem_reach_cells: float = setting(4.0, "grid cells", 0.5, 30.0, "Distance over which a problem is felt (exponential kernel length)", "assumption")
    ties_per_resident: int = setting(6, "ties", 0, 30, "Social ties per resident for word of mouth (0 = none)", "assumption")
    local_tie_share: float = setting(0.8, "share", 0.0, 1.0, "Share of ties inside the resident's own neighbourhood", "assumption (spatial small world)")
    cells_per_side: int = setting(30, "cells", 6, 300, "Side of the square grid residents live on", "assumption")
    neighbourhoods_per_side: int = setting(3, "neighbourhoods", 1, 10, "Neighbourhoods per side (the grid is cut into n x n neighbourhoods)", "assumption")


@dataclass
class PoliceParams:
    """How the police staff and run the promise work."""

    effort: float = lever(1.0, "actual/planned time", 0.0, 1.5, "Share of the planned promise hours the organisation actually makes available", "Brå 2018:14: less time than planned (evidence.md §5); level is an assumption")
    planned_hours_per_week: float = lever(40.0, "officer-hours/week", 0.0, 400.0, "Planned promise hours a week for the whole team (ambition)", "assumption")
    training: float = lever(0.5, "0-1", 0.0, 1.0, "Training in the method: sets how fast officers learn it", "Brå 2018:14 recommendation 2; level is an assumption")
    priority: float = lever(0.7, "0-1", 0.0, 1.0, "Clarity of leadership priority for the promise work", "Brå 2018:14 recommendation 1; level is an assumption")
    turnover_per_year: float = lever(0.15, "share/year", 0.0, 0.6, "Officers leaving the promise work a year (leaving the police plus local moves)", "4.1-4.4% leave the police, evidence.md §6, plus 10-25% local moves (assumption)")
    competing_demand: float = lever(0.2, "share", 0.0, 0.9, "Mean share of promise hours lost to acute demand in a week", "assumption")
    attitude: float = setting(0.5, "0-1", 0.0, 1.0, "Mean starting attitude of officers toward the promise work (0.5 neutral)", "Brå 2018:14 found negative attitudes; level is an assumption")
    hours_per_officer: float = setting(8.0, "hours/week", 1.0, 60.0, "Most promise hours one officer can give in a week (the rest of the week is other duty)", "assumption: about a fifth of a community officer's week; they also carry other duties")
    starting_knowledge: float = setting(0.5, "share of training", 0.0, 1.0, "Starting officers' knowledge of the method, as a share of the training level", "assumption")
    attitude_concentration: float = setting(6.0, "Beta concentration", 1.0, 100.0, "Concentration of the Beta distribution officers' attitudes are drawn from", "assumption")
    acute_concentration: float = setting(5.0, "Beta concentration", 1.0, 100.0, "Concentration of the Beta distribution of the weekly share lost to acute demand", "assumption")


@dataclass
class PromiseParams:
    """The promise cycle: dialogue, problem picture, promise, implementation."""

    active: bool = lever(True, "-", None, None, "Whether the area works with a promise at all (false = the counterfactual)", "-")
    period_weeks: int = lever(52, "weeks", 8, 156, "Length of one promise cycle", "yearly cycle, evidence.md §5")
    actions: int = lever(3, "actions", 1, 12, "Promised actions per cycle (ambition); each targets one problem", "assumption")
    action_hours_per_week: float = setting(12.0, "hours/week", 1.0, 100.0, "Work an action needs each week to count as kept", "assumption")
    citizen_weight: float = lever(0.5, "0-1", 0.0, 1.0, "Weight of the citizens' problem picture against police records", "Brå 2018:14 (combine problembilder); level is an assumption")
    outreach: float = lever(0.5, "0-1", 0.0, 1.0, "Dialogue outreach effort (meetings, walks, surveys)", "assumption")
    dialogue_hours: float = setting(80.0, "officer-hours/cycle", 0.0, 2000.0, "Officer hours each dialogue and drafting round costs before a promise can be issued", "assumption")
    publicity: float = lever(0.1, "share", 0.0, 1.0, "Share of residents who learn of a new promise when it is published", "assumption")


@dataclass
class FeedbackParams:
    """Feedback (återkoppling) to citizens and to staff."""

    interval_weeks: int = lever(13, "weeks", 0, 104, "Weeks between feedback rounds to citizens (0 = no feedback)", "assumption; quarterly newsletters, Hohl et al. 2010, evidence.md §4")
    reach: float = lever(0.3, "share", 0.0, 1.0, "Share of residents a feedback round reaches", "assumption; 53-63% recalled a newsletter, Pate et al. 1985, evidence.md §4")
    staff: float = lever(0.5, "0-1", 0.0, 1.0, "Intensity of feedback to staff on what the promise achieved", "Brå 2018:14 (deficient staff feedback); level is an assumption")
    staff_interval_weeks: int = lever(13, "weeks", 1, 104, "Weeks between feedback rounds to staff (its own schedule, so citizens' feedback leaves officers' work unchanged)", "assumption; quarterly staff briefings")
    expectation: float = uncertain(0.747, "share delivered", 0.0, 1.0, "Share of the promise residents expect to see delivered", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.3, 0.9, "no measurement; residents who were promised something expect most but not all of it"))


@dataclass
class PartnersParams:
    """The municipality as partner owning part of the promised actions."""

    share: float = lever(0.3, "share", 0.0, 0.9, "Share of each action's work owned by partners", "assumption")
    reliability: float = lever(0.8, "probability/week", 0.0, 1.0, "Chance a partner delivers its share in a given week", "assumption")


@dataclass
class BehaviourParams:
    """How residents, officers and problems respond: the model's behavioural coefficients (mostly uncertain)."""

    trust_memory_weeks: float = uncertain(29.9, "weeks", 13.0, 520.0, "Time over which a change in trust fades back toward the resident's baseline", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 13.0, 156.0, "views recovered 6-9 months after an intervention ended (Kochel & Weisburd 2017, evidence.md §7); widened up to three years"))
    delaktighet_memory_weeks: float = uncertain(61.7, "weeks", 13.0, 520.0, "Time over which a change in delaktighet fades", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 13.0, 260.0, "no measurement; same order as trust, widened"))
    trygghet_inertia_weeks: float = uncertain(43.5, "weeks", 4.0, 520.0, "Time trygghet takes to follow what a resident is exposed to", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 13.0, 156.0, "fear of crime moves slowly and little (evidence.md §2)"))
    awareness_memory_weeks: float = uncertain(30.6, "weeks", 4.0, 520.0, "Mean time a resident remembers the promise", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 13.0, 156.0, "no measurement; a quarter to three years"))
    participation_base: float = uncertain(0.0226, "probability", 0.0, 0.5, "Dialogue participation at full outreach for a resident with zero trust and delaktighet", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.05, "dialogues reach few residents (Brå 2018:14 surveyed participants separately)"))
    participation_delaktighet: float = uncertain(0.146, "probability", 0.0, 1.0, "Added participation per unit delaktighet at full outreach", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.3, "participation rises with efficacy; size unknown"))
    participation_trust: float = uncertain(0.0752, "probability", 0.0, 1.0, "Added participation per unit trust at full outreach", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.15, "participation rises with trust (evidence.md §5); size unknown"))
    participation_bonus: float = uncertain(0.0275, "0-1 scale", 0.0, 0.2, "Delaktighet gained by taking part in a dialogue", "calibrated to targets T5-T15: posterior median (docs/calibration.md); was Mazerolle et al. 2013, evidence.md §3; size assumption", ("uniform", 0.0, 0.05, "procedurally just police-led dialogue helps (Mazerolle et al. 2013); size unknown"))
    contacts_per_hour: float = uncertain(0.817, "contacts/hour", 0.0, 5.0, "Resident contacts per hour of police promise work", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.2, 1.5, "a few contacts an hour on the street; no measurement"))
    good_contact: float = uncertain(0.00505, "0-1 scale", 0.0, 0.1, "Trust gained from a good contact", "calibrated to targets T5-T15: posterior median (docs/calibration.md); was Skogan 2006, Bradford et al. 2009, evidence.md §3", ("uniform", 0.0, 0.01, "good contacts about nothing (Skogan 2006) to a small positive effect (Bradford et al. 2009)"))
    bad_contact_ratio: float = uncertain(8.96, "ratio", 1.0, 14.0, "Size of a bad contact's effect relative to a good one", "calibrated to targets T5-T15: posterior median (docs/calibration.md); was Skogan 2006 (4-14x), evidence.md §3", ("uniform", 4.0, 14.0, "a bad experience has 4-14 times the impact of a good one (Skogan 2006)"))
    bad_contact_base: float = uncertain(0.257, "probability", 0.0, 0.6, "Chance a contact goes badly with an untrained, indifferent officer", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.1, 0.4, "no Swedish figure; victims' satisfaction with treatment is 53% (NTU 2021, evidence.md §1)"))
    contact_quality_slope: float = uncertain(0.548, "share", 0.0, 1.0, "Share of bad contacts a fully knowledgeable, committed officer avoids (procedural justice)", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.2, 0.9, "procedural justice training improves contacts (Mazerolle et al. 2013); size unknown"))
    feedback_trust: float = uncertain(0.097, "0-1 scale", 0.0, 0.5, "Trust change per unit of (delivered - expected) for a resident a feedback round reaches", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.2, "information effects on confidence are marginal to strong (evidence.md §4): lower end at zero"))
    feedback_delaktighet: float = uncertain(0.119, "0-1 scale", 0.0, 0.5, "Delaktighet change per unit of (delivered - expected) for a reached resident", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.3, "newsletters act mainly on perceived engagement (Hohl et al. 2010; Quinton 2011): direction known, size not"))
    feedback_information: float = uncertain(0.0181, "0-1 scale", 0.0, 0.1, "Delaktighet gained from being told at all ('you said, we did')", "calibrated to targets T5-T15: posterior median (docs/calibration.md); was Wünsch & Hohl 2009, evidence.md §4", ("uniform", 0.0, 0.04, "information alone moved 'community-oriented' by about 3% (Quinton 2011)"))
    feedback_relevance: float = uncertain(0.529, "weight", 0.0, 1.0, "Weight of a feedback round for a reached resident whose own concern was not among the promised problems (1 = as much as if it were)", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.2, 1.0, "'you said, we did' matters most when it is about what you said (Hohl et al. 2010)"))
    broken_promise_ratio: float = uncertain(2.68, "ratio", 1.0, 5.0, "Weight of a shortfall against expectation relative to a surplus", "calibrated to targets T5-T15: posterior median (docs/calibration.md); was assumption, by analogy with Skogan 2006", ("uniform", 1.0, 4.0, "negativity bias as for contacts (Skogan 2006), weaker for news than for experience"))
    feedback_novelty_weeks: float = uncertain(11.8, "weeks", 0.0, 104.0, "Habituation: a feedback round counts 1 - exp(-weeks since the resident last heard one / this) of its full effect (0 = no habituation)", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 2.0, 52.0, "repeated newsletters are recalled less (Pate et al. 1985); size unknown"))
    heard_bonus: float = uncertain(0.0752, "0-1 scale", 0.0, 0.3, "Delaktighet for a participant whose concern was promised, times the delivery ratio", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.15, "participants who hear their concern was acted on gain most (docs/model.md §4); size unknown"))
    attribution_aware: float = setting(1.0, "weight", 0.0, 1.0, "Credit given to the police for visible work by a resident aware of the promise (the scale of credit)", "definition: visible_work_trust carries the size")
    attribution_unaware: float = uncertain(0.266, "weight", 0.0, 1.0, "Credit given by a resident unaware of the promise, relative to an aware one", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.6, "residents credit what they can attribute (docs/model.md §4); how much less without knowing is unknown"))
    visible_work_trust: float = uncertain(0.0199, "0-1 scale/week", 0.0, 0.2, "Weekly trust gain per unit of visible work or improvement near home, times attribution", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.06, "community-oriented work raises satisfaction and legitimacy (Gill et al. 2014); size unknown"))
    visible_work_trygghet: float = uncertain(0.0732, "0-1 scale", 0.0, 0.5, "Trygghet target per unit of visible presence near home, times attribution", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.15, "fear of crime moves little (Gill et al. 2014; Hinkle et al. 2020)"))
    exposure_trygghet: float = uncertain(0.602, "0-1 scale", 0.0, 2.0, "Trygghet lost per unit rise in problem exposure near home", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.1, 1.0, "living near problems lowers trygghet; size unknown"))
    trust_trygghet: float = uncertain(0.197, "ratio", 0.0, 1.0, "Share of a trust change carried into trygghet", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.4, "trust and safety go together in NTU; causal share unknown"))
    word_of_mouth: float = uncertain(0.0794, "share/week", 0.0, 0.5, "Weekly pull of a resident's changes toward its ties' changes", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.15, "opinions spread slowly along ties; size unknown"))
    word_of_mouth_awareness: float = uncertain(0.00786, "probability/week", 0.0, 0.5, "Weekly chance of learning of the promise if all ties know of it", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 0.002, 0.06, "wide: fitted to target T6 (about one in four aware)"))
    contact_awareness: float = uncertain(0.46, "probability", 0.0, 1.0, "Chance that a contact tells the resident about the promise", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.1, 0.9, "no measurement"))
    officer_learning_weeks: float = uncertain(23.9, "weeks", 0.0, 260.0, "Time a fully trained officer takes to learn the method (0 = officers never learn)", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 8.0, 104.0, "two months to two years"))
    learning_training_share: float = uncertain(0.688, "share", 0.0, 1.0, "Share of learning that comes from training; the rest from a clear priority", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.4, 1.0, "Brå 2018:14 names training first (recommendation 2)"))
    officer_attitude_weeks: float = uncertain(27.4, "weeks", 4.0, 260.0, "Time over which an officer's attitude follows knowledge and priority", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 8.0, 104.0, "two months to two years"))
    attitude_knowledge_slope: float = uncertain(0.266, "0-1 scale", 0.0, 1.0, "Attitude gained per unit of knowledge of the method (around 0.5)", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.6, "Brå 2018:14 links negative attitudes to poor knowledge"))
    attitude_priority_slope: float = uncertain(0.306, "0-1 scale", 0.0, 1.0, "Attitude gained per unit of leadership priority (around 0.5)", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.0, 0.6, "Brå 2018:14 links negative attitudes to unclear priority"))
    engagement_floor: float = uncertain(0.591, "share", 0.0, 1.0, "Share of available hours put into the promise by an officer with neither a positive attitude nor a clear priority", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("uniform", 0.3, 0.9, "Brå 2018:14: less time than planned, partly from unclear priority"))
    staff_feedback_lift: float = uncertain(0.102, "0-1 scale", 0.0, 0.5, "Attitude lift per feedback round to staff at full intensity", "calibrated to targets T5-T15: posterior median (docs/calibration.md); was Brå 2018:14 (staff feedback); size assumption", ("uniform", 0.0, 0.2, "Brå 2018:14 names deficient staff feedback; size unknown"))
    problem_memory_weeks: float = uncertain(29.9, "weeks", 2.0, 260.0, "Time a problem's severity takes to revert toward its baseline", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 8.0, 104.0, "hot-spot effects decay within months once work stops (evidence.md §2)"))
    work_effect: float = uncertain(0.00525, "share/week", 0.0, 0.1, "Largest weekly share of a problem's severity removed by work on it", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 0.001, 0.03, "wide: fitted to target T9 (hot-spot and problem-oriented effects)"))
    work_half_hours: float = uncertain(21.3, "hours/week", 1.0, 200.0, "Weekly work on a problem giving half the largest effect (diminishing returns)", "calibrated to targets T5-T15: posterior median (docs/calibration.md)", ("loguniform", 5.0, 60.0, "no measurement"))
    severity_noise: float = setting(0.03, "share/week", 0.0, 0.3, "Weekly random variation of a problem's severity", "assumption")
    crime_rate: float = setting(2.0, "crimes/1000 residents/week", 0.0, 50.0, "Recorded crimes a week per 1000 residents at severity 1 and full recordability", "assumption")


@dataclass
class SurveyParams:
    """The virtual survey an evaluator would run (Brå recommendation 5)."""

    sample_size: int = setting(1000, "persons", 20, 100_000, "Residents invited to the survey", "assumption; NTU-like local survey")
    response_rate: float = setting(0.4, "share", 0.05, 1.0, "Share of invited residents who answer", "assumption")
    noise: float = setting(0.1, "0-1 scale", 0.0, 0.5, "Standard deviation of measurement error in an answer", "assumption")


@dataclass
class Config:
    """A whole run: area, levers, behaviour, survey and run settings."""

    seed: int = setting(2018, "-", 0, 2**31 - 1, "Master seed; replication seeds are spawned from it", "-")
    replications: int = setting(10, "runs", 1, 10_000, "Replications (independent runs) of the scenario", "-")
    horizon_weeks: int = setting(156, "weeks", 1, 1040, "Weeks simulated (156 = three yearly cycles)", "three yearly cycles")
    scenario: str = setting("observed_2018", "-", None, None, "Name of the scenario preset (letters, digits, '_' and '-')", "-")
    uncertainty: str = setting("fixed", "-", None, None, "fixed: every replication uses the declared values (replication noise only); posterior: replication r uses posterior draw r of the calibrated coefficients (parameter and replication uncertainty)", "docs/calibration.md", choices=UNCERTAINTY_MODES)
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
    role: str
    prior: Prior | None = None
    choices: tuple | None = None


def iter_params(cls: type = Config, prefix: str = "") -> Iterator[ParamSpec]:
    """Yield every leaf parameter of the declaration, depth first, with dotted names."""
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        if f.default_factory is not dataclasses.MISSING:
            yield from iter_params(f.default_factory().__class__, prefix=f"{name}.")
            continue
        m = f.metadata
        ftype = {"int": int, "float": float, "bool": bool, "str": str}.get(f.type, f.type) if isinstance(f.type, str) else f.type
        yield ParamSpec(name, ftype, f.default, m["unit"], m["low"], m["high"], m["doc"], m["source"], m["role"], m["prior"], m["choices"])


PARAMS: dict[str, ParamSpec] = {p.name: p for p in iter_params()}
UNCERTAIN: tuple[str, ...] = tuple(p.name for p in PARAMS.values() if p.role == "uncertain")
NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _lookup(cfg: Any, dotted: str) -> Any:
    node = cfg
    for part in dotted.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def allowed(spec: ParamSpec) -> str:
    """Plain words for what a parameter accepts."""
    if spec.choices:
        return "one of " + ", ".join(spec.choices)
    kind = {int: "a whole number", float: "a number", bool: "true or false", str: "a name of letters, digits, '_' and '-'"}[spec.type]
    if spec.low is None:
        return kind

    def num(v: float) -> str:
        return f"{v:,}" if spec.type is int else f"{v:g}"

    return f"{kind} from {num(spec.low)} to {num(spec.high)}"


def accepts(spec: ParamSpec, value: Any) -> bool:
    """Whether a value has the parameter's type and lies in its range (NumPy numbers count as numbers)."""
    import numbers

    if spec.type is bool:
        ok = isinstance(value, bool)
    elif spec.type is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif spec.type is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value
    elif spec.choices:
        ok = value in spec.choices
    else:
        ok = isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= NAME_CHARS
    if ok and spec.low is not None:
        ok = spec.low <= value <= spec.high
    return ok


def validate(cfg: Any) -> None:
    """Check every parameter against its declared type and bounds; raise ConfigError naming the first bad one."""
    for spec in PARAMS.values():
        value = _lookup(cfg, spec.name)
        if not accepts(spec, value):
            raise ConfigError(f"invalid value for {spec.name}: {value!r} (allowed: {allowed(spec)}; unit: {spec.unit})")


def register() -> None:
    """Register the schema in Hydra's ConfigStore as ``base_config``."""
    ConfigStore.instance().store(name="base_config", node=Config)
