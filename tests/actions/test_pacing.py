"""Outbound pacing per session: bursts up to a budget, the excess delayed, never dropped."""

from __future__ import annotations

from botengine.pacing import Pacer, Pacing, SharedPacer
from botengine.storage import Storage
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def waits(pacer: Pacing, session: str, count: int) -> list[float]:
    return [(await pacer.reserve(session))[0] for _ in range(count)]


async def test_a_burst_then_the_steady_rate_per_session() -> None:
    clock = Clock()
    pacer = Pacer(60, burst=3, clock=clock)  # one a second, bursts of 3
    assert await waits(pacer, "a", 5) == [0, 0, 0, 1.0, 2.0]
    assert await waits(pacer, "b", 1) == [0]  # sessions have separate budgets
    clock.now += 10  # idle time refills the budget, up to the burst
    assert await waits(pacer, "a", 4) == [0, 0, 0, 1.0]


async def test_release_gives_back_only_that_booking() -> None:
    clock = Clock()
    pacer = Pacer(6, burst=1, clock=clock)  # one every 10 s
    await pacer.reserve("a")
    wait_10, middle = await pacer.reserve("a")
    wait_20, _ = await pacer.reserve("a")
    assert (wait_10, wait_20) == (10.0, 20.0)
    await pacer.release("a", middle)  # not the latest: it stays spent, no slot is handed out twice
    assert await waits(pacer, "a", 1) == [30.0]
    _, latest = await pacer.reserve("a")
    await pacer.release("a", latest)  # the latest: the next send takes its place
    assert await waits(pacer, "a", 1) == [40.0]


async def test_no_limit_when_the_rate_is_zero() -> None:
    pacer = Pacer(0)
    assert set(await waits(pacer, "a", 1000)) == {0.0}


async def test_workers_sharing_a_store_share_one_budget(storage: Storage) -> None:
    """Two workers (two pacers) on one store: the number's budget is not doubled."""
    clock = Clock()
    clock.now = 99.0  # the start of a window
    one = SharedPacer(storage, 60, burst=3, clock=clock)  # windows of 3 sends, 3 s long
    two = SharedPacer(storage, 60, burst=3, clock=clock)
    booked = [await pacer.reserve("a") for pacer in (one, two, one, two, one, two, one)]
    assert [wait for wait, _ in booked] == [0, 0, 0, 3.0, 3.0, 3.0, 6.0]
    assert await waits(two, "b", 1) == [0]  # another number, another budget
    await one.release("a", booked[3][1])  # one place of the 3 s window given back, by the other worker
    assert await waits(two, "a", 1) == [3.0]
    assert await waits(one, "a", 1) == [6.0]
    clock.now += 30
    assert await waits(one, "a", 1) == [0]


def test_excess_messages_are_delayed_not_dropped(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: echo
        do: [{reply: "got {{ text }}"}]
    """
    # 30 a minute: a burst of 5, then one every 2 s; each chat waits for its place, none is dropped
    with engine(rules, send_rate=30) as bot:
        for n in range(8):
            bot.post(make_event(text=str(n), sender=f"1555000000{n}@c.us"))
        calls = fake.wait_for(8, "/v2/send/text", timeout=15)
    assert sorted(c.json["message"] for c in calls) == [f"got {n}" for n in range(8)]
    starts = sorted(c.at for c in calls)
    assert starts[5] - starts[0] >= 1.5  # the 6th waited for budget


async def test_sessions_with_nothing_pending_are_forgotten() -> None:
    clock = Clock()
    pacer = Pacer(30, clock=clock)
    for n in range(20_000):  # a sender inventing a session per message
        await pacer.reserve(f"session-{n}")
        clock.now += 0.01
    assert len(pacer._next) <= 2_000  # only the sessions still within their interval are kept
    clock.now += 60  # a minute later the budget of each is whole again
    assert await waits(pacer, "session-19999", 3) == [0, 0, 0]
