"""The dead letters: a table with filters and pages, one entry in full, replay and drop (one, the
ones ticked, or every one the filter shows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botengine.dashboard.auth import Session
from botengine.dashboard.ui import PREFIX, Page, Ui
from botengine.dlq import replay
from botengine.errors import RecordError
from botengine.jobs import ActionLetter, EventLetter, JobLetter, decode_letter
from botengine.storage import Storage
from botengine.types import JSONDict

FILTERS = ("q", "kind", "rule", "action")


@dataclass(frozen=True)
class Row:
    """One dead letter as the table shows it."""

    id: str
    at: float | None
    kind: str
    rule: str
    action: str
    event_id: str
    chat: str
    error: str
    attempts: int

    def matches(self, chosen: dict[str, str]) -> bool:
        if any(chosen[f] and getattr(self, f) != chosen[f] for f in ("kind", "rule", "action")):
            return False
        needle = chosen["q"].strip().casefold()
        fields = (self.id, self.event_id, self.chat, self.error, self.rule, self.action)
        return not needle or any(needle in f.casefold() for f in fields)


def seconds(value: str | float | None) -> float | None:
    """A time as stored in a letter (ISO text or epoch seconds) as epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def row_of(entry_id: str, entry: JSONDict) -> Row:
    stamp = entry_id.split("-", 1)[0]
    at = int(stamp) / 1e9 if stamp.isdigit() else None
    try:
        letter = decode_letter(entry)
    except RecordError as exc:
        return Row(entry_id, at, "unreadable", "", "", "", "", str(exc), 0)
    rule = action = event_id = chat = ""
    if isinstance(letter, ActionLetter):
        rule, action, event_id, chat = letter.rule, letter.action, letter.event_id, letter.chat
    elif isinstance(letter, EventLetter):
        event_id, chat = letter.event_id, letter.chat
    elif isinstance(letter, JobLetter):
        event_id = letter.job_id.replace("\x1f", " ")
    return Row(entry_id, at, letter.kind, rule, action, event_id, chat, letter.last_error, len(letter.errors))


class DeadLetterPages:
    def __init__(self, ui: Ui, storage: Storage, wake_scheduler: Callable[[], None]) -> None:
        self.ui, self.storage = ui, storage
        self.wake_scheduler = wake_scheduler

    def routes(self) -> list[BaseRoute]:
        page = self.ui.guarded
        return [
            Route("/dlq", page(self.table)),
            Route("/dlq/bulk", page(self.bulk, write=True), methods=["POST"]),
            Route("/dlq/replay-all", page(self.replay_all, write=True), methods=["POST"]),
            Route("/dlq/{entry_id}", page(self.entry)),
            Route("/dlq/{entry_id}/{verb:str}", page(self.one, write=True), methods=["POST"]),
        ]

    async def _rows(self) -> list[Row]:
        return [row_of(i, e) for i, e in reversed(await self.storage.dlq_list())]  # newest first

    async def table(self, request: Request, session: Session) -> Response:
        chosen = {name: request.query_params.get(name, "") for name in FILTERS}
        every = await self._rows()
        shown = [r for r in every if r.matches(chosen)]
        paging = Page.of(request, len(shown))
        return self.ui.render(
            request,
            "dlq.html",
            session,
            rows=paging.slice(shown),
            paging=paging,
            chosen=chosen,
            total=len(every),
            kinds=sorted({r.kind for r in every}),
            rule_names=sorted({r.rule for r in every if r.rule}),
            actions=sorted({r.action for r in every if r.action}),
            query=urlencode({k: v for k, v in chosen.items() if v}),
            done=request.query_params.get("done", ""),
        )

    async def entry(self, request: Request, session: Session) -> Response:
        entry_id = request.path_params["entry_id"]
        entry = await self.storage.dlq_get(entry_id)
        if entry is None:
            return self.ui.missing(request, session, "This dead letter")
        errors = [{**e, "at": seconds(e.get("at"))} for e in entry.get("errors", []) if isinstance(e, dict)]
        return self.ui.render(
            request,
            "dlq_entry.html",
            session,
            entry_id=entry_id,
            entry=entry,
            row=row_of(entry_id, entry),
            errors=errors,
        )

    async def one(self, request: Request, session: Session) -> Response:
        entry_id, verb = request.path_params["entry_id"], request.path_params["verb"]
        if verb not in ("replay", "drop"):
            return Response("no such action", 404)
        done = await self._act(verb, [entry_id])
        return RedirectResponse(f"{PREFIX}/dlq?done={verb}-{done}", 303)

    async def bulk(self, request: Request, session: Session) -> Response:
        """The ticked entries, or with `every` every entry the filter matches."""
        form = request.state.form
        verb, _, scope = form.get("verb", "").partition("-")
        if verb not in ("replay", "drop"):
            return Response("no such action", 404)
        chosen = {name: form.get(name, "") for name in FILTERS}
        if scope == "every":
            ids = [r.id for r in await self._rows() if r.matches(chosen)]
        else:
            ids = request.state.fields.get("id", [])
        done = await self._act(verb, ids)
        back = urlencode({**{k: v for k, v in chosen.items() if v}, "done": f"{verb}-{done}"})
        return RedirectResponse(f"{PREFIX}/dlq?{back}", 303)

    async def replay_all(self, request: Request, session: Session) -> Response:
        done = await self._act("replay", [r.id for r in await self._rows()])
        return RedirectResponse(f"{PREFIX}/dlq?done=replay-{done}", 303)

    async def _act(self, verb: str, ids: list[str]) -> int:
        done = 0
        for entry_id in ids:
            done += await (
                replay(self.storage, entry_id) if verb == "replay" else self.storage.dlq_remove(entry_id)
            )
        if verb == "replay" and done:
            self.wake_scheduler()
        return done
