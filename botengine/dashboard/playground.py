"""The playground: type a message (sender, private or group, a moment) or paste an event, and see
what every rule would do with it and why not. Nothing is sent, nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from botengine.dashboard.auth import Session
from botengine.dashboard.trials import GROUP, Message, Trial, known_people, try_event, try_message
from botengine.dashboard.ui import Ui, zone_of
from botengine.rules.live import LiveRules
from botengine.sample_events import make_event

SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "a private message": lambda: make_event(text="Hi! Is the shop open today?", name="Alice"),
    "a group message": lambda: make_event(text="hello all", chat=GROUP),
    "a reaction ❤️": lambda: make_event("message.reaction", emoji="❤️"),
    "a read receipt": lambda: make_event("message.ack", ack=3),
    "someone joins a group": lambda: make_event("group.participants.update", chat=GROUP, group_action="join"),
}


class Playground:
    def __init__(self, ui: Ui, rules: LiveRules) -> None:
        self.ui, self.rules = ui, rules

    @property
    def folder(self) -> Path:
        return self.rules.paths[0]

    def routes(self) -> list[BaseRoute]:
        # a viewer may try things too: nothing here changes anything
        return [Route("/playground", self.ui.guarded(self.page), methods=["GET", "POST"])]

    async def page(self, request: Request, session: Session) -> Response:
        sample = request.query_params.get("sample", "")
        mode = "event" if sample in SAMPLES else request.query_params.get("mode", "message")
        body = json.dumps(
            (SAMPLES.get(sample) or SAMPLES["a private message"])(), indent=2, ensure_ascii=False
        )
        message, trial = Message(), None
        if request.method == "POST":
            form = request.state.form
            mode = "event" if form.get("mode") == "event" else "message"
            if mode == "event":
                body = form.get("event", "")
                trial = await try_event(self.rules.current, body)
            else:
                message = Message.of(form)
                trial = await try_message(self.rules.current, message, zone_of(request))
        return self.ui.render(
            request,
            "playground.html",
            session,
            mode=mode,
            body=body,
            message=message,
            trial=trial or Trial(),
            tried=trial is not None,
            samples=list(SAMPLES),
            people=known_people(self.folder),
        )
