"""The event queue on Redis: dedupe and enqueue in one script, partitions read in arrival order.

    <ns>:seen:<session>\\x1f<event id>   dedupe window (a string, PX = the window)
    <ns>:queue:<p>                     partition p: a stream, consumer group "workers"
    <ns>:queue:depth                   events accepted and not yet acknowledged (a counter)
    <ns>:queue:partitions              the partition count the namespace was created with

Per-chat order. An event goes to the partition chosen by a stable hash of (session, chat) (of its
id when it has no chat), and a partition is read by its one owner (partitions.py). A new owner
first reclaims (XAUTOCLAIM) the entries the previous one had taken and not acknowledged, in their
original order, before reading new ones. A worker reads a partition only while its lease has more
than lease/3 left by its own clock, so even a stalled one stops reading before another can take
over (a worker stalled longer than the lease loses its partitions, and events it held run again
elsewhere: the action ledger keeps their effects single).

Accept is one script (dedupe + depth check + XADD + depth counter: a crash can neither lose nor
double an event, and a refused event leaves no dedupe mark); so is ack (XACK + XDEL + depth
decrement: a repeated ack counts once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import deque
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from botengine.errors import ConfigError, QueueFullError
from botengine.storage.base import Delivery, Incoming
from botengine.storage.redis.connection import ms, text
from botengine.storage.redis.keys import RedisKeys
from botengine.storage.redis.partitions import GROUP, PartitionLeases

log = logging.getLogger(__name__)

_DEPTH_STALE = 1.0  # seconds after which queue_depth() refreshes its cached value in the background


def _stream_order(delivery: Delivery) -> tuple[int, int]:
    ms_part, _, seq = delivery.receipt.partition("/")[2].partition("-")
    return int(ms_part), int(seq)


class RedisQueue:
    """The EventQueue role of the Redis backend (a receipt is `<partition>/<stream id>`)."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: RedisKeys,
        scripts: dict[str, AsyncScript],
        *,
        dedupe_window: float,
        max_depth: int,
        partitions: int,
        lease: float,
        namespace: str,
        consumer: str,
    ) -> None:
        self._client = client
        self._keys = keys
        self._accept = scripts["accept"]
        self._ack = scripts["ack"]
        self._crashed = scripts["crashed"]
        self._prune_consumers = scripts["prune_consumers"]
        self._dedupe_window = dedupe_window
        self._max_depth = max_depth
        self._partitions = partitions
        self._namespace = namespace
        self._consumer = consumer
        self._tick_every = lease / 3
        self.leases = PartitionLeases(
            client, keys, scripts, self, partitions=partitions, lease=lease, consumer=consumer
        )
        self._reclaim: dict[int, bytes] = {}  # partition → XAUTOCLAIM cursor, until its backlog is out
        self._inflight: dict[int, set[str]] = {}  # partition → stream ids taken, not acknowledged
        self._buffer: dict[int, deque[Delivery]] = {}  # read past `limit`: handed out next time
        self._begun: set[str] = set()  # receipts being processed here (marked in <ns>:queue:inflight)
        self._partitions_checked = False
        self._depth = 0
        self._depth_at = 0.0
        self._depth_refresh: asyncio.Task[None] | None = None
        self._stopped = False

    # -- ingest ---------------------------------------------------------------------------------

    def partition_of(self, event: Incoming) -> int:
        """The partition of `event`: all events of one chat share one."""
        what = f"{event.session}\x1f{event.chat}" if event.chat else event.dedupe_key
        return zlib.crc32(what.encode()) % self._partitions

    async def enqueue(self, event: Incoming, *, dedupe: bool) -> bool:
        if not self._partitions_checked:
            await self.check_partitions()
        stream = self._keys.stream(self.partition_of(event))
        keys = [self._keys.seen(event.dedupe_key), self._keys.depth, stream]
        args: list[Any] = [
            "1" if dedupe else "0",
            ms(self._dedupe_window),
            self._max_depth,
            event.session,
            event.event_id,
            event.event_type,
            event.chat,
            event.body,
            repr(event.received_at),
        ]
        code, depth = await self._accept(keys=keys, args=args)
        self._set_depth(int(depth))
        if code == -1:
            raise QueueFullError(f"queue holds {depth} events (maximum {self._max_depth})")
        return bool(code == 1)

    async def check_partitions(self) -> None:
        """Refuse to run with a partition count other than the namespace's: chats would move."""
        await self._client.set(self._keys.partitions, self._partitions, nx=True)
        found = int(await self._client.get(self._keys.partitions) or self._partitions)
        if found != self._partitions:
            raise ConfigError(
                f"Redis namespace {self._namespace!r} has {found} queue partitions, "
                f"this process was configured with {self._partitions}"
            )
        self._partitions_checked = True

    # -- depth ----------------------------------------------------------------------------------

    def depth(self) -> int:
        if (
            time.monotonic() - self._depth_at > _DEPTH_STALE
            and self._depth_refresh is None
            and not self._stopped
        ):
            with contextlib.suppress(RuntimeError):  # no running loop: the cached value will do
                task = asyncio.get_running_loop().create_task(self._refresh_depth())
                self._depth_refresh = task
        return self._depth

    async def _refresh_depth(self) -> None:
        try:
            await self.read_depth()
        except RedisError as exc:
            log.warning("cannot read the queue depth from Redis: %s", exc)
        finally:
            self._depth_refresh = None

    async def read_depth(self) -> None:
        self._set_depth(int(await self._client.get(self._keys.depth) or 0))

    def _set_depth(self, depth: int) -> None:
        self._depth = max(0, depth)
        self._depth_at = time.monotonic()

    # -- take and ack ---------------------------------------------------------------------------

    async def keep_partitions(self) -> None:
        """The keeper's turn for the queue: keep this worker's share of the partitions."""
        if not self._partitions_checked:
            await self.check_partitions()
        await self.leases.balance()

    async def take(self, limit: int, wait: float) -> list[Delivery]:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            found = self._unbuffer()
            if len(found) < limit:
                found += await self._reclaimed(limit - len(found))
            if len(found) < limit:
                block = deadline - time.monotonic() if not found else 0.0
                found += await self._read(limit - len(found), block)
            if found or time.monotonic() >= deadline:
                return self._hand_out(found, limit)

    def _unbuffer(self) -> list[Delivery]:
        found = [delivery for buffered in self._buffer.values() for delivery in buffered]
        self._buffer.clear()  # _hand_out puts back what does not fit
        return found

    def _hand_out(self, found: list[Delivery], limit: int) -> list[Delivery]:
        """The first `limit` in arrival order; the rest wait in the buffer (still ours, in order)."""
        found.sort(key=_stream_order)
        for delivery in found[limit:]:
            self._buffer.setdefault(int(delivery.receipt.partition("/")[0]), deque()).append(delivery)
        return found[:limit]

    async def _reclaimed(self, limit: int) -> list[Delivery]:
        """Entries a previous owner took and never acknowledged, oldest first, before new ones."""
        found: list[Delivery] = []
        for partition, cursor in list(self._reclaim.items()):
            if len(found) >= limit:
                break
            stream = self._keys.stream(partition)
            reply = await self._client.xautoclaim(
                stream, GROUP, self._consumer, 0, cursor, count=limit - len(found)
            )
            mine = self._inflight.setdefault(partition, set())
            claimed = [
                self._delivery(partition, entry_id, fields)
                for raw_id, fields in reply[1]
                if fields and (entry_id := text(raw_id) if raw_id is not None else "") not in mine
            ]
            found += await self._with_crashes(claimed)
            if partition not in self._reclaim:
                continue  # ownership lost meanwhile: stopped() dropped it
            if reply[0] in (b"0-0", "0-0"):
                del self._reclaim[partition]
                await self._prune_consumers(keys=[stream], args=[GROUP, self._consumer])
            else:
                self._reclaim[partition] = reply[0]
        return found

    async def _with_crashes(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Reclaimed entries with the crashes of the consumers that died processing them."""
        if not deliveries:
            return deliveries
        counts = await self._crashed(
            keys=[self._keys.inflight, self._keys.crashes],
            args=[self._consumer, *(d.receipt for d in deliveries)],
        )
        return [
            Delivery(d.receipt, d.event, int(n)) if int(n) else d
            for d, n in zip(deliveries, counts, strict=True)
        ]

    def recover(self) -> None:
        """After a failed read: read again, from the start, what this worker's partitions hold
        pending and it is not processing (a reply lost with its connection, a Redis restart)."""
        for partition in self.leases.owned:
            self._reclaim.setdefault(partition, b"0-0")

    async def _read(self, limit: int, block: float) -> list[Delivery]:
        """New entries of the partitions this worker may read now, waiting up to `block`."""
        readable = [p for p in self.leases.readable(self._tick_every) if p not in self._reclaim]
        block = min(block, self._tick_every)  # look at ownership changes now and then
        if not readable:
            if block > 0:
                self.leases.changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(block):
                        await self.leases.changed.wait()
            return []
        streams: dict[Any, Any] = {self._keys.stream(p): ">" for p in readable}
        block_ms = int(block * 1000)
        try:
            reply: list[Any] = await self._client.xreadgroup(  # type: ignore[assignment]
                GROUP, self._consumer, streams, count=limit, block=block_ms if block_ms > 0 else None
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._create_groups(readable)  # the stream was deleted under us (FLUSHDB)
            return []
        partition_of = {self._keys.stream(p).encode(): p for p in readable}
        found: list[Delivery] = []
        for raw_stream, entries in reply or []:
            partition = partition_of[raw_stream if isinstance(raw_stream, bytes) else raw_stream.encode()]
            for raw_id, fields in entries:
                if fields:
                    found.append(self._delivery(partition, text(raw_id), fields))
        return found

    async def _create_groups(self, partitions: Sequence[int]) -> None:
        for partition in partitions:
            with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists
                await self._client.xgroup_create(self._keys.stream(partition), GROUP, id="0", mkstream=True)

    def _delivery(self, partition: int, entry_id: str, fields: dict[bytes, bytes]) -> Delivery:
        self._inflight.setdefault(partition, set()).add(entry_id)
        event = Incoming(
            session=fields[b"s"].decode(),
            event_id=fields[b"i"].decode(),
            event_type=fields[b"t"].decode(),
            chat=fields[b"c"].decode(),
            body=fields[b"b"],
            received_at=float(fields[b"a"]),
        )
        return Delivery(f"{partition}/{entry_id}", event)

    async def begin(self, delivery: Delivery) -> None:
        await self._client.hset(self._keys.inflight, delivery.receipt, self._consumer)
        self._begun.add(delivery.receipt)

    async def forget_begun(self) -> None:
        """A clean stop: what this worker began and leaves unacknowledged is no crash."""
        if self._begun:
            await self._client.hdel(self._keys.inflight, *self._begun)
            self._begun.clear()

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        by_partition: dict[int, list[str]] = {}
        for delivery in deliveries:
            number, _, entry_id = delivery.receipt.partition("/")
            by_partition.setdefault(int(number), []).append(entry_id)
        for partition, entry_ids in by_partition.items():
            keys = [self._keys.stream(partition), self._keys.depth, self._keys.inflight, self._keys.crashes]
            depth = await self._ack(keys=keys, args=[GROUP, partition, *entry_ids])
            # only once acknowledged in Redis: an entry whose ack failed stays this worker's to retry
            self._inflight.get(partition, set()).difference_update(entry_ids)
            self._begun.difference_update(f"{partition}/{entry_id}" for entry_id in entry_ids)
            self._set_depth(int(depth))

    # -- what the partition leases tell the reader (PartitionReader) ----------------------------

    def started(self, partition: int) -> None:
        self._reclaim[partition] = b"0-0"
        self._inflight.setdefault(partition, set())

    def stopped(self, partition: int) -> None:
        """What was buffered stays pending for us and is reclaimed by the next owner."""
        self._reclaim.pop(partition, None)
        for delivery in self._buffer.pop(partition, ()):
            self._inflight.get(partition, set()).discard(delivery.receipt.partition("/")[2])

    def busy(self, partition: int) -> bool:
        return bool(self._inflight.get(partition) or self._buffer.get(partition))

    async def stop(self) -> None:
        """No more background depth reads (the store is closing)."""
        self._stopped = True
        task, self._depth_refresh = self._depth_refresh, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
