"""The dashboard's pages: overview, event traces, rules, dead letters, playground.

Server-rendered (Jinja2, autoescaped), no front-end build, no JavaScript needed. Every page and
every action needs a session (see auth.py); every POST needs the session's CSRF token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.templating import Jinja2Templates

from botengine.dashboard.auth import COOKIE, SESSION_SECONDS, DashboardAuth, Session
from botengine.dashboard.charts import events_chart, gap_chart
from botengine.dashboard.timeline import Timeline
from botengine.dashboard.traces import TraceStore
from botengine.dlq import headline, replay
from botengine.dry_run import dry_run_event
from botengine.errors import BotengineError
from botengine.rules.engine import paused_key
from botengine.rules.live import LiveRules
from botengine.rules.loader import CompiledRule
from botengine.sample_events import make_event
from botengine.storage import Storage
from botengine.ticker import last_key

PREFIX = "/dashboard"
MAX_FORM = 1 << 20

Handler = Callable[[Request, Session], Awaitable[Response]]

SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "a private message": lambda: make_event(text="Hi! Is the shop open today?", name="Alice"),
    "a group message": lambda: make_event(text="hello all", chat="120363025912345678@g.us"),
    "a reaction ❤️": lambda: make_event("message.reaction", emoji="❤️"),
    "a read receipt": lambda: make_event("message.ack", ack=3),
    "someone joins a group": lambda: make_event(
        "group.participants.update", chat="120363025912345678@g.us", group_action="join"
    ),
}


def _when(ts: float | None) -> str:
    if not ts:
        return "never"
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):  # a time no calendar holds: show it, never fail
        return f"{ts!r} (not a valid time)"


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value on these pages comes from WhatsApp users or rule authors
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return Jinja2Templates(env=env)


class Dashboard:
    def __init__(
        self,
        auth: DashboardAuth,
        storage: Storage,
        rules: LiveRules,
        traces: TraceStore,
        timeline: Timeline,
        *,
        wake_scheduler: Callable[[], None] = lambda: None,
        client_address: Callable[[str | None, str | None], str | None] = lambda peer, _: peer,
        over_tls: Callable[[str, str | None, str | None], bool] = lambda scheme, _, __: scheme == "https",
        webhook_path: str = "/webhook/whatsapp",
    ) -> None:
        self.webhook_path = webhook_path
        self.auth = auth
        self.storage = storage
        self.rules = rules
        self.traces = traces
        self.timeline = timeline
        self.wake_scheduler = wake_scheduler
        self.client_address = client_address  # behind a trusted proxy: the caller, not the proxy
        self.over_tls = over_tls  # …and whether the caller's side of the proxy was TLS
        self.templates = _templates()

    def mount(self) -> Mount:
        page = self._guarded
        return Mount(
            PREFIX,
            routes=[
                Route("/login", self.login, methods=["GET", "POST"]),
                Route("/logout", page(self.logout), methods=["POST"]),
                Route("/", page(self.overview)),
                Route("/events", page(self.events)),
                Route("/events/{key:path}", page(self.event)),
                Route("/rules", page(self.rules_page)),
                Route("/rules/{name}/{verb:str}", page(self.pause), methods=["POST"]),
                Route("/dlq", page(self.dead_letters)),
                Route("/dlq/replay-all", page(self.replay_all), methods=["POST"]),
                Route("/dlq/{entry_id}", page(self.dead_letter)),
                Route("/dlq/{entry_id}/{verb:str}", page(self.dead_letter_action), methods=["POST"]),
                Route("/playground", page(self.playground), methods=["GET", "POST"]),
            ],
        )

    async def home(self, request: Request) -> Response:
        """`/`: the dashboard when it is on, else a page that says what this server is."""
        if self.auth.enabled:
            return RedirectResponse(f"{PREFIX}/", 303)
        return self.render(request, "home.html", None, webhook_path=self.webhook_path)

    # -- sessions -------------------------------------------------------------------------------

    def _guarded(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Refuse without a session (login page for GET, 401/403 for the rest) and, for POST,
        without the session's CSRF token."""

        async def endpoint(request: Request) -> Response:
            if not self.auth.enabled:
                return Response("the dashboard is off: set BOTENGINE_ADMIN_TOKEN or a password", 404)
            session = self.auth.session(request.cookies.get(COOKIE))
            if session is None:
                if request.method == "GET":
                    return RedirectResponse(f"{PREFIX}/login", 303)
                return Response("log in first", 401)
            if request.method == "POST":
                form = await _form(request)
                if not self.auth.csrf_ok(session, form.get("csrf")):
                    return Response("the form is stale or forged (CSRF check failed): reload the page", 403)
                request.state.form = form
            return await handler(request, session)

        return endpoint

    def render(self, request: Request, name: str, session: Session | None, **context: Any) -> Response:
        context.update(prefix=PREFIX, csrf=self.auth.csrf_token(session) if session else "", page=name)
        response = self.templates.TemplateResponse(request, name, context)
        response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'unsafe-inline'"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    def _missing(self, request: Request, session: Session, what: str) -> Response:
        response = self.render(request, "missing.html", session, what=what)
        response.status_code = 404
        return response

    async def login(self, request: Request) -> Response:
        if not self.auth.enabled:
            return Response("the dashboard is off: set BOTENGINE_ADMIN_TOKEN or a password", 404)
        error = ""
        if request.method == "POST":
            peer = request.client.host if request.client else None
            address = self.client_address(peer, request.headers.get("x-forwarded-for")) or "?"
            form = await _form(request)
            if self.auth.locked_out(address):
                error = "Too many wrong attempts: wait a minute."
            elif not self.auth.check(
                address,
                user=form.get("user", ""),
                password=form.get("password", ""),
                token=form.get("token", ""),
            ):
                error = "Wrong user name, password or token."
            else:
                redirect = RedirectResponse(f"{PREFIX}/", 303)
                redirect.set_cookie(
                    COOKIE,
                    self.auth.new_session(),
                    max_age=SESSION_SECONDS,
                    path=PREFIX,
                    httponly=True,
                    samesite="strict",
                    # a cookie sent over TLS never travels over plain HTTP again
                    secure=self.over_tls(request.url.scheme, peer, request.headers.get("x-forwarded-proto")),
                )
                return redirect
        response = self.render(
            request, "login.html", None, error=error, password_login=bool(self.auth.password)
        )
        if error:
            response.status_code = 401
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        response = RedirectResponse(f"{PREFIX}/login", 303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    # -- pages ----------------------------------------------------------------------------------

    async def overview(self, request: Request, session: Session) -> Response:
        minutes = self.timeline.last_hour()
        return self.render(
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
        query = request.query_params.get("q", "")
        traces = await self.traces.recent(query)
        return self.render(request, "events.html", session, traces=traces, query=query)

    async def event(self, request: Request, session: Session) -> Response:
        trace = await self.traces.get(request.path_params["key"])
        if trace is None:
            return self._missing(request, session, "This event's trace")
        return self.render(request, "event.html", session, trace=trace)

    async def rules_page(self, request: Request, session: Session) -> Response:
        rows = []
        for rule in self.rules.current.rules:
            stats = await self.traces.rule_stats(rule.name)
            paused = await self.storage.get(paused_key(rule.name)) is not None
            row = {"rule": rule, "hits": stats.hits, "last": stats.last_fired, "paused": paused}
            rows.append(row | await self._schedule_of(rule))
        return self.render(request, "rules.html", session, rows=rows)

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

    async def dead_letters(self, request: Request, session: Session) -> Response:
        entries = [
            (entry_id, entry, headline(entry_id, entry)) for entry_id, entry in await self.storage.dlq_list()
        ]
        return self.render(request, "dlq.html", session, entries=list(reversed(entries)))

    async def dead_letter(self, request: Request, session: Session) -> Response:
        entry = await self.storage.dlq_get(request.path_params["entry_id"])
        if entry is None:
            return self._missing(request, session, "This dead letter")
        return self.render(
            request, "dlq_entry.html", session, entry_id=request.path_params["entry_id"], entry=entry
        )

    async def dead_letter_action(self, request: Request, session: Session) -> Response:
        entry_id, verb = request.path_params["entry_id"], request.path_params["verb"]
        if verb == "replay":
            done = await replay(self.storage, entry_id)
            self.wake_scheduler()
        elif verb == "drop":
            done = await self.storage.dlq_remove(entry_id)
        else:
            return Response("no such action", 404)
        return RedirectResponse(f"{PREFIX}/dlq?{'ok' if done else 'gone'}={verb}", 303)

    async def replay_all(self, request: Request, session: Session) -> Response:
        for entry_id, _ in await self.storage.dlq_list():
            await replay(self.storage, entry_id)
        self.wake_scheduler()
        return RedirectResponse(f"{PREFIX}/dlq?ok=replay", 303)

    async def playground(self, request: Request, session: Session) -> Response:
        sample = request.query_params.get("sample", "")
        body = json.dumps(
            SAMPLES[sample]() if sample in SAMPLES else SAMPLES["a private message"](), indent=2
        )
        result, error = None, ""
        if request.method == "POST":
            body = request.state.form.get("event", "")
            try:
                result = await dry_run_event(self.rules.current, body.encode())
            except BotengineError as exc:
                error = str(exc)
        return self.render(
            request, "playground.html", session, body=body, result=result, error=error, samples=list(SAMPLES)
        )


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form (the only kind these pages send), bounded in size."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM:
            return {}
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}
