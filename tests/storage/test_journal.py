"""The disk backend's journal on its own: group commit, acks riding on commits, spill to the table,
restart, expiry of the dedupe window, and a failed commit. (The behaviour every backend shares is in
the role modules beside this one.)
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botengine.errors import StorageError
from botengine.storage import journal as journal_module
from botengine.storage.journal import Journal, _ranges
from tests.storage.support import incoming


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[Journal]:
    opened = Journal(tmp_path / "journal.sqlite", dedupe_window=3600, max_depth=10_000)
    yield opened
    opened.close()


def rows(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - a fixed name
    finally:
        db.close()


def test_acknowledged_sequence_numbers_become_runs() -> None:
    assert _ranges([5, 1, 2, 3, 7, 8, 2]) == [(1, 3), (5, 5), (7, 8)]
    assert _ranges([]) == []


async def test_requests_that_arrive_together_share_one_commit(journal: Journal) -> None:
    statements: list[str] = []
    journal._db.set_trace_callback(statements.append)
    results = await asyncio.gather(*(journal.accept(incoming(f"evt_{i}")) for i in range(100)))
    assert results == [True] * 100
    commits = statements.count("COMMIT")
    assert 1 <= commits < 10  # not one per request
    assert journal.depth == 100


async def test_one_id_twice_in_one_batch_is_queued_once(journal: Journal) -> None:
    results = await asyncio.gather(journal.accept(incoming("evt_same")), journal.accept(incoming("evt_same")))
    assert sorted(results) == [False, True]
    assert journal.depth == 1


async def test_acks_wait_for_a_commit_and_are_written_at_close(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    first = Journal(path, dedupe_window=3600, max_depth=100)
    for i in range(3):
        await first.accept(incoming(f"evt_{i}"))
    taken = await first.take(2, 0)
    first.ack(int(d.receipt) for d in taken)
    assert rows(path, "queue") == 3  # not written yet: it waits to share a commit
    first.close()  # …and close writes it
    second = Journal(path, dedupe_window=3600, max_depth=100)
    try:
        assert second.depth == 1
        assert [d.event.event_id for d in await second.take(5, 0)] == ["evt_2"]
        await second.accept(incoming("evt_3"))
        assert [d.event.event_id for d in await second.take(5, 0)] == ["evt_3"]  # numbering goes on
    finally:
        second.close()


async def test_past_the_memory_handoff_events_are_read_back_in_order(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "_MEMORY_HANDOFF", 5)
    for batch in range(4):
        await asyncio.gather(*(journal.accept(incoming(f"evt_{batch}_{i}")) for i in range(4)))
    taken = [d.event.event_id for d in await journal.take(100, 0)]
    assert taken == [f"evt_{b}_{i}" for b in range(4) for i in range(4)]
    await journal.accept(incoming("evt_after"))  # caught up: handed over from memory again
    assert [d.event.event_id for d in await journal.take(100, 0)] == ["evt_after"]


async def test_expired_dedupe_records_are_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "_PURGE_EVERY", 0.0)
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, dedupe_window=0.1, max_depth=100)
    try:
        await journal.accept(incoming("evt_old"))
        await asyncio.sleep(0.2)
        await journal.accept(incoming("evt_new"))  # its commit sweeps the expired record
        assert rows(path, "seen") == 1
        assert await journal.accept(incoming("evt_old")) is True  # out of the window: new again
    finally:
        journal.close()


async def test_sweeps_keep_up_with_the_rate_events_arrive_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "_PURGE_EVERY", 0.0)
    monkeypatch.setattr(journal_module, "_PURGE_AT_LEAST", 1)  # only the arrivals set the pace
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, dedupe_window=0.1, max_depth=1000)
    try:
        await asyncio.gather(*(journal.accept(incoming(f"evt_old_{i}")) for i in range(40)))
        await asyncio.sleep(0.2)  # all 40 expire
        await asyncio.gather(*(journal.accept(incoming(f"evt_new_{i}")) for i in range(20)))
        assert rows(path, "seen") == 20  # the sweep took twice the 20 arrivals: every expired one
    finally:
        journal.close()


async def test_a_failed_commit_fails_its_batch_and_keeps_the_acks(journal: Journal) -> None:
    await journal.accept(incoming("evt_1"))
    taken = await journal.take(1, 0)
    journal.ack(int(d.receipt) for d in taken)
    other = sqlite3.connect(journal.path)
    try:
        other.execute("ALTER TABLE queue RENAME TO queue_away")  # the table is gone: writes fail
        results = await asyncio.gather(
            journal.accept(incoming("evt_2")), journal.accept(incoming("evt_3")), return_exceptions=True
        )
        assert all(isinstance(r, StorageError) for r in results)
        other.execute("ALTER TABLE queue_away RENAME TO queue")
    finally:
        other.close()
    assert await journal.accept(incoming("evt_2")) is True  # refused before: not marked seen
    assert rows(journal.path, "queue") == 1  # the ack was retried with this commit
    assert journal.depth == 1


async def test_a_closed_journal_refuses_events(journal: Journal) -> None:
    journal.close()
    with pytest.raises(StorageError, match="closed"):
        await journal.accept(incoming("evt_late"))
