"""Evaluating an event against a rule set: which rules fire, with which variables, and why not.

An event meets only its candidate rules (those whose `on:` takes its type), and of those the rule
index (rules/index.py) visits only the ones whose most selective indexed trigger holds: a rule
waiting for another keyword, sender or emoji costs nothing. `text:` regexes are searched in one
RE2 Set pass; each visited rule's compiled pattern runs only to confirm a hit and read its named
groups. Per visited rule, in file order: triggers, paused, cooldown, then `stop`. Every index is
built with the set, and a `RuleSet` never changes once built, so swapping one in is atomic.

The trace keeps every rule that fired and the first WHY_NOT_KEPT of the others, with the count
of the rest (`not_shown`): a trace's size does not grow with the rule count. `explain=True`
(dry runs, `--explain`, inline tests) visits every candidate and keeps every reason.

The triggers of one event have a time budget in total (`budget.EVENT_SECONDS`, on top of each
expression's and regex's own), and a long evaluation gives other tasks a turn every few
milliseconds, so /healthz and the webhook keep answering. Over budget: BudgetExceededError,
naming the rule, and the worker dead-letters the event with that reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from botengine import budget
from botengine.actions import Capability, RuleRun, capabilities_of
from botengine.errors import BudgetExceededError, ExpressionError, RulesError
from botengine.event_types import EVENT_TYPES
from botengine.events import EventView
from botengine.rules.globs import is_glob
from botengine.rules.index import RuleIndex, visit
from botengine.rules.list_reads import LISTS
from botengine.rules.loader import CompiledRule, InlineTest, load
from botengine.rules.problems import Problem
from botengine.rules.triggers import MatchContext
from botengine.rules.triggers.people import sender_on
from botengine.rules.variables import variables_of
from botengine.storage import Storage
from botengine.storage.keys import key

_YIELD_EVERY = 0.005  # seconds of evaluation before other tasks get a turn
_CLOCK_EVERY = 7  # look at the clock after every 8th rule (position & 7 == 0), and the last
WHY_NOT_KEPT = 8  # rules that did not fire, kept with their reason in an event's trace
_EXPLAIN_UP_TO = 32  # candidate rules: up to this many, the trace explains rules the index skipped
_TYPES_CACHED = 1024  # event types come from outside: their candidates are cached up to this many

# "unmatched": a trigger said no (the trace says which and why); "error": a trigger could not be
# evaluated (an expression that failed), which is a mistake to fix, not a "no".
Outcome = Literal["matched", "unmatched", "paused", "cooldown", "disabled", "stopped", "error", "held"]
OUTCOME_WORDS: dict[str, str] = {
    "matched": "matched",
    "unmatched": "did not match",
    "failed": "did not match",  # what "unmatched" was called in traces stored by older versions
    "paused": "paused",
    "cooldown": "cooling down",
    "disabled": "disabled",
    "stopped": "stopped by an earlier rule",
    "error": "error",
    "held": "held for a quiet window",  # debounce: answered with the burst (botengine/debounce.py)
}


@dataclass(frozen=True)
class TraceEntry:
    """What happened to one candidate rule: `trigger` is the first that failed, `reason` why."""

    rule: str
    outcome: Outcome
    trigger: str | None = None
    reason: str | None = None
    location: str = ""

    @property
    def matched(self) -> bool:
        return self.outcome == "matched"

    @property
    def label(self) -> str:
        """The outcome in words ("did not match", not "unmatched")."""
        return OUTCOME_WORDS[self.outcome]


@dataclass
class Evaluation:
    """The rules an event fired (in order), and a trace: every rule that fired, the first
    WHY_NOT_KEPT candidates that did not (all of them when explained), and how many more did not."""

    event_id: str
    version: str
    matches: list[RuleRun] = field(default_factory=list)
    trace: list[TraceEntry] = field(default_factory=list)
    not_shown: int = 0  # candidate rules that did not fire and have no entry in `trace`
    why_not: int = 0  # entries in `trace` of rules that did not fire

    def note(self, entry: TraceEntry, keep: int) -> None:
        """Add `entry` to the trace if its rule fired or fewer than `keep` reasons are kept."""
        if entry.matched or self.why_not < keep:
            self.trace.append(entry)
            self.why_not += not entry.matched
        else:
            self.not_shown += 1


def cooldown_key(session: str, chat: str, rule: str) -> str:
    return key("cooldown", session, chat, rule)


def paused_key(rule: str) -> str:
    return key("paused", rule)


class RuleSet:
    """An immutable, compiled set of rules (and the inline tests that came with them)."""

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        *,
        version: str = "",
        tests: Sequence[InlineTest] = (),
        warnings: Sequence[Problem] = (),
        files: Sequence[Path] = (),
    ) -> None:
        self.rules = tuple(rules)
        self.version = version
        self.tests = tuple(tests)
        self.warnings = tuple(warnings)
        self.files = tuple(files)
        self._order = {rule.name: rule.order for rule in self.rules}
        by_on: dict[tuple[str, ...], list[CompiledRule]] = {}
        for rule in self.rules:
            by_on.setdefault(rule.on, []).append(rule)
        # rules with the same `on:` share an index, built now (never on the first event)
        self._indexes = [(on, RuleIndex(rules)) for on, rules in by_on.items()]
        self._cache: dict[str, tuple[RuleIndex, ...]] = {}
        named = {p for on in by_on for p in on if not is_glob(p)}
        for event_type in [*EVENT_TYPES, *sorted(named - set(EVENT_TYPES))][:_TYPES_CACHED]:
            self._for_type(event_type)

    @classmethod
    def load(cls, paths: Sequence[Path | str], env: Mapping[str, str] | None = None) -> RuleSet:
        """Load and check every rules file under `paths` as one set; RulesError lists every problem.

        `env` is where the rules' secrets will be read (default: the process environment).
        """
        loaded = load(paths, env)
        if loaded.errors:
            raise RulesError(list(loaded.errors))
        return cls(
            loaded.rules,
            version=loaded.version,
            tests=loaded.tests,
            warnings=loaded.warnings,
            files=loaded.files,
        )

    def __len__(self) -> int:
        return len(self.rules)

    @cached_property
    def capabilities(self) -> frozenset[Capability]:
        """What the actions of these rules ask of the engine (the action registry says)."""
        return capabilities_of(spec for rule in self.rules for spec in rule.actions)

    @property
    def follows_activity(self) -> bool:
        """True when an action reads chat activity (`later` with `unless:`): it must be recorded."""
        return Capability.ACTIVITY in self.capabilities

    def rule(self, name: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.name == name), None)

    def candidates(self, event_type: str) -> tuple[CompiledRule, ...]:
        """Every rule whose `on:` takes `event_type`, in file order."""
        rules = [rule for index in self._for_type(event_type) for rule in index.rules]
        return tuple(sorted(rules, key=lambda r: r.order))

    def _for_type(self, event_type: str) -> tuple[RuleIndex, ...]:
        """The indexes of the rule groups whose `on:` takes `event_type`."""
        found = self._cache.get(event_type)
        if found is None:
            found = tuple(index for on, index in self._indexes if index.rules[0].matches_type(event_type))
            if len(self._cache) < _TYPES_CACHED:
                self._cache[event_type] = found
        return found

    async def evaluate(
        self,
        view: EventView,
        storage: Storage | None = None,
        *,
        now: datetime | None = None,
        dry_run: bool = False,
        explain: bool = False,
    ) -> Evaluation:
        """The rules `view` fires. With `dry_run`, nothing is written (cooldowns are only read).

        With `explain`, every candidate rule is tried and the trace says why each did not fire;
        otherwise the index skips the rules that cannot fire (module docstring).
        """
        now = now or datetime.now(UTC)
        result = Evaluation(view.id, self.version)
        indexes = self._for_type(view.type)
        if not indexes:
            return result
        candidates, screened, hits, total = visit(indexes, view, every=explain)
        result.not_shown = total - len(candidates)  # skipped by the index
        variables: dict[str, Any] | None = None

        def get_variables() -> dict[str, Any]:
            nonlocal variables
            if variables is None:
                variables = variables_of(view, now)
            return variables

        stopped_by: str | None = None
        ctx = MatchContext(view, storage, now, get_variables, screened, hits)
        clock = _Clock()
        last = len(candidates)
        keep = len(candidates) if explain else WHY_NOT_KEPT
        for position, rule in enumerate(candidates, 1):
            if stopped_by is not None:
                reason = f"rule {stopped_by!r} has stop: true"
                result.note(TraceEntry(rule.name, "stopped", reason=reason, location=rule.location), keep)
                continue
            ctx.groups = {}
            try:
                # the synchronous triggers first, without a coroutine per rule: most rules stop here
                entry = self._sync_checks(rule, ctx)
                if entry is None:
                    clock.pause()  # storage reads: other tasks run meanwhile, not our time
                    entry = await self._rest(rule, ctx, storage, now, dry_run)
                    clock.resume()
                # a look at the clock every few rules (one per rule would cost a tenth of the rule)
                if (not position & _CLOCK_EVERY or position == last) and clock.step():
                    await clock.turn()
            except BudgetExceededError as exc:
                # the reason first: `dlq list` shows the start of it, and a location can be long
                raise BudgetExceededError(f"{exc} (rule {rule.name!r}, {rule.location})") from exc
            result.note(entry, keep)
            if entry.matched:
                run_vars = {**get_variables(), **ctx.groups}
                if rule.state_reads or rule.reads_subscribed:
                    clock.pause()
                    if rule.state_reads:
                        run_vars.update(await ctx.read_state(rule.state_reads))
                    if rule.reads_subscribed:
                        run_vars["subscribed"] = await ctx.subscribed()
                    clock.resume()
                if rule.list_reads:
                    clock.pause()
                    run_vars[LISTS] = await sender_on(ctx, rule.list_reads)
                    clock.resume()
                result.matches.append(RuleRun(rule.name, rule.actions, run_vars, rule.retry))
                if rule.stop:
                    stopped_by = rule.name
        if (
            result.not_shown
            and result.why_not < keep
            and result.not_shown + len(candidates) <= _EXPLAIN_UP_TO
        ):
            self._explain_skipped(indexes, candidates, ctx, result, keep, stopped_by)
        return result

    def _explain_skipped(
        self,
        indexes: tuple[RuleIndex, ...],
        visited: list[CompiledRule],
        ctx: MatchContext,
        result: Evaluation,
        keep: int,
        stopped_by: str | None,
    ) -> None:
        """Reasons for a few rules the index skipped, so a small rule set's trace explains it whole
        (a large one's shows what fired and what was visited, and counts the rest).

        Their synchronous checks fail by construction (the index skipped them), so this costs at
        most `keep` rules' checks."""
        seen = {id(rule) for rule in visited}
        stop_at = self._order[stopped_by] if stopped_by is not None else None
        for rule in (rule for index in indexes for rule in index.rules if id(rule) not in seen):
            if result.why_not >= keep:
                break
            if stop_at is not None and rule.order > stop_at:
                reason = f"rule {stopped_by!r} has stop: true"
                entry: TraceEntry | None = TraceEntry(
                    rule.name, "stopped", reason=reason, location=rule.location
                )
            else:
                ctx.groups = {}
                try:
                    entry = self._sync_checks(rule, ctx)
                except BudgetExceededError:
                    continue  # an explanation must not cost the event its run
            if entry is not None:
                result.note(entry, keep)
                result.not_shown -= 1
        result.trace.sort(key=lambda e: self._order[e.rule])

    @staticmethod
    def _sync_checks(rule: CompiledRule, ctx: MatchContext) -> TraceEntry | None:
        for check in rule.checks:
            if check.run is None:
                break  # the asynchronous ones come last
            try:
                reason = check.run(ctx)
            except ExpressionError as exc:
                return TraceEntry(rule.name, "error", check.trigger, str(exc), rule.location)
            if reason is not None:
                return TraceEntry(rule.name, "unmatched", check.trigger, reason, rule.location)
        return None

    async def _rest(
        self, rule: CompiledRule, ctx: MatchContext, storage: Storage | None, now: datetime, dry_run: bool
    ) -> TraceEntry:
        for check in rule.checks:
            if check.run_async is None:
                continue
            try:
                reason = await check.run_async(ctx)
            except ExpressionError as exc:
                return TraceEntry(rule.name, "error", check.trigger, str(exc), rule.location)
            if reason is not None:
                return TraceEntry(rule.name, "unmatched", check.trigger, reason, rule.location)
        if not rule.enabled:
            return TraceEntry(rule.name, "disabled", reason="enabled: false", location=rule.location)
        if storage is None:
            return TraceEntry(rule.name, "matched", location=rule.location)
        # Paused and cooldown are read only for rules whose triggers hold: one storage read per
        # firing rule, not per candidate.
        if await storage.get(paused_key(rule.name)) is not None:
            return TraceEntry(rule.name, "paused", reason="paused", location=rule.location)
        if rule.cooldown:
            return await self._cooldown(rule, ctx.view, storage, now, dry_run)
        return TraceEntry(rule.name, "matched", location=rule.location)

    async def _cooldown(
        self, rule: CompiledRule, view: EventView, storage: Storage, now: datetime, dry_run: bool
    ) -> TraceEntry:
        assert rule.cooldown is not None
        slot = cooldown_key(view.session, view.chat.id, rule.name)
        until = now.timestamp() + rule.cooldown
        if dry_run:
            held = await storage.get(slot)
            fired = held is None
        else:
            # add-if-absent: two events of the same chat racing cannot both fire the rule
            fired = await storage.add(slot, [until, view.id], ttl=rule.cooldown)
            held = None if fired else await storage.get(slot)
        # The event that started the cooldown fires again when it is redelivered or replayed:
        # its actions then go through the ledger, which runs only what was not done.
        if fired or (isinstance(held, list) and held[1:] == [view.id]):
            return TraceEntry(rule.name, "matched", location=rule.location)
        if isinstance(held, list) and held:
            held = held[0]
        when = datetime.fromtimestamp(float(held), UTC) if isinstance(held, int | float) else None
        reason = f"in cooldown until {when:%Y-%m-%d %H:%M:%S} UTC" if when else "in cooldown"
        return TraceEntry(rule.name, "cooldown", "cooldown", reason, rule.location)


class _Clock:
    """The time one event's evaluation spends on the loop, with a turn for others now and then."""

    __slots__ = ("_since", "_spent", "_turn")

    def __init__(self) -> None:
        self._since = self._turn = time.perf_counter()
        self._spent = 0.0

    def pause(self) -> None:
        self._spent += time.perf_counter() - self._since

    def resume(self) -> None:
        self._since = time.perf_counter()

    def step(self) -> bool:
        """After each rule: over the event's budget (raises)? Time to let other tasks run?"""
        now = time.perf_counter()
        if self._spent + now - self._since > budget.EVENT_SECONDS:
            raise BudgetExceededError(
                f"the triggers took more than {budget.EVENT_SECONDS:g} s for this event in total"
            )
        return now - self._turn > _YIELD_EVERY

    async def turn(self) -> None:
        self.pause()
        await asyncio.sleep(0)
        self._turn = time.perf_counter()
        self.resume()
