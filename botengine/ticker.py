"""The ticker: queues each run of a scheduled rule when it falls due.

Every worker runs one. For each scheduled rule of the live set it wakes at the rule's next run
time and queues the run as an event (botengine/ticks.py) with `Storage.accept`, whose
add-if-absent on (session, event id) lets exactly one of the workers queue it; the queue then
keeps it until a worker has processed it.

    ticks due since last look ─┬─ on time (late by less than the rule's window) ─► queued
                               └─ missed (the engine was down, or busy for long):
                                    missed: skip  ─► logged, not run
                                    missed: once  ─► the latest of them queued (once)

Per rule the store keeps how far the ticks were looked at and the last run queued, so a restart
knows what it missed. A rule seen for the first time starts from now: it never runs for the past.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from botengine.errors import StorageError
from botengine.rules.engine import RuleSet
from botengine.rules.loader import CompiledRule
from botengine.rules.schedule import tick_window
from botengine.storage import Storage
from botengine.storage.keys import key
from botengine.ticks import tick_incoming

log = logging.getLogger(__name__)

MAX_SLEEP = 30.0  # look again at least this often (a clock that jumps, a rule added)


def last_key(rule: str) -> str:
    return key("meta", "schedule", rule)


@dataclass(frozen=True)
class NextRun:
    """For the dashboard: when a scheduled rule runs next, and how it says when."""

    rule: str
    schedule: str
    next_at: datetime | None
    last_at: datetime | None


class Ticker:
    def __init__(
        self,
        storage: Storage,
        rules: Callable[[], RuleSet],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.rules = rules
        self.clock = clock
        self._seen: dict[str, datetime] = {}  # per rule: ticks up to here were looked at
        self._pending: dict[str, list[datetime]] = {}  # on-time ticks the store refused: again
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.queued = 0  # runs this ticker queued (the others were queued by another worker)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="botengine-ticker")

    def wake(self) -> None:
        """Look again now (the rules changed); callable from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                wait = await self.tick()
            except Exception:  # the loop must outlive a bad rule or a store that is down
                log.exception("the ticker failed (it tries again in a few seconds)")
                wait = 5.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def tick(self) -> float:
        """Queue what fell due; the seconds until the next run of any rule (at most MAX_SLEEP)."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        soonest = MAX_SLEEP
        for rule in self.scheduled():
            await self._due(rule, now)
            assert rule.timetable is not None
            following = rule.timetable.next_after(now)
            if following is not None:
                soonest = min(soonest, (following - now).total_seconds())
        return max(0.01, soonest)

    def scheduled(self) -> list[CompiledRule]:
        return [r for r in self.rules().rules if r.timetable is not None and r.enabled]

    async def _due(self, rule: CompiledRule, now: datetime) -> None:
        timetable = rule.timetable
        assert timetable is not None
        since = self._seen.get(rule.name)
        if since is None:
            since = await self._last_queued(rule.name, now)
        due = list(timetable.ticks(since, now))
        window = tick_window(timetable)
        on_time = [t for t in due if now - t <= window]
        missed = [t for t in due if now - t > window]
        if missed:
            self._report_missed(rule, missed, on_time)
            if timetable.missed == "once" and not on_time:
                on_time = [missed[-1]]
        retry = self._pending.pop(rule.name, [])
        failed = [t for t in [*retry, *on_time] if not await self._queue(rule, t)]
        if failed:
            self._pending[rule.name] = failed
        if missed:  # looked at, decided: a restart must not decide again
            await self._remember(rule.name, now)
        self._seen[rule.name] = now

    async def _last_queued(self, rule: str, now: datetime) -> datetime:
        """Where to start looking for a rule's runs: where the last look ended, or now for a new rule."""
        try:
            stored = await self.storage.get(last_key(rule))
        except StorageError as exc:
            log.error("cannot read when rule %r last ran (%s): looking from now on", rule, exc)
            return now
        if isinstance(stored, dict) and isinstance(stored.get("seen"), int | float):
            return datetime.fromtimestamp(float(stored["seen"]), UTC)
        await self._remember(rule, now)
        return now

    async def _queue(self, rule: CompiledRule, at: datetime) -> bool:
        """Put one run in the queue (or find it already there); False when the store refused."""
        assert rule.timetable is not None
        try:
            queued = await self.storage.accept(tick_incoming(rule.name, rule.timetable.session, at))
        except StorageError as exc:
            log.error(
                "cannot queue the %s run of rule %r (will try again): %s", at.isoformat(), rule.name, exc
            )
            return False
        if queued:
            self.queued += 1
            log.info("scheduled run queued", extra={"fields": {"rule": rule.name, "at": at.isoformat()}})
        await self._remember(rule.name, at, ran=at)
        return True

    async def _remember(self, rule: str, seen: datetime, ran: datetime | None = None) -> None:
        """Ticks up to `seen` were dealt with (and `ran` was the last one queued)."""
        with contextlib.suppress(StorageError):  # only a restart's catch-up reads it
            before = await self.storage.get(last_key(rule))
            last_run = (
                ran.timestamp() if ran else (before or {}).get("run") if isinstance(before, dict) else None
            )
            await self.storage.put(last_key(rule), {"seen": seen.timestamp(), "run": last_run})

    @staticmethod
    def _report_missed(rule: CompiledRule, missed: list[datetime], on_time: list[datetime]) -> None:
        assert rule.timetable is not None
        runs_once = rule.timetable.missed == "once" and not on_time
        what = "the latest runs once (missed: once)" if runs_once else "skipped (missed: skip)"
        log.warning(
            "rule %r missed %d run(s) from %s to %s while the engine was not running: %s",
            rule.name,
            len(missed),
            missed[0].isoformat(),
            missed[-1].isoformat(),
            what,
        )

    async def next_runs(self) -> list[NextRun]:
        """Every scheduled rule with its next and last run times (for the dashboard)."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        found = []
        for rule in self.scheduled():
            assert rule.timetable is not None
            last = None
            with contextlib.suppress(StorageError):
                stored = await self.storage.get(last_key(rule.name))
                if isinstance(stored, dict) and isinstance(stored.get("run"), int | float):
                    last = datetime.fromtimestamp(float(stored["run"]), UTC)
            found.append(NextRun(rule.name, rule.timetable.describe(), rule.timetable.next_after(now), last))
        return found
