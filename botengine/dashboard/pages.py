"""The overview, the events (a filtered, paged table; one event's trace) and the rules."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botengine.dashboard.auth import Session
from botengine.dashboard.charts import events_chart, gap_chart
from botengine.dashboard.timeline import Timeline
from botengine.dashboard.traces import TraceStore
from botengine.dashboard.ui import PREFIX, Page, Ui
from botengine.rules.engine import paused_key
from botengine.rules.guard import file_of
from botengine.rules.live import LiveRules
from botengine.rules.loader import CompiledRule
from botengine.storage import Storage
from botengine.ticker import last_key

# The event outcomes (summaries) in the order the filter offers them, with their words.
OUTCOMES = {
    "done": "done",
    "dry_run": "dry run",
    "no_match": "no rule matched",
    "held": "held for a quiet window",  # debounce: answered later with its burst (botengine/debounce.py)
    "retrying": "retrying",
    "deferred": "deferred",
    "stopped": "stopped",
    "failed": "failed (dead letter)",
}


class Pages:
    def __init__(
        self, ui: Ui, storage: Storage, rules: LiveRules, traces: TraceStore, timeline: Timeline
    ) -> None:
        self.ui, self.storage, self.rules, self.traces, self.timeline = ui, storage, rules, traces, timeline

    def routes(self) -> list[BaseRoute]:
        page = self.ui.guarded
        return [
            Route("/", page(self.overview)),
            Route("/events", page(self.events)),
            Route("/events/{key:path}", page(self.event)),
            Route("/rules", page(self.rules_page)),
            Route("/rules/{name}/{verb:str}", page(self.pause, write=True), methods=["POST"]),
        ]

    async def overview(self, request: Request, session: Session) -> Response:
        minutes = self.timeline.last_hour()
        return self.ui.render(
            request,
            "overview.html",
            session,
            queue_depth=self.storage.queue_depth(),
            events_last_hour=sum(sum(m.events.values()) for m in minutes),
            actions_ok=sum(m.actions_ok for m in minutes),
            actions_failed=sum(m.actions_failed for m in minutes),
            dead_letters=len(await self.storage.dlq_list()),
            reload=self.rules.state,
            events_chart=events_chart(minutes),
            gap_chart=gap_chart(minutes),
        )

    async def events(self, request: Request, session: Session) -> Response:
        params = request.query_params
        chosen = {name: params.get(name, "") for name in ("q", "type", "outcome", "rule")}
        found = await self.traces.recent(
            chosen["q"], None, type_=chosen["type"], outcome=chosen["outcome"], rule=chosen["rule"]
        )
        paging = Page.of(request, len(found))
        every = await self.traces.recent("", None)
        return self.ui.render(
            request,
            "events.html",
            session,
            traces=paging.slice(found),
            paging=paging,
            chosen=chosen,
            types=sorted({str(t.get("type", "")) for t in every}),
            outcomes=OUTCOMES,
            rule_names=[r.name for r in self.rules.current.rules],
        )

    async def event(self, request: Request, session: Session) -> Response:
        trace = await self.traces.get(request.path_params["key"])
        if trace is None:
            return self.ui.missing(request, session, "This event's trace")
        return self.ui.render(request, "event.html", session, trace=trace)

    async def rules_page(self, request: Request, session: Session) -> Response:
        rows = []
        for rule in self.rules.current.rules:
            stats = await self.traces.rule_stats(rule.name)
            paused = await self.storage.get(paused_key(rule.name)) is not None
            file = file_of(rule).rsplit("/", 1)[-1]
            row = {"rule": rule, "hits": stats.hits, "last": stats.last_fired, "paused": paused, "file": file}
            rows.append(row | await self._schedule_of(rule))
        return self.ui.render(request, "rules.html", session, rows=rows, reload=self.rules.state)

    async def _schedule_of(self, rule: CompiledRule) -> dict[str, Any]:
        """A scheduled rule's timetable in words, its next run and its last one (Unix times)."""
        if rule.timetable is None:
            return {"schedule": None}
        following = rule.timetable.next_after(datetime.now(UTC))
        stored = await self.storage.get(last_key(rule.name))
        last_run = stored.get("run") if isinstance(stored, dict) else None
        return {
            "schedule": rule.timetable.describe(),
            "next_run": following.timestamp() if following else None,
            "last_run": last_run,
        }

    async def pause(self, request: Request, session: Session) -> Response:
        name, verb = request.path_params["name"], request.path_params["verb"]
        if self.rules.current.rule(name) is None or verb not in ("pause", "resume"):
            return Response("no such rule or action", 404)
        if verb == "pause":
            await self.storage.put(paused_key(name), {"at": time.time()})
        else:
            await self.storage.delete(paused_key(name))
        return RedirectResponse(f"{PREFIX}/rules", 303)
