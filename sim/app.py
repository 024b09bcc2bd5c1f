"""The trainer's live app: `make app` (solara run sim/app.py on 127.0.0.1).

Only the page lives here; the model imports without it. Every browser session gets its own model,
so a room of trainees can each step their own run. A trainer picks an area and a scenario (which
moves the sliders to the scenario's values), adjusts feedback to residents (återkoppling),
feedback to staff, effort, ambition and the promise period, presses Reset to apply, then Step or
Play. "Compare" starts a twin of the same area, seed and world that differs in one thing
(feedback, effort, staff feedback, or no promise at all), stepping together with the main run;
the map can be scrubbed back through the weeks run. Labels come in English and Swedish.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import solara

from sim.app_figures import AnswerFigure, MapFigure, OutcomeFigure
from sim.config import load_config
from sim.model import PromiseModel
from sim.params import ConfigError
from sim.words import joined

FEEDBACK_CHOICES = {"none": 0, "monthly": 4, "quarterly": 13, "twice a year": 26, "yearly": 52}
AREAS = ["default", "vulnerable_district", "suburb", "small_town"]
SCENARIOS = ["full_implementation", "observed_2018", "over_promising", "no_promise"]
TWINS = ["feedback", "effort", "staff", "no_promise"]
SPEEDS = {"slow": 0.6, "normal": 0.25, "fast": 0.0}
MAX_SEED = 2**31 - 1

TEXT = {
    "en": {
        "title": "Medborgarlöften — why feedback matters",
        "terms": "<b>förtroende</b>: trust in the police · <b>trygghet</b>: feeling safe · <b>delaktighet</b>: 'the "
        "police listen and act on what people like me say' · <b>återkoppling</b>: feedback to residents on what "
        "was promised and delivered",
        "language": "Språk / language",
        "area": "Area",
        "scenario": "Scenario (sets the sliders)",
        "feedback": "Feedback to residents (återkoppling)",
        "reach": "Feedback reach: share of residents",
        "staff": "Feedback to staff",
        "effort": "Effort: actual / planned time",
        "actions": "Promised actions",
        "period": "Promise period",
        "seed": "Seed",
        "world": "A plausible world (calibrated draw) instead of the typical values",
        "speed": "Playing speed",
        "reset": "Reset",
        "step": "Step",
        "play": "Play",
        "pause": "Pause",
        "compare": "Compare",
        "compare_with": "Twin differs in",
        "compare_running": "Comparison running: this run beside a twin with {twin}.",
        "show_week": "Show week (drag back to replay)",
        "follow": "follow the latest week",
        "fixed_scale": "fixed 0-100 scale",
        "map_field": "Map shows",
        "trust": "trust",
        "trygghet": "trygghet",
        "week": "Week {w}",
        "weeks": "{n} weeks",
        "no feedback yet": "no feedback yet",
        "last feedback": "last feedback {n} weeks ago",
        "last feedback 1": "last feedback 1 week ago",
        "last feedback 0": "feedback this week",
        "no promise": "no promise",
        "seed_error": "The seed must be a whole number from 0 to 2,147,483,647 (kept {seed}).",
        "legend": "red rings: hot spots (size = severity) · triangles: officers",
        "colour_trust": "trust in the police, mean per cell (0-100)",
        "colour_trygghet": "feeling safe, mean per cell (0-100)",
        "high_confidence": "High confidence in the police",
        "listen_act": "'The police listen and act'",
        "unsafe": "Feeling unsafe",
        "participation": "Took part in the last dialogue",
        "pct": "% of residents",
        "hours": "Officer hours a week for the promise",
        "hours_axis": "hours / week",
        "planned": "planned",
        "delivered": "delivered",
        "this_run": "this run",
        "x_week": "week",
        "areas": {
            "default": "Default area (national levels)",
            "vulnerable_district": "Vulnerable district",
            "suburb": "Suburb",
            "small_town": "Small town",
        },
        "scenarios": {
            "full_implementation": "Full implementation (Brå's recommendations)",
            "observed_2018": "As observed in 2018 (Brå)",
            "over_promising": "Over-promising",
            "no_promise": "No promise (counterfactual)",
        },
        "feedbacks": {
            "none": "none",
            "monthly": "monthly",
            "quarterly": "quarterly",
            "twice a year": "twice a year",
            "yearly": "yearly",
        },
        "twins": {
            "feedback": "feedback to residents",
            "effort": "effort (half)",
            "staff": "feedback to staff",
            "no_promise": "no promise at all",
        },
        "twin_labels": {  # what the twin has, as its map, its plot lines and the sentence above name it
            "feedback_off": "no feedback to residents",
            "feedback_on": "quarterly feedback to residents",
            "effort_half": "half the effort",
            "staff_off": "no feedback to staff",
            "staff_on": "feedback to staff",
            "no_promise": "no promise at all",
        },
        "speeds": {"slow": "slow", "normal": "normal", "fast": "as fast as possible"},
        "phases": {
            "dialogue": "dialogue",
            "implementation": "implementation",
            "follow-up": "follow-up",
            "not started": "not started",
        },
    },
    "sv": {
        "title": "Medborgarlöften — därför spelar återkopplingen roll",
        "terms": "<b>förtroende</b> för polisen · <b>trygghet</b> · <b>delaktighet</b>: 'polisen lyssnar och agerar "
        "på vad sådana som jag säger' · <b>återkoppling</b>: till invånarna om vad som lovades och gjordes",
        "language": "Språk / language",
        "area": "Område",
        "scenario": "Scenario (ställer reglagen)",
        "feedback": "Återkoppling till invånarna",
        "reach": "Återkopplingens räckvidd: andel invånare",
        "staff": "Återkoppling till personalen",
        "effort": "Insats: faktisk / planerad tid",
        "actions": "Utlovade åtgärder",
        "period": "Löftesperiod",
        "seed": "Frö (slumptal)",
        "world": "En rimlig värld (kalibrerad dragning) i stället för de typiska värdena",
        "speed": "Hastighet",
        "reset": "Starta om",
        "step": "Ett steg",
        "play": "Spela",
        "pause": "Paus",
        "compare": "Jämför",
        "compare_with": "Tvillingen skiljer sig i",
        "compare_running": "Jämförelse pågår: denna körning bredvid en tvilling ({twin}).",
        "show_week": "Visa vecka (dra tillbaka för att spela upp igen)",
        "follow": "följ senaste veckan",
        "fixed_scale": "fast skala 0-100",
        "map_field": "Kartan visar",
        "trust": "förtroende",
        "trygghet": "trygghet",
        "week": "Vecka {w}",
        "weeks": "{n} veckor",
        "no feedback yet": "ingen återkoppling än",
        "last feedback": "senaste återkoppling för {n} veckor sedan",
        "last feedback 1": "senaste återkoppling för 1 vecka sedan",
        "last feedback 0": "återkoppling denna vecka",
        "no promise": "inget löfte",
        "seed_error": "Fröet måste vara ett heltal från 0 till 2 147 483 647 (behöll {seed}).",
        "legend": "röda ringar: brännpunkter (storlek = allvar) · trianglar: poliser",
        "colour_trust": "förtroende för polisen, medel per ruta (0-100)",
        "colour_trygghet": "trygghet, medel per ruta (0-100)",
        "high_confidence": "Stort förtroende för polisen",
        "listen_act": "'Polisen lyssnar och agerar'",
        "unsafe": "Känner sig otrygga",
        "participation": "Deltog i senaste dialogen",
        "pct": "% av invånarna",
        "hours": "Polistimmar i veckan för löftet",
        "hours_axis": "timmar / vecka",
        "planned": "planerat",
        "delivered": "levererat",
        "this_run": "denna körning",
        "x_week": "vecka",
        "areas": {
            "default": "Standardområde (riksnivå)",
            "vulnerable_district": "Utsatt område",
            "suburb": "Förort",
            "small_town": "Småort",
        },
        "scenarios": {
            "full_implementation": "Fullt genomfört (Brås rekommendationer)",
            "observed_2018": "Som Brå såg det 2018",
            "over_promising": "Lovar för mycket",
            "no_promise": "Inget löfte (jämförelse)",
        },
        "feedbacks": {
            "none": "ingen",
            "monthly": "varje månad",
            "quarterly": "varje kvartal",
            "twice a year": "två gånger om året",
            "yearly": "en gång om året",
        },
        "twins": {
            "feedback": "återkopplingen till invånarna",
            "effort": "insatsen (halva)",
            "staff": "återkopplingen till personalen",
            "no_promise": "inget löfte alls",
        },
        "twin_labels": {
            "feedback_off": "ingen återkoppling till invånarna",
            "feedback_on": "återkoppling varje kvartal till invånarna",
            "effort_half": "halva insatsen",
            "staff_off": "ingen återkoppling till personalen",
            "staff_on": "återkoppling till personalen",
            "no_promise": "inget löfte alls",
        },
        "speeds": {"slow": "långsam", "normal": "normal", "fast": "så fort som möjligt"},
        "phases": {
            "dialogue": "dialog",
            "implementation": "genomförande",
            "follow-up": "uppföljning",
            "not started": "ej startat",
        },
    },
}


def scenario_levers(scenario: str, area: str = "default") -> dict:
    """The slider values a scenario preset sets (so choosing a scenario moves the sliders)."""
    cfg = load_config([f"scenario={scenario}", f"area={area}"])
    interval = cfg.feedback.interval_weeks
    feedback = min(FEEDBACK_CHOICES, key=lambda k: abs(FEEDBACK_CHOICES[k] - interval))
    return {
        "feedback": feedback,
        "feedback_reach": float(cfg.feedback.reach),
        "staff_feedback": float(cfg.feedback.staff),
        "effort": float(cfg.police.effort),
        "actions": int(cfg.promise.actions),
        "period_weeks": int(cfg.promise.period_weeks),
    }


def parse_seed(text: str) -> int | None:
    """A seed from the box's text, or None when it is not a whole number from 0 to 2**31 - 1."""
    text = str(text).strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if 0 <= value <= MAX_SEED else None


DEFAULTS = {
    "area_preset": "default",
    "scenario_preset": "full_implementation",
    **scenario_levers("full_implementation"),
    "seed": 2018,
    "residents": 5000,
    "plausible_world": False,
}


def twin_settings(settings: dict, kind: str) -> tuple[dict, str]:
    """The twin's settings: the main run's, with one thing changed; and what the twin has, as a key of
    ``twin_labels`` (a twin without feedback was once labelled "feedback to residents", the kind of change, so its
    map and dashed line read as the run with feedback)."""
    s = dict(settings)
    if kind == "feedback":
        s["feedback"] = "quarterly" if settings["feedback"] == "none" else "none"
        label = "feedback_on" if s["feedback"] == "quarterly" else "feedback_off"
    elif kind == "effort":
        s["effort"] = round(settings["effort"] / 2, 2)
        label = "effort_half"
    elif kind == "staff":
        s["staff_feedback"] = 0.8 if settings["staff_feedback"] < 0.4 else 0.0
        label = "staff_on" if s["staff_feedback"] > 0 else "staff_off"
    elif kind == "no_promise":
        s["no_promise"] = True
        label = "no_promise"
    else:
        raise ValueError(f"unknown twin {kind!r} (one of {', '.join(TWINS)})")
    return s, label


class TrainerModel(PromiseModel):
    """PromiseModel built from a preset plus the trainer's levers; keeps a map per week for scrubbing."""

    def __init__(self, settings: dict | None = None, **kw) -> None:
        settings = {**DEFAULTS, **(settings or {}), **kw}
        self.settings = settings
        overrides = [
            f"area={settings['area_preset']}",
            f"scenario={settings['scenario_preset']}",
            f"area.residents={settings['residents']}",
            f"feedback.interval_weeks={FEEDBACK_CHOICES[settings['feedback']]}",
            f"feedback.reach={settings['feedback_reach']}",
            f"feedback.staff={settings['staff_feedback']}",
            f"police.effort={settings['effort']}",
            f"promise.actions={settings['actions']}",
            f"promise.period_weeks={settings['period_weeks']}",
            f"seed={settings['seed']}",
        ]
        if settings.get("no_promise"):
            overrides.append("promise.active=false")
        cfg = load_config(overrides)
        self.world = None
        if settings.get("plausible_world"):
            from sim.posterior import replication_config

            cfg, self.world = replication_config(
                load_config([*overrides, "uncertainty=posterior"]), int(settings["seed"])
            )
        super().__init__(cfg, seed=int(settings["seed"]))
        self.twin: TrainerModel | None = None
        self.twin_kind = ""
        self.history: list[dict] = [self.snapshot()]

    def snapshot(self) -> dict:
        """What the map and status line show for this week."""
        return {
            "trust": self.cell_map("trust").astype(np.float32),
            "trygghet": self.cell_map("trygghet").astype(np.float32),
            "severity": self.problems.severity.copy(),
            "officers": [(o.x, o.y) for o in self.officers],
            "phase": self.cycle.phase if self.cfg.promise.active else "no promise",
            "last_feedback": self.last_feedback_week,
        }

    def step(self) -> None:
        super().step()
        self.history.append(self.snapshot())
        if self.twin is not None:
            self.twin.step()

    def start_comparison(self, kind: str) -> None:
        """A twin with the same area, seed and world, differing in one thing, caught up to now."""
        settings, label = twin_settings(self.settings, kind)
        twin = TrainerModel(settings)
        for _ in range(self.week):
            twin.step()
        self.twin = twin
        self.twin_kind = label


def status_text(model: TrainerModel, week: int, t: dict) -> str:
    snap = model.history[min(week, len(model.history) - 1)]
    last = snap["last_feedback"]
    ago = None if last is None else week - last
    fb = t["no feedback yet"] if ago is None else t.get(f"last feedback {ago}", t["last feedback"]).format(n=ago)
    phase = t["phases"].get(snap["phase"], t["no promise"])
    return f"{t['week'].format(w=week)} — {phase}; {fb}"


@solara.component
def Controls(
    settings: solara.Reactive[dict],
    seed_text: solara.Reactive[str],
    seed_error: solara.Reactive[str],
    lang: str,
    on_reset,
    on_step,
    playing: solara.Reactive[bool],
    speed: solara.Reactive[str],
):
    t = TEXT[lang]
    s = settings.value

    def set_key(key):
        return lambda v: settings.set({**settings.value, key: v})

    def choose_scenario(label: str) -> None:
        key = {v: k for k, v in t["scenarios"].items()}[label]
        settings.set({**settings.value, "scenario_preset": key, **scenario_levers(key, settings.value["area_preset"])})

    def choose_area(label: str) -> None:
        key = {v: k for k, v in t["areas"].items()}[label]
        settings.set({**settings.value, "area_preset": key})

    solara.Select(
        t["area"], value=t["areas"][s["area_preset"]], values=[t["areas"][a] for a in AREAS], on_value=choose_area
    )
    solara.Select(
        t["scenario"],
        value=t["scenarios"][s["scenario_preset"]],
        values=[t["scenarios"][k] for k in SCENARIOS],
        on_value=choose_scenario,
    )
    fb = {v: k for k, v in t["feedbacks"].items()}
    solara.Select(
        t["feedback"],
        value=t["feedbacks"][s["feedback"]],
        values=[t["feedbacks"][k] for k in FEEDBACK_CHOICES],
        on_value=lambda v: settings.set({**settings.value, "feedback": fb[v]}),
    )
    solara.SliderFloat(
        f"{t['reach']}: {100 * s['feedback_reach']:.0f}%",
        value=s["feedback_reach"],
        min=0.0,
        max=1.0,
        step=0.05,
        on_value=set_key("feedback_reach"),
    )
    solara.SliderFloat(
        f"{t['staff']}: {s['staff_feedback']:.1f}",
        value=s["staff_feedback"],
        min=0.0,
        max=1.0,
        step=0.1,
        on_value=set_key("staff_feedback"),
    )
    solara.SliderFloat(
        f"{t['effort']}: {s['effort']:.1f}", value=s["effort"], min=0.0, max=1.5, step=0.1, on_value=set_key("effort")
    )
    solara.SliderInt(f"{t['actions']}: {s['actions']}", value=s["actions"], min=1, max=12, on_value=set_key("actions"))
    solara.SliderInt(
        f"{t['period']}: {t['weeks'].format(n=s['period_weeks'])}",
        value=s["period_weeks"],
        min=13,
        max=104,
        step=13,
        on_value=set_key("period_weeks"),
    )
    solara.InputText(t["seed"], value=seed_text, continuous_update=False)
    if seed_error.value:
        solara.Error(seed_error.value, dense=True)
    solara.Checkbox(label=t["world"], value=s["plausible_world"], on_value=set_key("plausible_world"))
    with solara.Row():
        solara.Button(t["reset"], on_click=on_reset, color="primary")
        solara.Button(t["step"], on_click=on_step, disabled=playing.value)
        solara.Button(t["pause"] if playing.value else t["play"], on_click=lambda: playing.set(not playing.value))
    solara.Select(
        t["speed"],
        value=t["speeds"][speed.value],
        values=[t["speeds"][k] for k in SPEEDS],
        on_value=lambda v: speed.set({x: k for k, x in t["speeds"].items()}[v]),
    )


@solara.component
def AreaMap(model: TrainerModel, shown_week: int, field: str, lang: str):
    t = TEXT[lang]
    twin = model.twin
    figure = solara.use_memo(
        lambda: MapFigure(model.layout, 2 if twin is not None else 1, field, t[f"colour_{field}"]),
        dependencies=[model, twin is not None, field, lang],
    )
    runs = [(model, t["this_run"])] + ([(twin, t["twin_labels"][model.twin_kind])] if twin is not None else [])
    snapshots = [(m.history[min(shown_week, len(m.history) - 1)], label) for m, label in runs]
    title = f"{status_text(model, shown_week, t)}\n{t['legend']}"
    png = solara.use_memo(
        lambda: figure.png(snapshots, title, t[field]),
        dependencies=[figure, shown_week, model.week],
    )
    solara.Image(png, format="png")


@solara.component
def OutcomePlots(model: TrainerModel, shown_week: int, fixed_scale: bool, lang: str):
    """The shares over time and the hours planned against delivered (sim/app_figures.py)."""
    t = TEXT[lang]
    twin = model.twin
    figure = solara.use_memo(
        lambda: OutcomeFigure(t, t["twin_labels"][model.twin_kind] if twin is not None else None),
        dependencies=[model, twin is not None, lang],
    )

    def draw() -> bytes:
        main = model.datacollector.get_model_vars_dataframe()
        other = twin.datacollector.get_model_vars_dataframe() if twin is not None else None
        return figure.png(main, other, model.week, shown_week, fixed_scale)

    png = solara.use_memo(draw, dependencies=[figure, model.week, shown_week, fixed_scale])
    solara.Image(png, format="png")


PLANNER_TEXT = {
    "en": {
        "tab_trainer": "Trainer",
        "tab_planner": "Planner",
        "answer": "Gain against no promise (emulator: the mean over the plausible worlds, with the 90% "
        "interval covering the plausible worlds (parameter uncertainty), replication noise and the emulator's error)",
        "year": "after year {y}",
        "check": "Check with a real simulation (10 plausible worlds)",
        "checked": "Simulated (10 plausible worlds, mean and 95% interval of the mean)",
        "checking": "Simulating 10 plausible worlds with and without the promise (a few seconds)...",
        "corner": "{levers} are near an end of their range: in such a corner of what the emulator has learnt it errs "
        "more, and its interval is wider. Check this setting before you recommend it.",
        "and": " and ",
        "agree": "The emulator's answer lies inside the simulated interval in {k} of {n} cells.",
        "disagree": " Outside: {cells}. Ten worlds leave about one cell in twenty outside by chance; more "
        "replications (<code>sim.run</code>) settle it.",
        "missing": "The planner needs the emulator: build it with `python -m experiments.emulator build install=true`.",
        "pp": "pp",
        "fig_emulator": "emulator: mean over the plausible worlds",
        "fig_interval": "its 90% interval",
        "fig_simulated": "simulated: mean of 10 worlds, 95% interval of the mean",
        "fig_x": "years from the start",
        "fig_y": "gain, percentage points",
        "fig_fewer": "below 0: fewer feel unsafe",
        "hours": "Planned officer hours a week",
        "interval": "Weeks between feedback rounds",
    },
    "sv": {
        "tab_trainer": "Utbildning",
        "tab_planner": "Planering",
        "answer": "Vinst jämfört med inget löfte (emulator: medel över de rimliga världarna, med "
        "90 % intervall som täcker de rimliga världarna (parameterosäkerhet), slumpvariation och emulatorns fel)",
        "year": "efter {y} år",
        "check": "Kontrollera med en riktig simulering (10 rimliga världar)",
        "checked": "Simulerat (10 rimliga världar, medel och 95 % intervall för medlet)",
        "checking": "Simulerar 10 rimliga världar med och utan löftet (några sekunder)...",
        "corner": "{levers} ligger nära en ände av sina intervall: i ett sådant hörn av det emulatorn har lärt sig "
        "felar den mer, och dess intervall är bredare. Kontrollera inställningen innan du rekommenderar den.",
        "and": " och ",
        "agree": "Emulatorns svar ligger inom det simulerade intervallet i {k} av {n} celler.",
        "disagree": " Utanför: {cells}. Med tio världar hamnar ungefär en cell av tjugo utanför av en slump; fler "
        "upprepningar (<code>sim.run</code>) avgör.",
        "missing": "Planeringen behöver emulatorn: bygg den med `python -m experiments.emulator build install=true`.",
        "pp": "procentenheter",
        "fig_emulator": "emulator: medel över de rimliga världarna",
        "fig_interval": "dess 90 % intervall",
        "fig_simulated": "simulerat: medel av 10 världar, 95 % intervall för medlet",
        "fig_x": "år från start",
        "fig_y": "vinst, procentenheter",
        "fig_fewer": "under 0: färre otrygga",
        "hours": "Planerade polistimmar i veckan",
        "interval": "Veckor mellan återkopplingsrundor",
    },
}
OUTCOME_KEYS = {  # the answer's outcomes, by the key of their label in TEXT (so they follow the language)
    "trust_high_share": "high_confidence",
    "delaktighet_high_share": "listen_act",
    "unsafe_share": "unsafe",
}


def lever_labels(t: dict, p: dict) -> dict[str, str]:
    """The planner's slider labels by lever, in the app's language."""
    return {
        "police.effort": t["effort"],
        "police.planned_hours_per_week": p["hours"],
        "promise.actions": t["actions"],
        "promise.period_weeks": t["period"],
        "feedback.interval_weeks": p["interval"],
        "feedback.reach": t["reach"],
        "feedback.staff": t["staff"],
    }


def corner_words(names: list[str], t: dict, p: dict) -> str | None:
    """What the planner tab says when a setting sits in a corner of the emulator's box, given the levers near an end
    of their range that the what-if names (its ``attrs["corner"]``, sim/planner.py); None when it names none."""
    if not names:
        return None
    labels = [lever_labels(t, p).get(n, n) for n in names]
    return p["corner"].format(levers=joined(labels, p["and"]))


def answer_titles(t: dict, p: dict) -> dict[str, str]:
    """The planner picture's panel titles by outcome; feeling unsafe says which way is better."""
    titles = {outcome: t[key] for outcome, key in OUTCOME_KEYS.items()}
    titles["unsafe_share"] += f"\n({p['fig_fewer']})"
    return titles


def answer_html(table, t: dict, p: dict) -> str:
    """The emulator's (or a simulation's) answer as a small table: outcome by year, gain [low, high]."""
    rows = []
    for outcome, d in table.groupby("outcome", sort=False):
        cells = "".join(f"<td>{r.gain_pp:+.1f} [{r.low_pp:+.1f}, {r.high_pp:+.1f}]</td>" for r in d.itertuples())
        rows.append(f"<tr><td>{t[OUTCOME_KEYS[outcome]]}</td>{cells}</tr>")
    head = "".join(f"<th>{p['year'].format(y=y)}</th>" for y in (1, 2, 3))
    spaced = "border-collapse: separate; border-spacing: 16px 3px; margin-left: -16px"  # cells apart, text aligned
    return f"<table class='answer' style='{spaced}'><tr><th>{p['pp']}</th>{head}</tr>{''.join(rows)}</table>"


def agreement(answer: pd.DataFrame, checked: pd.DataFrame, t: dict, p: dict) -> str:
    """Whether the emulator's answer (the mean over plausible worlds) lies inside the simulated 95% interval of the
    mean, cell by cell (outcome and year); the cells outside, named."""
    both = answer[["outcome", "year", "gain_pp"]].merge(checked[["outcome", "year", "low_pp", "high_pp"]])
    inside = both.gain_pp.between(both.low_pp, both.high_pp)
    text = p["agree"].format(k=int(inside.sum()), n=len(both))
    if not inside.all():
        cells = ", ".join(
            f"{t[OUTCOME_KEYS[r.outcome]]} {p['year'].format(y=r.year)}" for r in both[~inside].itertuples()
        )
        text += p["disagree"].format(cells=cells)
    return text


def simulated_answer(area: str, values: dict, residents: int) -> pd.DataFrame:
    """Check a setting with real runs: 10 plausible worlds of the setting and of no promise, paired; the gain by
    outcome and year with the t interval of its mean."""
    from scipy import stats

    from sim.api import run
    from sim.params import PARAMS
    from sim.planner import OUTCOMES

    levers = [f"{k}={round(v) if PARAMS[k].type is int else v}" for k, v in values.items()]
    base = [
        "scenario=full_implementation",
        f"area={area}",
        f"area.residents={residents}",
        "replications=10",
        "uncertainty=posterior",
        "horizon_weeks=156",
        *levers,
    ]
    on = run(base).trajectories.set_index(["replication", "week"])
    off = run([*base, "promise.active=false"]).trajectories.set_index(["replication", "week"])
    rows = []
    for metric, words in OUTCOMES.items():
        for year in (1, 2, 3):
            g = (on[metric].xs(52 * year, level="week") - on[metric].xs(0, level="week")) - (
                off[metric].xs(52 * year, level="week") - off[metric].xs(0, level="week")
            )
            half = stats.t.ppf(0.975, len(g) - 1) * g.std(ddof=1) / len(g) ** 0.5
            rows.append(
                {
                    "outcome": metric,
                    "what": words,
                    "year": year,
                    "gain_pp": 100 * g.mean(),
                    "low_pp": 100 * (g.mean() - half),
                    "high_pp": 100 * (g.mean() + half),
                }
            )
    return pd.DataFrame(rows)


@solara.component
def Planner(lang: str):
    from sim import planner as wi

    t, p = TEXT[lang], PLANNER_TEXT[lang]
    try:
        em = wi.emulator()
    except FileNotFoundError:
        solara.Markdown(p["missing"])
        return
    area = solara.use_reactive("default")
    values = solara.use_reactive(wi.defaults("default"))
    checked = solara.use_reactive(None)
    solara.Select(
        t["area"],
        value=t["areas"][area.value],
        values=[t["areas"][a] for a in AREAS],
        on_value=lambda v: (area.set({x: k for k, x in t["areas"].items()}[v]), checked.set(None)),
    )
    labels = lever_labels(t, p)
    for name in values.value:  # the levers; the coefficients are the posterior's, not sliders
        lo, hi = em.box[name]
        label = labels.get(name, name)
        whole_number = name in (
            "promise.actions",
            "promise.period_weeks",
            "feedback.interval_weeks",
            "police.planned_hours_per_week",
        )
        v = min(max(values.value[name], lo), hi)
        shown = (
            t["weeks"].format(n=round(v))
            if name == "promise.period_weeks"
            else f"{v:.0f}"
            if whole_number
            else f"{v:.2f}"
        )
        solara.SliderFloat(
            f"{label}: {shown}",
            value=v,
            min=lo,
            max=hi,
            step=1.0 if whole_number else 0.05,
            on_value=lambda x, n=name: (values.set({**values.value, n: x}), checked.set(None)),
        )
    answer = wi.whatif(area.value, **{k.replace(".", "__"): v for k, v in values.value.items()})
    residents = int(em.info.get("residents", 1500))

    def check() -> None:
        """Simulate in the background (a few seconds), so the page says so and the button cannot be pressed twice;
        a result for settings moved on from meanwhile is dropped."""
        asked = (area.value, dict(values.value))
        result = simulated_answer(*asked, residents)
        if (area.value, values.value) == asked:
            checked.set(result)

    checking = solara.lab.use_task(check, dependencies=None)  # runs on the button only
    solara.Markdown(f"**{p['answer']}**")
    solara.HTML(tag="div", unsafe_innerHTML=answer_html(answer, t, p), attributes={"id": "planner-answer"})
    # the same answer as a picture, with the check's simulated gains once there are some
    figure = solara.use_memo(lambda: AnswerFigure(answer_titles(t, p), p), dependencies=[lang])
    shown = None if checking.pending else checked.value
    png = solara.use_memo(
        lambda: figure.png(answer, shown),
        dependencies=[figure, answer[["gain_pp", "low_pp", "high_pp"]].to_numpy().tobytes(), id(shown)],
    )
    solara.Image(png, format="png")
    corner = corner_words(answer.attrs.get("corner", []), t, p)
    if corner:
        solara.HTML(tag="p", unsafe_innerHTML=corner, attributes={"id": "planner-corner"})
    solara.Button(p["check"], on_click=checking, disabled=checking.pending)
    if checking.pending:
        solara.ProgressLinear(True)
        solara.Markdown(p["checking"])
    elif checked.value is not None:
        solara.Markdown(f"**{p['checked']}**")
        solara.HTML(tag="div", unsafe_innerHTML=answer_html(checked.value, t, p), attributes={"id": "planner-check"})
        solara.HTML(
            tag="p", unsafe_innerHTML=agreement(answer, checked.value, t, p), attributes={"id": "planner-agree"}
        )


@solara.component
def Page():
    lang = solara.use_reactive("en")
    settings = solara.use_reactive(dict(DEFAULTS))
    seed_text = solara.use_reactive(str(DEFAULTS["seed"]))
    seed_error = solara.use_reactive("")
    playing = solara.use_reactive(False)
    speed = solara.use_reactive("normal")
    tick = solara.use_reactive(0)  # bumped after every change of the model: redraws
    follow = solara.use_reactive(True)
    shown = solara.use_reactive(0)
    field = solara.use_reactive("trust")
    fixed_scale = solara.use_reactive(False)
    twin_kind = solara.use_reactive("feedback")
    holder = solara.use_memo(lambda: {"model": TrainerModel(DEFAULTS)}, [])  # one model per browser session
    model: TrainerModel = holder["model"]
    t = TEXT[lang.value]

    def reset() -> None:
        seed = parse_seed(seed_text.value)
        current = settings.value["seed"]
        if seed is None:
            seed_error.set(t["seed_error"].format(seed=current))
            seed = current
        else:
            seed_error.set("")
        settings.set({**settings.value, "seed": seed})
        playing.set(False)
        try:
            holder["model"] = TrainerModel({**settings.value, "seed": seed})
        except ConfigError as exc:
            seed_error.set(str(exc))
        tick.set(tick.value + 1)

    def step() -> None:
        holder["model"].step()
        tick.set(tick.value + 1)

    def play_loop():
        while playing.value:
            started = time.perf_counter()
            holder["model"].step()
            tick.set(tick.value + 1)
            time.sleep(max(0.0, SPEEDS[speed.value] - (time.perf_counter() - started)))

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def compare() -> None:
        holder["model"].start_comparison(twin_kind.value)
        tick.set(tick.value + 1)

    week = model.week if follow.value else min(shown.value, model.week)
    tab = solara.use_reactive(0)
    solara.Title(t["title"])
    with solara.lab.Tabs(value=tab):
        solara.lab.Tab(PLANNER_TEXT[lang.value]["tab_trainer"])
        solara.lab.Tab(PLANNER_TEXT[lang.value]["tab_planner"])
    if tab.value == 1:
        with solara.Sidebar():
            solara.ToggleButtonsSingle(
                value={"en": "English", "sv": "Svenska"}[lang.value],
                values=["English", "Svenska"],
                on_value=lambda v: lang.set("sv" if v == "Svenska" else "en"),
            )
        with solara.Column(classes=["planner"]):  # its own block, so tests and scripts find its sliders only
            Planner(lang.value)
        return
    with solara.Sidebar():
        solara.ToggleButtonsSingle(
            value={"en": "English", "sv": "Svenska"}[lang.value],
            values=["English", "Svenska"],
            on_value=lambda v: lang.set("sv" if v == "Svenska" else "en"),
        )
        Controls(settings, seed_text, seed_error, lang.value, reset, step, playing, speed)
    with solara.Column():
        solara.HTML(tag="div", unsafe_innerHTML=t["terms"])  # plain HTML: Markdown would fetch KaTeX from a CDN
        solara.HTML(tag="h3", unsafe_innerHTML=status_text(model, model.week, t))
        with solara.Row():
            solara.Select(
                t["compare_with"],
                value=t["twins"][twin_kind.value],
                values=[t["twins"][k] for k in TWINS],
                on_value=lambda v: twin_kind.set({x: k for k, x in t["twins"].items()}[v]),
            )
            solara.Button(t["compare"], on_click=compare, color="secondary", disabled=model.twin is not None)
        if model.twin is not None:
            solara.Markdown(t["compare_running"].format(twin=t["twin_labels"][model.twin_kind]))
        with solara.Row():
            solara.ToggleButtonsSingle(
                value=t[field.value],
                values=[t["trust"], t["trygghet"]],
                on_value=lambda v: field.set("trust" if v == t["trust"] else "trygghet"),
            )
            solara.Checkbox(label=t["follow"], value=follow)
            solara.Checkbox(label=t["fixed_scale"], value=fixed_scale)
        solara.SliderInt(
            t["show_week"],
            value=week,
            min=0,
            max=max(model.week, 1),
            on_value=lambda w: (follow.set(False), shown.set(w)),
        )
        AreaMap(model, week, field.value, lang.value)
        OutcomePlots(model, week, fixed_scale.value, lang.value)
    solara.HTML(tag="span", unsafe_innerHTML=f"<!-- {tick.value} -->")


page = Page
