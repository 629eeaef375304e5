"""`RedisStorage`: the Redis backend composed of its roles, and the keeper that renews its leases."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Sequence

from redis.exceptions import RedisError

from botengine.errors import ConfigError, StorageError
from botengine.storage.base import Delivery, Incoming, Job
from botengine.storage.redis.connection import connect, register_scripts, translated
from botengine.storage.redis.dead_letters import RedisDeadLetters
from botengine.storage.redis.jobs import RedisJobs
from botengine.storage.redis.keys import RedisKeys
from botengine.storage.redis.kv import RedisKeyValue
from botengine.storage.redis.queue import RedisQueue
from botengine.types import JSON, JSONDict

log = logging.getLogger(__name__)


class RedisStorage:
    """The Redis backend (see the package docstring for the design).

    `consumer` names this process in the consumer groups and lease keys (default: host, pid and
    a random suffix); `lease` is how long a dead worker's partitions and jobs wait for it.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        dedupe_window: float = 7 * 86400,
        max_depth: int = 100_000,
        partitions: int = 16,
        lease: float = 30.0,
        namespace: str = "botengine",
        consumer: str | None = None,
    ) -> None:
        if partitions < 1:
            raise ConfigError("the Redis queue needs at least one partition")
        self.dedupe_window = dedupe_window
        self.max_depth = max_depth
        self.partitions = partitions
        self.lease = lease
        self.namespace = namespace
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.instance = self.consumer
        self.keys = RedisKeys(namespace)
        self._client = connect(url)
        scripts = register_scripts(self._client)
        self._alive = scripts["alive"]
        self._queue = RedisQueue(
            self._client,
            self.keys,
            scripts,
            dedupe_window=dedupe_window,
            max_depth=max_depth,
            partitions=partitions,
            lease=lease,
            namespace=namespace,
            consumer=self.consumer,
        )
        self._kv = RedisKeyValue(self._client, self.keys)
        self._dead_letters = RedisDeadLetters(self._client, self.keys)
        self._jobs = RedisJobs(self._client, self.keys, scripts, lease)
        self._tick_every = lease / 3
        self._tick_lock = asyncio.Lock()
        self._taking = False
        self._keeper: asyncio.Task[None] | None = None
        self._closed = False

    # -- ingest and queue -----------------------------------------------------------------------

    def partition_of(self, event: Incoming) -> int:
        """The partition of `event`: all events of one chat share one."""
        return self._queue.partition_of(event)

    @property
    def owned_partitions(self) -> list[int]:
        """The partitions this worker reads now."""
        return self._queue.leases.owned

    @translated
    async def accept(self, event: Incoming) -> bool:
        return await self._queue.enqueue(event, dedupe=True)

    @translated
    async def requeue(self, event: Incoming) -> None:
        await self._queue.enqueue(event, dedupe=False)

    def queue_depth(self) -> int:
        return self._queue.depth()

    @translated
    async def take(self, limit: int, wait: float) -> list[Delivery]:
        self._check_open()
        if limit <= 0:
            return []
        if not self._taking:
            self._taking = True
            try:
                await self._tick()  # the first take reads at once, not after a tick
            except BaseException:
                self._taking = False
                raise
        self._start_keeper()
        try:
            return await self._queue.take(limit, wait)
        except RedisError:
            self._queue.recover()  # what a lost reply handed to this worker, it reads again
            raise

    @translated
    async def begin(self, delivery: Delivery) -> None:
        await self._queue.begin(delivery)

    @translated
    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        await self._queue.ack(deliveries)

    # -- key/value ------------------------------------------------------------------------------

    @translated
    async def get(self, key: str) -> JSON | None:
        return await self._kv.get(key)

    @translated
    async def put(self, key: str, value: JSON, ttl: float | None = None) -> None:
        await self._kv.put(key, value, ttl)

    @translated
    async def add(self, key: str, value: JSON, ttl: float | None = None) -> bool:
        return await self._kv.add(key, value, ttl)

    @translated
    async def delete(self, key: str) -> bool:
        return await self._kv.delete(key)

    @translated
    async def incr(self, key: str, amount: int = 1) -> int:
        return await self._kv.incr(key, amount)

    @translated
    async def scan(self, prefix: str) -> list[tuple[str, JSON]]:
        return await self._kv.scan(prefix)

    # -- dead letters ---------------------------------------------------------------------------

    @translated
    async def dlq_add(self, entry: JSONDict) -> str:
        return await self._dead_letters.dlq_add(entry)

    @translated
    async def dlq_list(self) -> list[tuple[str, JSONDict]]:
        return await self._dead_letters.dlq_list()

    @translated
    async def dlq_get(self, entry_id: str) -> JSONDict | None:
        return await self._dead_letters.dlq_get(entry_id)

    @translated
    async def dlq_remove(self, entry_id: str) -> bool:
        return await self._dead_letters.dlq_remove(entry_id)

    # -- jobs -----------------------------------------------------------------------------------

    @translated
    async def schedule(self, job: Job) -> bool:
        return await self._jobs.schedule(job)

    @translated
    async def take_due(self, now: float, limit: int) -> list[Job]:
        self._check_open()
        if limit <= 0:
            return []
        jobs = await self._jobs.take_due(now, limit)
        if jobs:
            self._start_keeper()  # renews these leases while they run
        return jobs

    @translated
    async def finish(self, job_id: str) -> None:
        await self._jobs.finish(job_id)

    @translated
    async def jobs(self) -> list[Job]:
        return await self._jobs.jobs()

    # -- the keeper: leases of partitions and jobs, renewed every lease/3 -----------------------

    def _start_keeper(self) -> None:
        if self._keeper is None and not self._closed:
            self._keeper = asyncio.create_task(self._keep(), name="botengine-redis-leases")

    async def _keep(self) -> None:
        # stops on the flag as well as on cancel: redis-py (8.1, Python 3.11) can swallow a
        # cancellation that lands mid-command, and close() would then wait for the keeper forever
        while True:
            await asyncio.sleep(self._tick_every)
            if self._closed:
                return
            try:
                await self._tick()
            except (RedisError, StorageError) as exc:
                log.warning("cannot renew leases in Redis (retrying): %s", exc)

    async def _tick(self) -> None:
        async with self._tick_lock:
            if self._taking:
                await self._queue.keep_partitions()
            if self._jobs.holding:
                await self._jobs.renew()
            await self._queue.read_depth()

    # -- lifecycle ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the Redis store is closed")

    @translated
    async def ping(self) -> None:
        await self._client.ping()

    @translated
    async def alive(self, instance: str) -> bool:
        """A worker is alive while its heartbeat is current (renewed every lease/3, kept a lease)."""
        if instance == self.instance:
            return not self._closed
        return bool(await self._alive(keys=[self.keys.workers], args=[instance]))

    async def close(self) -> None:
        """Let go of partitions and jobs (others take them at once), stop the keeper, disconnect."""
        if self._closed:
            return
        await self._stop_tasks()
        try:
            await self._queue.forget_begun()
            await self._queue.leases.release(leave=self._taking)
            await self._jobs.release()
        except RedisError as exc:
            log.warning("cannot release leases in Redis (they expire in %ss): %s", self.lease, exc)
        finally:
            self._jobs.forget()
            await self._client.aclose(close_connection_pool=True)

    async def abandon(self) -> None:
        """Disconnect without letting go of anything, as a killed process would (for tests)."""
        if not self._closed:
            await self._stop_tasks()
            await self._client.aclose(close_connection_pool=True)

    async def _stop_tasks(self) -> None:
        self._closed = True
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
        await asyncio.gather(self._queue.stop(), *([keeper] if keeper else []), return_exceptions=True)
