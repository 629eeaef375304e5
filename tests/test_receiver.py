"""The webhook endpoint over real HTTP on loopback, with the real disk store in a temp dir."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from botengine.app import build_app
from botengine.auth import sign
from botengine.config import Settings
from botengine.storage import Incoming
from botengine.testing import make_event, serve_in_thread
from tests.conftest import SAMPLES
from tests.recorder import Recorder

SECRET = "s3cret-value-123"
PATH = "/webhook/whatsapp"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def serve(tmp_path: Path, recorder: Recorder, **options: object) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path / "data", **options)  # type: ignore[arg-type]
    app = build_app(settings, processor=recorder)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def url(tmp_path: Path, recorder: Recorder) -> Iterator[str]:
    yield from serve(tmp_path, recorder, secrets=(SECRET, "rotated-secret-456"))


def post(url: str, body: object, *, secret: str | None = SECRET, **kwargs: object) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    target = f"{url}{PATH}" + (f"?secret={secret}" if secret is not None else "")
    return httpx.post(target, content=raw, headers=headers, **kwargs)  # type: ignore[arg-type]


def test_accepted_event_is_processed(url: str, recorder: Recorder) -> None:
    event = make_event(text="hi")
    response = post(url, event)
    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    recorder.wait_for(1)
    assert recorder.events[0].event_id == event["id"]
    assert recorder.events[0].chat == event["payload"]["from"]


def test_duplicate_is_200_and_processed_once(url: str, recorder: Recorder) -> None:
    event = make_event(text="hi")
    assert post(url, event).json() == {"status": "accepted"}
    assert post(url, event).json() == {"status": "duplicate"}
    post(url, make_event(text="next"))
    recorder.wait_for(2)
    assert [e.event_id for e in recorder.events].count(event["id"]) == 1


def test_a_body_without_id_is_accepted_once_and_its_retry_is_a_duplicate(
    url: str, recorder: Recorder
) -> None:
    older_waha = json.loads((SAMPLES / "waha-docs" / "poll.vote.json").read_text())  # no id, no timestamp
    assert post(url, older_waha).json() == {"status": "accepted"}
    renamed = dict(older_waha, me={"id": "1111111111@c.us", "pushName": "renamed since"})
    assert post(url, renamed).json() == {"status": "duplicate"}  # a retry rebuilt with a new name
    recorder.wait_for(1)
    [stored] = recorder.events
    assert stored.event_id.startswith("derived_") and stored.event_type == "poll.vote"
    body = json.loads(stored.body)  # completed: the worker reads the same id and a time
    assert body["id"] == stored.event_id and isinstance(body["timestamp"], int)
    assert body["payload"] == older_waha["payload"]


def test_wawp_lifecycle_body_is_accepted_as_session_status(url: str, recorder: Recorder) -> None:
    lifecycle = json.loads((SAMPLES / "wawp-docs" / "session.status-5.json").read_text())
    assert post(url, lifecycle).json() == {"status": "accepted"}
    assert post(url, lifecycle).json() == {"status": "duplicate"}
    recorder.wait_for(1)
    [stored] = recorder.events
    assert (stored.event_type, stored.session) == ("session.status", "123456789")
    assert json.loads(stored.body)["timestamp"] == 1722170400000


def test_same_id_in_another_session_is_not_a_duplicate(url: str, recorder: Recorder) -> None:
    event = make_event(text="hi")
    other = dict(event, session="second-number")
    assert post(url, event).json()["status"] == "accepted"
    assert post(url, other).json()["status"] == "accepted"


def test_concurrent_deliveries_of_one_event_exactly_one_wins(url: str, recorder: Recorder) -> None:
    event = make_event(text="race")

    async def race() -> list[str]:
        async with httpx.AsyncClient() as client:
            raw = json.dumps(event).encode()
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"{url}{PATH}?secret={SECRET}",
                        content=raw,
                        headers={"content-type": "application/json"},
                    )
                    for _ in range(20)
                )
            )
        return [a.json()["status"] for a in answers]

    statuses = asyncio.run(race())
    assert statuses.count("accepted") == 1 and statuses.count("duplicate") == 19


def test_header_secret_and_rotated_secret(url: str) -> None:
    event = make_event()
    assert post(url, event, secret=None, headers={"x-webhook-secret": SECRET}).status_code == 200
    assert post(url, make_event(), secret="rotated-secret-456").status_code == 200


@pytest.mark.parametrize("secret", [None, "wrong", SECRET + "x", ""])
def test_missing_or_wrong_secret_is_401(
    url: str, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="botengine")
    response = post(url, make_event(), secret=secret)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_secret"
    assert "webhook rejected" in caplog.text
    assert SECRET not in caplog.text


def test_malformed_json_is_400(url: str) -> None:
    response = post(url, b'{"id": "evt_1", ')
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"


@pytest.mark.parametrize("depth", [400, 600, 900])
def test_a_body_nested_hundreds_deep_is_refused_not_a_500(url: str, depth: int) -> None:
    # Python's JSON reader takes up to ~1,000 levels, pydantic's fewer: the body went on to the
    # lenient path, whose repair recursed past Python's limit (RecursionError, answered 500)
    payload = '{"a":' * depth + '"x"' + "}" * depth
    body = ('{"event": "message", "session": "s", "payload": ' + payload + "}").encode()
    response = post(url, body)
    assert response.status_code in (400, 422), response.text[:300]


def test_non_json_content_type_is_415(url: str) -> None:
    response = post(url, make_event(), headers={"content-type": "text/plain"})
    assert response.status_code == 415


def test_invalid_envelope_is_422_naming_the_field(url: str) -> None:
    event = make_event()
    del event["session"]
    response = post(url, event)
    assert response.status_code == 422
    assert response.json()["field"] == "session"


def test_wrong_type_is_422(url: str) -> None:
    response = post(url, dict(make_event(), timestamp="noon"))
    assert response.status_code == 422 and response.json()["field"] == "timestamp"


@pytest.mark.parametrize(
    "timestamp",
    ["1" + "0" * 400, "253402300800000", "4102444800000", "-1"],
    ids=["10**400", "past-year-9999", "year-2100", "negative"],
)
def test_a_timestamp_out_of_range_is_422_and_nothing_is_stored(
    url: str, recorder: Recorder, timestamp: str
) -> None:
    event = make_event(text="odd clock")
    raw = (
        json.dumps(event)
        .encode()
        .replace(f'"timestamp": {event["timestamp"]}'.encode(), b'"timestamp": ' + timestamp.encode())
    )
    response = post(url, raw)
    assert response.status_code == 422
    assert response.json()["field"] == "timestamp"
    assert "Unix milliseconds" in response.json()["message"]
    # refused before the store: the same id with a sane time is new, and the only one processed
    assert post(url, event).json() == {"status": "accepted"}
    recorder.wait_for(1)
    assert [e.event_id for e in recorder.events] == [event["id"]]


def test_json_that_is_not_an_object_is_422(url: str) -> None:
    assert post(url, [1, 2, 3]).status_code == 422


def test_body_past_limit_is_413_even_with_a_lying_content_length(tmp_path: Path, recorder: Recorder) -> None:
    for base in serve(tmp_path, recorder, max_body=2048):
        big = make_event(text="x" * 4000)
        assert post(base, big).status_code == 413

        # a client announcing a small body and streaming a large one is cut off on the bytes
        def chunks() -> Iterator[bytes]:
            yield b'{"padding": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        response = httpx.post(
            f"{base}{PATH}",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413


def test_unknown_event_type_is_accepted_and_stored(url: str, recorder: Recorder) -> None:
    event = make_event("label.upsert", payload={"id": "1", "name": "VIP"})
    assert post(url, event).json() == {"status": "accepted"}
    recorder.wait_for(1)
    assert recorder.events[0].event_type == "label.upsert"


def test_hmac_signature_test_vector() -> None:
    body = b'{"event":"message","session":"default","engine":"WEBJS"}'
    digest = sign(body, "my-secret-key")
    assert digest.startswith("208f8a55") and digest.endswith("53fa89")
    assert digest == hmac.new(b"my-secret-key", body, hashlib.sha512).hexdigest()


def test_hmac_required_when_configured(tmp_path: Path, recorder: Recorder) -> None:
    for base in serve(tmp_path, recorder, hmac_keys=("my-secret-key",)):
        raw = json.dumps(make_event()).encode()
        good = {"x-webhook-hmac": sign(raw, "my-secret-key"), "x-webhook-hmac-algorithm": "sha512"}
        assert post(base, raw, secret=None, headers=good).status_code == 200
        bad = {"x-webhook-hmac": sign(raw + b" ", "my-secret-key")}
        assert post(base, json.dumps(make_event()).encode(), secret=None, headers=bad).status_code == 401
        assert post(base, json.dumps(make_event()).encode(), secret=None).status_code == 401


def test_allowlist_refuses_other_addresses_with_403(tmp_path: Path, recorder: Recorder) -> None:
    only = (ipaddress.ip_network("10.0.0.0/8"),)
    for base in serve(tmp_path, recorder, secrets=(SECRET,), allow_ips=only):
        assert post(base, make_event()).status_code == 403


def test_forwarded_for_is_honoured_only_from_trusted_proxies(tmp_path: Path, recorder: Recorder) -> None:
    allow = (ipaddress.ip_network("203.0.113.0/24"),)
    for base in serve(tmp_path, recorder, secrets=(SECRET,), allow_ips=allow):
        # loopback is not a trusted proxy here: its X-Forwarded-For is ignored
        spoofed = post(base, make_event(), headers={"x-forwarded-for": "203.0.113.7"})
        assert spoofed.status_code == 403
    proxies = (ipaddress.ip_network("127.0.0.0/8"),)
    for base in serve(tmp_path, recorder, secrets=(SECRET,), allow_ips=allow, trusted_proxies=proxies):
        via_proxy = post(base, make_event(), headers={"x-forwarded-for": "203.0.113.7"})
        assert via_proxy.status_code == 200
        outside = post(base, make_event(), headers={"x-forwarded-for": "198.51.100.1"})
        assert outside.status_code == 403


def test_rejections_are_counted_by_reason(url: str) -> None:
    post(url, make_event(), secret="nope")
    post(url, b"{", secret=SECRET)
    metrics = httpx.get(f"{url}/metrics").text
    assert 'botengine_webhook_rejections_total{reason="bad_secret"} 1.0' in metrics
    assert 'botengine_webhook_rejections_total{reason="malformed_json"} 1.0' in metrics


def test_queue_full_is_503_with_retry_after(tmp_path: Path) -> None:
    async def never(event: Incoming) -> str:
        await asyncio.sleep(3600)
        return "never"

    settings = Settings(data_dir=tmp_path / "data", secrets=(SECRET,), max_queue=3)
    with serve_in_thread(build_app(settings, processor=never)) as base:
        answers = [post(base, make_event()).status_code for _ in range(6)]
        full = post(base, make_event())
    assert answers[:3] == [200, 200, 200]
    assert full.status_code == 503 and full.headers["retry-after"] == "5"


def test_health_and_readiness(tmp_path: Path, recorder: Recorder) -> None:
    for url in serve(tmp_path, recorder, secrets=(SECRET,), admin_token="adm1n"):
        assert httpx.get(f"{url}/healthz").json() == {"status": "alive"}
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 200 and ready.json() == {"ready": True, "problems": 0}
        wrong = httpx.get(f"{url}/readyz", headers={"authorization": "Bearer nope"})
        assert wrong.json() == {"ready": True, "problems": 0}
        admin = httpx.get(f"{url}/readyz", headers={"authorization": "Bearer adm1n"})
        assert admin.json()["checks"]["storage"] == "ok" and admin.json()["rules"]["last_reload_success"]


def test_metrics_behind_admin_token(tmp_path: Path, recorder: Recorder) -> None:
    for base in serve(tmp_path, recorder, secrets=(SECRET,), admin_token="adm1n"):
        assert httpx.get(f"{base}/metrics").status_code == 401
        ok = httpx.get(f"{base}/metrics", headers={"authorization": "Bearer adm1n"})
        assert ok.status_code == 200 and "botengine_events_received_total" in ok.text


def test_only_a_post_to_the_webhook_path_skips_the_router(url: str, recorder: Recorder) -> None:
    """WebhookFirst hands POSTs of the webhook path to the receiver; the rest is Starlette's."""
    assert post(url, make_event(text="hi")).status_code == 200
    assert httpx.get(f"{url}{PATH}").status_code == 405  # the route still says which methods
    assert httpx.post(f"{url}{PATH}/more", content=b"{}").status_code == 404
    assert httpx.get(f"{url}/healthz").json() == {"status": "alive"}
