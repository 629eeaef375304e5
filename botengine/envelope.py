"""The webhook body as validated at the edge: every shape a real sender posts, as one envelope.

    {id, timestamp, event, session, payload, engine, me, metadata}   Wawp and WAHA today
    {event, session, payload, engine, me, metadata, environment}     older WAHA: no id, no timestamp
    {instance_id, status, qr, ts}                                    Wawp's session lifecycle page

The first shape is checked strictly and stored as received (the fast path). The others are
completed into it, and the completed envelope is what is stored, so the worker, retries and
replays all see the same event id and time:

- no `id`: `derived_` and 32 hex digits of the SHA-256 of the canonical JSON (sorted keys, no
  spaces) of `event`, `session`, `payload` and, when the body has one, `timestamp`. A retry
  resends the same event, so it gets the same id and is answered `duplicate`. What a sender may
  rebuild between two attempts is left out: `me` (its name can change), `metadata`,
  `environment`, `engine`, and the headers (request id, time of sending). The price: two events
  of one type, session and payload that carry no time of their own (an archive, an unarchive and
  an archive of the same chat within the dedupe window) count as one;
- no `timestamp`: the time the body arrived;
- the lifecycle body: event `session.status`, session `instance_id`, time `ts` (seconds), and
  the body itself as the payload (`status`, `qr`, …);
- half an emoji (a lone surrogate such as `\ud83d`, which JavaScript writes when it cuts a text
  in the middle of one) becomes U+FFFD: the event is kept.

What is still wrong after that (no `event`, a payload that is not an object, an id that is a
number, a time outside 1970-2099) is refused with the field named.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Annotated, Any, TypeGuard

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

# The envelope's time, in Unix milliseconds: from 1970 up to (not including) the year 2100. Past
# that it is a mistake (microseconds, a garbled clock) or an attack (`10**400` overflows every
# float it meets, a year past 9999 every datetime): refused at the edge, before anything is stored.
TIMESTAMP_MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
_TIMESTAMP_PROBLEM = "must be Unix milliseconds between 0 (1970) and 4102444799999 (the end of 2099)"

DERIVED_ID_PREFIX = "derived_"

# Ids and names end up in logs and storage keys: no control characters, bounded length.
_Text = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Me(BaseModel):
    """The WhatsApp account the session runs as (`lid`: its privacy-masked id, when sent)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str | None = None
    pushName: str | None = None  # the wire name
    lid: str | None = None


class Envelope(BaseModel):
    """Every Wawp webhook body: validated strictly, extra top-level fields kept."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    id: _Text
    event: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
    session: _Text
    timestamp: Annotated[int, Field(ge=0, lt=TIMESTAMP_MAX_MS)]
    payload: dict[str, Any]
    engine: str | None = None
    me: Me | None = None
    metadata: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class EnvelopeProblem:
    """Why a body is not an acceptable envelope: `field` is a dotted path, or '' for the body."""

    field: str
    message: str
    malformed_json: bool = False


@dataclass(frozen=True, slots=True)
class Received:
    """An accepted body: the envelope, the bytes to store, and what had to be filled in."""

    envelope: Envelope
    body: bytes  # as received, or the completed envelope
    completed: tuple[str, ...] = ()  # "lifecycle", "timestamp", "id", "text" (none: the fast path)


_OUT_OF_RANGE = frozenset({"greater_than_equal", "less_than"})


def read_body(body: bytes, *, received_at: float | None = None) -> Received | list[EnvelopeProblem]:
    """The envelope of a webhook body, completed if it is one of the older shapes (see above).

    `received_at` (Unix seconds, default now) is the time given to a body without one.
    """
    try:
        return Received(Envelope.model_validate_json(body), body)
    except ValidationError as exc:
        problems = _problems(exc)
    data = _lenient_json(body)
    if not isinstance(data, dict):
        return problems
    repaired = any(p.malformed_json for p in problems)
    try:
        if repaired:  # JSON only to Python's reader: lone surrogates, the one difference that matters
            data = _without_lone_surrogates(data)
        completed, filled = _complete(data, time.time() if received_at is None else received_at)
        stored = json.dumps(completed, ensure_ascii=False, separators=(",", ":")).encode()
    except RecursionError:  # nested deeper than Python's reader takes apart: what pydantic said stands
        return problems
    if repaired:
        filled = (*filled, "text")
    if not filled:
        return problems
    try:
        return Received(Envelope.model_validate_json(stored), stored, filled)
    except ValidationError as exc:
        return _problems(exc)


def parse_envelope(body: bytes) -> Envelope | list[EnvelopeProblem]:
    """The envelope of a body (completed as `read_body` does, at the current time).

    For bodies already accepted (the stored ones are complete) and for dry runs of saved files.
    """
    received = read_body(body)
    return received if isinstance(received, list) else received.envelope


def _lenient_json(body: bytes) -> Any:
    """The body as Python's json reads it (which takes the lone surrogates JavaScript writes for a
    cut emoji), or None when it is not JSON at all."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    """Half an emoji (a surrogate without its pair) becomes U+FFFD: the event is kept, the broken
    character shows as �."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value


def _problems(exc: ValidationError) -> list[EnvelopeProblem]:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in err["loc"])
        message = _TIMESTAMP_PROBLEM if path == "timestamp" and err["type"] in _OUT_OF_RANGE else err["msg"]
        problems.append(EnvelopeProblem(path, message, malformed_json=err["type"] == "json_invalid"))
    return problems


def _complete(data: dict[str, Any], received_at: float) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The body in the envelope shape, and what was filled in (nothing: it was not incomplete)."""
    filled: list[str] = []
    if _is_lifecycle(data):
        data = _from_lifecycle(data)
        filled.append("lifecycle")
    else:
        data = dict(data)
    own_time = data.get("timestamp") is not None
    if not own_time:
        data["timestamp"] = int(received_at * 1000)
        filled.append("timestamp")
    if data.get("id") is None:
        data["id"] = derived_id(data, with_time=own_time)
        filled.append("id")
    return data, tuple(filled)


def _is_lifecycle(data: dict[str, Any]) -> bool:
    return "event" not in data and "instance_id" in data and "status" in data


def _from_lifecycle(data: dict[str, Any]) -> dict[str, Any]:
    """`{instance_id, status, qr, ts}` as a `session.status` event of that instance."""
    instance = data["instance_id"]
    if _is_number(instance):  # an instance id sent as a number is still the session's name
        instance = str(instance)
    envelope: dict[str, Any] = {
        "event": "session.status",
        "session": instance,
        "payload": {"name": instance, **data},
    }
    seconds = data.get("ts")
    if _is_number(seconds) and 0 <= seconds < TIMESTAMP_MAX_MS / 1000:
        envelope["timestamp"] = int(seconds * 1000)
    return envelope


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def derived_id(data: dict[str, Any], *, with_time: bool) -> str:
    """The id of a body sent without one: the same for every retry of the same event."""
    parts = {key: data.get(key) for key in ("event", "session", "payload")}
    if with_time:
        parts["timestamp"] = data.get("timestamp")
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return DERIVED_ID_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:32]
