"""The HTTP server `botengine serve` runs: uvicorn, with the limits a public endpoint needs.

uvicorn closes a connection left idle between requests (`timeout_keep_alive`), but nothing else:
a client that sends its headers a byte at a time, or half a body, holds its connection (and the
request's memory) for as long as it likes, and httptools accepts a header of any size (200 MiB
were taken whole). So each connection here has one deadline at a time:

    connection opened, or the last response sent  →  headers complete within header_timeout
    headers complete                               →  the whole body within body_timeout
    body complete                                  →  none: the answer is the engine's business

Past it, the client gets `408 Request Timeout` (when no answer has started) and the connection is
closed. A request whose headers pass MAX_HEADER_BYTES gets `431` and is closed too.

`Server` starts the engine's work only once the socket listens. uvicorn runs the app's lifespan
before it binds: were the worker started there, an event that holds the event loop (a crash
loop's poison, a long backlog after a restart) would run before /healthz could answer, and from
outside the engine would never have come up.

The deadline is a float moved at each step; a single timer per connection checks it when due and
re-arms itself for the new deadline if it moved. Timers are not created and cancelled per
request: that would cost more than parsing the request.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Protocol

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from botengine.config import Settings

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024  # the request line and every header, together
KEEP_ALIVE_SECONDS = 5  # idle time allowed between two requests on one connection

_REFUSALS = {
    408: b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    431: b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
}


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the deadlines and the header limit described above."""

    header_timeout = 10.0
    body_timeout = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._phase = "headers"  # what the client owes us: "headers", "body", or "" (nothing)
        self._header_bytes = 0
        self._expect("headers", self.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._phase == "headers":
            self._header_bytes += len(data)
        super().data_received(data)
        too_big = self._phase == "headers" and self._header_bytes > MAX_HEADER_BYTES
        if too_big and not self.transport.is_closing():
            self._refuse(431, "its headers passed the size limit")

    def on_headers_complete(self) -> None:
        self._expect("body", self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._header_bytes = 0
        cycle: Any = self.cycle
        if cycle is not None and cycle.response_complete:  # answered before the body was in
            self._expect("headers", self.header_timeout)
        else:
            self._expect("", None)
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle: Any = self.cycle  # the latest request's (a pipelined one may still be running)
        idle = self._phase == "" and (cycle is None or cycle.response_complete)
        if idle and not self.transport.is_closing():  # the client owes the next request's headers
            self._expect("headers", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    # -- the deadline -------------------------------------------------------------------------

    def _expect(self, phase: str, seconds: float | None) -> None:
        self._phase = phase
        self._deadline = None if seconds is None else self.loop.time() + seconds
        if self._deadline is None:
            return  # a pending timer finds no deadline and stops
        if self._timer is not None and self._timer.when() > self._deadline:  # sooner than planned
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = self.loop.call_at(self._deadline, self._check)

    def _check(self) -> None:
        self._timer = None
        if self._deadline is None or self.transport.is_closing():
            return
        if self.loop.time() < self._deadline:  # moved since the timer was set: wait for it
            self._timer = self.loop.call_at(self._deadline, self._check)
            return
        late = "its headers" if self._phase == "headers" else "its body"
        self._refuse(408, f"{late} did not arrive in time")

    def _refuse(self, status: int, why: str) -> None:
        cycle: Any = self.cycle
        # a request already answered (a page that ignored the body it was sent) gets no second
        # answer: the connection just ends
        answered = self._phase == "body" and cycle is not None and cycle.response_started
        if not answered:
            self.transport.write(_REFUSALS[status])
        client = self.client[0] if self.client else "?"
        log.info("closed a connection: %s", why, extra={"fields": {"peer": client, "status": status}})
        self.transport.close()


def server_config(app: Any, settings: Settings, host: str) -> uvicorn.Config:
    """uvicorn's settings for `botengine serve`."""
    protocol = type(
        "GuardedProtocol",
        (GuardedProtocol,),
        {"header_timeout": settings.header_timeout, "body_timeout": settings.body_timeout},
    )
    return uvicorn.Config(
        app,
        host=host,
        port=settings.port,
        loop="uvloop",
        http=protocol,
        access_log=False,
        log_config=None,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=int(settings.shutdown_grace) + 1,
        server_header=False,
        # botengine reads X-Forwarded-For itself, only from BOTENGINE_TRUSTED_PROXIES; uvicorn's
        # default would trust it from loopback and let a local caller pick its own address
        proxy_headers=False,
    )


class Startable(Protocol):
    """What the server needs of `app.state.engine` (botengine.app.Engine)."""

    start_when_listening: bool

    def start_work(self) -> None: ...


class Server(uvicorn.Server):
    """A uvicorn server that starts its engine's work (`Engine.start_work`) once it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.engine = _engine_of(config.app)
        if self.engine is not None:
            self.engine.start_when_listening = True

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.engine is not None and not self.should_exit:  # should_exit: it could not start
            self.engine.start_work()


def _engine_of(app: Any) -> Startable | None:
    engine = getattr(getattr(app, "state", None), "engine", None)
    return engine if callable(getattr(engine, "start_work", None)) else None
