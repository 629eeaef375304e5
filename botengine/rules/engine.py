"""Evaluating an event against a rule set: which rules fire, with which variables, and why not.

An event meets only its candidate rules (indexed by event type, exact and wildcard), and their
`text:` regexes are searched in one RE2 Set pass; each candidate's compiled pattern runs only to
confirm a hit and read its named groups. Per rule, in file order: triggers, paused, cooldown,
then `stop`. A `RuleSet` never changes once built, so swapping one in is atomic.

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
from botengine.events import EventView
from botengine.rules.globs import is_glob
from botengine.rules.loader import CompiledRule, InlineTest, load
from botengine.rules.problems import Problem
from botengine.rules.regex import CompiledRegex, RegexSet
from botengine.rules.triggers import MatchContext
from botengine.rules.variables import variables_of
from botengine.storage import Storage
from botengine.storage.keys import key

_YIELD_EVERY = 0.005  # seconds of evaluation before other tasks get a turn
_CLOCK_EVERY = 7  # look at the clock after every 8th rule (position & 7 == 0), and the last

# "unmatched": a trigger said no (the trace says which and why); "error": a trigger could not be
# evaluated (an expression that failed), which is a mistake to fix, not a "no".
Outcome = Literal["matched", "unmatched", "paused", "cooldown", "disabled", "stopped", "error"]
OUTCOME_WORDS: dict[str, str] = {
    "matched": "matched",
    "unmatched": "did not match",
    "failed": "did not match",  # what "unmatched" was called in traces stored by older versions
    "paused": "paused",
    "cooldown": "cooling down",
    "disabled": "disabled",
    "stopped": "stopped by an earlier rule",
    "error": "error",
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
    """The rules an event fired (in order) and a trace of every candidate rule."""

    event_id: str
    version: str
    matches: list[RuleRun] = field(default_factory=list)
    trace: list[TraceEntry] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidates:
    """The rules one event type meets, and their regexes gathered in an RE2 Set."""

    rules: tuple[CompiledRule, ...]
    regex_set: RegexSet | None


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
        self._exact: dict[str, list[CompiledRule]] = {}
        self._wildcard: list[CompiledRule] = []
        for rule in self.rules:
            for pattern in rule.on:
                if is_glob(pattern):
                    self._wildcard.append(rule)
                else:
                    self._exact.setdefault(pattern, []).append(rule)
        self._cache: dict[str, _Candidates] = {}

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
        return self._candidates(event_type).rules

    def _candidates(self, event_type: str) -> _Candidates:
        found = self._cache.get(event_type)
        if found is None:
            rules = {r.order: r for r in self._exact.get(event_type, ())}
            rules.update((r.order, r) for r in self._wildcard if r.matches_type(event_type))
            ordered = tuple(rules[i] for i in sorted(rules))
            regexes = [c.regex for r in ordered for c in r.checks if c.regex is not None]
            found = _Candidates(ordered, RegexSet(regexes) if len(regexes) > 1 else None)
            if len(self._cache) < 1024:  # event types come from outside: bound the cache
                self._cache[event_type] = found
        return found

    async def evaluate(
        self,
        view: EventView,
        storage: Storage | None = None,
        *,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> Evaluation:
        """The rules `view` fires. With `dry_run`, nothing is written (cooldowns are only read)."""
        now = now or datetime.now(UTC)
        result = Evaluation(view.id, self.version)
        candidates = self._candidates(view.type)
        if not candidates.rules:
            return result
        variables: dict[str, Any] | None = None

        def get_variables() -> dict[str, Any]:
            nonlocal variables
            if variables is None:
                variables = variables_of(view, now)
            return variables

        screened: frozenset[CompiledRegex] = frozenset()
        hits: frozenset[CompiledRegex] = frozenset()
        if candidates.regex_set is not None:
            screened, hits = candidates.regex_set.members, candidates.regex_set.matching(view.text)
        stopped_by: str | None = None
        ctx = MatchContext(view, storage, now, get_variables, screened, hits)
        clock = _Clock()
        last = len(candidates.rules)
        for position, rule in enumerate(candidates.rules, 1):
            if stopped_by is not None:
                reason = f"rule {stopped_by!r} has stop: true"
                result.trace.append(TraceEntry(rule.name, "stopped", reason=reason, location=rule.location))
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
            result.trace.append(entry)
            if entry.matched:
                run_vars = {**get_variables(), **ctx.groups}
                if rule.state_reads:
                    clock.pause()
                    run_vars.update(await ctx.read_state(rule.state_reads))
                    clock.resume()
                result.matches.append(RuleRun(rule.name, rule.actions, run_vars, rule.retry))
                if rule.stop:
                    stopped_by = rule.name
        return result

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
