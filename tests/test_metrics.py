"""Labels taken from events (types, sessions) are capped, in memory as in the exported series."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import httpx

from botengine.metrics import Metrics
from botengine.testing import make_event
from botengine.testing.engine import running_engine

ADMIN = "metrics-admin-token"


def test_a_session_per_event_does_not_grow_the_memory() -> None:
    metrics = Metrics()
    tracemalloc.start()
    try:
        for n in range(2_000):  # the bounded labels fill up: what is kept from here on stays
            metrics.count_received(f"type.{n % 300}", f"session-{n}")
        before = tracemalloc.get_traced_memory()[0]
        for n in range(50_000):
            metrics.count_received(f"type.{n % 300}", f"another-session-{n}")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # keyed by the raw session, 50,000 sessions held about 11 MB; bounded, nothing is added
    assert grown < 1_000_000, f"{grown} bytes kept for 50,000 new sessions"


def test_the_exported_series_put_new_sessions_under_other(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    with running_engine(tmp_path / "rules", tmp_path / "data", admin_token=ADMIN) as bot:
        for n in range(130):
            assert bot.post(make_event(text="hi", session=f"invented-{n}")).status_code == 200
        text = httpx.get(bot.url + "/metrics", headers={"authorization": f"Bearer {ADMIN}"}).text
    sessions = set(re.findall(r'botengine_events_received_total\{[^}]*session="([^"]*)"', text))
    assert len(sessions) == 101 and "other" in sessions
    other = re.search(r'botengine_events_received_total\{[^}]*session="other"[^}]*\} (\S+)', text)
    assert other is not None and float(other.group(1)) == 30.0
