"""Event traces: what the engine did with each recent event and why, kept for a bounded window.

Like Home Assistant's automation traces: per event, the normalized view, every candidate rule
with its outcome (matched, or the first trigger that failed and why), and every action with its
rendered parameters, outcome and time; retries and follow-ups that run later are added to the
trace of their event. Traces live in the store (so every node of a scaled-out engine sees them)
under the `trace` namespace, each with an expiry, and at most `limit` are kept.

Rule statistics (hits, last fired) are kept beside them for the dashboard's rules page.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from botengine.actions.plan import ActionOutcome, RunPlan, summary_of_statuses
from botengine.events import EventView
from botengine.processing import Processed
from botengine.rules.variables import variables_of
from botengine.storage import Storage
from botengine.storage.keys import key
from botengine.types import JSONDict

_TEXT_SHOWN = 500  # characters of a message kept in its trace
_ENVELOPE_KEPT = 32 << 10  # an event's envelope is kept (to try rules on it again) up to this size


def trace_key(received_at: float, session: str, event_id: str) -> str:
    # the time first, so keys sort by arrival
    return key("trace", "event", f"{int(received_at * 1e9):020d}", session, event_id)


def _by_event_key(session: str, event_id: str) -> str:
    return key("trace", "by-event", session, event_id)


def _hits_key(rule: str) -> str:
    return key("meta", "rule-hits", rule)


def _last_key(rule: str) -> str:
    return key("meta", "rule-last", rule)


@dataclass(frozen=True)
class RuleStats:
    hits: int
    last_fired: float | None


class TraceStore:
    def __init__(self, storage: Storage, *, window: float = 86400.0, limit: int = 5000) -> None:
        self.storage = storage
        self.window = window
        self.limit = limit
        # (trace key, its by-event key) this process wrote, oldest first, to enforce `limit`
        self._recent: deque[tuple[str, str]] = deque()

    # -- writing (the processor's listeners) ----------------------------------------------------

    async def record(self, processed: Processed) -> None:
        view = processed.view
        slot = trace_key(processed.received_at, view.session, view.id)
        variables = variables_of(view)
        variables["text"] = variables["text"][:_TEXT_SHOWN]
        del variables["payload"]  # the whole event body: too big to keep per trace
        trace: JSONDict = {
            "key": slot,
            "event_id": view.id,
            "type": view.type,
            "session": view.session,
            "chat": view.chat.id,
            "sender": view.sender.shown if view.sender else "",  # both forms: found by either
            "text": view.text[:_TEXT_SHOWN],
            "received_at": processed.received_at,
            "event_time": view.timestamp_ms / 1000,
            "summary": processed.summary,
            "version": processed.evaluation.version,
            "view": variables,
            "rules": [
                {
                    "rule": e.rule,
                    "outcome": e.outcome,
                    "trigger": e.trigger,
                    "reason": e.reason,
                    "location": e.location,
                }
                for e in processed.evaluation.trace
            ],
            # the other candidate rules: skipped by the index, or past the reasons kept
            "rules_not_shown": processed.evaluation.not_shown,
            "actions": [_action(o, processed.received_at) for o in processed.outcomes],
            "envelope": _envelope(view),
        }
        await self.storage.put(slot, trace, ttl=self.window)
        by_event = _by_event_key(view.session, view.id)
        await self.storage.put(by_event, slot, ttl=self.window)
        for run in processed.evaluation.matches:
            await self.storage.incr(_hits_key(run.rule))
            await self.storage.put(_last_key(run.rule), time.time())
        await self._keep_bounded(slot, by_event)

    async def record_job(self, plan: RunPlan, outcomes: list[ActionOutcome]) -> None:
        """Add what a retry, follow-up or replay did to its event's trace (while it is kept)."""
        slot = await self.storage.get(_by_event_key(plan.session, plan.event_id))
        if not isinstance(slot, str):
            return
        trace = await self.storage.get(slot)
        if not isinstance(trace, dict):
            return
        trace["actions"] = [*trace.get("actions", []), *(_action(o, time.time()) for o in outcomes)]
        trace["summary"] = _summary(trace)  # a retry that ends in the dead letters shows in the list
        await self.storage.put(slot, trace, ttl=self.window)

    async def _keep_bounded(self, slot: str, by_event: str) -> None:
        self._recent.append((slot, by_event))
        while len(self._recent) > self.limit:
            for old in self._recent.popleft():  # the trace and the key that finds it by event id
                await self.storage.delete(old)

    # -- reading (the dashboard) ----------------------------------------------------------------

    async def recent(
        self, query: str = "", limit: int | None = 100, *, type_: str = "", outcome: str = "", rule: str = ""
    ) -> list[JSONDict]:
        """Newest first; `query` matches the chat, the sender, the event id or the text; `type_`,
        `outcome` (the summary) and `rule` (one that matched) narrow it down."""
        needle = query.strip().casefold()
        found = []
        for _, trace in reversed(await self.storage.scan(key("trace", "event", ""))):
            if not isinstance(trace, dict):
                continue
            if needle and not any(
                needle in str(trace.get(f, "")).casefold() for f in ("chat", "sender", "event_id", "text")
            ):
                continue
            if (type_ and trace.get("type") != type_) or (outcome and trace.get("summary") != outcome):
                continue
            if rule and not any(
                r.get("rule") == rule and r.get("outcome") == "matched" for r in trace.get("rules", [])
            ):
                continue
            found.append(trace)
            if limit is not None and len(found) >= limit:
                break
        return found

    async def get(self, slot: str) -> JSONDict | None:
        if not slot.startswith(key("trace", "event", "")):
            return None  # only traces, whatever the URL says
        trace = await self.storage.get(slot)
        return trace if isinstance(trace, dict) else None

    async def rule_stats(self, rule: str) -> RuleStats:
        hits = await self.storage.get(_hits_key(rule))
        last = await self.storage.get(_last_key(rule))
        return RuleStats(int(hits) if isinstance(hits, int) else 0, float(last) if last else None)


def _action(outcome: ActionOutcome, at: float) -> dict[str, Any]:
    return {**outcome.as_dict(), "at": at}


def _summary(trace: JSONDict) -> str:
    """The event's outcome from the latest status of each of its actions."""
    latest = {(a.get("rule"), a.get("index")): str(a.get("status")) for a in trace.get("actions", [])}
    matched = sum(r.get("outcome") == "matched" for r in trace.get("rules", []))
    return summary_of_statuses(latest.values(), matched or bool(latest))


def _envelope(view: EventView) -> JSONDict | None:
    """The event again as Wawp sent it (from its view), for trying edited rules on it; None when
    it is too large to keep in every trace."""
    envelope: JSONDict = {
        "id": view.id,
        "timestamp": view.timestamp_ms,
        "session": view.session,
        "engine": view.engine,
        "event": view.type,
        "payload": dict(view.payload),
        "me": {"id": view.me.id, "pushName": view.me.name} if view.me else None,
        "metadata": dict(view.metadata),
    }
    try:
        size = len(json.dumps(envelope, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return None
    return envelope if size <= _ENVELOPE_KEPT else None
