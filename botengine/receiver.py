"""The webhook route: the thin ingestion layer Wawp posts to.

    address allowed? → secret? → JSON content type? → size → signature? → JSON → envelope
    (an older shape completed: botengine/envelope.py) → queue not full? → dedupe + enqueue → 200

Every request gets an answer from this list, and no client input produces a 5xx:

    200 accepted, or a duplicate of an event already accepted (the sender must stop retrying)
    400 the body is not JSON              401 no or wrong secret / signature
    403 address not on the allowlist      413 body past the size limit (counted, not trusted)
    415 not a JSON content type           422 JSON, but not a valid envelope (names the field)
    503 queue full or storage unavailable, with Retry-After (the sender retries later)

(Before a request reaches this endpoint, the server answers 408 to one whose headers or body come
too slowly, and 431 to one whose headers are too large: http_server.py.)

No rule runs here: the worker takes the event from the queue.

This is a plain ASGI endpoint rather than a Starlette request/response function: it is the one
hot path of the service, and Starlette's Request and Response objects cost more than the
parsing, the validation and the storage write together (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import unquote_plus

from starlette.types import Receive, Scope, Send

from botengine.auth import Authenticator
from botengine.envelope import read_body
from botengine.errors import QueueFullError, StorageError
from botengine.events import chat_id_of, delivery_gap
from botengine.metrics import Metrics
from botengine.storage import Incoming, Storage
from botengine.storage.health import StoreHealth
from botengine.ticks import TICK_EVENT

log = logging.getLogger(__name__)

_ACCEPTED = b'{"status":"accepted"}'
_DUPLICATE = b'{"status":"duplicate"}'
_WANTED_HEADERS = frozenset(
    {
        b"content-type",
        b"content-length",
        b"x-webhook-secret",
        b"x-webhook-hmac",
        b"x-webhook-hmac-algorithm",
        b"x-forwarded-for",
    }
)


def _json_headers(body: bytes, retry_after: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", b"5"))
    return headers


# The headers of the two answers almost every request gets, encoded once (and copied for each
# response: a middleware may add to the list it is given).
_ANSWER_HEADERS = {body: tuple(_json_headers(body)) for body in (_ACCEPTED, _DUPLICATE)}


class Rejected(Exception):
    """A request refused with `status`; `reason` is the metric label and the error code."""

    def __init__(self, status: int, reason: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.details = details


def _is_json(content_type: bytes) -> bool:
    if content_type == b"application/json":
        return True
    media = content_type.decode("latin-1").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _query_param(query_string: bytes, name: bytes) -> str | None:
    """One parameter of a query string (cheaper than parsing all of it on the hot path)."""
    prefix = name + b"="
    for pair in query_string.split(b"&"):
        if pair.startswith(prefix):
            return unquote_plus(pair[len(prefix) :].decode("latin-1"))
    return None


async def _send_json(send: Send, status: int, body: bytes, retry_after: bool = False) -> None:
    headers = _json_headers(body, retry_after)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Receiver:
    """The ASGI endpoint for POSTs to the webhook path."""

    def __init__(
        self,
        storage: Storage,
        auth: Authenticator,
        metrics: Metrics,
        *,
        max_body: int,
        health: StoreHealth | None = None,
    ) -> None:
        self.storage = storage
        self.auth = auth
        self.metrics = metrics
        self.health = health or StoreHealth(metrics.count_store_error)  # /readyz hears of refusals
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await self._ingest(scope, receive)
        except Rejected as rejected:
            await self._answer_rejection(scope, send, rejected)
            return
        if body is not None:
            headers = list(_ANSWER_HEADERS[body])
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    async def _ingest(self, scope: Scope, receive: Receive) -> bytes | None:
        """Run every check and store the event; the 200 body, or None if the client left."""
        headers = {k: v for k, v in scope["headers"] if k in _WANTED_HEADERS}
        self._check_caller(scope, headers)
        if not _is_json(headers.get(b"content-type", b"")):
            raise Rejected(415, "not_json", "send the event as Content-Type: application/json")
        body = await self._read_body(receive, headers.get(b"content-length", b""))
        if body is None:
            return None
        if self.auth.needs_signature and not self.auth.signature_ok(
            body, _text(headers.get(b"x-webhook-hmac")), _text(headers.get(b"x-webhook-hmac-algorithm"))
        ):
            raise Rejected(401, "bad_signature", "missing or wrong X-Webhook-Hmac signature")

        now = time.time()
        received = read_body(body, received_at=now)
        if isinstance(received, list):
            if any(p.malformed_json for p in received):
                raise Rejected(400, "malformed_json", "the body is not valid JSON")
            problems = [{"field": p.field or "(body)", "problem": p.message} for p in received]
            first = problems[0]
            raise Rejected(
                422,
                "invalid_envelope",
                f"invalid envelope field '{first['field']}': {first['problem']}",
                field=first["field"],
                problems=problems,
            )
        parsed = received.envelope
        if parsed.event == TICK_EVENT:  # only the ticker makes these: a rule's scheduled run
            raise Rejected(422, "invalid_envelope", f"event type '{TICK_EVENT}' is reserved", field="event")
        event = Incoming(
            session=parsed.session,
            event_id=parsed.id,
            event_type=parsed.event,
            chat=chat_id_of(parsed.event, parsed.payload),
            body=received.body,  # an older shape completed: the id and time every retry will see
            received_at=now,
        )
        try:
            accepted = await self.storage.accept(event)
        except QueueFullError as exc:
            raise Rejected(503, "queue_full", "too many events waiting; retry shortly") from exc
        except StorageError as exc:
            self.health.failed("accept", exc)
            log.error("storage refused an event: %s", exc, extra={"fields": {"event_id": parsed.id}})
            raise Rejected(503, "storage_unavailable", "storage unavailable; retry shortly") from exc
        self.health.succeeded()
        if not accepted:
            self.metrics.duplicates.labels(self.metrics.event_type(parsed.event)).inc()
            return _DUPLICATE
        self.metrics.count_received(parsed.event, parsed.session)
        self.metrics.delivery_gap.observe(delivery_gap(now, parsed.timestamp))
        return _ACCEPTED

    def _check_caller(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        auth = self.auth
        if auth.restricts_addresses:
            client = scope.get("client")
            peer = client[0] if client else None
            address = auth.client_address(peer, _text(headers.get(b"x-forwarded-for")))
            if not auth.address_allowed(address):
                raise Rejected(403, "address_not_allowed", "this address may not post events")
        if auth.needs_secret:
            query: bytes = scope.get("query_string", b"")
            given = _query_param(query, b"secret") if query else None
            given = given or _text(headers.get(b"x-webhook-secret"))
            if not auth.secret_ok(given):
                raise Rejected(401, "bad_secret", "missing or wrong webhook secret")

    def _too_large(self) -> Rejected:
        return Rejected(
            413, "too_large", f"the body is larger than {self.max_body} bytes", limit=self.max_body
        )

    async def _read_body(self, receive: Receive, declared: bytes) -> bytes | None:
        """The body, counted on the bytes as they stream in; None when the client went away."""
        if declared.isdigit() and int(declared) > self.max_body:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            if not message.get("more_body", False):
                return b"".join((*chunks, chunk)) if chunks else chunk
            chunks.append(chunk)

    async def _answer_rejection(self, scope: Scope, send: Send, rejected: Rejected) -> None:
        self.metrics.rejected.labels(rejected.reason).inc()
        client = scope.get("client")
        log.warning(
            "webhook rejected",
            extra={
                "fields": {
                    "status": rejected.status,
                    "reason": rejected.reason,
                    "peer": client[0] if client else "?",
                }
            },
        )
        body = json.dumps({"error": rejected.reason, "message": str(rejected), **rejected.details}).encode()
        await _send_json(send, rejected.status, body, retry_after=rejected.status == 503)
