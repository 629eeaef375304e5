"""The lists the bot keeps (`add_to`, `remove_from`): who is on each, since when, why and until
when, and a person added or taken off by hand (botengine/store_lists.py)."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botengine.dashboard.auth import Session
from botengine.dashboard.ui import PREFIX, Page, Ui
from botengine.durations import parse_duration
from botengine.rules.live import LiveRules
from botengine.storage import Storage
from botengine.store_lists import ListNameError, StoreLists, kept_names

DEFAULT_SESSION = "default"


class ListPages:
    def __init__(self, ui: Ui, storage: Storage, rules: LiveRules) -> None:
        self.ui, self.lists, self.rules = ui, StoreLists(storage), rules

    def routes(self) -> list[BaseRoute]:
        page = self.ui.guarded
        return [
            Route("/lists", page(self.table)),
            Route("/lists/add", page(self.add, write=True), methods=["POST"]),
            Route("/lists/remove", page(self.remove, write=True), methods=["POST"]),
        ]

    def _kept(self) -> frozenset[str]:
        """The lists the live rules write: the ones a person may add to here."""
        return kept_names(spec for rule in self.rules.current.rules for spec in rule.actions)

    async def table(self, request: Request, session: Session, error: str = "", status: int = 200) -> Response:
        everyone = await self.lists.members()
        chosen = request.query_params.get("list", "")
        counts = Counter(m.list for m in everyone)
        kept = self._kept()
        names = sorted(kept | set(counts))
        shown = [m for m in everyone if not chosen or m.list == chosen]
        paging = Page.of(request, len(shown))
        sessions = sorted({m.session for m in everyone} | {DEFAULT_SESSION})
        response = self.ui.render(
            request,
            "lists.html",
            session,
            names=names,
            counts=counts,
            kept=kept,
            chosen=chosen,
            members=paging.slice(shown),
            paging=paging,
            sessions=sessions,
            done=request.query_params.get("done", ""),
            error=error,
            form=getattr(request.state, "form", {}),
        )
        response.status_code = status
        return response

    async def add(self, request: Request, session: Session) -> Response:
        form = request.state.form
        name, who = form.get("list", "").strip(), form.get("who", "").strip()
        if name not in self._kept():
            return await self.table(request, session, _not_kept(name), 400)
        by, note = f"{session.user}, on the dashboard", form.get("note", "")
        try:
            ttl = parse_duration(form["expires"]) if form.get("expires", "").strip() else None
            member = await self.lists.add(_session(form), name, who, by=by, note=note, ttl=ttl)
        except ValueError as exc:  # a ListNameError, or a duration that is not one
            return await self.table(request, session, str(exc), 400)
        return _back(name, f"added {member.shown} to {name}")

    async def remove(self, request: Request, session: Session) -> Response:
        form = request.state.form
        name = form.get("list", "").strip()
        try:
            removed = await self.lists.remove(_session(form), name, form.get("who", ""))
        except ListNameError as exc:
            return await self.table(request, session, str(exc), 400)
        done = f"took {form.get('who', '')[:200]} off {name}" if removed else "they were not on the list"
        return _back(form.get("back", ""), done)


def _session(form: dict[str, str]) -> str:
    session = form.get("session", "").strip() or DEFAULT_SESSION
    if len(session) > 128 or any(not c.isprintable() or c in "\x1f" for c in session):
        raise ListNameError("the session is a Wawp instance name, like default or shop")
    return session


def _not_kept(name: str) -> str:
    if not name:
        return "Choose a list."
    return (
        f"No rule keeps a list named {name[:64]!r}: a rule with add_to: {name[:64]} makes it one "
        "(a list the rules do not name would be read by no rule)."
    )


def _back(name: str, done: str) -> Response:
    query = urlencode({"list": name, "done": done} if name else {"done": done})
    return RedirectResponse(f"{PREFIX}/lists?{query}", 303)
