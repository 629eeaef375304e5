"""A processor that records what the worker hands it: for tests of what reaches the queue."""

from __future__ import annotations

from botengine.storage import Incoming
from botengine.testing import eventually


class Recorder:
    """Stands in for the rule processor (`build_app(settings, processor=Recorder())`)."""

    def __init__(self) -> None:
        self.events: list[Incoming] = []

    async def __call__(self, event: Incoming) -> str:
        self.events.append(event)
        return "recorded"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Incoming]:
        """Block until `count` events were processed; every event so far."""
        eventually(lambda: len(self.events) >= count, timeout, f"{count} processed event(s)")
        return self.events
