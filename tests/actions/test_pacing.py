"""Outbound pacing per session: bursts up to a budget, the excess delayed, never dropped."""

from __future__ import annotations

from botengine.pacing import Pacer, SharedPacer
from botengine.storage import Storage
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_then_the_steady_rate_per_session() -> None:
    clock = Clock()
    pacer = Pacer(60, burst=3, clock=clock)  # one a second, bursts of 3
    assert [await pacer.reserve("a") for _ in range(5)] == [0, 0, 0, 1.0, 2.0]
    assert await pacer.reserve("b") == 0  # sessions have separate budgets
    clock.now += 10  # idle time refills the budget, up to the burst
    assert [await pacer.reserve("a") for _ in range(4)] == [0, 0, 0, 1.0]


async def test_release_gives_a_booking_back() -> None:
    clock = Clock()
    pacer = Pacer(60, burst=1, clock=clock)
    assert await pacer.reserve("a") == 0
    assert await pacer.reserve("a") == 1.0
    await pacer.release("a")
    assert await pacer.reserve("a") == 1.0


async def test_no_limit_when_the_rate_is_zero() -> None:
    pacer = Pacer(0)
    assert {await pacer.reserve("a") for _ in range(1000)} == {0.0}


async def test_workers_sharing_a_store_share_one_budget(storage: Storage) -> None:
    """Two workers (two pacers) on one store: the number's budget is not doubled."""
    clock = Clock()
    clock.now = 99.0  # the start of a window
    one = SharedPacer(storage, 60, burst=3, clock=clock)  # windows of 3 sends, 3 s long
    two = SharedPacer(storage, 60, burst=3, clock=clock)
    waits = [await pacer.reserve("a") for pacer in (one, two, one, two, one, two, one)]
    assert waits == [0, 0, 0, 3.0, 3.0, 3.0, 6.0]
    assert await two.reserve("b") == 0  # another number, another budget
    await one.release("a")  # the 6 s booking given back: the next one takes it
    assert await two.reserve("a") == 6.0
    clock.now += 30
    assert await one.reserve("a") == 0


def test_excess_messages_are_delayed_not_dropped(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: echo
        do: [{reply: "got {{ text }}"}]
    """
    # 30 a minute: a burst of 5, then one every 2 s (past the 1 s inline wait: deferred as jobs)
    with engine(rules, send_rate=30) as bot:
        for n in range(8):
            bot.post(make_event(text=str(n), sender=f"1555000000{n}@c.us"))
        calls = fake.wait_for(8, "/v2/send/text", timeout=15)
    assert sorted(c.json["message"] for c in calls) == [f"got {n}" for n in range(8)]
    starts = sorted(c.at for c in calls)
    assert starts[5] - starts[0] >= 1.5  # the 6th waited for budget
