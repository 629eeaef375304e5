"""Charts as inline SVG, drawn on the server: no chart library, no JavaScript.

The scale and the legend are HTML above the drawing, so they stay readable on a phone, where
the drawing keeps its size and scrolls sideways (starting at "now").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from markupsafe import Markup, escape

from botengine.dashboard.timeline import Minute

WIDTH, HEIGHT, PAD = 720, 160, 28
COLOURS = ("#2f7ed8", "#8bbc21", "#f28f43", "#910000", "#1aadce", "#77a1e5")


def _key(name: str, colour: str) -> str:
    return f'<span class="key" style="color: {colour}">■ {escape(name)}</span>'


def _frame(body: str, label: str, top: str, legend: list[str], note: str = "") -> Markup:
    # every text that reaches the markup went through escape() or is a number we computed
    head = f'<span class="scale">top of the scale: <b>{escape(top)}</b></span> {" ".join(legend)}'
    if note:
        head += f' <span class="off-scale">{escape(note)}</span>'
    return Markup(  # noqa: S704
        f'<div class="chart-head">{head}</div><div class="chart-wrap">'
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" role="img" aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#999"/>'
        f'<text x="{PAD}" y="{HEIGHT + 18}" font-size="11">60 min ago</text>'
        f'<text x="{WIDTH - 30}" y="{HEIGHT + 18}" font-size="11">now</text>'
        f"{body}</svg></div>"
    )


def events_chart(minutes: Sequence[Minute], kinds: int = 5) -> Markup:
    """Stacked bars: events a minute, by type (the busiest types, the rest as 'other')."""
    totals: Counter[str] = Counter()
    for minute in minutes:
        totals.update(minute.events)
    shown = [t for t, _ in totals.most_common(kinds)]
    peak = max((sum(m.events.values()) for m in minutes), default=0) or 1
    slot = (WIDTH - PAD) / max(len(minutes), 1)
    bars = []
    for i, minute in enumerate(minutes):
        y = float(HEIGHT)
        parts = [(t, minute.events.get(t, 0)) for t in shown]
        parts.append(("other", sum(v for t, v in minute.events.items() if t not in shown)))
        for j, (name, count) in enumerate(parts):
            if not count:
                continue
            h = count / peak * (HEIGHT - 16)
            y -= h
            bars.append(
                f'<rect x="{PAD + i * slot:.1f}" y="{y:.1f}" width="{max(slot - 1, 1):.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(name)}: {count}</title></rect>'
            )
    others = sum(v for m in minutes for t, v in m.events.items() if t not in shown)
    legend = [
        _key(name, COLOURS[j % len(COLOURS)])
        for j, name in enumerate([*shown, "other"])
        if name != "other" or others
    ]
    return _frame("".join(bars), "events per minute by type", f"{peak} a minute", legend)


OUTLIER = 10.0  # a point past this many times the typical one is drawn at the top, not scaled to


def human_seconds(value: float) -> str:
    """A duration the way a person reads it: 0.35 s, 12 s, 3.5 min, 8.9 h, 370 d."""
    for size, unit in ((86400.0, "d"), (3600.0, "h"), (60.0, "min")):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def scale_top(values: Sequence[float], typical: Sequence[float] = ()) -> float:
    """The top of the axis: the largest value that is not an outlier, an outlier being more than
    OUTLIER times the median of `typical` (the minutes' medians; default: the values). One event
    months old must not flatten every other minute onto the bottom line."""
    if not values:
        return 1.0
    middle = sorted(typical or values)
    usual = max(middle[len(middle) // 2], 0.5)
    kept = [v for v in values if v <= usual * OUTLIER]
    return max([*kept, usual]) * 1.1


def _marker(x: float, y: float, colour: str, title: str) -> str:
    """A small triangle pointing up: a value above the top of the axis."""
    shape = f"M{x - 4:.1f},{y + 7:.1f} L{x:.1f},{y - 1:.1f} L{x + 4:.1f},{y + 7:.1f} Z"
    return f'<path d="{shape}" fill="{colour}"><title>{escape(title)}</title></path>'


def gap_chart(minutes: Sequence[Minute]) -> Markup:
    """Lines: the delivery gap's median and 95th percentile, minute by minute. Outliers are drawn
    as a mark at the top with their value on hover, and counted under the chart."""
    series = {"p50": [m.gap(0.5) for m in minutes], "p95": [m.gap(0.95) for m in minutes]}
    medians = [v for v in series["p50"] if v is not None]
    top = scale_top([v for values in series.values() for v in values if v is not None], medians)
    slot = (WIDTH - PAD) / max(len(minutes), 1)
    lines, off_scale = [], 0
    for j, (name, values) in enumerate(series.items()):
        points = []
        for i, v in enumerate(values):
            if v is None:
                continue
            x, y = PAD + (i + 0.5) * slot, HEIGHT - min(v, top) / top * (HEIGHT - 16)
            points.append(f"{x:.1f},{y:.1f}")
            lines.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{COLOURS[j]}"/>')  # a lone minute
            if v > top:
                off_scale += 1
                lines.append(_marker(x, y, COLOURS[j], f"{name}: {human_seconds(v)} (off the scale)"))
        if points:
            lines.append(
                f'<polyline fill="none" stroke="{COLOURS[j]}" stroke-width="2" points="{" ".join(points)}"/>'
            )
    note = f"▲ {off_scale} off the scale (events that arrived long after they happened)" if off_scale else ""
    legend = [_key("median", COLOURS[0]), _key("95th percentile", COLOURS[1])]
    return _frame("".join(lines), "delivery gap", human_seconds(top), legend, note)
