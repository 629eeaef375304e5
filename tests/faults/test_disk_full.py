"""The data directory's disk fills up while events stream in, then space comes back.

Events that got a 200 before or during the fault are all processed once space is back, without a
restart: none is lost, none stays stuck, none is answered twice. While the disk is full, new
events get 503 (Wawp retries them), /readyz says not ready, and /healthz keeps answering.
"""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest

from botengine.testing import FakeWawp, make_event
from tests.faults.harness import EngineProcess, HealthProbe, Stream, check, report, rules, settle

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
    ready_while_full: set[int] = set()
    try:
        with HealthProbe(engine.url) as probe:
            with Stream(engine.url, events, pace=0.04) as stream:
                stream.wait_accepted(150)
                filler = fill(small_disk)
                full_until = time.monotonic() + 4
                while time.monotonic() < full_until:
                    ready_while_full.add(engine.ready())
                    time.sleep(0.2)
                filler.unlink()
            accepted = stream.accepted
            settled = settle(engine, fake, accepted, within=30)
            stuck = len(settled.unsettled)
        engine.stop()  # a restart: whatever is still queued runs now, or is lost for good
        engine.start()
        after = settle(engine, fake, accepted, within=20)
    finally:
        engine.stop()
    refused = sum(1 for answer in stream.answers.values() if answer == "503")
    report(
        "disk-full",
        accepted=len(accepted),
        refused_503=refused,
        lost=len(after.unsettled),
        stuck=stuck,
        duplicated=after.duplicated,
        dead_lettered=len(after.dead_lettered & accepted),
        healthz_stall_s=round(probe.longest, 3),
        readyz_while_full=sorted(ready_while_full),
    )
    assert refused > 0, "the disk never filled up while events came in"
    check(not after.unsettled, f"{len(after.unsettled)} accepted events lost")
    check(stuck == 0, f"{stuck} accepted events waited for a restart")
    check(after.duplicated == 0, f"{after.duplicated} events answered twice")
    check(not (after.dead_lettered & accepted), "a full disk is no reason to dead-letter an event")
    check(503 in ready_while_full, "/readyz said ready while the store was failing")
    check(probe.longest < 1.0, f"/healthz took {probe.longest:.2f}s to answer")
