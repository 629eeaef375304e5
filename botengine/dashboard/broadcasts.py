"""Broadcast campaigns: each with its progress (sent, skipped, failed, uncertain, left), and
Pause, Resume and Cancel."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botengine import broadcasts
from botengine.dashboard.auth import Session
from botengine.dashboard.ui import PREFIX, Ui
from botengine.storage import Storage

VERBS = {"pause": broadcasts.pause, "resume": broadcasts.resume, "cancel": broadcasts.cancel}


class BroadcastPages:
    def __init__(self, ui: Ui, storage: Storage, wake_scheduler: Callable[[], None]) -> None:
        self.ui, self.storage = ui, storage
        self.wake_scheduler = wake_scheduler

    def routes(self) -> list[BaseRoute]:
        page = self.ui.guarded
        return [
            Route("/broadcasts", page(self.table)),
            Route("/broadcasts/{cid}/{verb:str}", page(self.steer, write=True), methods=["POST"]),
        ]

    async def table(self, request: Request, session: Session) -> Response:
        campaigns = await broadcasts.campaigns(self.storage)
        done = request.query_params.get("done", "")
        return self.ui.render(request, "broadcasts.html", session, campaigns=campaigns, done=done)

    async def steer(self, request: Request, session: Session) -> Response:
        cid, verb = request.path_params["cid"], request.path_params["verb"]
        if verb not in VERBS:
            return Response("no such action", 404)
        changed = await VERBS[verb](self.storage, cid)
        if changed and verb == "resume":
            self.wake_scheduler()  # its run is a job: start it now, not at the next poll
        return RedirectResponse(f"{PREFIX}/broadcasts?done={verb}-{'ok' if changed else 'no'}", 303)
