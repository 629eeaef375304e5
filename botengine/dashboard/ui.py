"""What every dashboard page shares: the login check, the CSRF check, rendering, times, forms.

Pages are server-rendered (Jinja2, autoescaped) and work without JavaScript; a little script
(static/) makes them nicer: local times, the editor's live check. Every page needs a session;
every POST needs the session's CSRF token; a POST that changes something needs an admin session
(a viewer sees everything and changes nothing).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute
from starlette.templating import Jinja2Templates

from botengine.dashboard.auth import COOKIE, DashboardAuth, Session
from botengine.rules.engine import OUTCOME_WORDS

PREFIX = "/dashboard"
MAX_FORM = 2 << 20  # a rules file (1 MiB) and the rest of its form
TZ_COOKIE = "botengine_tz"
PAGE_SIZE = 50
OFF = "the dashboard is off: set BOTENGINE_ADMIN_TOKEN or a password"
CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"

Handler = Callable[[Request, Session], Awaitable[Response]]


class PageGroup(Protocol):
    """A group of pages (one module): its routes, mounted under PREFIX."""

    def routes(self) -> list[BaseRoute]: ...


def zone_of(request: Request) -> ZoneInfo:
    """The time zone the person chose (a cookie set by the page), UTC until they choose."""
    name = unquote(request.cookies.get(TZ_COOKIE, "UTC"))  # the page's script sets it URL-encoded
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Clock:
    """Times shown one way on every page: in the chosen zone, with UTC on hover."""

    zone: ZoneInfo

    def __call__(self, ts: float | None, empty: str = "never") -> Markup:
        if not ts or not math.isfinite(ts):
            return escape(empty)
        try:
            moment = datetime.fromtimestamp(ts, UTC)
        except (OverflowError, ValueError, OSError):  # a time no calendar holds: show it, never fail
            return escape(f"{ts!r} (not a valid time)")
        local = moment.astimezone(self.zone)
        shown = local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or self.zone.key)
        utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        return Markup('<time datetime="{}" title="{}">{}</time>').format(moment.isoformat(), utc, shown)


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value on these pages comes from WhatsApp users or rule authors
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    env.filters["outcome"] = lambda value: OUTCOME_WORDS.get(str(value), str(value))
    env.filters["pretty_json_text"] = pretty_json_text
    env.filters["where"] = lambda location: str(location).rsplit("/", 1)[-1]  # shop.yaml:12, not the path
    return Jinja2Templates(env=env)


def pretty_json_text(text: Any) -> str:
    """A JSON text (an event as received) indented for reading; as it is when it is not JSON."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(text)


@dataclass
class Page:
    """A page of a long list: which slice to show, and the links around it."""

    number: int
    size: int
    total: int
    query: tuple[tuple[str, str], ...] = ()  # the filters, kept in the links

    @classmethod
    def of(cls, request: Request, total: int, size: int = PAGE_SIZE) -> Page:
        raw = request.query_params.get("page", "1")
        number = int(raw) if raw.isdigit() and int(raw) > 0 else 1
        pages = max(1, math.ceil(total / size))
        query = tuple((k, v) for k, v in request.query_params.multi_items() if k not in ("page", "done"))
        return cls(min(number, pages), size, total, query)

    def href(self, number: int) -> str:
        return "?" + urlencode([*self.query, ("page", str(number))])

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def start(self) -> int:
        return (self.number - 1) * self.size

    def slice(self, items: list[Any]) -> list[Any]:
        return items[self.start : self.start + self.size]


class Ui:
    def __init__(
        self,
        auth: DashboardAuth,
        *,
        client_address: Callable[[str | None, str | None], str | None] = lambda peer, _: peer,
        over_tls: Callable[[str, str | None, str | None], bool] = lambda scheme, _, __: scheme == "https",
    ) -> None:
        self.auth = auth
        self.client_address = client_address  # behind a trusted proxy: the caller, not the proxy
        self.over_tls = over_tls  # …and whether the caller's side of the proxy was TLS
        self.templates = _templates()

    def guarded(self, handler: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
        """Refuse without a session (login page for GET, 401 for the rest), a POST without the
        session's CSRF token (403), and, for `write` handlers, a read-only session (403)."""

        async def endpoint(request: Request) -> Response:
            if not self.auth.enabled:
                return Response(OFF, 404)
            session = self.auth.session(request.cookies.get(COOKIE))
            if session is None:
                if request.method == "GET":
                    return RedirectResponse(f"{PREFIX}/login", 303)
                return Response("log in first", 401)
            if request.method == "POST":
                fields = await read_form(request)
                form = {name: values[0] for name, values in fields.items()}
                if not self.auth.csrf_ok(session, form.get("csrf")):
                    return Response("the form is stale or forged (CSRF check failed): reload the page", 403)
                if write and not session.can_edit:
                    return Response("this login is read-only: it can look, not change", 403)
                request.state.form, request.state.fields = form, fields
            return await handler(request, session)

        return endpoint

    def render(self, request: Request, template: str, session: Session | None, **context: Any) -> Response:
        zone = zone_of(request)
        context.update(
            prefix=PREFIX,
            csrf=self.auth.csrf_token(session) if session else "",
            session=session,
            can_edit=bool(session and session.can_edit),
            page=template,
            when=Clock(zone),
            zone=zone.key,
        )
        response = self.templates.TemplateResponse(request, template, context)
        secure(response)
        return response

    def missing(self, request: Request, session: Session, what: str) -> Response:
        response = self.render(request, "missing.html", session, what=what)
        response.status_code = 404
        return response


def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def json_answer(body: Any, status: int = 200) -> Response:
    return secure(JSONResponse(body, status_code=status))


async def read_form(request: Request) -> dict[str, list[str]]:
    """A urlencoded form (the only kind these pages send), bounded in size; every value per name."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM:
            return {}
    return parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
