"""Every body a real sender posts is accepted: ids derived, times filled in, the lifecycle body read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from botengine.envelope import DERIVED_ID_PREFIX, EnvelopeProblem, Received, read_body
from tests.conftest import SAMPLES

ARRIVAL = 1764080000.25  # Unix seconds


def read(body: Any, at: float = ARRIVAL) -> Received:
    received = read_body(json.dumps(body).encode() if not isinstance(body, bytes) else body, received_at=at)
    assert isinstance(received, Received), received
    return received


def refused(body: Any) -> list[EnvelopeProblem]:
    received = read_body(
        json.dumps(body).encode() if not isinstance(body, bytes) else body, received_at=ARRIVAL
    )
    assert isinstance(received, list), f"expected a refusal, got {received}"
    return received


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def test_a_complete_envelope_is_stored_byte_for_byte() -> None:
    raw = (SAMPLES / "message-text-private.json").read_bytes()
    received = read(raw)
    assert received.body is raw and received.completed == ()
    assert received.envelope.id == "evt_01JDX2K8Q7A1"


def test_older_waha_envelope_gets_a_derived_id_and_the_arrival_time() -> None:
    received = read(sample("waha-docs/message.json"))
    envelope = received.envelope
    assert received.completed == ("timestamp", "id")
    assert envelope.id.startswith(DERIVED_ID_PREFIX) and len(envelope.id) == len(DERIVED_ID_PREFIX) + 32
    assert envelope.timestamp == 1764080000250
    assert (envelope.event, envelope.session) == ("message", "default")
    # what is stored is the completed envelope: the worker, retries and replays see the same id
    stored = json.loads(received.body)
    assert (stored["id"], stored["timestamp"]) == (envelope.id, 1764080000250)
    assert stored["payload"] == sample("waha-docs/message.json")["payload"]


def test_the_same_body_gets_the_same_id_whenever_it_arrives() -> None:
    body = sample("waha-docs/poll.vote.json")
    first, retry = read(body, at=ARRIVAL), read(body, at=ARRIVAL + 80)
    assert first.envelope.id == retry.envelope.id
    assert first.envelope.timestamp != retry.envelope.timestamp  # the time is the arrival's


def test_what_a_sender_may_rebuild_between_retries_does_not_change_the_id() -> None:
    body = sample("waha-docs/session.status.json")
    rebuilt = {
        **body,
        "me": {"id": "7911111@c.us", "pushName": "Renamed"},
        "metadata": {"k": "v"},
        "environment": {"version": "2023.10.13"},
        "engine": "NOWEB",
    }
    assert read(body).envelope.id == read(rebuilt).envelope.id


def test_different_events_get_different_ids() -> None:
    body = sample("waha-docs/session.status.json")
    other_status = {**body, "payload": {"status": "FAILED"}}
    other_session = {**body, "session": "second"}
    other_type = {**body, "event": "state.change"}
    ids = {read(b).envelope.id for b in (body, other_status, other_session, other_type)}
    assert len(ids) == 4


def test_an_own_timestamp_is_kept_and_tells_identical_payloads_apart() -> None:
    body = {key: value for key, value in sample("message-text-private.json").items() if key != "id"}
    received = read(body)
    assert received.completed == ("id",)
    assert received.envelope.timestamp == 1764072000123
    later = read({**body, "timestamp": 1764072000999})
    assert later.envelope.id != received.envelope.id


def test_a_body_with_an_id_but_no_time_gets_the_arrival_time() -> None:
    body = {key: value for key, value in sample("message-text-private.json").items() if key != "timestamp"}
    received = read(body)
    assert received.completed == ("timestamp",)
    assert (received.envelope.id, received.envelope.timestamp) == ("evt_01JDX2K8Q7A1", 1764080000250)


def test_null_id_and_timestamp_count_as_missing() -> None:
    body = {**sample("message-text-private.json"), "id": None, "timestamp": None}
    assert read(body).completed == ("timestamp", "id")


def test_wawp_lifecycle_body_is_a_session_status_event() -> None:
    received = read(sample("wawp-docs/session.status-5.json"))
    envelope = received.envelope
    assert received.completed == ("lifecycle", "id")
    assert (envelope.event, envelope.session, envelope.timestamp) == (
        "session.status",
        "123456789",
        1722170400000,
    )
    assert envelope.payload == {
        "name": "123456789",
        "instance_id": "123456789",
        "status": "SCAN_QR_CODE",
        "qr": "...",
        "ts": 1722170400,
    }


def test_lifecycle_body_with_a_numeric_instance_and_no_time() -> None:
    received = read({"instance_id": 42, "status": "WORKING"})
    assert (received.envelope.session, received.envelope.timestamp) == ("42", 1764080000250)
    assert received.completed == ("lifecycle", "timestamp", "id")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session": "s", "payload": {}}, "event"),
        ({"event": "message", "payload": {}}, "session"),
        ({"event": "message", "session": "s"}, "payload"),
        ({"event": "message", "session": "s", "payload": "text"}, "payload"),
        ({"id": 5, "event": "message", "session": "s", "payload": {}}, "id"),
        ({"event": "message", "session": "s", "payload": {}, "timestamp": "yesterday"}, "timestamp"),
        ({"event": "message", "session": "s", "payload": {}, "timestamp": 10**400}, "timestamp"),
        ({"instance_id": ["x"], "status": "WORKING"}, "session"),
        ({}, "event"),
    ],
)
def test_what_is_truly_broken_is_still_refused_with_the_field(body: dict[str, Any], field: str) -> None:
    assert field in [p.field for p in refused(body)]


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"null", b'{"id": '])
def test_bodies_that_are_no_object_are_refused(raw: bytes) -> None:
    problems = refused(raw)
    assert problems and all(isinstance(p, EnvelopeProblem) for p in problems)


def test_half_an_emoji_becomes_a_replacement_character_not_a_refusal() -> None:
    # JavaScript's JSON.stringify writes a lone surrogate when a text was cut inside an emoji
    raw = b'{"id": "e1", "timestamp": 1, "event": "m", "session": "s", "payload": {"body": "cut \\ud83d"}}'
    received = read(raw)
    assert received.completed == ("text",)
    assert received.envelope.payload == {"body": "cut \ufffd"}
    assert read(received.body).completed == ()  # what is stored reads back as it is


@pytest.mark.parametrize("raw", [b"{,}", b'{"event": "message", "session": "s", "payload": {"a": 01}}'])
def test_what_no_json_reader_takes_is_malformed(raw: bytes) -> None:
    assert [p.malformed_json for p in refused(raw)] == [True]


def test_every_sample_is_accepted(tmp_path: Path) -> None:
    names = sorted(SAMPLES.rglob("*.json"))
    assert len(names) >= 50
    for path in names:
        read(path.read_bytes())
