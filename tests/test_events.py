"""Every sample event in examples/events parses into the view rules will read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from botengine.events import Envelope, EnvelopeProblem, parse_envelope, view_of
from botengine.jid import jid_kind, parse_message_id
from tests.conftest import SAMPLES


def view(name: str):  # type: ignore[no-untyped-def]
    parsed = parse_envelope((SAMPLES / name).read_bytes())
    assert isinstance(parsed, Envelope), parsed
    return view_of(parsed)


def test_private_text_message() -> None:
    v = view("message-text-private.json")
    assert (v.type, v.chat.id, v.chat.kind) == ("message", "447441429009@c.us", "contact")
    assert v.sender is not None and v.sender.id == "447441429009@c.us"
    assert v.sender.name == "Alice"
    assert v.text == "Hi! Is the shop open today?"
    assert v.from_me is False
    assert v.ack == 1 and v.ack_name == "sent"
    assert v.message_id == "false_447441429009@c.us_3EB0C767D097B7C7C030"
    # envelope time is in ms, the message's own time in seconds: both land on the same instant
    assert v.message_time == datetime.fromtimestamp(1764072000, tz=UTC)
    assert abs((v.time - v.message_time).total_seconds()) < 60


def test_group_message_sender_is_the_participant() -> None:
    v = view("message-text-group.json")
    assert v.chat.id == "120363025912345678@g.us" and v.chat.kind == "group"
    assert v.sender is not None and v.sender.id == "447441429009@c.us"
    assert v.sender.kind == "contact"


def test_image_with_caption() -> None:
    v = view("message-image-caption.json")
    assert v.text == "my receipt"
    assert v.media is not None and v.media.mimetype == "image/jpeg"


def test_own_message_is_from_me_and_chat_is_the_recipient() -> None:
    v = view("message-from-me.json")
    assert v.from_me is True
    assert v.chat.id == "447441429009@c.us"
    assert v.ack == 0 and v.ack_name == "pending"


@pytest.mark.parametrize(("name", "kind"), [("message-channel.json", "channel"), ("message-lid.json", "lid")])
def test_chat_kinds(name: str, kind: str) -> None:
    assert view(name).chat.kind == kind


def test_lid_sender_name() -> None:
    v = view("message-lid.json")
    assert v.sender is not None and v.sender.name == "Bob"


def test_status_update_is_status_and_poster_is_sender() -> None:
    v = view("status-update.json")
    assert v.chat.kind == "status"
    assert v.sender is not None and v.sender.id == "447441429009@c.us"


@pytest.mark.parametrize(
    ("name", "level", "level_name"),
    [("message-ack-delivered.json", 2, "delivered"), ("message-ack-read.json", 3, "read")],
)
def test_acks(name: str, level: int, level_name: str) -> None:
    v = view(name)
    assert (v.ack, v.ack_name) == (level, level_name)
    assert v.chat.id == "447441429009@c.us"


def test_reaction_waha_shape() -> None:
    v = view("message-reaction.json")
    assert v.reaction is not None
    assert v.reaction.emoji == "❤️" and v.reaction.removed is False
    assert v.reaction.message_id == "true_447441429009@c.us_3EB0FFEEDDCCBBAA9988"


def test_reaction_wawp_shape() -> None:
    v = view("message-reaction-wawp-shape.json")
    assert v.reaction is not None
    assert v.reaction.emoji == "🔥" and not v.reaction.removed
    assert v.reaction.message_id == "true_447441429009@c.us_3EB0FFEEDDCCBBAA9988"
    assert v.sender is not None and v.sender.id == "447441429009@c.us"
    # reactions carry float seconds
    assert v.message_time is not None and v.message_time.timestamp() == pytest.approx(1764072021.512)


def test_reaction_removed() -> None:
    v = view("message-reaction-removed.json")
    assert v.reaction is not None and v.reaction.removed and v.reaction.emoji == ""


def test_revoked_reads_the_message_that_was_revoked() -> None:
    v = view("message-revoked.json")
    assert v.type == "message.revoked"
    assert v.chat.id == "447441429009@c.us"


def test_group_join() -> None:
    v = view("group-participants-join.json")
    assert v.group is not None
    assert v.group.id == "120363025912345678@g.us" and v.group.action == "join"
    assert v.group.participants == ("15551234567@c.us",)
    assert v.participant == "15551234567@c.us"
    assert v.chat.kind == "group"


def test_presence_and_call() -> None:
    assert view("presence-update.json").chat.id == "447441429009@c.us"
    call = view("call-received.json")
    assert call.chat.id == "447441429009@c.us" and call.type == "call.received"


def test_every_sample_is_a_valid_envelope() -> None:
    names = sorted(p.name for p in SAMPLES.glob("*.json"))
    assert len(names) >= 15
    for name in names:
        assert isinstance(view(name).id, str)


def _problems(body: object) -> list[EnvelopeProblem]:
    parsed = parse_envelope(json.dumps(body).encode() if not isinstance(body, bytes) else body)
    assert isinstance(parsed, list), "expected the envelope to be refused"
    return parsed


@pytest.mark.parametrize("missing", ["event", "session", "payload"])  # id and time are filled in
def test_missing_field_is_named(missing: str) -> None:
    body = json.loads((SAMPLES / "message-text-private.json").read_text())
    del body[missing]
    assert [p.field for p in _problems(body)] == [missing]


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", 5), ("timestamp", "yesterday"), ("timestamp", -1), ("payload", "x"), ("session", "a\nb")],
)
def test_wrong_types_are_refused(field: str, value: object) -> None:
    body = json.loads((SAMPLES / "message-text-private.json").read_text())
    body[field] = value
    assert field in [p.field for p in _problems(body)]


def test_malformed_json_is_marked() -> None:
    problems = _problems(b'{"id": ')
    assert problems[0].malformed_json


def test_unknown_event_type_is_a_valid_envelope() -> None:
    body = json.loads((SAMPLES / "message-text-private.json").read_text())
    body["event"] = "label.upsert"
    assert isinstance(parse_envelope(json.dumps(body).encode()), Envelope)


def test_contact_and_group_with_same_digits_are_different_kinds() -> None:
    assert jid_kind("120363025912345678@c.us") == "contact"
    assert jid_kind("120363025912345678@g.us") == "group"
    assert jid_kind("status@broadcast") == "status"
    assert jid_kind("123@broadcast") == "broadcast"
    assert jid_kind("123@newsletter") == "channel"


def test_message_id_parts() -> None:
    parsed = parse_message_id("false_120363025912345678@g.us_3EB0A1_447441429009@c.us")
    assert parsed is not None
    assert parsed.chat == "120363025912345678@g.us"
    assert parsed.participant == "447441429009@c.us"


def test_objects_keyed_by_position_are_read_as_lists() -> None:
    from botengine.payloads import as_list

    assert as_list({"1": "b", "0": "a", "10": "k", "2": "c"}) == ["a", "b", "c", "k"]
    assert as_list(["x"]) == ["x"]
    assert as_list({"0": "a", "name": "n"}) == []  # a record, not a list
    assert as_list({}) == [] and as_list("text") == [] and as_list(None) == []


def test_participants_keyed_by_position_fill_the_group() -> None:
    body = json.loads((SAMPLES / "wawp-docs" / "group.v2.leave-3.json").read_text())
    body["payload"]["participants"] = {"1": "22222222222@c.us", "0": "11111111111@c.us"}
    v = view_of(Envelope.model_validate_json(json.dumps(body)))
    assert v.group is not None and v.group.participants == ("11111111111@c.us", "22222222222@c.us")


def test_a_contact_in_noweb_spelling_has_its_c_us_form() -> None:
    body = json.loads((SAMPLES / "message-text-private.json").read_text())
    body["payload"].update(
        {"from": "447441429009@s.whatsapp.net", "id": "false_447441429009@s.whatsapp.net_AB"}
    )
    v = view_of(Envelope.model_validate_json(json.dumps(body)))
    assert v.sender is not None and v.sender.forms == ("447441429009@s.whatsapp.net", "447441429009@c.us")


def test_a_typing_member_of_a_group_is_the_sender_in_wawps_shape() -> None:
    body = json.loads((SAMPLES / "wawp-docs" / "presence.update-3.json").read_text())
    body["payload"].update({"chatId": "1234567890@g.us", "from": "22222222222@c.us"})
    v = view_of(Envelope.model_validate_json(json.dumps(body)))
    assert (v.chat.id, v.sender and v.sender.id) == ("1234567890@g.us", "22222222222@c.us")
    assert v.presence is not None and v.presence.state == "typing"


def test_a_label_id_sent_as_a_number_reads_as_text() -> None:
    body = json.loads((SAMPLES / "wawp-docs" / "label.deleted.json").read_text())
    body["payload"] = {"labelId": 7}
    v = view_of(Envelope.model_validate_json(json.dumps(body)))
    assert v.label is not None and v.label.id == "7"
