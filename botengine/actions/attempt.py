"""One action of a rule plan on its way down the executor's chain (actions/executor.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botengine.actions.base import ACTIONS, ActionContext, ActionKind, ActionSpec, Services, UncertainPolicy
from botengine.actions.plan import ActionOutcome, RunPlan, Status
from botengine.actions.render import Rendered
from botengine.events import EventView
from botengine.jobs import Claim, ledger_key
from botengine.types import JSONDict


@dataclass
class Attempt:
    """One action of a plan on its way down the chain: what every layer needs to know of it."""

    ctx: ActionContext
    plan: RunPlan
    spec: ActionSpec
    kind: ActionKind[Any] | None
    slot: str  # its place in the ledger
    timeout: float
    started: float = field(default_factory=time.perf_counter)
    rendered: Rendered | None = None
    dead_claim: Claim | None = None  # a claim left by a process that died running the action

    @classmethod
    def of(cls, services: Services, view: EventView, plan: RunPlan, spec: ActionSpec) -> Attempt:
        kind = ACTIONS.get(spec.kind)
        return cls(
            ctx=ActionContext(view, plan.rule, spec.index, services, plan.results, spec, plan),
            plan=plan,
            spec=spec,
            kind=kind,
            slot=ledger_key(plan.session, plan.event_id, plan.rule, spec.index),
            timeout=spec.timeout or (kind.timeout if kind else 15.0),
        )

    @property
    def policy(self) -> UncertainPolicy:
        """What to do when it may or may not have happened: the action's word, else its kind's."""
        return self.spec.uncertain or (self.kind.uncertain if self.kind else "resend")

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def outcome(self, status: Status, detail: str = "", result: Any = None, ms: float = 0.0) -> ActionOutcome:
        shown = self.rendered.shown if self.rendered is not None else None
        spec = self.spec
        return ActionOutcome(self.plan.rule, spec.index, spec.kind, status, detail, shown, result, ms)

    def record_error(self, message: str) -> int:
        """Note a failed attempt in the plan (retries and dead letters show them); its number."""
        attempt = self.plan.attempts.get(self.spec.index, 0) + 1
        self.plan.errors.setdefault(self.spec.index, []).append(
            {"at": datetime.now(UTC).isoformat(), "attempt": attempt, "error": message}
        )
        return attempt

    @property
    def fields(self) -> JSONDict:
        """The action's fields in log lines."""
        plan = self.plan
        return {"rule": plan.rule, "action": self.spec.kind, "event_id": plan.event_id, "chat": plan.chat}
