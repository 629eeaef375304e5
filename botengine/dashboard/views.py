"""The dashboard: its pages put together under /dashboard, the login, and `/`.

    overview · events (table, one event's trace) · rules (pause) · editor (files, versions)
    · dead letters (table, one entry, replay/drop) · broadcasts (progress, pause/resume/cancel)
    · chats with a person (resume)
    · lists the rules keep (members, add/remove)
    · playground · time zone · log in/out

Each group of pages is its own module and gets what it needs here; ui.py holds what they share
(the session and CSRF checks, rendering, times). See auth.py for the logins.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from botengine.dashboard.auth import COOKIE, SESSION_SECONDS, DashboardAuth, Session
from botengine.dashboard.broadcasts import BroadcastPages
from botengine.dashboard.dead_letters import DeadLetterPages
from botengine.dashboard.editor import Editor
from botengine.dashboard.handovers import HandoverPages
from botengine.dashboard.lists import ListPages
from botengine.dashboard.pages import Pages
from botengine.dashboard.playground import Playground
from botengine.dashboard.timeline import Timeline
from botengine.dashboard.traces import TraceStore
from botengine.dashboard.ui import OFF, PREFIX, TZ_COOKIE, PageGroup, Ui, read_form
from botengine.rules.folder import RulesFolder
from botengine.rules.history import RulesHistory
from botengine.rules.live import LiveRules
from botengine.storage import Storage

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


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
        self.auth = auth
        self.webhook_path = webhook_path
        self.ui = Ui(auth, client_address=client_address, over_tls=over_tls)
        folder = RulesFolder(rules.paths[0], env=rules.env)
        self.groups: list[PageGroup] = [
            Pages(self.ui, storage, rules, traces, timeline),
            Editor(self.ui, folder, RulesHistory(storage), traces),
            DeadLetterPages(self.ui, storage, wake_scheduler),
            BroadcastPages(self.ui, storage, wake_scheduler),
            HandoverPages(self.ui, storage),
            ListPages(self.ui, storage, rules),
            Playground(self.ui, rules),
        ]

    def mount(self) -> Mount:
        page = self.ui.guarded
        routes = [
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", page(self.logout), methods=["POST"]),
            Route("/time", page(self.time_zone), methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
        ]
        for group in self.groups:
            routes.extend(group.routes())
        return Mount(PREFIX, routes=routes)

    async def home(self, request: Request) -> Response:
        """`/`: the dashboard when it is on, else a page that says what this server is."""
        if self.auth.enabled:
            return RedirectResponse(f"{PREFIX}/", 303)
        return self.ui.render(request, "home.html", None, webhook_path=self.webhook_path)

    async def login(self, request: Request) -> Response:
        if not self.auth.enabled:
            return Response(OFF, 404)
        error = ""
        if request.method == "POST":
            peer = request.client.host if request.client else None
            address = self.ui.client_address(peer, request.headers.get("x-forwarded-for")) or "?"
            form = {name: values[0] for name, values in (await read_form(request)).items()}
            user = form.get("user", "")
            role = None
            if self.auth.locked_out(address):
                error = "Too many wrong attempts: wait a minute."
            else:
                role = self.auth.check(
                    address, user=user, password=form.get("password", ""), token=form.get("token", "")
                )
                error = "" if role else "Wrong user name, password or token."
            if role is not None:
                redirect = RedirectResponse(f"{PREFIX}/", 303)
                redirect.set_cookie(
                    COOKIE,
                    self.auth.new_session(role, user if form.get("password") else "admin (token)"),
                    max_age=SESSION_SECONDS,
                    path=PREFIX,
                    httponly=True,
                    samesite="strict",
                    # a cookie sent over TLS never travels over plain HTTP again
                    secure=self.ui.over_tls(
                        request.url.scheme, peer, request.headers.get("x-forwarded-proto")
                    ),
                )
                return redirect
        response = self.ui.render(
            request, "login.html", None, error=error, password_login=self.auth.password_login
        )
        if error:
            response.status_code = 401
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        response = RedirectResponse(f"{PREFIX}/login", 303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    async def time_zone(self, request: Request, session: Session) -> Response:
        """Pick the zone times are shown in (kept in a cookie); UTC stays on hover."""
        if request.method == "POST":
            zone = request.state.form.get("zone", "UTC")
            back = request.state.form.get("back", "")
            target = back if back.startswith(PREFIX + "/") and not urlparse(back).netloc else f"{PREFIX}/"
            response = RedirectResponse(target, 303)
            if zone in ZONES or zone == "UTC":
                response.set_cookie(TZ_COOKIE, zone, max_age=400 * 86400, path=PREFIX, samesite="strict")
            return response
        back = request.query_params.get("back", f"{PREFIX}/")
        return self.ui.render(request, "time.html", session, zones=ZONES, back=back)
