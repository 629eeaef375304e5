"""The dashboard's minute-by-minute figures never fail on an event whose own time is odd."""

from __future__ import annotations

import dataclasses
import json

import pytest

from botengine.dashboard.charts import gap_chart
from botengine.dashboard.timeline import Timeline
from botengine.events import Envelope, delivery_gap, parse_envelope, view_of
from botengine.processing import Processed
from botengine.rules.engine import Evaluation
from botengine.testing import make_event

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("timestamp_ms", "gap"),
    [(int(NOW * 1000) - 2500, 2.5), (int(NOW * 1000) + 60_000, 0.0), (10**400, 0.0), (-(10**400), 0.0)],
    ids=["normal", "ahead-of-our-clock", "beyond-any-float", "far-before-1970"],
)
def test_the_delivery_gap_is_a_plain_number_whatever_the_time(timestamp_ms: int, gap: float) -> None:
    assert delivery_gap(NOW, timestamp_ms) == pytest.approx(gap)


async def test_the_timeline_and_its_chart_take_any_time() -> None:
    parsed = parse_envelope(json.dumps(make_event(text="hi")).encode())
    assert isinstance(parsed, Envelope)
    timeline = Timeline(clock=lambda: NOW)
    for odd in (10**400, 253_402_300_800_000, 0):
        # a view built past the edge's checks (an old stored event, a test helper)
        view = dataclasses.replace(view_of(parsed), timestamp_ms=odd)
        await timeline.record(Processed(view, Evaluation(view.id, "v1"), received_at=NOW))
    [minute] = [m for m in timeline.last_hour() if m.events]
    assert minute.gaps == [0.0, 0.0, NOW]
    assert "<svg" in gap_chart(timeline.last_hour())


async def test_a_minute_keeps_a_bounded_number_of_event_types() -> None:
    parsed = parse_envelope(json.dumps(make_event(text="hi")).encode())
    assert isinstance(parsed, Envelope)
    timeline = Timeline(clock=lambda: NOW)
    for n in range(500):  # a sender inventing event types
        view = dataclasses.replace(view_of(parsed), type=f"invented.{n}")
        await timeline.record(Processed(view, Evaluation(view.id, "v1"), received_at=NOW))
    [minute] = [m for m in timeline.last_hour() if m.events]
    assert len(minute.events) <= 51 and minute.events["other"] == 450
    assert sum(minute.events.values()) == 500
