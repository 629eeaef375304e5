"""The server listens before the worker takes its first event.

uvicorn runs the app's lifespan before binding its socket: a worker started there could take an
event left queued by the last run (a crash loop's poison) before anyone could reach /healthz.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from botengine.app import build_app
from botengine.storage import Incoming
from botengine.storage.disk import DiskStorage
from botengine.testing.engine import settings_for_tests
from botengine.testing.server import free_port, serve_in_thread


def test_the_socket_listens_before_the_first_event_is_processed(tmp_path: Path) -> None:
    data, rules = tmp_path / "data", tmp_path / "rules"
    rules.mkdir()

    async def leave_an_event_queued() -> None:
        store = DiskStorage(data)
        await store.accept(Incoming("default", "evt_left_over", "message", "1@c.us", b"{}", time.time()))
        await store.close()

    asyncio.run(leave_an_event_queued())
    port = free_port()
    listening: list[bool] = []

    async def processor(event: Incoming) -> str:
        try:  # the kernel completes a connection only to a socket that listens, busy loop or not
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            listening.append(True)
        except OSError:
            listening.append(False)
        return "checked"

    app = build_app(settings_for_tests(rules, data), processor=processor)
    with serve_in_thread(app, port=port):
        deadline = time.monotonic() + 10
        while not listening and time.monotonic() < deadline:
            time.sleep(0.01)
    assert listening == [True]
