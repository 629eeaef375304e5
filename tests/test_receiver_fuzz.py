"""Random bodies, headers and JSON shapes at the receiver: never a 5xx, the worker unaffected."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botengine.app import build_app
from botengine.config import Settings
from botengine.storage import Incoming
from botengine.testing import make_event, serve_in_thread

SECRET = "fuzz-secret"
processed: list[str] = []
arrived = threading.Event()


async def record(event: Incoming) -> str:
    processed.append(event.event_id)
    arrived.set()
    return "ok"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data: Path = tmp_path_factory.mktemp("fuzz") / "data"
    app = build_app(Settings(data_dir=data, secrets=(SECRET,), max_body=64 * 1024), processor=record)
    with serve_in_thread(app) as base:
        yield base


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.text(max_size=300),
        "event": json_values | st.sampled_from(["message", "message.ack", "group.v2.join", "x" * 300]),
        "session": json_values | st.text(max_size=20),
        "timestamp": json_values | st.integers(),
        "payload": json_values
        | st.dictionaries(st.sampled_from(["from", "fromMe", "id", "group"]), json_values),
        "me": json_values,
    },
)
bodies = (
    st.binary(max_size=2000)
    | json_values.map(lambda v: json.dumps(v).encode())
    | envelope_like.map(lambda v: json.dumps(v).encode())
)
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "", "application/x+json", "\x00"]
)
secrets_given = st.sampled_from([SECRET, "", "wrong", SECRET * 50])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, content_type=content_types, secret=secrets_given, extra=st.text(max_size=30))
def test_no_input_produces_a_server_error(
    url: str, body: bytes, content_type: str, secret: str, extra: str
) -> None:
    headers = {"x-webhook-secret": secret, "x-forwarded-for": extra.encode("ascii", "replace").decode()}
    if content_type.isprintable():
        headers["content-type"] = content_type
    try:
        response = httpx.post(f"{url}/webhook/whatsapp", content=body, headers=headers, timeout=10)
    except httpx.LocalProtocolError:
        return  # httpx itself refused to send the header; nothing reached the server
    assert response.status_code in (200, 400, 401, 413, 415, 422), response.text
    assert "Traceback" not in response.text


def test_worker_still_processes_after_the_fuzzing(url: str) -> None:
    event = make_event(text="still alive")
    response = httpx.post(
        f"{url}/webhook/whatsapp", json=event, headers={"x-webhook-secret": SECRET}, timeout=10
    )
    assert response.status_code == 200
    for _ in range(200):
        if event["id"] in processed:
            break
        arrived.wait(0.05)
        arrived.clear()
    assert event["id"] in processed
