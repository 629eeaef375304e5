"""Charts as inline SVG, drawn on the server: no chart library, no JavaScript."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from markupsafe import Markup, escape

from botengine.dashboard.timeline import Minute

WIDTH, HEIGHT, PAD = 720, 160, 28
COLOURS = ("#2f7ed8", "#8bbc21", "#f28f43", "#910000", "#1aadce", "#77a1e5")


def _frame(body: str, label: str, top: str) -> Markup:
    # every text that reaches the SVG went through escape() above or is a number we computed
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" role="img" aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#999"/>'
        f'<text x="2" y="12" font-size="11">{escape(top)}</text>'
        f'<text x="{PAD}" y="{HEIGHT + 18}" font-size="11">60 min ago</text>'
        f'<text x="{WIDTH - 30}" y="{HEIGHT + 18}" font-size="11">now</text>'
        f"{body}</svg>"
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
    legend = "".join(
        f'<tspan fill="{COLOURS[j % len(COLOURS)]}">■ {escape(name)}</tspan> '
        for j, name in enumerate([*shown, "other"])
    )
    bars.append(f'<text x="{PAD + 90}" y="12" font-size="11">{legend}</text>')
    return _frame("".join(bars), "events per minute by type", f"{peak}/min")


def gap_chart(minutes: Sequence[Minute]) -> Markup:
    """Lines: the delivery gap's median and 95th percentile, minute by minute."""
    series = {"p50": [m.gap(0.5) for m in minutes], "p95": [m.gap(0.95) for m in minutes]}
    peak = max((v for values in series.values() for v in values if v is not None), default=0.0) or 1.0
    slot = (WIDTH - PAD) / max(len(minutes), 1)
    lines = []
    for j, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{PAD + (i + 0.5) * slot:.1f},{HEIGHT - v / peak * (HEIGHT - 16):.1f}"
            for i, v in enumerate(values)
            if v is not None
        )
        if points:
            lines.append(f'<polyline fill="none" stroke="{COLOURS[j]}" stroke-width="2" points="{points}"/>')
        lines.append(f'<text x="{PAD + 90 + j * 50}" y="12" font-size="11" fill="{COLOURS[j]}">{name}</text>')
    return _frame("".join(lines), "delivery gap in seconds", f"{peak:.2f}s")
