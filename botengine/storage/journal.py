"""The ingest journal: the dedupe window and the event queue in one SQLite file, group-committed.

Every accepted event must be on disk before its 200 leaves, and a transaction per request costs
more than the rest of the request together (docs/benchmarks.md). So requests that arrive together
share one transaction: `accept` parks the event with a future, the first one opens a batch, and
the flush writes the whole batch (dedupe, inserts, pending acknowledgements) in one transaction,
then resolves every future. Each 200 still leaves only after its own commit. A batch stays open
while each turn of the event loop brings more requests (at most GATHER_WAIT, GATHER_MAX events):
under load that makes one commit of a few dozen events instead of several small ones, and a quiet
loop commits on its next turn, so a lone request waits for nothing.

The flush, COMMIT and its fsync included, runs on the event-loop thread on purpose: SQLite
releases the GIL around every step, and a writer thread would have to win the GIL back from a
busy loop (tried for the COMMIT alone: on one core it cost ~13 µs of CPU per request more than it
saved by overlapping the fsync). Only the WAL checkpoint, one long call that fsyncs the database
file, runs on a thread of its own.

Events just committed are also handed to the worker from memory, so the common case never reads
the queue back; the table is read only after a restart or when the worker falls far behind.

With `sync="full"` each commit reaches the disk before the 200 (SQLite `synchronous=FULL`),
surviving power loss; `"normal"` survives a crash of the process, not of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from botengine.errors import QueueFullError, StorageError
from botengine.storage.base import Delivery, Incoming

log = logging.getLogger(__name__)

SyncMode = Literal["normal", "full"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    expires REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_expires ON seen (expires);
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY,
    session TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    chat TEXT NOT NULL,
    received_at REAL NOT NULL,
    body BLOB NOT NULL,
    crashes INTEGER NOT NULL DEFAULT 0
);
"""
# journals written before `crashes` existed get it on open
_ADD_CRASHES = "ALTER TABLE queue ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0"

# New keys, plus keys whose record expired (they count as new again); duplicates return nothing.
_UPSERT_SEEN = (
    "INSERT INTO seen (key, expires) VALUES {rows} "
    "ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE seen.expires <= ? "
    "RETURNING key"
)

ACK_DELAY = 0.05  # seconds an acknowledgement may wait for a commit to share
_RETRY_ACKS = 0.5  # seconds before acknowledgements whose commit failed are tried again
_INSERT = (
    "INSERT INTO queue (seq, session, event_id, event_type, chat, received_at, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
GATHER_WAIT = 0.003  # seconds a batch may stay open while requests keep arriving
GATHER_MAX = 256  # events in a batch that closes it at once
_PURGE_EVERY = 1.0  # seconds between sweeps of expired dedupe records, inside a group commit
_PURGE_AT_LEAST = 1000  # rows a sweep may delete; more when more arrived since the last one
_CHECKPOINT_EVERY = 1.0
_MEMORY_HANDOFF = 10_000  # committed events kept in memory for the worker, past that it reads
_ROWS_PER_STATEMENT = 400  # SQLite caps the parameters of one statement


def _connect(path: Path, sync: SyncMode) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={sync.upper()}")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted sequence numbers as inclusive (first, last) runs: acks arrive mostly in order."""
    runs: list[tuple[int, int]] = []
    for seq in sorted(seqs):
        if runs and seq <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(seq, runs[-1][1]))
        else:
            runs.append((seq, seq))
    return runs


class _Checkpointer(threading.Thread):
    """Copies the WAL into the database file off the event loop (that copy fsyncs)."""

    def __init__(self, path: Path, sync: SyncMode) -> None:
        super().__init__(name="botengine-checkpoint", daemon=True)
        self._db = _connect(path, sync)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(_CHECKPOINT_EVERY):
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as exc:
                log.warning("journal checkpoint failed (will retry): %s", exc)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        self._db.close()


class Journal:
    """Dedupe window + FIFO queue; leases are held in memory (one consuming process)."""

    def __init__(
        self,
        path: Path,
        *,
        dedupe_window: float,
        max_depth: int,
        sync: SyncMode = "full",
    ) -> None:
        self.path = path
        self.dedupe_window = dedupe_window
        self.max_depth = max_depth
        try:
            self._db = _connect(path, sync)
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # _Checkpointer does it
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(queue)")}
            if "crashes" not in columns:
                self._db.execute(_ADD_CRASHES)
            self._depth: int = self._db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
            self._next_seq: int = (self._db.execute("SELECT MAX(seq) FROM queue").fetchone()[0] or 0) + 1
            self._checkpointer = _Checkpointer(path, sync)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the journal {path}: {exc}") from exc
        self._checkpointer.start()
        self._pending: list[tuple[Incoming, bool, asyncio.Future[bool]]] = []
        self._pending_acks: list[int] = []
        self._flush_handle: asyncio.Handle | None = None
        self._ack_handle: asyncio.TimerHandle | None = None
        # Committed events not yet taken, when they all fit in memory; otherwise the worker
        # reads the table from _cursor (the highest seq handed out so far).
        self._handoff: deque[Delivery] = deque()
        self._spilled = self._depth > 0  # a restart: read what the last run left
        self._cursor = 0
        self._arrived = asyncio.Event()
        self._last_purge = 0.0
        self._since_purge = 0  # events committed since the last sweep of expired dedupe records
        self._closed = False

    # -- writing --------------------------------------------------------------------------------

    async def accept(self, event: Incoming, *, dedupe: bool = True) -> bool:
        if self._closed:
            raise StorageError("the journal is closed")
        if self._depth + len(self._pending) >= self.max_depth:
            raise QueueFullError(f"queue holds {self._depth} events (maximum {self.max_depth})")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((event, dedupe, future))
        if self._flush_handle is None:
            self._flush_handle = loop.call_soon(self._gather, len(self._pending), time.perf_counter())
        return await future

    def ack(self, seqs: Iterable[int]) -> None:
        """Acknowledge events; written with the next group commit (a crash may redeliver them).

        Acks are not urgent, so they wait up to ACK_DELAY for a commit of new events to ride on
        rather than paying for a transaction of their own.
        """
        self._pending_acks.extend(seqs)
        if self._flush_handle is None and self._ack_handle is None:
            self._ack_handle = asyncio.get_running_loop().call_later(ACK_DELAY, self._flush)

    def _gather(self, seen: int, opened: float) -> None:
        """Commit the batch, unless requests are still arriving: then look again next turn.

        A commit costs about as much as a few dozen rows, so a busy loop keeps the batch open
        while each turn of the loop adds requests to it (up to GATHER_MAX, for GATHER_WAIT at
        most); a quiet one commits on the next turn, as soon as nothing more arrived.
        """
        waiting = len(self._pending)
        if seen < waiting < GATHER_MAX and time.perf_counter() - opened < GATHER_WAIT:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._gather, waiting, opened)
        else:
            self._flush()

    def _flush(self) -> None:
        self._flush_handle = None
        if self._ack_handle is not None:
            self._ack_handle.cancel()
            self._ack_handle = None
        batch, self._pending = self._pending, []
        acks, self._pending_acks = self._pending_acks, []
        if not batch and not acks:
            return
        try:
            accepted = self._commit(batch, acks)
        except sqlite3.Error as exc:
            error = StorageError(f"journal write failed: {exc}")
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            self._pending_acks[:0] = acks  # the events stay queued; retry the acks shortly
            if acks and self._ack_handle is None:
                self._ack_handle = asyncio.get_running_loop().call_later(_RETRY_ACKS, self._flush)
            log.error("journal write failed: %s", exc)
            return
        for (_, _, future), delivery in zip(batch, accepted, strict=True):
            if not future.done():  # the request may have been cancelled (client gone)
                future.set_result(delivery is not None)
        self._hand_off([d for d in accepted if d is not None])

    def _commit(
        self, batch: Sequence[tuple[Incoming, bool, object]], acks: Sequence[int]
    ) -> list[Delivery | None]:
        """One transaction for the batch and the acks; a Delivery per new event, None per duplicate."""
        now = time.time()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            new_keys = self._record_seen(batch, now)
            accepted: list[Delivery | None] = []
            rows: list[tuple[object, ...]] = []
            for event, dedupe, _ in batch:
                key = event.dedupe_key
                if dedupe and key not in new_keys:
                    accepted.append(None)
                    continue
                new_keys.discard(key)  # the same id twice in one batch: the second is a duplicate
                seq = self._next_seq + len(rows)
                accepted.append(Delivery(str(seq), event))
                rows.append(
                    (
                        seq,
                        event.session,
                        event.event_id,
                        event.event_type,
                        event.chat,
                        event.received_at,
                        event.body,
                    )
                )
            if rows:
                db.executemany(_INSERT, rows)
            if acks:
                db.executemany("DELETE FROM queue WHERE seq BETWEEN ? AND ?", _ranges(acks))
            self._since_purge += len(rows)
            if now - self._last_purge > _PURGE_EVERY:
                self._purge_expired(now)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        self._next_seq += len(rows)
        self._depth += len(rows) - len(acks)
        return accepted

    def _record_seen(self, batch: Sequence[tuple[Incoming, bool, object]], now: float) -> set[str]:
        """Record the batch's keys in the window; returns those that were not already there."""
        keys = list(dict.fromkeys(event.dedupe_key for event, dedupe, _ in batch if dedupe))
        expires = now + self.dedupe_window
        new: set[str] = set()
        for start in range(0, len(keys), _ROWS_PER_STATEMENT):
            chunk = keys[start : start + _ROWS_PER_STATEMENT]
            sql = _UPSERT_SEEN.format(rows=",".join(["(?, ?)"] * len(chunk)))
            params: list[object] = []
            for key in chunk:
                params += (key, expires)
            params.append(now)
            new.update(row[0] for row in self._db.execute(sql, params))
        return new

    def _purge_expired(self, now: float) -> None:
        """Delete expired dedupe records: up to twice as many as arrived since the last sweep,
        so the table stays at about window × rate whatever the rate, and a backlog (the engine
        was off past the window) shrinks a little at every sweep instead of in one long stall."""
        limit = max(_PURGE_AT_LEAST, 2 * self._since_purge)
        self._last_purge, self._since_purge = now, 0
        self._db.execute(
            "DELETE FROM seen WHERE key IN (SELECT key FROM seen WHERE expires <= ? LIMIT ?)", (now, limit)
        )

    def _hand_off(self, deliveries: list[Delivery]) -> None:
        if not deliveries:
            return
        if not self._spilled and len(self._handoff) + len(deliveries) <= _MEMORY_HANDOFF:
            self._handoff.extend(deliveries)
        else:
            self._spilled = True  # the worker will read them from the table, in order
        self._arrived.set()

    # -- reading --------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        return self._depth

    async def take(self, limit: int, wait: float) -> list[Delivery]:
        deliveries = self._next(limit)
        if deliveries or wait <= 0:
            return deliveries
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._arrived.wait()
        return self._next(limit)

    def _next(self, limit: int) -> list[Delivery]:
        taken: list[Delivery] = []
        while self._handoff and len(taken) < limit:
            taken.append(self._handoff.popleft())
        if len(taken) < limit and self._spilled:
            if taken:
                self._cursor = int(taken[-1].receipt)
            from_table = self._read(limit - len(taken))
            if len(from_table) < limit - len(taken):
                self._spilled = False  # caught up: every committed event has been handed out
            taken += from_table
        if taken:
            self._cursor = int(taken[-1].receipt)
        return taken

    def _read(self, limit: int) -> list[Delivery]:
        try:
            rows = self._db.execute(
                "SELECT seq, session, event_id, event_type, chat, received_at, body, crashes FROM queue "
                "WHERE seq > ? ORDER BY seq LIMIT ?",
                (self._cursor, limit),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"journal read failed: {exc}") from exc
        return [
            Delivery(
                str(seq), Incoming(session, event_id, event_type, chat, bytes(body), received_at), crashes
            )
            for seq, session, event_id, event_type, chat, received_at, body, crashes in rows
        ]

    def count_crashes(self, seqs: Iterable[int]) -> None:
        """One more crash for each of these events (they were being processed when a process died)."""
        ranges = _ranges(seqs)
        if not ranges:
            return
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("UPDATE queue SET crashes = crashes + 1 WHERE seq BETWEEN ? AND ?", ranges)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise StorageError(f"cannot count crashes in the journal: {exc}") from exc

    def ping(self) -> None:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"journal unreachable: {exc}") from exc

    def close(self) -> None:
        """Write what is pending and close the file."""
        if self._closed:
            return
        for handle in (self._flush_handle, self._ack_handle):
            if handle is not None:
                handle.cancel()
        self._flush_handle = self._ack_handle = None
        if self._pending or self._pending_acks:
            self._flush()
        self._closed = True
        self._checkpointer.stop()
        self._db.close()
