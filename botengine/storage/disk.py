"""The embedded backend: everything in one owner-only data directory, no server needed.

    <data-dir>/journal.sqlite   events (dedupe window + queue, group-committed) and scheduled jobs
    <data-dir>/kv/<namespace>/  diskcache, one per key namespace (storage/keys.py): state,
                                ledger, codes, counters, dead letters…

The queue and the dedupe window are on plain SQLite rather than diskcache: diskcache's queue has
no acknowledgement and its per-operation cost (≈40 µs even batched, docs/benchmarks.md) is more
than a whole request may spend. The rest is diskcache, made safe: values are JSON bytes, a
pickled value or key is refused on read (it could run code), and nothing is ever evicted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import diskcache

from botengine.errors import StorageError
from botengine.storage import inflight
from botengine.storage.base import Delivery, Incoming, Job
from botengine.storage.codec import decode, encode
from botengine.storage.inflight import InFlightLog
from botengine.storage.journal import Journal, SyncMode
from botengine.storage.keys import key as make_key
from botengine.storage.keys import namespace_of
from botengine.types import JSON, JSONDict

log = logging.getLogger(__name__)

# Namespaces that only record what happened (dashboard traces, rule statistics): a power loss may
# cost their last second, so their commits skip the fsync that every other write pays.
OBSERVATIONS = frozenset({"trace", "meta"})


class JsonOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """A diskcache Disk that stores only bytes, str and numbers, and never unpickles."""

    def put(self, key: Any) -> Any:
        if not isinstance(key, str):
            raise TypeError(f"storage keys are strings, not {type(key).__name__}")
        return super().put(key)

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise StorageError("refusing a pickled key found in the data directory")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.UNKNOWN) -> Any:
        if not isinstance(value, bytes | int) or isinstance(value, bool):
            raise TypeError(f"storage values are JSON bytes or integers, not {type(value).__name__}")
        return super().store(value, read, key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == diskcache.core.MODE_PICKLE:
            raise StorageError("refusing a pickled value found in the data directory")
        return super().fetch(mode, filename, value, read)


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory readable by its owner only; refuse one others can write."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = path.stat().st_mode & 0o777
    if mode & 0o022:
        raise StorageError(
            f"data directory {path} is writable by other users (mode {mode:o}); run: chmod 700 {path}"
        )
    if mode & 0o077:
        os.chmod(path, 0o700)
    return path


class _JobTable:
    """Scheduled jobs in the journal's SQLite file, indexed by due time."""

    def __init__(self, path: Path, sync: SyncMode) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={sync.upper()}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, due REAL NOT NULL, data BLOB NOT NULL);"
            "CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due);"
        )
        self._leased: set[str] = set()

    def schedule(self, job: Job) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO jobs VALUES (?, ?, ?)", (job.id, job.due, encode(job.data))
        )
        return cursor.rowcount == 1

    def take_due(self, now: float, limit: int) -> list[Job]:
        rows = self._db.execute(
            "SELECT id, due, data FROM jobs WHERE due <= ? ORDER BY due LIMIT ?",
            (now, limit + len(self._leased)),
        ).fetchall()
        jobs = []
        for job_id, due, data in rows:
            if job_id in self._leased:
                continue
            try:
                jobs.append(Job(job_id, due, decode(data)))
            except ValueError:  # not ours (edited by hand?): kept for a person to look at, not run
                log.error("scheduled job %r is not valid JSON; it is left in the journal", job_id)
                self._leased.add(job_id)
        jobs = jobs[:limit]
        self._leased.update(job.id for job in jobs)
        return jobs

    def finish(self, job_id: str) -> None:
        self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        self._leased.discard(job_id)

    def all(self) -> list[Job]:
        rows = self._db.execute("SELECT id, due, data FROM jobs ORDER BY due").fetchall()
        return [Job(job_id, due, decode(data)) for job_id, due, data in rows]

    def close(self) -> None:
        self._db.close()


_Write = tuple[diskcache.Cache, str, tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]


class DiskStorage:
    """The embedded default backend (see the module docstring for the layout)."""

    name = "disk"

    def __init__(
        self,
        data_dir: Path,
        *,
        dedupe_window: float = 7 * 86400,
        max_depth: int = 100_000,
        sync: SyncMode = "full",
    ) -> None:
        self.data_dir = prepare_data_dir(data_dir)
        journal_path = data_dir / "journal.sqlite"
        self.journal = Journal(journal_path, dedupe_window=dedupe_window, max_depth=max_depth, sync=sync)
        self.instance = secrets.token_hex(6)
        self._inflight_dir = data_dir / "inflight"
        self._inflight = InFlightLog(self._inflight_dir, self.instance)
        self._count_crashes()
        self.accept = self.journal.accept  # type: ignore[method-assign]  # the hot path, one call less
        self._sync = sync
        self._caches: dict[str, diskcache.Cache] = {}
        self._writes: list[_Write] = []
        self._write_handle: asyncio.Handle | None = None
        try:
            self._jobs = _JobTable(journal_path, sync)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open storage in {data_dir}: {exc}") from exc

    def _kv(self, storage_key: str) -> diskcache.Cache:
        namespace = namespace_of(storage_key)
        cache = self._caches.get(namespace)
        if cache is None:
            cache = self._caches[namespace] = self._call(
                diskcache.Cache,
                str(self.data_dir / "kv" / namespace),
                disk=JsonOnlyDisk,
                eviction_policy="none",  # state and ledgers are never evicted, only expired
                disk_min_file_size=1 << 24,  # keep values inside SQLite, no loose files
                sqlite_synchronous=2 if self._sync == "full" and namespace not in OBSERVATIONS else 1,
                statistics=False,
            )
        return cache

    # -- ingest and queue -----------------------------------------------------------------------

    async def accept(self, event: Incoming) -> bool:
        return await self.journal.accept(event)

    async def requeue(self, event: Incoming) -> None:
        await self.journal.accept(event, dedupe=False)

    def queue_depth(self) -> int:
        return self.journal.depth

    async def take(self, limit: int, wait: float) -> list[Delivery]:
        return await self.journal.take(limit, wait)

    async def begin(self, delivery: Delivery) -> None:
        self._inflight.begin(int(delivery.receipt))

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        seqs = [int(d.receipt) for d in deliveries]
        self._inflight.end(seqs)
        self.journal.ack(seqs)

    def _count_crashes(self) -> None:
        """Events that processes which died were processing: one crash more each (inflight.py)."""
        files, begun = inflight.dead_processes(self._inflight_dir)
        if begun:
            self.journal.count_crashes(begun)
            log.warning("%d event(s) were being processed when the engine last died", len(begun))
        for path in files:
            path.unlink(missing_ok=True)

    # -- key/value ------------------------------------------------------------------------------

    async def get(self, key: str) -> JSON | None:
        raw = self._call(self._kv(key).get, key)
        return None if raw is None else decode(raw)

    async def put(self, key: str, value: JSON, ttl: float | None = None) -> None:
        await self._write(key, "set", key, encode(value), expire=ttl)

    async def add(self, key: str, value: JSON, ttl: float | None = None) -> bool:
        return bool(await self._write(key, "add", key, encode(value), expire=ttl))

    async def delete(self, key: str) -> bool:
        return bool(await self._write(key, "delete", key))

    async def incr(self, key: str, amount: int = 1) -> int:
        return int(await self._write(key, "incr", key, amount))

    async def _write(self, key: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """One write, committed with the others of this turn of the event loop (see _flush_writes)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        self._writes.append((self._kv(key), method, args, kwargs, done))
        if self._write_handle is None:
            self._write_handle = loop.call_soon(self._flush_writes)
        return await done

    def _flush_writes(self) -> None:
        """Group commit for key/value writes, as the journal does for events.

        Writes that arrive together (many chats' actions claiming and recording themselves in
        the ledger) share one transaction per namespace, so one fsync, where each would otherwise
        wait for its own. A write's caller resumes only after the commit holding it.
        """
        self._write_handle = None
        batch, self._writes = self._writes, []
        by_cache: dict[int, list[_Write]] = {}
        for write in batch:
            by_cache.setdefault(id(write[0]), []).append(write)
        for writes in by_cache.values():
            cache = writes[0][0]
            try:
                with cache.transact(retry=True):
                    results = [getattr(cache, method)(*args, **kw) for _, method, args, kw, _ in writes]
            except Exception as exc:  # the whole transaction rolled back: every write in it failed
                failure: Exception = exc
                if isinstance(exc, sqlite3.Error | OSError | diskcache.Timeout):
                    failure = StorageError(f"storage error: {exc}")
                for *_, done in writes:
                    if not done.done():
                        done.set_exception(failure)
                continue
            for (*_, done), result in zip(writes, results, strict=True):
                if not done.done():  # its caller may have been cancelled meanwhile
                    done.set_result(result)

    async def scan(self, prefix: str) -> list[tuple[str, JSON]]:
        cache = self._kv(prefix)
        found = []
        for key in self._call(lambda: [k for k in cache.iterkeys() if k.startswith(prefix)]):
            raw = self._call(cache.get, key)
            if raw is not None:
                found.append((key, decode(raw)))
        return found

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (sqlite3.Error, OSError, diskcache.Timeout) as exc:
            raise StorageError(f"storage error: {exc}") from exc

    # -- dead letters ---------------------------------------------------------------------------

    async def dlq_add(self, entry: JSONDict) -> str:
        entry_id = f"{time.time_ns():020d}-{secrets.token_hex(3)}"
        await self.put(make_key("dlq", entry_id), entry)
        return entry_id

    async def dlq_list(self) -> list[tuple[str, JSONDict]]:
        prefix = make_key("dlq", "")
        return [(key.removeprefix(prefix), value) for key, value in await self.scan(prefix)]

    async def dlq_get(self, entry_id: str) -> JSONDict | None:
        value = await self.get(make_key("dlq", entry_id))
        return value if isinstance(value, dict) else None

    async def dlq_remove(self, entry_id: str) -> bool:
        return await self.delete(make_key("dlq", entry_id))

    # -- jobs -----------------------------------------------------------------------------------

    async def schedule(self, job: Job) -> bool:
        return bool(self._call(self._jobs.schedule, job))

    async def take_due(self, now: float, limit: int) -> list[Job]:
        return list(self._call(self._jobs.take_due, now, limit))

    async def finish(self, job_id: str) -> None:
        self._call(self._jobs.finish, job_id)

    async def jobs(self) -> list[Job]:
        return list(self._call(self._jobs.all))

    # -- lifecycle ------------------------------------------------------------------------------

    async def alive(self, instance: str) -> bool:
        return inflight.alive(self._inflight_dir, instance)

    async def ping(self) -> None:
        self.journal.ping()
        self._call(self._kv(make_key("meta", "ping")).get, "meta:ping")

    async def close(self) -> None:
        await asyncio.sleep(0)  # let a flush scheduled by the last requests run first
        if self._write_handle is not None:
            self._write_handle.cancel()
            self._flush_writes()
        self.journal.close()
        self._inflight.close()
        self._jobs.close()
        for cache in self._caches.values():
            cache.close()

    async def abandon(self) -> None:
        """Let go of the files as a killed process would, leaving its in-flight record (for tests)."""
        self._inflight.close(clean=False)
        await self.close()
