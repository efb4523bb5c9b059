"""A ranking as a picture: a horizontal bar chart (valid entries, with each unit's quota
marked), sized to be read on a phone.

Drawn with matplotlib's Agg backend on a bare :class:`Figure` (no pyplot: no global state,
safe from several threads). The font is DejaVu Sans, which matplotlib ships and which has
every Vietnamese letter (ạ ằ ễ ộ ữ…), so names render the same on every machine.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

FONT = "DejaVu Sans"
WIDTH_INCHES, DPI = 8.0, 135  # 1,080 pixels wide: a phone screen's width
_BAR, _MARK, _OWN, _TEXT = "#2e7d32", "#c62828", "#f9a825", "#212121"


@dataclass(frozen=True, slots=True)
class Bar:
    """One unit's line: its place, name, valid entries, quota and rank change ("▲2")."""

    rank: int
    name: str
    valid: int
    target: int | None
    change: str
    own: bool = False


def short(name: str, limit: int = 34) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def render(title: str, subtitle: str, bars: Sequence[Bar]) -> bytes:
    """The PNG of a ranking: best at the top, quota as a red tick, the group's own unit in
    amber, each line's figures in a column on the right."""
    # Imported here: matplotlib takes 0.4 s to import, a third of the bot's start, and only
    # Friday's rankings draw (a restarted bot answers that much sooner).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = max(len(bars), 1)
    header, row, footer = 1.05, 0.55, 0.7  # inches
    height = header + row * rows + footer
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.42, footer / height, 0.4, row * rows / height))
    figure.text(
        0.03, 1 - 0.15 / height, title, fontsize=15, fontweight="bold", va="top", family=FONT
    )
    figure.text(
        0.03, 1 - 0.58 / height, subtitle, fontsize=11, va="top", family=FONT, color="#555555"
    )
    positions = list(range(len(bars)))[::-1]
    top = max([1] + [b.valid for b in bars] + [b.target or 0 for b in bars])
    colours = [_OWN if b.own else _BAR for b in bars]
    axes.barh(positions, [b.valid for b in bars], color=colours, height=0.62)
    marked = [(p, b.target) for p, b in zip(positions, bars, strict=True) if b.target]
    if marked:
        axes.scatter(
            [t for _, t in marked],
            [p for p, _ in marked],
            marker="|",
            s=420,
            linewidths=3,
            color=_MARK,
            zorder=3,
            label="Chỉ tiêu",
        )
        figure.legend(
            loc="upper right",
            fontsize=10,
            frameon=False,
            prop={"family": FONT},
            bbox_to_anchor=(0.98, 1 - 0.5 / height),
        )
    for position, bar in zip(positions, bars, strict=True):
        share = f" · {100 * bar.valid / bar.target:.0f}%" if bar.target else ""
        axes.text(
            1.03,
            position,
            f"{bar.valid}{share} {bar.change}".rstrip(),
            va="center",
            fontsize=10,
            family=FONT,
            color=_TEXT,
            transform=axes.get_yaxis_transform(),
        )
    axes.set_yticks(
        positions, [f"{b.rank}. {short(b.name)}" for b in bars], fontsize=10, family=FONT
    )
    axes.set_xlim(0, top * 1.08)
    axes.set_ylim(-0.6, len(bars) - 0.4)
    # The figures are written beside each bar: no scale to read, and far less text to draw
    # (text is most of matplotlib's time: benchmarks/rankings.py).
    axes.set_xticks([])
    axes.set_xlabel("Sáng kiến hợp lệ · vạch đỏ: chỉ tiêu", fontsize=10, family=FONT)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


# A picture takes about 0.2 s of CPU (most of it drawing text), holding the interpreter's lock.
# Many at once (a Friday broadcast to thousands of groups) are drawn in worker processes, on
# every core, so the bot keeps answering workers meanwhile.
POOL_FROM = 16


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    subtitle: str
    bars: tuple[Bar, ...]


def _draw(chart: Chart) -> bytes:
    return render(chart.title, chart.subtitle, chart.bars)


def render_all(charts: Sequence[Chart]) -> list[bytes]:
    """The PNG of each chart, in order: in worker processes when there are many."""
    if len(charts) < POOL_FROM:
        return [_draw(chart) for chart in charts]
    workers = max(1, min(os.cpu_count() or 1, len(charts) // POOL_FROM))
    # "spawn": the bot's process has threads (the event loop, the database pool), which a
    # forked child would inherit in whatever state they were.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(_draw, charts, chunksize=8))
