"""The trainer's live app: `make app` (solara run sim/app.py on 127.0.0.1).

Only the page lives here; the model imports without it. A trainer picks an area and a
scenario, sets feedback to residents (återkoppling), feedback to staff, effort, ambition and
the promise period, presses Reset to apply, then Play. "Compare" starts a twin of the same
area and seed without feedback (or with quarterly feedback when the main run has none),
stepping together with the main run; the map can be scrubbed back through the weeks run.
"""

from __future__ import annotations

import mesa.visualization.solara_viz as solara_viz
import numpy as np
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from sim.api import load_config
from sim.model import PromiseModel

FEEDBACK_CHOICES = {"none": 0, "monthly": 4, "quarterly": 13, "twice a year": 26, "yearly": 52}
AREAS = ["default", "vulnerable_district", "suburb", "small_town"]
SCENARIOS = ["full_implementation", "observed_2018"]
TERMS = (
    "<b>förtroende</b>: trust in the police · <b>trygghet</b>: feeling safe · <b>delaktighet</b>: 'the police "
    "listen and act on what people like me say' · <b>återkoppling</b>: feedback to residents on what was promised "
    "and delivered"
)
# Heights (grid rows of about 30 px) of the components, stacked full width; Mesa's default puts two
# half-width, 10-row cells side by side, which clips the map and plots.
HEIGHTS = [5, 15, 18, 9]
DPI = 80  # figures are redrawn every step: small and quick beats crisp


def stacked_layout(num_components: int) -> list[dict]:
    """Full-width cells, one under the other (replaces Mesa's default initial grid layout)."""
    layout, y = [], 0
    for i in range(num_components):
        h = HEIGHTS[i] if i < len(HEIGHTS) else 12
        layout.append({"i": i, "w": 12, "h": h, "moved": False, "x": 0, "y": y})
        y += h
    return layout


solara_viz.make_initial_grid_layout = stacked_layout


class TrainerModel(PromiseModel):
    """PromiseModel built from a preset plus the trainer's levers; keeps a map per week for scrubbing."""

    def __init__(
        self,
        area_preset: str = "default",
        scenario_preset: str = "full_implementation",
        feedback: str = "quarterly",
        feedback_reach: float = 0.4,
        staff_feedback: float = 0.8,
        effort: float = 1.0,
        actions: int = 3,
        period_weeks: int = 52,
        seed: int = 2018,
        residents: int = 5000,
    ) -> None:
        seed = int(seed)  # the Seed box hands over text
        self.settings = dict(
            area_preset=area_preset,
            scenario_preset=scenario_preset,
            feedback=feedback,
            feedback_reach=feedback_reach,
            staff_feedback=staff_feedback,
            effort=effort,
            actions=actions,
            period_weeks=period_weeks,
            seed=seed,
            residents=residents,
        )
        cfg = load_config(
            [
                f"area={area_preset}",
                f"scenario={scenario_preset}",
                f"area.residents={residents}",
                f"feedback.interval_weeks={FEEDBACK_CHOICES[feedback]}",
                f"feedback.reach={feedback_reach}",
                f"feedback.staff={staff_feedback}",
                f"police.effort={effort}",
                f"promise.actions={actions}",
                f"promise.period_weeks={period_weeks}",
                f"seed={seed}",
            ]
        )
        super().__init__(cfg, seed=seed)
        self.twin: TrainerModel | None = None
        self.twin_label = ""
        self.history: list[dict] = [self.snapshot()]

    def snapshot(self) -> dict:
        """What the map and status line show for this week."""
        return {
            "trust": self.cell_map("trust").astype(np.float32),
            "trygghet": self.cell_map("trygghet").astype(np.float32),
            "severity": self.problems.severity.copy(),
            "officers": [(o.x, o.y) for o in self.officers],
            "phase": self.phase_text(),
        }

    def step(self) -> None:
        super().step()
        self.history.append(self.snapshot())
        if self.twin is not None:
            self.twin.step()

    def start_comparison(self) -> None:
        """A twin with the same area, seed and levers, differing only in feedback to residents, caught up to now."""
        other = "quarterly" if self.settings["feedback"] == "none" else "none"
        twin = TrainerModel(**{**self.settings, "feedback": other})
        for _ in range(self.week):
            twin.step()
        self.twin = twin
        self.twin_label = f"feedback {other}"


def draw_map(ax, snap: dict, field: str, side: int, problem_xy: tuple, title: str) -> None:
    grid = snap[field]
    ax.imshow(
        grid,
        cmap="viridis" if field == "trust" else "magma",
        vmin=0.3,
        vmax=0.8,
        origin="lower",
        interpolation="nearest",
    )
    px, py = problem_xy
    ax.scatter(px, py, s=200 + 2500 * snap["severity"], facecolors="none", edgecolors="red", linewidths=2.5)
    if snap["officers"]:
        ox, oy = zip(*snap["officers"])
        ax.scatter(ox, oy, marker="^", s=60, c="white", edgecolors="black")
    ax.set_xlim(-0.5, side - 0.5)
    ax.set_ylim(-0.5, side - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=11)


@solara.component
def Status(model: TrainerModel):
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=TERMS)  # plain HTML: Markdown would fetch KaTeX from a CDN
    solara.HTML(tag="h3", unsafe_innerHTML=model.phase_text())

    def compare():
        model.start_comparison()
        force_update()

    with solara.Row():
        solara.Button(
            "Compare: same area and seed, other feedback",
            on_click=compare,
            color="secondary",
            disabled=model.twin is not None,
        )
        if model.twin is not None:
            solara.Markdown(
                f"Comparison running: this run ({model.settings['feedback']} feedback) beside a twin "
                f"with {model.twin_label}."
            )


@solara.component
def AreaMap(model: TrainerModel):
    update_counter.get()
    field, set_field = solara.use_state("trust")
    follow, set_follow = solara.use_state(True)
    shown, set_shown = solara.use_state(0)
    week = model.week if follow else min(shown, model.week)
    with solara.Row():
        solara.ToggleButtonsSingle(value=field, values=["trust", "trygghet"], on_value=set_field)
        solara.Checkbox(label="follow the latest week", value=follow, on_value=set_follow)
    solara.SliderInt(
        "Show week (scrub back)",
        value=week,
        min=0,
        max=max(model.week, 1),
        on_value=lambda w: (set_follow(False), set_shown(w)),
    )
    twin = model.twin

    def figure():
        runs = [(model, f"{model.settings['feedback']} feedback")] + ([(twin, model.twin_label)] if twin else [])
        fig = Figure(figsize=(5.2 * len(runs), 5.0), dpi=DPI, layout="constrained")
        axes = fig.subplots(1, len(runs), squeeze=False)[0]
        xy = (model.layout.problem_x, model.layout.problem_y)
        for ax, (m, label) in zip(axes, runs):
            snap = m.history[min(week, len(m.history) - 1)]
            draw_map(ax, snap, field, model.layout.side, xy, f"{label} — {field}, mean {np.nanmean(snap[field]):.3f}")
        fig.suptitle(
            f"{model.history[week]['phase']}  (red rings: hot spots by severity; triangles: officers)", fontsize=10
        )
        return fig

    keys = [model, week, field, twin is not None]
    fig = solara.use_memo(figure, dependencies=keys)
    solara.FigureMatplotlib(fig, dependencies=keys, format="png")  # encoded only when it changed


PANELS = [
    ("trust_mean", "Trust (förtroende)"),
    ("delaktighet_mean", "Delaktighet"),
    ("trygghet_mean", "Trygghet"),
    ("participation_rate", "Dialogue participation"),
]


def update_lines(fig: Figure, lines: list, frames: list) -> None:
    """Point the figure's existing lines at new data and rescale: cheaper than building the figure again."""
    for line, (df, col) in zip(lines, frames):
        line.set_data(df.index, df[col])
    for ax in fig.axes:
        ax.relim()
        ax.autoscale_view()


@solara.component
def OutcomePlots(model: TrainerModel):
    update_counter.get()

    def make():
        fig = Figure(figsize=(10, 6), dpi=DPI)  # manual layout: constrained layout doubles the drawing time
        axes = fig.subplots(2, 2)
        fig.subplots_adjust(left=0.07, right=0.98, top=0.94, bottom=0.09, hspace=0.45, wspace=0.2)
        lines = []
        for ax, (_, title) in zip(axes.flat, PANELS):
            lines.append(ax.plot([], [], lw=2.5, label=f"{model.settings['feedback']} feedback")[0])
            if model.twin is not None:
                lines.append(ax.plot([], [], lw=2.5, ls="--", label=model.twin_label)[0])
            ax.set_title(title)
            ax.set_xlabel("week")
            ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=9)
        return fig, lines

    fig, lines = solara.use_memo(make, dependencies=[model, model.twin is not None])
    df = model.datacollector.get_model_vars_dataframe()
    tw = model.twin.datacollector.get_model_vars_dataframe() if model.twin else None
    frames = [(d, col) for col, _ in PANELS for d in ([df, tw] if tw is not None else [df])]
    update_lines(fig, lines, frames)
    solara.FigureMatplotlib(fig, dependencies=[model, model.week, tw is not None], format="png")


@solara.component
def HoursPlot(model: TrainerModel):
    update_counter.get()

    def make():
        fig = Figure(figsize=(10, 2.8), dpi=DPI)
        ax = fig.subplots()
        fig.subplots_adjust(left=0.07, right=0.98, top=0.86, bottom=0.2)
        lines = [ax.plot([], [], lw=2, label="planned")[0], ax.plot([], [], lw=2, label="delivered")[0]]
        ax.set_title("Officer hours a week for the promise: planned against delivered")
        ax.set_xlabel("week")
        ax.legend()
        ax.grid(alpha=0.3)
        return fig, lines

    fig, lines = solara.use_memo(make, dependencies=[model])
    df = model.datacollector.get_model_vars_dataframe()
    update_lines(fig, lines, [(df, "hours_planned"), (df, "hours_delivered")])
    solara.FigureMatplotlib(fig, dependencies=[model, model.week], format="png")


model_params = {
    "area_preset": {"type": "Select", "value": "default", "values": AREAS, "label": "Area"},
    "scenario_preset": {
        "type": "Select",
        "value": "full_implementation",
        "values": SCENARIOS,
        "label": "Scenario (sets the rest)",
    },
    "feedback": {
        "type": "Select",
        "value": "quarterly",
        "values": list(FEEDBACK_CHOICES),
        "label": "Feedback to residents (återkoppling)",
    },
    "feedback_reach": {
        "type": "SliderFloat",
        "value": 0.4,
        "min": 0.0,
        "max": 1.0,
        "step": 0.05,
        "label": "Feedback reach (share of residents)",
    },
    "staff_feedback": {
        "type": "SliderFloat",
        "value": 0.8,
        "min": 0.0,
        "max": 1.0,
        "step": 0.1,
        "label": "Feedback to staff",
    },
    "effort": {
        "type": "SliderFloat",
        "value": 1.0,
        "min": 0.0,
        "max": 1.5,
        "step": 0.1,
        "label": "Effort (actual / planned time)",
    },
    "actions": {"type": "SliderInt", "value": 3, "min": 1, "max": 12, "step": 1, "label": "Promised actions"},
    "period_weeks": {
        "type": "SliderInt",
        "value": 52,
        "min": 13,
        "max": 104,
        "step": 13,
        "label": "Promise period (weeks)",
    },
    "seed": {"type": "InputText", "value": 2018, "label": "Seed"},
}


def make_page(model: TrainerModel | None = None):
    model = model or TrainerModel()
    return SolaraViz(
        model,
        components=[Status, AreaMap, OutcomePlots, HoursPlot],
        model_params=model_params,
        name="Medborgarlöften — why feedback matters",
        play_interval=50,
    )


page = make_page()
