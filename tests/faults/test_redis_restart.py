"""Redis is killed mid-stream and restarted (AOF `always`, so it keeps what it acknowledged).

The test starts a redis-server of its own on a free port (never the machine's shared Redis).
Every event that got a 200 is answered once Redis is back, without restarting the engine: none
lost, none stuck, none answered twice; /readyz says not ready while Redis is gone.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from botengine.testing import FakeWawp, make_event
from tests.faults.harness import (
    EngineProcess,
    HealthProbe,
    Stream,
    judge_recovery,
    readiness_for,
    redis_server,
    rules,
    settle_then_restart,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def test_redis_killed_and_restarted_mid_stream_loses_nothing(tmp_path: Path, fake: FakeWawp) -> None:
    chats = [f"4477100{n:05d}@c.us" for n in range(60)]
    events = [make_event(text=f"m{i}", sender=chats[i % len(chats)]) for i in range(1500)]
    with ExitStack() as stack:
        redis = redis_server(stack, tmp_path / "redis")
        engine = stack.enter_context(EngineProcess(tmp_path, rules(), fake.url, redis_url=redis.url))
        with HealthProbe(engine.url) as probe:
            with Stream(engine.url, events, pace=0.03) as stream:
                stream.wait_accepted(500)
                redis.kill()
                ready_while_down = readiness_for(engine, 3)
                redis.start()
            stuck, after = settle_then_restart(engine, fake, stream.accepted)
    judge_recovery("redis-restart", stream, stuck, after, probe, ready_while_down)
