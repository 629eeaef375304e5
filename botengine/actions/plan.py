"""What the executor works on and reports: a rule's remaining actions for one event (RunPlan),
stored with retries and follow-ups, and what happened to each action (ActionOutcome).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from botengine.actions.base import ActionSpec, RuleRun
from botengine.errors import PermanentError
from botengine.events import EventView, parse_envelope, view_of
from botengine.retry import RetryPolicy
from botengine.types import JSONDict

Status = Literal["done", "skipped", "dry-run", "retrying", "deferred", "failed", "stopped", "cancelled"]


@dataclass
class RunPlan:
    """What is left to do of one rule for one event: plain data, stored with retry and `later` jobs.

    Carries the actions themselves (not a reference to the rule), so a retry or a follow-up does
    what the rule said when it fired, even if the rules file changed since.
    """

    event: str  # the event's body, as received
    session: str
    event_id: str
    chat: str
    rule: str
    variables: dict[str, Any]
    actions: list[ActionSpec]
    retry: RetryPolicy | None = None
    results: dict[str, Any] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # failed attempts per action index
    errors: dict[str, list[JSONDict]] = field(default_factory=dict)
    unless: list[str] = field(default_factory=list)  # a `later`: cancel if one of these happened…
    since: float = 0.0  # …after this time (the scheduling event's own timestamp, in seconds)

    @classmethod
    def of(cls, view: EventView, run: RuleRun, body: str) -> RunPlan:
        return cls(
            event=body,
            session=view.session,
            event_id=view.id,
            chat=view.chat.id,
            rule=run.rule,
            variables=dict(run.variables),
            actions=list(run.actions),
            retry=run.retry,
        )

    def to_json(self) -> JSONDict:
        return {
            "event": self.event,
            "session": self.session,
            "event_id": self.event_id,
            "chat": self.chat,
            "rule": self.rule,
            "variables": self.variables,
            "actions": [a.to_json() for a in self.actions],
            "retry": self.retry.model_dump(mode="json") if self.retry else None,
            "results": self.results,
            "attempts": self.attempts,
            "errors": self.errors,
            "unless": self.unless,
            "since": self.since,
        }

    @classmethod
    def from_json(cls, data: JSONDict) -> RunPlan:
        return cls(
            event=data["event"],
            session=data["session"],
            event_id=data["event_id"],
            chat=data["chat"],
            rule=data["rule"],
            variables=data["variables"],
            actions=[ActionSpec.from_json(a) for a in data["actions"]],
            retry=RetryPolicy.model_validate(data["retry"]) if data.get("retry") else None,
            results=data.get("results") or {},
            attempts=data.get("attempts") or {},
            errors=data.get("errors") or {},
            unless=data.get("unless") or [],
            since=data.get("since") or 0.0,
        )

    def from_action(self, spec: ActionSpec) -> RunPlan:
        """The plan from `spec` on: what runs again after a retry or a replay."""
        return dataclasses.replace(self, actions=self.actions[self.actions.index(spec) :])

    def view(self) -> EventView:
        parsed = parse_envelope(self.event.encode())
        if isinstance(parsed, list):  # it was valid when accepted: the store was tampered with
            raise PermanentError("the stored event is no longer a valid event")
        return view_of(parsed)


@dataclass(frozen=True)
class ActionOutcome:
    """What happened to one action: for logs, the event trace and dry runs."""

    rule: str
    index: str
    kind: str
    status: Status
    detail: str = ""
    params: JSONDict | None = None  # as rendered, secrets redacted
    result: Any = None
    ms: float = 0.0
    preview: JSONDict | None = None  # what it would do, in words a dry run prints

    def as_dict(self) -> JSONDict:
        return {
            "rule": self.rule,
            "index": self.index,
            "action": self.kind,
            "status": self.status,
            "detail": self.detail,
            "params": self.params,
            "preview": self.preview,
            "ms": round(self.ms, 2),
        }


def summary_of(outcomes: list[ActionOutcome], matched: int) -> str:
    """One word for an event's outcome (a metrics label: few values)."""
    if not matched:
        return "no_match"
    statuses: Mapping[str, int] = {o.status: 1 for o in outcomes}
    for status in ("failed", "retrying", "deferred", "stopped", "dry-run"):
        if status in statuses:
            return status.replace("-", "_")
    return "done"
