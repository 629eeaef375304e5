"""Chats with a person: each with since when, until when and why, and a Resume button that gives
the chat back to the bot (botengine/handover.py)."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botengine.dashboard.auth import Session
from botengine.dashboard.ui import PREFIX, Ui
from botengine.handover import Handovers
from botengine.storage import Storage

log = logging.getLogger(__name__)


class HandoverPages:
    def __init__(self, ui: Ui, storage: Storage) -> None:
        self.ui = ui
        self.handovers = Handovers(storage)

    def routes(self) -> list[BaseRoute]:
        page = self.ui.guarded
        return [
            Route("/handovers", page(self.table)),
            Route("/handovers/resume", page(self.resume, write=True), methods=["POST"]),
        ]

    async def table(self, request: Request, session: Session) -> Response:
        chats = await self.handovers.all()
        done = request.query_params.get("done", "")
        resumed = request.query_params.get("chat", "")
        return self.ui.render(request, "handovers.html", session, chats=chats, done=done, resumed=resumed)

    async def resume(self, request: Request, session: Session) -> Response:
        form = request.state.form
        chat = form.get("chat", "")
        ended = await self.handovers.end(form.get("session", ""), chat)
        if ended:
            log.info(
                "chat back with the bot (dashboard)", extra={"fields": {"chat": chat, "by": session.user}}
            )
        query = urlencode({"done": "ok" if ended else "no", "chat": chat})
        return RedirectResponse(f"{PREFIX}/handovers?{query}", 303)
