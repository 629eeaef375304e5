"""The last hour, minute by minute, for the dashboard's charts: events by type, delivery gap,
actions done and failed. Kept in memory by each engine process (cheap, and gone on restart:
long-term figures belong in Prometheus, from /metrics).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from botengine.actions.plan import ActionOutcome, RunPlan
from botengine.events import delivery_gap
from botengine.processing import Processed

MINUTES = 60
_GAPS_KEPT = 500  # per minute, enough for percentiles
_TYPES_KEPT = 50  # event types per minute; the chart shows the top five anyway


@dataclass
class Minute:
    start: int  # Unix time of the minute's first second
    events: Counter[str] = field(default_factory=Counter)  # by event type
    gaps: list[float] = field(default_factory=list)  # seconds from the event's time to its arrival
    actions_ok: int = 0
    actions_failed: int = 0

    def gap(self, quantile: float) -> float | None:
        if not self.gaps:
            return None
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


class Timeline:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._minutes: dict[int, Minute] = {}

    def _minute(self, at: float | None = None) -> Minute:
        start = int((at if at is not None else self.clock()) // 60 * 60)
        minute = self._minutes.get(start)
        if minute is None:
            minute = self._minutes[start] = Minute(start)
            for old in [m for m in self._minutes if m <= start - MINUTES * 60]:
                del self._minutes[old]
        return minute

    async def record(self, processed: Processed) -> None:
        minute = self._minute(processed.received_at)
        kind = processed.view.type
        if kind not in minute.events and len(minute.events) >= _TYPES_KEPT:
            kind = "other"  # event types come from outside: a minute keeps a bounded number
        minute.events[kind] += 1
        if len(minute.gaps) < _GAPS_KEPT:
            minute.gaps.append(delivery_gap(processed.received_at, processed.view.timestamp_ms))
        self._count(minute, processed.outcomes)

    async def record_job(self, plan: RunPlan, outcomes: list[ActionOutcome]) -> None:
        self._count(self._minute(), outcomes)

    @staticmethod
    def _count(minute: Minute, outcomes: list[ActionOutcome]) -> None:
        minute.actions_ok += sum(o.status in ("done", "dry-run") for o in outcomes)
        minute.actions_failed += sum(o.status == "failed" for o in outcomes)

    def last_hour(self) -> list[Minute]:
        """Sixty minutes, oldest first, empty ones included (charts need the gaps too)."""
        now = int(self.clock() // 60 * 60)
        return [
            self._minutes.get(start) or Minute(start)
            for start in range(now - (MINUTES - 1) * 60, now + 60, 60)
        ]
