"""Chat activity that cancels follow-ups: which events count, newest wins, compared with `since`."""

from __future__ import annotations

from botengine import activity
from botengine.sample_events import DEFAULT_SENDER
from botengine.storage.memory import MemoryStorage
from botengine.testing import make_event
from tests.rules_helpers import view

CHAT = DEFAULT_SENDER  # make_event's chat when none is given
T0 = 1_760_000_000_000  # ms


def test_what_each_event_says_about_its_chat() -> None:
    assert activity.fact_of(view(make_event(text="hi", timestamp_ms=T0))) == "inbound"
    assert activity.fact_of(view(make_event("message.any", text="hi", timestamp_ms=T0))) == "inbound"
    assert activity.fact_of(view(make_event(text="ours", from_me=True, timestamp_ms=T0))) is None
    read = make_event("message.ack", from_me=True, ack=3, timestamp_ms=T0)
    delivered = make_event("message.ack", from_me=True, ack=2, timestamp_ms=T0)
    assert activity.fact_of(view(read)) == "read"
    assert activity.fact_of(view(delivered)) is None
    assert activity.fact_of(view(make_event("presence.update", timestamp_ms=T0))) is None


async def test_a_reply_after_the_follow_up_was_scheduled_cancels_it() -> None:
    store = MemoryStorage()
    await activity.record(store, view(make_event(text="thanks", timestamp_ms=T0 + 5_000)))
    since = T0 / 1000
    assert await activity.cancelled_by(store, "default", CHAT, ["replied"], since) == "replied"
    assert await activity.cancelled_by(store, "default", CHAT, ["read"], since) is None
    assert await activity.cancelled_by(store, "default", CHAT, ["replied"], since + 10) is None
    assert await activity.cancelled_by(store, "default", "other@c.us", ["replied"], since) is None
    assert await activity.cancelled_by(store, "other-session", CHAT, ["replied"], since) is None


async def test_an_event_arriving_late_does_not_move_the_time_back() -> None:
    store = MemoryStorage()
    await activity.record(store, view(make_event(text="new", timestamp_ms=T0 + 60_000)))
    await activity.record(store, view(make_event(text="old", timestamp_ms=T0)))  # delivered late
    slot = activity.activity_key("default", CHAT, "inbound")
    assert await store.get(slot) == (T0 + 60_000) / 1000


async def test_the_first_condition_that_happened_is_named() -> None:
    store = MemoryStorage()
    read = make_event("message.ack", from_me=True, ack=3, timestamp_ms=T0 + 1_000)
    await activity.record(store, view(read))
    since = T0 / 1000
    assert await activity.cancelled_by(store, "default", CHAT, ["replied", "read"], since) == "read"
    await activity.record(store, view(make_event(text="hi", timestamp_ms=T0 + 2_000)))
    assert await activity.cancelled_by(store, "default", CHAT, ["replied", "read"], since) == "replied"


async def test_events_without_a_fact_write_nothing() -> None:
    store = MemoryStorage()
    await activity.record(store, view(make_event(text="ours", from_me=True, timestamp_ms=T0)))
    assert await store.scan("activity:") == []
