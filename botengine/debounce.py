"""Quiet windows (`debounce:`): a burst of messages from one chat answered as one, once it is quiet.

    message ─► rules without a window answer it at once, as always
            └► rules with a window: it joins the chat's burst (bursts.py), its trace says "held"
    quiet   ─► (a job, `wait` after the latest message, at most `max` after the first) one event
               made of the burst ─► the window's rules ─► their actions, once

The event a burst makes is its latest message's, with `text` the texts one a line, `messages` and
`message_ids` every message, and the burst's id as event id (the trace of the answer, the ledger
that keeps its actions single). A reply that quotes, quotes the latest message.

What it decides (docs/rules.md says it in plain words):
- Only incoming messages wait (`message`, `message.any` not from me). Reactions, receipts, group
  events, own messages: every rule sees them at once, with or without a window.
- In a group, each person's messages are a burst of their own.
- A rule answering at once with `stop: true`, or the built-in STOP/START (keywords.py), keeps
  that message out of the bursts: it is not answered twice. `stop:` and `cooldown:` of the
  windowed rules apply when the burst is answered: a burst is one event to them.
- The burst is answered by the rules that held it, as they are when its window ends (a rule
  whose window was edited meanwhile still answers it; the rules that answered at once do not).
- A dry run holds nothing: the windowed rules answer the message as if it were the whole burst,
  and the trace says what would have waited.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from botengine.bursts import Burst, Bursts, slot_of
from botengine.events import BurstMessage, EventView, parse_envelope, view_of
from botengine.jobs import BurstJob
from botengine.quiet import HELD_TYPES, QuietWindow
from botengine.rules.engine import WHY_NOT_KEPT, RuleSet, TraceEntry
from botengine.rules.loader import CompiledRule
from botengine.storage import Storage

Held = tuple[tuple[QuietWindow, RuleSet], ...]


@dataclass(frozen=True)
class Split:
    """The rules that answer an event at once, and the windows (with their rules) it waits for."""

    now: RuleSet
    held: Held = ()


@dataclass(frozen=True)
class DueBurst:
    """A burst whose window ended: its event, and the rules that answer it."""

    burst: Burst
    view: EventView
    body: bytes
    rules: RuleSet


class QuietWindows:
    """The processor's quiet windows: which rules wait, holding messages, answering bursts."""

    def __init__(
        self, storage: Storage, default: QuietWindow | None = None, *, dry_run: bool = False
    ) -> None:
        self.bursts = Bursts(storage)
        self.default = default if default is not None and default.on else None
        self.dry_run = dry_run
        self._parts: tuple[RuleSet, RuleSet, Held] | None = None  # (rules, at once, windows)

    def split(self, rules: RuleSet, view: EventView) -> Split:
        """Which rules answer `view` now and which wait; cheap when no rule has a window."""
        now, windows = self._split_rules(rules)
        if not windows or not holds(view):
            return Split(rules)
        held = tuple((window, part) for window, part in windows if part.candidates(view.type))
        if not held:
            return Split(rules)
        # a dry run holds nothing: every rule answers, the trace says what would wait
        return Split(rules if self.dry_run else now, held)

    async def hold(
        self, view: EventView, body: bytes, held: Held, now: datetime | None = None
    ) -> list[TraceEntry]:
        """Hold the message for each window; the trace entries that say so, per rule waiting.

        `now`: the time the rules see, when it is not the real one (a rehearsal's steps)."""
        entries = []
        for window, part in held:
            if self.dry_run:
                reason = (
                    f"would be held until this chat is quiet for {window.describe()}, then answered "
                    "with the messages sent meanwhile (a dry run shows this message as all of them)"
                )
            else:
                at = now.timestamp() if now is not None else None
                names = [rule.name for rule in part.candidates(view.type)]
                burst = await self.bursts.hold(slot_of(view, window), view, body, window, at, names)
                due = datetime.fromtimestamp(burst.due, UTC)
                reason = (
                    f"waits until this chat is quiet for {window.describe()}, then is answered with "
                    f"its other messages as {burst.id} (at {due:%H:%M:%S} UTC unless another comes)"
                )
            entries += [_held(rule, reason) for rule in part.candidates(view.type)[:WHY_NOT_KEPT]]
        return entries

    async def close(self, job: BurstJob, rules: RuleSet) -> DueBurst | None:
        """The burst of `job` to answer now, or None (a later message re-armed it, or answered)."""
        burst = await self.bursts.close(job)
        if burst is None:
            return None
        view, body = burst_event(burst)
        if burst.rules:  # the rules that held it, as they are now (their window may have changed)
            held = [rule for rule in rules.rules if rule.name in burst.rules]
            return DueBurst(burst, view, body, RuleSet(held, version=rules.version))
        _, windows = self._split_rules(rules)  # a burst held by an older version: by its window
        window = burst.window
        # the rules with that window now; if none has it any more, the rules answering at once
        part = next((p for w, p in windows if (w.wait, w.longest) == (window.wait, window.longest)), None)
        return DueBurst(burst, view, body, part or self._split_rules(rules)[0])

    async def done(self, due: DueBurst) -> None:
        await self.bursts.done(due.burst)

    def window_of(self, rule: CompiledRule) -> QuietWindow | None:
        """The rule's own window, else the engine's (`--debounce`); None: it answers at once."""
        window = rule.debounce if rule.debounce is not None else self.default
        return window if window is not None and window.on and rule.timetable is None else None

    def _split_rules(self, rules: RuleSet) -> tuple[RuleSet, Held]:
        """The rules answering at once and those of each window, once per rules version."""
        if self._parts is not None and self._parts[0] is rules:
            return self._parts[1], self._parts[2]
        at_once: list[CompiledRule] = []
        groups: dict[QuietWindow, list[CompiledRule]] = {}
        for rule in rules.rules:
            window = self.window_of(rule)
            (at_once if window is None else groups.setdefault(window, [])).append(rule)
        now: RuleSet = rules
        windows: Held = ()
        if groups:
            now = RuleSet(at_once, version=rules.version)
            windows = tuple((w, RuleSet(part, version=rules.version)) for w, part in groups.items())
        self._parts = (rules, now, windows)
        return now, windows


def holds(view: EventView) -> bool:
    """Whether a quiet window may hold this event: an incoming message."""
    return view.type in HELD_TYPES and not view.from_me and view.message_id is not None


def burst_event(burst: Burst) -> tuple[EventView, bytes]:
    """The one event a burst is answered as: its latest message's, with every message in it."""
    envelope = json.loads(burst.last)
    envelope["id"] = burst.id
    body = json.dumps(envelope, ensure_ascii=False).encode()
    parsed = parse_envelope(body)
    if isinstance(parsed, list):  # it was valid when held: only a tampered store gets here
        raise ValueError(f"the latest message of {burst.id} is no longer a valid event: {parsed[0].message}")
    messages = tuple(BurstMessage(m.message_id, m.event_id, m.text, m.time) for m in burst.messages)
    text = "\n".join(m.text for m in burst.messages if m.text)
    return replace(view_of(parsed), text=text, burst=messages), body


def stopped(matched: Sequence[str], rules: RuleSet) -> bool:
    """Whether a rule that answered at once has `stop: true`, or a built-in answered (STOP, START):
    the message then waits for no window."""
    return any(rule is None or rule.stop for rule in map(rules.rule, matched))


def _held(rule: CompiledRule, reason: str) -> TraceEntry:
    return TraceEntry(rule.name, "held", "debounce", reason, rule.location)
