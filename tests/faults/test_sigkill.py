"""SIGKILL the engine three times while events stream in; restart it each time at once.

Nothing accepted is lost and nothing waits for a lease to run out. A reply whose request may have
left when the process died is *uncertain*, and its action's `uncertain:` policy decides: with
`skip`, no event is answered twice (the uncertain ones are counted, not repeated); with `resend`,
duplicates are possible, but never more than the actions that were in flight at the kills (the
test counts both and says so).

Between two kills the test waits for what was accepted before the first to be settled, so no
event is in flight at two kills: that would rightly quarantine it (tests/faults/test_quarantine.py).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from botengine.testing import FakeWawp, make_event
from tests.faults.harness import (
    BASELINE,
    EngineProcess,
    HealthProbe,
    Stream,
    check,
    redis_url_for,
    report,
    rules,
    settle,
)

pytestmark = pytest.mark.slow

KILLS = 3
LEASE = "3s"  # Redis: how long a killed worker's partitions wait before the restarted one takes them


@pytest.mark.parametrize(
    ("backend", "policy"),
    [
        ("disk", "skip"),
        ("disk", "resend"),
        pytest.param("redis", "skip", marks=pytest.mark.redis),
        pytest.param("redis", "resend", marks=pytest.mark.redis),
    ],
)
def test_sigkill_mid_stream_loses_nothing_and_repeats_only_by_policy(
    backend: str, policy: str, tmp_path: Path, fake: FakeWawp
) -> None:
    if BASELINE and policy != "skip":
        pytest.skip("before the fixes there is no policy: one run per backend")
    chats = [f"4477200{n:05d}@c.us" for n in range(50)]
    events = [make_event(text=f"m{i}", sender=chats[i % len(chats)]) for i in range(1500)]
    with ExitStack() as stack:
        redis_url = redis_url_for(backend, stack, tmp_path / "redis")
        env = {"BOTENGINE_REDIS_LEASE": LEASE}
        engine = stack.enter_context(
            EngineProcess(tmp_path, rules(policy), fake.url, redis_url=redis_url, env=env)
        )
        probe = stack.enter_context(HealthProbe(engine.url))
        stream = stack.enter_context(Stream(engine.url, events, pace=0.02))
        for kill in range(KILLS):
            stream.wait_accepted(250 + 350 * kill)
            engine.kill()
            before_kill = stream.accepted
            engine.start()
            # settle what the kill interrupted before the next kill (no event in flight at two)
            settle(engine, fake, before_kill, 90 if BASELINE else 40, lambda: uncertain_skipped(engine))
        stream.join()
        accepted = stream.accepted
        final = settle(engine, fake, accepted, 90 if BASELINE else 40, lambda: uncertain_skipped(engine))
        skipped = uncertain_skipped(engine) & accepted
        in_flight = uncertain_recovered(engine)
        engine.stop()
        stored = engine.stored()
    lost = final.unsettled - skipped
    report(
        f"sigkill-{backend}-{policy}",
        accepted=len(accepted),
        kills=KILLS,
        lost=len(lost),
        stuck=len(final.unsettled - skipped),
        duplicated=final.duplicated,
        uncertain_in_flight=in_flight,
        uncertain_skipped=len(skipped),
        skipped_never_sent=len(skipped - set(final.replies)),
        dead_lettered=len(final.dead_lettered & accepted),
        left_queued=stored.depth,
        left_jobs=stored.jobs,
        healthz_stall_s=round(probe.longest, 3),
    )
    assert len(accepted) > 250 + 350 * (KILLS - 1), "the kills did not land mid-stream"
    check(not lost, f"{len(lost)} accepted events lost")
    check(stored.depth == 0 and stored.jobs == 0, "work was left in the store after it settled")
    reasons = sorted({str(letter.get("reason") or letter.get("errors")) for letter in stored.letters})
    check(not (final.dead_lettered & accepted), f"a kill is no reason to dead-letter an event: {reasons[:3]}")
    if policy == "skip":
        check(final.duplicated == 0, f"{final.duplicated} events answered twice under `uncertain: skip`")
    else:
        check(
            final.duplicated <= in_flight,
            f"{final.duplicated} events answered twice, more than the {in_flight} in flight at the kills",
        )
    check(probe.longest < 1.0, f"/healthz took {probe.longest:.2f}s to answer")


def uncertain_skipped(engine: EngineProcess) -> set[str]:
    """Events whose reply was uncertain after a kill and skipped by policy (the engine's logs)."""
    return {
        str(line.get("event_id"))
        for line in engine.log_lines()
        if line.get("msg") == "action uncertain" and line.get("policy") == "skip"
    }


def uncertain_recovered(engine: EngineProcess) -> int:
    """Actions found in flight by the process after a kill (uncertain, whatever the policy)."""
    return sum(1 for line in engine.log_lines() if line.get("msg") == "action uncertain")
