"""Inline SVG charts drawn by hand (no plotting library, no scripts, no network).

Every piece of text that reaches the SVG (system names, criteria, judges) goes through
:func:`html.escape`, so the markup is safe to embed in the HTML report as is.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fqeval.reports._format import format_p_value
from fqeval.reports._leaderboard import Leaderboard, format_value, metric_label

PALETTE: tuple[str, ...] = (
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#9498a0",
)
SCORE_COLOURS: tuple[str, ...] = ("#d7191c", "#fdae61", "#e6e6a0", "#a6d96a", "#1a9641")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _legend(
    names: Sequence[str],
    x: float,
    y: float,
    colours: Sequence[str],
    full: Sequence[str] | None = None,
) -> list[str]:
    parts = []
    for k, name in enumerate(names):
        yy = y + 16 * k
        tip = f"<title>{_e(full[k])}</title>" if full is not None and full[k] != name else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{yy - 9:.1f}" width="10" height="10" fill="{colours[k]}"/>'
        )
        parts.append(f'<text x="{x + 14:.1f}" y="{yy:.1f}" class="lg">{_e(name)}{tip}</text>')
    return parts


#: the widest plot area (px) before a chart's groups wrap onto a further row
MAX_PLOT_W = 880.0
#: legend names longer than this are shortened (the full name is the tooltip)
LEGEND_CHARS = 40


def _short(name: str, limit: int = LEGEND_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _nice_step(span: float, most: int = 5) -> float:
    """The smallest 1-2-5 step that covers ``span`` in at most ``most`` steps."""
    magnitude = 10.0 ** math.floor(math.log10(max(span, 1e-9) / most))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = factor * magnitude
        if span / step <= most + 1e-9:
            return step
    return 10.0 * magnitude


def _scale(metric: str, values: Sequence[float]) -> tuple[float, float, list[float]]:
    """``(bottom, top, ticks)`` of a value axis: rates 0-100%, scores 1-5, ranks from 1 in
    whole ranks."""
    if metric in ("selection_rate", "win_rate"):
        return 0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]
    if metric == "mean_score":
        return 1.0, 5.0, [1.0, 2.0, 3.0, 4.0, 5.0]
    finite = [v for v in values if math.isfinite(v)]
    if metric == "mean_rank":
        worst = max(2, math.ceil(max(finite, default=2.0) - 1e-9))
        whole = max(1, math.ceil((worst - 1) / 6))
        worst = 1 + whole * math.ceil((worst - 1) / whole)
        return 1.0, float(worst), [float(v) for v in range(1, worst + 1, whole)]
    high = max([1.0, *finite])
    step = _nice_step(high)
    top = step * math.ceil(high / step - 1e-9)
    return 0.0, top, [step * k for k in range(round(top / step) + 1)]


def _axis_title(metric: str, higher_is_better: bool) -> str:
    label = metric_label(metric)
    return label if higher_is_better else f"{label}: lower is better"


def leaderboard_chart(board: Leaderboard) -> str:
    """Grouped bars (one group per leaderboard column, one bar per system) with CI whiskers.

    Groups wrap onto further rows past :data:`MAX_PLOT_W`, so the chart stays about as wide
    as a page (the HTML also scales it down to fit; the legend sits beside the first row).
    """
    if not board.systems or not board.columns:
        return ""
    # Runs of different modes can share a leaderboard; one chart axis shows the first metric.
    metric = board.columns[0].metric
    keep = [k for k, c in enumerate(board.columns) if c.metric == metric]
    systems, columns = board.systems, [board.columns[k] for k in keep]
    cells = {s: [board.cells[s][k] for k in keep] for s in systems}
    values = [v for s in systems for c in cells[s] for v in (c.ci or (c.value,)) if v is not None]
    bottom, top, ticks = _scale(metric, values)
    bar, gap, left, plot_h, label_h, head = 14.0, 18.0, 52.0, 200.0, 56.0, 24.0
    group_w = max(bar * len(systems) + gap, 104.0)
    runs = len(dict.fromkeys(c.run for c in columns))
    per_row = max(1, int(MAX_PLOT_W // group_w))
    if runs > 1 and per_row >= runs:
        per_row -= per_row % runs  # a criterion's runs stay side by side
    per_row = min(per_row, len(columns))
    n_rows = math.ceil(len(columns) / per_row)
    names = [_short(s) for s in systems]
    legend_w = 24 + 6.5 * max(len(n) for n in names)
    plot_w = group_w * per_row
    width = left + plot_w + legend_w + 20
    height = max(head + n_rows * (plot_h + label_h) + 6, head + 16 * len(systems) + 16)
    higher = columns[0].higher_is_better
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="leaderboard chart">',
        f'<text x="{left - 40}" y="14" class="ax">{_e(_axis_title(metric, higher))}</text>',
    ]
    for r in range(n_rows):
        y0 = head + r * (plot_h + label_h)
        row = list(enumerate(columns))[r * per_row : (r + 1) * per_row]

        def y_of(v: float, y0: float = y0) -> float:
            share = (max(bottom, min(v, top)) - bottom) / (top - bottom)
            return y0 + plot_h * (1.0 - share)

        for v in ticks:
            y = y_of(v)
            parts.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + group_w * len(row):.1f}" y2="{y:.1f}" class="grid"/>'
            )
            parts.append(
                f'<text x="{left - 4}" y="{y + 4:.1f}" class="ax" text-anchor="end">{_e(_tick(metric, v))}</text>'
            )
        for slot, (g, col) in enumerate(row):
            bars_w = bar * len(systems)
            gx = left + slot * group_w + (group_w - bars_w) / 2
            for s, system in enumerate(systems):
                cell = cells[system][g]
                x = gx + s * bar
                if cell.value is not None and math.isfinite(cell.value):
                    y = y_of(cell.value)
                    tip = f"{system} · {col.title}: {format_value(metric, cell.value)}"
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{y_of(bottom) - y:.1f}" '
                        f'fill="{_colour(s)}"><title>{_e(tip)}</title></rect>'
                    )
                if cell.ci:
                    cx, lo, hi = x + (bar - 2) / 2, y_of(cell.ci[0]), y_of(cell.ci[1])
                    parts.append(
                        f'<line x1="{cx:.1f}" y1="{lo:.1f}" x2="{cx:.1f}" y2="{hi:.1f}" class="wh"/>'
                    )
                    for yy in (lo, hi):
                        parts.append(
                            f'<line x1="{cx - 3:.1f}" y1="{yy:.1f}" x2="{cx + 3:.1f}" y2="{yy:.1f}" class="wh"/>'
                        )
            cx = left + slot * group_w + group_w / 2
            for line_no, line in enumerate(_wrap(col.title, int(group_w / 6.5))[:3]):
                ly = y0 + plot_h + 14 + 13 * line_no
                parts.append(
                    f'<text x="{cx:.1f}" y="{ly:.1f}" class="ax" text-anchor="middle">{_e(line)}</text>'
                )
    parts.append('<g class="legend">')
    parts += _legend(
        names, left + plot_w + 16, head + 12, [_colour(s) for s in range(len(systems))], systems
    )
    parts.append("</g></svg>")
    return "".join(parts)


def score_distribution_chart(
    systems: Sequence[str], distributions: Mapping[str, Mapping[str, int]]
) -> str:
    """One horizontal 100% bar per system, split by the share of scores 1..5."""
    if not systems:
        return ""
    name_w = 10 + 7 * max(len(s) for s in systems)
    bar_w, row_h = 360.0, 22.0
    width, height = name_w + bar_w + 20, 30 + row_h * len(systems) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="score distribution">'
    ]
    for r, system in enumerate(systems):
        dist = distributions.get(system) or {}
        total = sum(int(dist.get(str(k), 0)) for k in range(1, 6))
        y = 10 + r * row_h
        parts.append(
            f'<text x="{name_w - 6:.1f}" y="{y + 14:.1f}" class="lg" text-anchor="end">{_e(system)}</text>'
        )
        x = float(name_w)
        for k in range(1, 6):
            count = int(dist.get(str(k), 0))
            w = bar_w * count / total if total else 0.0
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row_h - 4:.1f}" fill="{SCORE_COLOURS[k - 1]}"><title>{_e(f"{system}: score {k}: {count} of {total}")}</title></rect>'
                )
                if w > 18:
                    parts.append(
                        f'<text x="{x + w / 2:.1f}" y="{y + 13:.1f}" class="in" text-anchor="middle">{k}</text>'
                    )
            x += w
    ly = 10 + row_h * len(systems) + 14
    for k in range(1, 6):
        lx = name_w + (k - 1) * 66
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 9:.1f}" width="10" height="10" fill="{SCORE_COLOURS[k - 1]}"/><text x="{lx + 14:.1f}" y="{ly:.1f}" class="lg">score {k}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _percent_scale(high: float) -> tuple[float, float]:
    """``(top, step)`` of a percent axis reaching ``high`` in at most five steps."""
    for step in (0.05, 0.1, 0.2, 0.25, 0.5):
        top = step * math.ceil(high / step - 1e-9)
        if top / step <= 5 + 1e-9:
            return min(top, 1.0), step
    return 1.0, 0.25


def position_chart(by_judge: Mapping[str, Mapping[str, Any]], per_row: int = 4) -> str:
    """Bars of pick share per display slot, one panel per (judge, slots shown), each with a
    percent axis; the uniform share is dashed. Panels wrap after ``per_row``."""
    panels = [
        (judge, entry)
        for judge, per_k in by_judge.items()
        for entry in per_k.values()
        if entry.get("n")
    ]
    if not panels:
        return ""
    axis_w, plot_w, plot_h, top_pad, foot = 36.0, 160.0, 110.0, 30.0, 34.0
    panel_w, panel_h = axis_w + plot_w + 18, top_pad + plot_h + foot
    columns = min(per_row, len(panels))
    width = 10 + panel_w * columns
    height = panel_h * math.ceil(len(panels) / columns) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="position bias">'
    ]
    for p, (judge, entry) in enumerate(panels):
        rates = [r or 0.0 for r in entry.get("rates", [])]
        k = max(len(rates), 1)
        x0 = 10 + (p % columns) * panel_w
        base = (p // columns) * panel_h
        top, step = _percent_scale(max([1.0 / k, *rates]) * 1.05)
        px, bottom = x0 + axis_w, base + top_pad + plot_h

        def y_of(v: float, bottom: float = bottom, top: float = top) -> float:
            return bottom - plot_h * min(v, top) / top

        parts.append(
            f'<text x="{x0:.1f}" y="{base + 14:.1f}" class="lg">{_e(_short(str(judge), 24))} ({k} slots, p {_e(format_p_value(entry.get("p")))})<title>{_e(judge)}</title></text>'
        )
        for t in range(round(top / step) + 1):
            v = t * step
            y = y_of(v)
            parts.append(
                f'<line x1="{px:.1f}" y1="{y:.1f}" x2="{px + plot_w:.1f}" y2="{y:.1f}" class="grid"/>'
                f'<text x="{px - 4:.1f}" y="{y + 4:.1f}" class="ax" text-anchor="end">{100 * v:.0f}%</text>'
            )
        parts.append(
            f'<line x1="{px:.1f}" y1="{base + top_pad:.1f}" x2="{px:.1f}" y2="{bottom:.1f}" class="axis"/>'
        )
        bw = plot_w / k
        for s, rate in enumerate(rates):
            y = y_of(rate)
            x = px + s * bw + 1.5
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw - 3:.1f}" height="{bottom - y:.1f}" fill="{_colour(0)}"><title>{_e(f"slot {s + 1}: {rate:.1%}")}</title></rect>'
            )
            parts.append(
                f'<text x="{x + (bw - 3) / 2:.1f}" y="{bottom + 13:.1f}" class="ax" text-anchor="middle">{s + 1}</text>'
            )
        parts.append(
            f'<text x="{px + plot_w / 2:.1f}" y="{bottom + 27:.1f}" class="ax" text-anchor="middle">display slot</text>'
        )
        uy = y_of(1.0 / k)
        parts.append(
            f'<line x1="{px:.1f}" y1="{uy:.1f}" x2="{px + plot_w:.1f}" y2="{uy:.1f}" class="uni"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tick(metric: str, value: float) -> str:
    if metric in ("selection_rate", "win_rate"):
        return f"{100 * value:.0f}%"
    return f"{value:g}"


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap for axis labels (SVG text does not wrap by itself)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]
