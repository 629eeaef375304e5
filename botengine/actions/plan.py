"""What the executor works on and reports: a rule's remaining actions for one event (RunPlan),
stored with retries and follow-ups, and what happened to each action (ActionOutcome).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from botengine.actions.base import ActionSpec, RuleRun
from botengine.errors import PermanentError
from botengine.events import EventView, parse_envelope, view_of
from botengine.retry import RetryPolicy
from botengine.types import JSONDict

Status = Literal[
    "done", "skipped", "dry-run", "retrying", "deferred", "failed", "stopped", "cancelled", "uncertain"
]


class RunPlan(BaseModel):
    """What is left to do of one rule for one event: stored with retry and `later` jobs.

    Carries the actions themselves (not a reference to the rule), so a retry or a follow-up does
    what the rule said when it fired, even if the rules file changed since. Stored inside a
    `jobs.RunJob` (its one encode/decode path); `view()` parses the event once per plan.
    """

    event: str  # the event's body, as received
    session: str
    event_id: str
    chat: str
    rule: str
    variables: dict[str, Any]
    actions: list[ActionSpec]
    retry: RetryPolicy | None = None
    results: dict[str, Any] = Field(default_factory=dict)
    attempts: dict[str, int] = Field(default_factory=dict)  # failed attempts per action index
    errors: dict[str, list[JSONDict]] = Field(default_factory=dict)
    unless: list[str] = Field(default_factory=list)  # a `later`: cancel if one of these happened…
    since: float = 0.0  # …after this time (the scheduling event's own timestamp, in seconds)
    event_type: str = ""  # the event's type, for dead letters (empty in plans stored before it)
    _view: EventView | None = PrivateAttr(None)  # the parsed event, once parsed

    @classmethod
    def of(cls, view: EventView, run: RuleRun, body: str) -> RunPlan:
        plan = cls(
            event=body,
            session=view.session,
            event_id=view.id,
            chat=view.chat.id,
            rule=run.rule,
            variables=dict(run.variables),
            actions=list(run.actions),
            retry=run.retry,
            event_type=view.type,
        )
        plan._view = view
        return plan

    def from_action(self, spec: ActionSpec) -> RunPlan:
        """The plan from `spec` on: what runs again after a retry or a replay."""
        return self.model_copy(update={"actions": self.actions[self.actions.index(spec) :]})

    def view(self) -> EventView:
        """The event the plan acts on, parsed from its body the first time it is asked for."""
        if self._view is None:
            parsed = parse_envelope(self.event.encode())
            if isinstance(parsed, list):  # it was valid when accepted: the store was tampered with
                raise PermanentError("the stored event is no longer a valid event")
            self._view = view_of(parsed)
        return self._view


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
    return summary_of_statuses([o.status for o in outcomes], matched)


def summary_of_statuses(statuses: Iterable[str], matched: int) -> str:
    """summary_of for statuses alone (the dashboard's traces keep those, updated by later jobs)."""
    if not matched:
        return "no_match"
    statuses = set(statuses)
    for status in ("failed", "retrying", "deferred", "stopped", "uncertain", "dry-run"):
        if status in statuses:
            return status.replace("-", "_")
    return "done"
