"""A fake Wawp API on loopback, for botengine's tests and for trying a bot without WhatsApp.

It answers the endpoints `botengine.wawp.WawpClient` calls over real HTTP, checks each body
field by field (testing/wawp_bodies.py: a malformed one gets 400 and a message, as from Wawp),
records every call, fails on demand, and serves `/hooks/<name>` for the `webhook` action's CRMs
and analytics:

    fake = FakeWawp()
    fake.groups["120363@g.us"] = [{"id": "15551234567@c.us", "role": "participant"}]
    with fake.serve() as base_url:               # point BOTENGINE_WAWP_URL at base_url
        fake.fail("429", times=2, retry_after=3)  # the next two calls are throttled
        ...                                       # run the engine
        [call] = fake.wait_for(1, path_prefix="/v2/send/text")
        assert call.json["message"] == "Hello!"

Echoes: `fake.echo_to(webhook_url)` posts every message sent to that URL as the own message
(`message.any`, `fromMe`) a real number echoes; `fake.hold()` holds the answers to sends (after
their echo went out) until `fake.release()`: Wawp's echo overtaking its answer, on demand.

Failure modes: "500", "429" (with Retry-After), "upstream" (502 `wawp_upstream_error`), "timeout"
(answers after `delay` seconds) and "400" (permanent). A refused connection needs no mode: point
the engine at `botengine.testing.server.free_port()`, where nothing listens.

A subprocess or `botengine fake-wawp` is driven over HTTP instead: `POST /_fake/fail` (the same
fields as `fail()`), `POST /_fake/clear`, `POST /_fake/reset`, `GET /_fake/calls`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from botengine.sample_events import make_event
from botengine.testing import wawp_bodies
from botengine.testing.server import serve_in_thread
from botengine.types import JSONDict
from botengine.wawp import DEFAULT_REACTION_PATH, GROUP_PARTICIPANTS, MAX_TEXT, REMOVE_PARTICIPANTS, SEND_TEXT

log = logging.getLogger("botengine.fake_wawp")

# A failure's answer by mode; "timeout" is not here because it answers normally, only late
FAILURE_ANSWERS: dict[str, tuple[int, JSONDict]] = {
    "500": (500, {"error": "internal"}),
    "429": (429, {"error": "too many requests"}),
    "upstream": (502, {"code": "wawp_upstream_error", "message": "WhatsApp upstream failed"}),
    "400": (400, {"error": "bad request"}),
}
MODES = (*FAILURE_ANSWERS, "timeout")
HOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

Answer = Callable[[Request, Any], Response]


@dataclass(frozen=True)
class Call:
    """One request the fake received. `query` and `headers` stay out of repr: they hold tokens."""

    method: str
    path: str
    query: dict[str, str] = field(repr=False)
    json: Any
    headers: dict[str, str] = field(repr=False)
    at: float
    status: int
    raw_path: str = ""  # the path as it was sent, percent-encoding kept (`path` is decoded)


@dataclass
class _Failure:
    mode: str
    times: int | None  # None: until cleared
    path: str | None
    retry_after: float | None
    delay: float | None

    def response(self) -> Response | None:
        """The failure's answer, or None when the call is to be answered normally (timeout)."""
        if self.mode not in FAILURE_ANSWERS:
            return None
        status, body = FAILURE_ANSWERS[self.mode]
        headers = {"Retry-After": str(self.retry_after or 1)} if self.mode == "429" else None
        return JSONResponse(body, status, headers)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def _parse(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")  # recorded as text: a hook may be sent anything


class FakeWawp:
    """A fake Wawp server: `serve()` it, point the engine at it, inspect `calls`."""

    def __init__(
        self, *, tokens: Mapping[str, str] | None = None, reaction_path: str = DEFAULT_REACTION_PATH
    ) -> None:
        self.tokens = dict(tokens) if tokens is not None else None
        self.reaction_path = reaction_path
        self.groups: dict[str, list[dict[str, str]]] = {}
        self.url = ""  # the base URL while serve() runs
        # uvicorn serves from another thread: every shared table is read and written under the lock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._hook_counts: dict[str, int] = {}
        self._hook_responses: dict[str, tuple[int, Any]] = {}
        self._echo_url: str | None = None
        self._answering = threading.Event()  # cleared by hold(): answers to sends wait
        self._answering.set()
        self.app = Starlette(routes=self._routes())

    # -- the test's controls ------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, path_prefix: str) -> list[Call]:
        return [call for call in self.calls if call.path.startswith(path_prefix)]

    def wait_for(self, count: int, path_prefix: str | None = None, timeout: float = 10.0) -> list[Call]:
        """Block until at least `count` calls (under `path_prefix`) were recorded; return them."""

        def matching() -> list[Call]:
            return [c for c in self._calls if path_prefix is None or c.path.startswith(path_prefix)]

        with self._changed:
            if self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                return matching()
            seen = ", ".join(f"{c.method} {c.path} → {c.status}" for c in self._calls) or "none"
        raise TimeoutError(
            f"expected {count} call(s) to {path_prefix or 'any path'} within {timeout}s, "
            f"got {len(matching())}; calls so far: {seen}"
        )

    def fail(
        self,
        mode: str,
        times: int | None = 1,
        path: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        """Fail the next `times` calls under `path` (every one until cleared when times is None)."""
        if mode not in MODES:
            raise ValueError(f"unknown failure mode {mode!r}: use one of {', '.join(MODES)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for every call")
        with self._lock:
            self._failures.append(_Failure(mode, times, path, retry_after, delay))

    def echo_to(self, webhook_url: str | None, session: str = "default") -> None:
        """Post each message sent (a `message.any` with `fromMe`, its id as answered) to `webhook_url`."""
        self._echo_url, self._echo_session = webhook_url, session

    def hold(self) -> None:
        """Hold the answers to sends from now on (their echoes still go out) until release()."""
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def respond(self, name: str, *, status: int = 200, json: Any = None) -> None:
        """Answer `/hooks/<name>` with `status` and `json` (default `{"ok": true, "n": …}`)."""
        with self._lock:
            self._hook_responses[name] = (status, json)

    def reset(self) -> None:
        """Forget calls, failures and hook responses (group tables are the test's to keep)."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._hook_counts.clear()
            self._hook_responses.clear()

    @contextmanager
    def serve(self, port: int | None = None) -> Iterator[str]:
        """Serve on 127.0.0.1 (a free port when None) while the block runs; yields the base URL."""
        self._stopping.clear()
        with serve_in_thread(self.app, port=port) as base_url:
            self.url = base_url
            try:
                yield base_url
            finally:
                self._stopping.set()  # cut "timeout" delays short, or shutdown would wait for them

    # -- serving ------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        def endpoint(answer: Answer, *, wawp: bool = True) -> Callable[[Request], Awaitable[Response]]:
            async def handle(request: Request) -> Response:  # a coroutine function, or Starlette
                return await self._handle(request, answer, wawp=wawp)  # would run it in a thread

            return handle

        return [
            Route(SEND_TEXT, endpoint(self._send_text), methods=["POST"]),
            *(Route(path, endpoint(self._checked(path)), methods=["POST"]) for path in wawp_bodies.BODIES),
            Route(self.reaction_path, endpoint(lambda _r, _b: JSONResponse({"ok": True})), methods=["PUT"]),
            Route(REMOVE_PARTICIPANTS, endpoint(self._remove_participants), methods=["POST"]),
            Route(GROUP_PARTICIPANTS, endpoint(self._list_participants), methods=["GET"]),
            Route("/hooks/{name:path}", endpoint(self._hook, wawp=False), methods=HOOK_METHODS),
            Route("/_fake/fail", self._control_fail, methods=["POST"]),
            Route("/_fake/clear", self._control(self.clear_failures), methods=["POST"]),
            Route("/_fake/reset", self._control(self.reset), methods=["POST"]),
            Route("/_fake/calls", self._control_calls, methods=["GET"]),
        ]

    async def _handle(self, request: Request, answer: Answer, *, wawp: bool) -> Response:
        at = time.time()
        body = _parse(await request.body())
        failure = None
        response = self._check_credentials(request) if wawp else None
        if response is None:
            failure = self._take_failure(request.url.path)
            response = failure.response() if failure is not None else None
        if response is None:
            response = answer(request, body)
        query, headers = dict(request.query_params), dict(request.headers)
        raw_path = request.scope.get("raw_path", b"").decode("latin-1")
        self._record(
            Call(request.method, request.url.path, query, body, headers, at, response.status_code, raw_path)
        )
        await self._echo(body, response)
        if failure is not None and failure.mode == "timeout":
            await self._delay(30.0 if failure.delay is None else failure.delay)
        return response

    async def _echo(self, body: Any, response: Response) -> None:
        """The own message a send makes, posted as the number's webhook would (see echo_to)."""
        if self._echo_url is None or response.status_code != 200 or not isinstance(body, dict):
            return
        answer = json.loads(bytes(response.body))
        if not isinstance(answer, dict) or not str(answer.get("id", "")).startswith("true_"):
            return
        text = body.get("message") or body.get("caption") or ""
        echo = make_event(
            "message.any", text=str(text), chat=answer["chatId"], from_me=True, session=self._echo_session
        )
        echo["payload"]["id"] = answer["id"]
        async with httpx.AsyncClient() as client:
            await client.post(self._echo_url, json=echo, timeout=10)
        while not self._answering.is_set() and not self._stopping.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    def _check_credentials(self, request: Request) -> Response | None:
        instance, token = request.query_params.get("instance_id"), request.query_params.get("access_token")
        if not instance or not token:
            return _error("missing credentials", 401)
        if self.tokens is not None and self.tokens.get(instance) != token:
            return _error("wrong credentials", 401)
        return None

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.path is None or path.startswith(failure.path):
                    if failure.times is not None:
                        failure.times -= 1
                        if failure.times == 0:
                            self._failures.remove(failure)
                    return failure
        return None

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s → %d %s", call.method, call.path, call.status, _summary(call.json))

    async def _delay(self, seconds: float) -> None:
        # Short asyncio sleeps serve other requests meanwhile and notice when serve() ends, which
        # happens in the test's thread, outside the event loop an asyncio.Event would belong to.
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(min(left, 0.05))

    # -- the endpoints ------------------------------------------------------------------------

    def _send_text(self, _request: Request, body: Any) -> Response:
        if not isinstance(body, dict):
            return _error("expected a JSON object")
        chat_id, message = body.get("chatId"), body.get("message")
        if not isinstance(chat_id, str) or "@" not in chat_id:
            return _error("chatId must be a full JID, like 15551234567@c.us")
        if not isinstance(message, str) or not message or len(message) > MAX_TEXT:
            return _error(f"message must be 1 to {MAX_TEXT} characters")
        message_id = f"true_{chat_id}_{secrets.token_hex(10).upper()}"
        return JSONResponse(
            {"id": message_id, "timestamp": int(time.time()), "chatId": chat_id, "message": message}
        )

    def _checked(self, path: str) -> Answer:
        """An endpoint that checks its body and answers like Wawp: a message id for a message."""

        def answer(_request: Request, body: Any) -> Response:
            if problem := wawp_bodies.check(path, body):
                return _error(problem)
            if path not in wawp_bodies.MESSAGE_PATHS:
                return JSONResponse({"ok": True})
            chat_id = body["chatId"]
            message_id = f"true_{chat_id}_{secrets.token_hex(10).upper()}"
            return JSONResponse({"id": message_id, "timestamp": int(time.time()), "chatId": chat_id})

        return answer

    def _remove_participants(self, request: Request, body: Any) -> Response:
        group = request.path_params["group"]
        if not group.endswith("@g.us"):
            return _error(f"{group!r} is not a group JID (…@g.us)")
        wanted = body.get("participants") if isinstance(body, dict) else None
        if not isinstance(wanted, list) or not all(isinstance(p, dict) and "id" in p for p in wanted):
            return _error('participants must be a list of {"id": …}')
        ids = [str(p["id"]) for p in wanted]
        with self._lock:
            members = self.groups.get(group, [])
            self.groups[group] = [m for m in members if m.get("id") not in ids]
        return JSONResponse({"removed": ids})

    def _list_participants(self, request: Request, _body: Any) -> Response:
        with self._lock:
            return JSONResponse(list(self.groups.get(request.path_params["group"], [])))

    def _hook(self, request: Request, _body: Any) -> Response:
        name = request.path_params["name"]
        with self._lock:
            n = self._hook_counts[name] = self._hook_counts.get(name, 0) + 1
            status, configured = self._hook_responses.get(name, (200, None))
        return JSONResponse({"ok": True, "n": n} if configured is None else configured, status)

    # -- control over HTTP (not recorded) -----------------------------------------------------

    async def _control_fail(self, request: Request) -> Response:
        spec = _parse(await request.body())
        if not isinstance(spec, dict):
            return _error('expected a JSON object like {"mode": "500", "times": 2}')
        fields = {k: spec[k] for k in ("times", "path", "retry_after", "delay") if k in spec}
        try:
            self.fail(str(spec.get("mode")), **fields)
        except (ValueError, TypeError) as exc:
            return _error(str(exc))
        return JSONResponse({"ok": True})

    def _control(self, action: Callable[[], None]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(_request: Request) -> Response:
            action()
            return JSONResponse({"ok": True})

        return endpoint

    async def _control_calls(self, _request: Request) -> Response:
        return JSONResponse([dataclasses.asdict(call) for call in self.calls])


def _summary(body: Any, limit: int = 200) -> str:
    if isinstance(body, dict) and "chatId" in body and "message" in body:
        text = f"chatId={body['chatId']} message={body['message']!r}"
    else:
        text = "" if body is None else json.dumps(body, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- `botengine fake-wawp` --------------------------------------------------------------------
