"""Redis is killed mid-stream and restarted (AOF `always`, so it keeps what it acknowledged).

The test starts a redis-server of its own on a free port (never the machine's shared Redis).
Every event that got a 200 is answered once Redis is back, without restarting the engine: none
lost, none stuck, none answered twice; /readyz says not ready while Redis is gone.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from botengine.testing import FakeWawp, make_event
from tests.faults.harness import (
    EngineProcess,
    HealthProbe,
    RedisServer,
    Stream,
    check,
    report,
    rules,
    settle,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture(autouse=True)
def _redis_server_installed() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")


def test_redis_killed_and_restarted_mid_stream_loses_nothing(tmp_path: Path, fake: FakeWawp) -> None:
    chats = [f"4477100{n:05d}@c.us" for n in range(60)]
    events = [make_event(text=f"m{i}", sender=chats[i % len(chats)]) for i in range(1500)]
    ready_while_down: set[int] = set()
    with RedisServer(tmp_path / "redis") as redis_server:
        engine = EngineProcess(tmp_path, rules(), fake.url, redis_url=redis_server.url)
        engine.start()
        try:
            with HealthProbe(engine.url) as probe:
                with Stream(engine.url, events, pace=0.03) as stream:
                    stream.wait_accepted(500)
                    redis_server.kill()
                    down_until = time.monotonic() + 3
                    while time.monotonic() < down_until:
                        ready_while_down.add(engine.ready())
                        time.sleep(0.2)
                    redis_server.start()
                accepted = stream.accepted
                settled = settle(engine, fake, accepted, within=40)
                stuck = len(settled.unsettled)
            engine.stop()
            engine.start()
            after = settle(engine, fake, accepted, within=40)
        finally:
            engine.stop()
    refused = sum(1 for answer in stream.answers.values() if answer == "503")
    report(
        "redis-restart",
        accepted=len(accepted),
        refused_503=refused,
        lost=len(after.unsettled),
        stuck=stuck,
        duplicated=after.duplicated,
        dead_lettered=len(after.dead_lettered & accepted),
        healthz_stall_s=round(probe.longest, 3),
        readyz_while_down=sorted(ready_while_down),
    )
    assert refused > 0, "Redis never went away while events came in"
    check(not after.unsettled, f"{len(after.unsettled)} accepted events lost")
    check(stuck == 0, f"{stuck} accepted events waited for a restart")
    check(after.duplicated == 0, f"{after.duplicated} events answered twice")
    check(not (after.dead_lettered & accepted), "Redis restarting is no reason to dead-letter an event")
    check(ready_while_down == {503}, "/readyz said ready while Redis was gone")
    check(probe.longest < 1.0, f"/healthz took {probe.longest:.2f}s to answer")
