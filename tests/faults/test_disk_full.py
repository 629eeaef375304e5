"""The data directory's disk fills up while events stream in, then space comes back.

Events that got a 200 before or during the fault are all processed once space is back, without a
restart: none is lost, none stays stuck, none is answered twice. While the disk is full, new
events get 503 (Wawp retries them), /readyz says not ready, and /healthz keeps answering.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from botengine.testing import FakeWawp, make_event
from tests.faults.harness import (
    EngineProcess,
    HealthProbe,
    Stream,
    judge_recovery,
    readiness_for,
    rules,
    settle_then_restart,
)

pytestmark = pytest.mark.slow


def fill(disk: Path) -> Path:
    """Write zeros into `disk` until the filesystem refuses more."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            chunk = bytes(size)
            try:
                while True:
                    out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def test_a_full_disk_loses_nothing_and_recovers_without_a_restart(
    tmp_path: Path, small_disk: Path, fake: FakeWawp
) -> None:
    chats = [f"4477000{n:05d}@c.us" for n in range(40)]
    events = [make_event(text=f"m{i}", sender=chats[i % len(chats)]) for i in range(600)]
    engine = EngineProcess(tmp_path, rules(), fake.url, data_dir=small_disk / "data")
    engine.start()
    try:
        with HealthProbe(engine.url) as probe:
            with Stream(engine.url, events, pace=0.04) as stream:
                stream.wait_accepted(150)
                filler = fill(small_disk)
                ready_while_full = readiness_for(engine, 4)
                filler.unlink()
            stuck, after = settle_then_restart(engine, fake, stream.accepted)
    finally:
        engine.stop()
    judge_recovery("disk-full", stream, stuck, after, probe, ready_while_full)
