"""Trying rules on a message or an event, for people: the playground and the editor both use it.

A typed message (text, sender, private or group chat, a moment) becomes an event; the dry-run
service runs it through the rules; every rule of the set then gets one line: what it would do,
or in words why not (the trigger that said no, or "listens to other events").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from botengine import confined
from botengine.actions.plan import ActionOutcome
from botengine.dry_run import dry_run_event
from botengine.errors import BotengineError, FileRefusedError
from botengine.rules.engine import OUTCOME_WORDS, RuleSet
from botengine.sample_events import DEFAULT_SENDER, make_event
from botengine.textlists import parse_list

GROUP = "120363025912345678@g.us"  # the sample group of examples/events


@dataclass(frozen=True)
class Message:
    """A message as a person describes it in the playground's form."""

    text: str = "Hi! Is the shop open today?"
    sender: str = DEFAULT_SENDER
    name: str = "Alice"
    chat: str = "private"  # or "group"
    group: str = GROUP
    at: str = ""  # a datetime-local value in the person's zone; empty: now

    @classmethod
    def of(cls, form: dict[str, str]) -> Message:
        """From the form's fields (`message` is the text: `text` is the editor's own field)."""
        fields: dict[str, str] = {
            f: form[f].strip() for f in ("sender", "name", "chat", "group", "at") if f in form
        }
        if "message" in form:
            fields["text"] = form["message"]  # spaces may matter to a rule
        return cls(**fields)

    def moment(self, zone: ZoneInfo) -> datetime | None:
        if not self.at:
            return None
        try:
            moment = datetime.fromisoformat(self.at)
        except ValueError as exc:
            raise BotengineError(f"{self.at!r} is not a date and time") from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    def event(self, zone: ZoneInfo) -> tuple[dict[str, Any], datetime | None]:
        """The event this message would arrive as, and the moment to evaluate it at."""
        sender = self.sender or DEFAULT_SENDER
        if "@" not in sender:
            sender = f"{''.join(c for c in sender if c.isdigit())}@c.us"  # a phone number typed as such
        moment = self.moment(zone)
        event = make_event(
            text=self.text,
            sender=sender,
            chat=(self.group or GROUP) if self.chat == "group" else None,
            name=self.name or None,
            timestamp_ms=int(moment.timestamp() * 1000) if moment else None,
        )
        return event, moment


@dataclass
class Verdict:
    """What one rule would do with the event, or why not."""

    rule: str
    location: str
    outcome: str  # in words
    why: str = ""
    actions: list[ActionOutcome] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.outcome == "matched"


@dataclass
class Trial:
    envelope: str = ""  # the event tried, as JSON text
    verdicts: list[Verdict] = field(default_factory=list)
    error: str = ""


async def try_event(rules: RuleSet, body: str, now: datetime | None = None) -> Trial:
    """Every rule's verdict on the event `body` (JSON text), evaluated at `now` (default: now)."""
    trial = Trial(envelope=body)
    try:
        processed = await dry_run_event(rules, body.encode(), now=now)
    except BotengineError as exc:
        trial.error = str(exc)
        return trial
    seen = {entry.rule: entry for entry in processed.evaluation.trace}
    for rule in rules.rules:
        entry = seen.get(rule.name)
        if entry is None:
            listens = ", ".join(rule.on)
            why = f"listens to other events (on: {listens})"
            trial.verdicts.append(Verdict(rule.name, rule.location, "not for this event", why))
            continue
        why = f"{entry.trigger}: {entry.reason}" if entry.trigger else (entry.reason or "")
        actions = [o for o in processed.outcomes if o.rule == rule.name]
        trial.verdicts.append(Verdict(rule.name, rule.location, OUTCOME_WORDS[entry.outcome], why, actions))
    return trial


async def try_message(rules: RuleSet, message: Message, zone: ZoneInfo) -> Trial:
    try:
        event, moment = message.event(zone)
    except BotengineError as exc:
        return Trial(error=str(exc))
    return await try_event(rules, json.dumps(event, indent=2, ensure_ascii=False), moment)


def known_people(folder: Path) -> list[tuple[str, str]]:
    """(JID, which list it is on) for every JID in the folder's lists: senders worth trying."""
    found: list[tuple[str, str]] = [(DEFAULT_SENDER, "a new customer, on no list")]
    lists = folder / "lists"
    if not lists.is_dir():
        return found
    for path in sorted(lists.glob("*.txt")):
        try:
            entries = parse_list(confined.read(folder, path.relative_to(folder)).decode("utf-8", "replace"))
        except FileRefusedError:
            continue
        found.extend((entry, f"on the {path.stem} list") for entry in entries.entries if "@" in entry)
    return found[:200]
