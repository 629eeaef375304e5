"""Which partitions of the Redis queue this worker reads: leases, heartbeats, a fair share.

    <ns>:queue:<p>:owner   the worker that owns partition p (a string, PX = the lease)
    <ns>:queue:workers     live workers (a sorted set: consumer → heartbeat expiry)

A partition has one owner at a time: ownership is a lease key (SET NX PX), renewed every lease/3
by the store's keeper while the worker takes events, released on close. Workers heartbeat into a
sorted set, and each owns at most ceil(partitions / live workers): one with too many stops
reading its surplus and lets it go once its events there are acknowledged; one with too few takes
unowned partitions. A worker that dies stops renewing; after the lease its partitions are taken
over, and the new owner first reclaims what the dead one had taken (the queue's concern, told
through `PartitionReader`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from typing import Protocol

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from botengine.storage.redis.connection import ms
from botengine.storage.redis.keys import RedisKeys

log = logging.getLogger(__name__)

GROUP = "workers"  # the one consumer group of every partition


class PartitionReader(Protocol):
    """What the queue reading the partitions needs to hear of their ownership."""

    def started(self, partition: int) -> None:
        """`partition` is ours now: reclaim what its previous owner left, then read it."""

    def stopped(self, partition: int) -> None:
        """`partition` is no longer ours: stop reading it, drop what was read ahead."""

    def busy(self, partition: int) -> bool:
        """Whether events of `partition` were handed out and not acknowledged yet."""


class PartitionLeases:
    """The partitions one worker owns, and the moves that keep the share fair."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: RedisKeys,
        scripts: dict[str, AsyncScript],
        reader: PartitionReader,
        *,
        partitions: int,
        lease: float,
        consumer: str,
    ) -> None:
        self._client = client
        self._keys = keys
        self._heartbeat = scripts["heartbeat"]
        self._claim = scripts["claim"]
        self._renew_or_release = scripts["renew_or_release"]
        self._reader = reader
        self._partitions = partitions
        self._lease = lease
        self._consumer = consumer
        # partitions in this worker's order of preference: workers start at different places,
        # so they rarely race for the same partition
        start = zlib.crc32(consumer.encode()) % partitions
        self._preference = [(start + i) % partitions for i in range(partitions)]
        self._owned: dict[int, float] = {}  # partition → when its lease ends, by our monotonic clock
        self._draining: set[int] = set()  # owned, no longer read, released once acknowledged
        self.changed = asyncio.Event()  # set when this worker took partitions

    @property
    def owned(self) -> list[int]:
        """The partitions this worker reads now."""
        return sorted(p for p in self._owned if p not in self._draining)

    def readable(self, margin: float) -> list[int]:
        """Owned, not draining, and with more than `margin` seconds of lease left by our clock."""
        now = time.monotonic()
        return [
            p for p, lease_end in self._owned.items() if p not in self._draining and lease_end - now > margin
        ]

    async def balance(self) -> None:
        """Heartbeat, renew what this worker owns, then give up or take partitions to its share."""
        sent = time.monotonic()
        live = int(
            await self._heartbeat(keys=[self._keys.workers], args=[self._consumer, ms(self._lease), "0"])
        )
        owned = sorted(self._owned)
        if owned:
            held = await self._renew_or_release(
                keys=[self._keys.owner(p) for p in owned], args=[self._consumer, ms(self._lease)]
            )
            kept = {owned[int(i) - 1] for i in held}
            for partition in owned:
                if partition in kept:
                    self._owned[partition] = sent + self._lease
                else:
                    log.warning("lost partition %d of the Redis queue (lease expired)", partition)
                    self._forget(partition)
        drained = [p for p in self._draining if not self._reader.busy(p)]
        if drained:
            await self._renew_or_release(
                keys=[self._keys.owner(p) for p in drained], args=[self._consumer, ""]
            )
            for partition in drained:
                self._forget(partition)
        share = math.ceil(self._partitions / max(1, live))
        active = [p for p in self._preference if p in self._owned and p not in self._draining]
        if len(active) > share:
            self._draining.update(active[share:])  # the least preferred go first
            return
        for partition in self._preference:  # take back what is still draining before new ones
            if len(active) < share and partition in self._draining:
                self._draining.discard(partition)
                active.append(partition)
        if len(active) < share:
            await self._take(share - len(active), sent)

    async def _take(self, want: int, sent: float) -> None:
        candidates = [p for p in self._preference if p not in self._owned]
        if not candidates:
            return
        keys = [k for p in candidates for k in (self._keys.owner(p), self._keys.stream(p))]
        taken = await self._claim(keys=keys, args=[self._consumer, ms(self._lease), GROUP, want])
        for position in taken:
            partition = candidates[int(position) - 1]
            self._owned[partition] = sent + self._lease
            self._reader.started(partition)
        if taken:
            self.changed.set()

    def _forget(self, partition: int) -> None:
        self._owned.pop(partition, None)
        self._draining.discard(partition)
        self._reader.stopped(partition)

    async def release(self, *, leave: bool) -> None:
        """Let go of every partition (others take them at once); `leave`: stop counting as live."""
        try:
            if self._owned:
                owned = sorted(self._owned)
                await self._renew_or_release(
                    keys=[self._keys.owner(p) for p in owned], args=[self._consumer, ""]
                )
            if leave:
                await self._heartbeat(keys=[self._keys.workers], args=[self._consumer, 0, "1"])
        finally:
            self._owned.clear()
