"""The store's side of quiet windows (botengine/bursts.py), on every backend.

Idempotent holding (a redelivered event), re-arming, the maximum wait, closing once, a lock left
by a dead process, and a redelivery after the burst was answered.
"""

from __future__ import annotations

import json

from botengine import actions  # noqa: F401 - first: botengine.jobs imported first meets a cycle via actions
from botengine.bursts import MAX_CHARACTERS, MAX_MESSAGES, Burst, Bursts, slot_of
from botengine.envelope import parse_envelope
from botengine.events import EventView, view_of
from botengine.jobs import BurstJob, decode_job
from botengine.quiet import QuietWindow
from botengine.sample_events import DEFAULT_SENDER
from botengine.storage import Storage
from botengine.storage.keys import key
from botengine.testing import make_event

WINDOW = QuietWindow(wait=60, max=120)


def message(text: str, sender: str = DEFAULT_SENDER, chat: str | None = None) -> tuple[EventView, bytes]:
    body = json.dumps(make_event(text=text, sender=sender, chat=chat)).encode()
    parsed = parse_envelope(body)
    assert not isinstance(parsed, list)
    return view_of(parsed), body


async def hold(bursts: Bursts, text: str, window: QuietWindow = WINDOW) -> Burst:
    view, body = message(text)
    return await bursts.hold(slot_of(view, window), view, body, window)


async def latest_job(storage: Storage) -> BurstJob:
    """The job of the latest message (of the one burst the test holds)."""
    records = [decode_job(job.data) for job in await storage.jobs()]
    return max((r for r in records if isinstance(r, BurstJob)), key=lambda r: r.seq)


async def test_each_message_re_arms_the_window_and_only_the_latest_job_answers(storage: Storage) -> None:
    bursts = Bursts(storage)
    await hold(bursts, "hi")
    await hold(bursts, "a pizza")
    jobs = [decode_job(job.data) for job in await storage.jobs()]
    assert sorted(job.seq for job in jobs if isinstance(job, BurstJob)) == [1, 2]
    stale = next(job for job in jobs if isinstance(job, BurstJob) and job.seq == 1)
    assert await bursts.close(stale) is None  # re-armed by the second message
    burst = await bursts.close(await latest_job(storage))
    assert burst is not None and [m.text for m in burst.messages] == ["hi", "a pizza"]
    # the slot let go of it: the next message starts a burst of its own
    later = await hold(bursts, "later")
    assert later.id != burst.id and later.seq == 1


async def test_a_redelivered_message_is_held_once(storage: Storage) -> None:
    bursts = Bursts(storage)
    view, body = message("hi")
    slot = slot_of(view, WINDOW)
    first = await bursts.hold(slot, view, body, WINDOW)
    again = await bursts.hold(slot, view, body, WINDOW)
    assert again.id == first.id and len(again.messages) == 1 and again.seq == 1


async def test_a_redelivery_after_the_answer_starts_no_second_burst(storage: Storage) -> None:
    bursts = Bursts(storage)
    view, body = message("hi")
    slot = slot_of(view, WINDOW)
    burst = await bursts.hold(slot, view, body, WINDOW)
    closed = await bursts.close(await latest_job(storage))
    assert closed is not None
    await bursts.done(closed)
    jobs_before = len(await storage.jobs())
    again = await bursts.hold(slot, view, body, WINDOW)
    assert again.id == burst.id and again.done
    assert len(await storage.jobs()) == jobs_before, "nothing armed again"
    assert await bursts.close(await latest_job(storage)) is None, "answered already"


async def test_a_burst_closed_but_not_answered_is_answered_when_its_job_runs_again(storage: Storage) -> None:
    bursts = Bursts(storage)
    await hold(bursts, "hi")
    job = await latest_job(storage)
    first = await bursts.close(job)
    again = await bursts.close(job)  # the process died before `done`: the job runs again
    assert first is not None and again is not None and again.id == first.id


async def test_a_chatty_customer_waits_no_longer_than_the_maximum(storage: Storage) -> None:
    bursts = Bursts(storage)
    window = QuietWindow(wait=60, max=60)  # the maximum is reached by any second message
    view, body = message("one")
    slot = slot_of(view, window)
    first = await bursts.hold(slot, view, body, window)
    assert first.due == first.first + 60
    for n in range(3):
        view, body = message(f"more {n}")
        burst = await bursts.hold(slot, view, body, window)
        assert burst.due == first.first + 60, "re-armed up to the maximum wait, not past it"
    assert burst.seq == 4


async def test_a_flood_is_answered_at_once(storage: Storage) -> None:
    bursts = Bursts(storage)
    view, body = message("x")
    slot = slot_of(view, WINDOW)
    for n in range(MAX_MESSAGES):
        view, body = message(f"x{n}")
        burst = await bursts.hold(slot, view, body, WINDOW)
    assert len(burst.messages) == MAX_MESSAGES and burst.due < burst.first + WINDOW.wait


async def test_a_wall_of_text_is_answered_at_once(storage: Storage) -> None:
    bursts = Bursts(storage)
    burst = await hold(bursts, "short")
    assert burst.due > burst.first
    burst = await hold(bursts, "x" * MAX_CHARACTERS)
    assert burst.due < burst.first + WINDOW.wait and len(burst.messages) == 2


async def test_a_lock_left_by_a_dead_process_is_taken_over_at_once(storage: Storage) -> None:
    view, body = message("hi")
    slot = slot_of(view, WINDOW)
    await storage.put(key("quiet", "lock", slot), "a-process-that-died", ttl=3600)
    burst = await Bursts(storage).hold(slot, view, body, WINDOW)
    assert len(burst.messages) == 1


async def test_people_in_a_group_have_bursts_of_their_own() -> None:
    group = "120363025912345678@g.us"
    alice, _ = message("a", sender="447700900001@c.us", chat=group)
    bob, _ = message("b", sender="447700900002@c.us", chat=group)
    private, _ = message("c", sender="447700900001@c.us")
    slots = {slot_of(view, WINDOW) for view in (alice, bob, private)}
    assert len(slots) == 3
