"""The app's figures (the trainer's map and outcome plots, the planner's answer), drawn so that a step stays quick.

Each figure draws its static parts (axes, ticks, labels, colour bar, legends) once and keeps a copy
of those pixels; a step restores the copy and draws only what moves (the cells' colours, the rings,
the officers, the lines, the titles) on top: matplotlib's blitting (`copy_from_bbox`,
`restore_region`, `draw_artist`). The static parts are drawn again only when they change: a new
axis range, which the plots choose in round numbers so that it changes rarely.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from sim.area import Layout

DPI = 72
PANELS = [
    ("trust_high_share", "high_confidence"),
    ("delaktighet_high_share", "listen_act"),
    ("unsafe_share", "unsafe"),
    ("participation_rate", "participation"),
]


class Blitted:
    """A figure with a set of moving artists: ``png(key)`` redraws the static parts only when ``key`` changed."""

    def __init__(self, fig: Figure, moving: list[Artist]) -> None:
        self.fig, self.moving = fig, moving
        self.canvas = FigureCanvasAgg(fig)
        for artist in moving:
            artist.set_animated(True)  # left out of a full draw; drawn over the saved background
        self.key: object = None
        self.background = None
        self.full_draws = 0  # how often the static parts were drawn (the tests read it)

    def png(self, key: object) -> bytes:
        if key != self.key or self.background is None:
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.key = key
            self.full_draws += 1
        else:
            self.canvas.restore_region(self.background)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        out = io.BytesIO()
        rgb = np.asarray(self.canvas.buffer_rgba())[..., :3]  # the figure is opaque: a quarter less to encode
        Image.fromarray(np.ascontiguousarray(rgb)).save(out, format="png", compress_level=1)
        return out.getvalue()


def round_range(
    values: np.ndarray, fixed: tuple[float, float] | None = None, bounds: tuple[float, float] = (0.0, math.inf)
) -> tuple[float, float]:
    """An axis range in round numbers that holds ``values`` (ticks of a 5-bin locator) within ``bounds``: it
    moves only when the data cross a round number, so most steps reuse the drawn axes."""
    if fixed is not None:
        return fixed
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lowest, highest = float(finite.min()), float(finite.max())
    margin = 0.05 * (highest - lowest)  # a line at the edge of its range stays off the frame
    low = math.floor(lowest - margin)  # whole units, at least one wide: flat data keep their axes
    high = max(math.ceil(highest + margin), low + 1)
    low, high = max(low, bounds[0]), min(high, bounds[1])
    if high - low < 1:  # pressed against a bound (all at 100%): one unit below it
        low = max(bounds[0], high - 1)
    ticks = MaxNLocator(nbins=5).tick_values(low, high)
    return max(float(ticks[0]), bounds[0]), min(float(ticks[-1]), bounds[1])


def steady_range(values: np.ndarray, current: tuple[float, float]) -> tuple[float, float]:
    """The current axis range while it holds ``values`` and they fill at least half of it, else a new round one:
    a planner's slider moves the answer a little at a time, and each new range costs a full draw."""
    low, high = float(np.min(values)), float(np.max(values))
    if current[0] <= low and high <= current[1] and high - low >= 0.5 * (current[1] - current[0]):
        return current
    return round_range(values, None, (-math.inf, math.inf))


def week_range(week: int) -> tuple[float, float]:
    """The weeks shown: the first year, then growing half a year at a time."""
    return 0.0, float(max(52, 26 * math.ceil(week / 26)))


class MapFigure:
    """The area map of one run (or a run and its twin): cells coloured by ``field``, hot spots, officers."""

    def __init__(self, layout: Layout, runs: int, field: str, colour_label: str) -> None:
        self.field = field
        side = layout.side
        fig = Figure(figsize=(5.2 * runs + 1.5, 5.8), dpi=DPI)
        fig.subplots_adjust(left=0.03, right=0.84, top=0.84, bottom=0.03, wspace=0.08)
        self.parts = []
        for ax in fig.subplots(1, runs, squeeze=False)[0]:
            image = ax.imshow(
                np.zeros((side, side)),
                cmap="viridis" if field == "trust" else "magma",
                vmin=30,
                vmax=80,
                origin="lower",
                interpolation="nearest",
            )
            rings = ax.scatter(
                layout.problem_x,
                layout.problem_y,
                s=200,
                facecolors="none",
                edgecolors="red",
                linewidths=2.5,
                clip_on=False,
            )  # whole rings, also at the edge
            officers = ax.scatter([0], [0], marker="^", s=60, c="white", edgecolors="black", clip_on=False)
            ax.set_xlim(-0.5, side - 0.5)
            ax.set_ylim(-0.5, side - 0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            self.parts.append((image, rings, officers, ax.set_title("", fontsize=11)))
        cax = fig.add_axes([0.88, 0.12, 0.025, 0.66])
        fig.colorbar(self.parts[0][0], cax=cax, label=colour_label)
        self.title = fig.suptitle("", fontsize=10)
        self.blit = Blitted(fig, [a for part in self.parts for a in part] + [self.title])

    def png(self, snapshots: list[tuple[dict, str]], title: str, words: str) -> bytes:
        """The map for one snapshot per run (``TrainerModel.snapshot``) with its label."""
        for (image, rings, officers, run_title), (snap, label) in zip(self.parts, snapshots):
            image.set_data(100 * snap[self.field])
            rings.set_sizes(200 + 2500 * snap["severity"])
            officers.set_offsets(np.array(snap["officers"], dtype=float).reshape(-1, 2))
            run_title.set_text(f"{label}: {words} {100 * np.nanmean(snap[self.field]):.1f}")
        self.title.set_text(title)
        return self.blit.png(key=None)  # nothing static changes: the axes are the grid's


class OutcomeFigure:
    """The shares over time (2 x 2) and the hours planned against delivered, in one figure: one image to encode."""

    def __init__(self, labels: dict, twin_label: str | None) -> None:
        fig = Figure(figsize=(10.5, 8.4), dpi=DPI)
        grid = fig.add_gridspec(3, 2, height_ratios=[1, 1, 0.8], hspace=0.6, wspace=0.22)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.95, bottom=0.07)
        self.twin = twin_label is not None
        self.lines, self.markers, self.axes = [], [], []
        for i, (_, key) in enumerate(PANELS):
            ax = fig.add_subplot(grid[i // 2, i % 2])
            self.lines.append(ax.plot([], [], lw=2.5, label=labels["this_run"])[0])
            if twin_label is not None:
                self.lines.append(ax.plot([], [], lw=2.5, ls="--", label=twin_label)[0])
            self.markers.append(ax.axvline(0, color="grey", lw=1, ls=":"))
            ax.set_title(labels[key])
            ax.set_xlabel(labels["x_week"])
            ax.set_ylabel(labels["pct"])
            ax.grid(alpha=0.3)
            if i == 0:
                ax.legend(fontsize=9)
            self.axes.append(ax)
        hours = fig.add_subplot(grid[2, :])
        self.lines += [
            hours.plot([], [], lw=2, label=labels["planned"])[0],
            hours.plot([], [], lw=2, label=labels["delivered"])[0],
        ]
        hours.set_title(labels["hours"])
        hours.set_xlabel(labels["x_week"])
        hours.set_ylabel(labels["hours_axis"])
        hours.legend(fontsize=9)
        hours.grid(alpha=0.3)
        self.axes.append(hours)
        legends = [ax.get_legend() for ax in self.axes if ax.get_legend() is not None]
        self.blit = Blitted(fig, self.lines + self.markers + legends)  # legends last: drawn over the lines

    def png(self, main, twin, week: int, shown_week: int, fixed_scale: bool) -> bytes:
        """The plots of the weekly outcome tables ``main`` (and ``twin``), up to ``week``, marking ``shown_week``."""
        runs = [main, twin] if self.twin else [main]
        series = [(d, col, 100) for col, _ in PANELS for d in runs]
        series += [(main, "hours_planned", 1), (main, "hours_delivered", 1)]
        per_axis = len(runs)
        limits = []
        for line, (d, col, scale) in zip(self.lines, series):
            line.set_data(d.index.to_numpy(), scale * d[col].to_numpy())
        xlim = week_range(week)
        for i, ax in enumerate(self.axes):
            mine = self.lines[i * per_axis : (i + 1) * per_axis] if i < len(PANELS) else self.lines[-2:]
            values = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in mine])
            share = i < len(PANELS)  # a share in %, or hours
            ylim = round_range(
                values, (0.0, 100.0) if fixed_scale and share else None, (0.0, 100.0) if share else (0.0, math.inf)
            )
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)
            limits.append((xlim, ylim))
        for marker in self.markers:
            marker.set_xdata([shown_week, shown_week])
        return self.blit.png(key=tuple(limits))


class AnswerFigure:
    """The planner's answer as a picture: for each outcome the gain against no promise from the start (0) to year 3,
    the emulator's mean with its 90% interval shaded and, once checked, the simulated means with their 95% intervals
    of the mean; a line at zero, so an interval that takes in no gain, or a loss, shows at a glance.

    Drawn as the trainer's figures are: the axes only when an axis range (round numbers) changes, so a slider
    move redraws just the lines, bands and bars. ``titles`` names each outcome (a second line after a newline);
    ``words`` holds the legend's and axes' words in the app's language."""

    def __init__(self, titles: dict[str, str], words: dict[str, str]) -> None:
        self.outcomes = list(titles)
        fig = Figure(figsize=(10.5, 3.5), dpi=DPI)
        fig.subplots_adjust(left=0.07, right=0.99, top=0.74, bottom=0.15, wspace=0.28)
        self.axes, self.means, self.bands, self.sims, self.bars = [], [], [], [], []
        for i, outcome in enumerate(self.outcomes):
            ax = fig.add_subplot(1, len(self.outcomes), i + 1)
            ax.axhline(0, color="black", lw=0.8)
            self.bands.append(ax.fill_between([0, 1], [0, 0], [0, 0], alpha=0.25, color="C0", lw=0))
            self.means.append(ax.plot([], [], "o-", color="C0", lw=2)[0])
            self.bars.append(ax.add_collection(LineCollection([], colors="C1", lw=1.5)))
            self.sims.append(ax.plot([], [], "s", color="C1", ls="none")[0])
            ax.set_title(titles[outcome], fontsize=11)
            ax.set_xticks([0, 1, 2, 3])
            ax.set_xlim(-0.15, 3.25)
            ax.set_xlabel(words["fig_x"])
            ax.grid(alpha=0.3)
            self.axes.append(ax)
        self.axes[0].set_ylabel(words["fig_y"])
        keys = [self.means[0], self.bands[0], self.sims[0]]
        names = [words["fig_emulator"], words["fig_interval"], words["fig_simulated"]]
        style = {"loc": "upper center", "fontsize": 9, "frameon": False}
        self.legends = [fig.legend(keys[:2], names[:2], ncol=2, **style), fig.legend(keys, names, ncol=3, **style)]
        moving = self.bands + self.means + self.bars + self.sims + self.legends
        self.blit = Blitted(fig, moving)

    def png(self, answer, checked=None) -> bytes:
        """``answer`` and ``checked`` (None before a check): tables of outcome, year, gain_pp, low_pp, high_pp."""
        limits = []
        for i, outcome in enumerate(self.outcomes):
            d = answer[answer["outcome"] == outcome].sort_values("year")
            years = np.r_[0.0, d["year"].to_numpy(dtype=float)]
            low, high = np.r_[0.0, d["low_pp"].to_numpy()], np.r_[0.0, d["high_pp"].to_numpy()]
            self.means[i].set_data(years, np.r_[0.0, d["gain_pp"].to_numpy()])
            self.bands[i].set_verts([np.column_stack([np.r_[years, years[::-1]], np.r_[high, low[::-1]]])])
            shown = [low, high]
            if checked is None:
                self.sims[i].set_data([], [])
                self.bars[i].set_segments([])
            else:
                c = checked[checked["outcome"] == outcome].sort_values("year")
                x = c["year"].to_numpy(dtype=float) + 0.08  # beside the emulator's point, not on it
                self.sims[i].set_data(x, c["gain_pp"].to_numpy())
                self.bars[i].set_segments([[(a, lo), (a, hi)] for a, lo, hi in zip(x, c["low_pp"], c["high_pp"])])
                shown += [c["low_pp"].to_numpy(), c["high_pp"].to_numpy()]
            ylim = steady_range(np.concatenate(shown), self.axes[i].get_ylim())
            self.axes[i].set_ylim(*ylim)
            limits.append(ylim)
        self.legends[0].set_visible(checked is None)
        self.legends[1].set_visible(checked is not None)
        return self.blit.png(key=tuple(limits))
