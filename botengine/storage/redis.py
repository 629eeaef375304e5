"""The Redis backend: several botengine processes share one queue, one state and one schedule.

Chosen with BOTENGINE_REDIS_URL (pip install botengine[redis]). Every key of a store lives under
`<namespace>:` (default "botengine"), and every key name is built in `RedisKeys`:

    <ns>:seen:<session>\\x1f<event id>   dedupe window (a string, PX = the window)
    <ns>:queue:<p>                     partition p of the queue: a stream, consumer group "workers"
    <ns>:queue:<p>:owner               the worker that owns partition p (a string, PX = the lease)
    <ns>:queue:depth                   events accepted and not yet acknowledged (a counter)
    <ns>:queue:workers                 live workers (a sorted set: consumer → heartbeat expiry)
    <ns>:queue:partitions              the partition count the namespace was created with
    <ns>:kv:<key>                      state, ledger, cooldowns, discount codes, counters (JSON)
    <ns>:dlq                           dead letters (a hash: arrival-ordered id → JSON)
    <ns>:jobs                          scheduled jobs (a hash: id → JSON data)
    <ns>:jobs:due                      their due times (a sorted set, the caller's clock)
    <ns>:jobs:leased                   jobs being run (a sorted set: id → lease expiry, Redis' clock)

Per-chat order. An event goes to the partition chosen by a stable hash of (session, chat) (of its
id when it has no chat). A worker reads only the partitions it owns, and a partition has one
owner at a time: ownership is a lease key (SET NX PX), renewed every lease/3 by a background task
of the worker while it takes events, released on close. Workers heartbeat into a sorted set, and
each owns at most ceil(partitions / live workers): one with too many stops reading its surplus
and lets it go once its events there are acknowledged; one with too few takes unowned
partitions. A worker that dies stops renewing; after the lease its partitions are taken over,
and the new owner first reclaims (XAUTOCLAIM) the entries the dead one had taken and not
acknowledged, in their original order, before reading new ones. A worker reads a partition only
while its lease has more than lease/3 left by its own clock, so even a stalled one stops reading
before another can take over (a worker stalled longer than the lease loses its partitions, and
events it held run again elsewhere: the action ledger keeps their effects single).

Atomic steps (Lua scripts, so a crash between two writes cannot happen): dedupe + depth check +
XADD + depth counter at accept (a crash can neither lose nor double an event; a refused event
leaves no dedupe mark); XACK + XDEL + depth decrement at ack (a repeated ack counts once); taking
a lease (SET NX) + creating the partition's consumer group; leasing due jobs (a job whose lease
expired, its taker dead, is due again); add-if-absent of a job.

Durability: an event is "durable" when it is in Redis, which is only as durable as Redis'
persistence. With AOF `appendfsync everysec` a crash of Redis loses up to a second of accepted
events, with `appendfsync always` nothing; without persistence (like the Redis this project's
tests use, which keeps nothing on disk) a restart of Redis loses everything. Keys of one store
are spread across hash slots, so this backend needs a single Redis (with replicas if wanted),
not a Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import re
import secrets
import socket
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

from botengine.errors import ConfigError, QueueFullError, StorageError
from botengine.storage.base import Delivery, Incoming, Job
from botengine.storage.codec import decode, encode
from botengine.types import JSON, JSONDict

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError, ResponseError
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ConfigError("the Redis backend needs the redis package: pip install botengine[redis]") from exc

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

GROUP = "workers"  # the one consumer group of every partition
_DEPTH_STALE = 1.0  # seconds after which queue_depth() refreshes its cached value in the background
_MGET_CHUNK = 500
_MAX_CONNECTIONS = 64


class RedisKeys:
    """Every Redis key of one namespace (see the module docstring for the layout)."""

    def __init__(self, namespace: str) -> None:
        self.prefix = namespace + ":"
        self.depth = self.prefix + "queue:depth"
        self.workers = self.prefix + "queue:workers"
        self.partitions = self.prefix + "queue:partitions"
        self.dlq = self.prefix + "dlq"
        self.jobs = self.prefix + "jobs"
        self.jobs_due = self.prefix + "jobs:due"
        self.jobs_leased = self.prefix + "jobs:leased"
        self.kv_prefix = self.prefix + "kv:"

    def seen(self, dedupe_key: str) -> str:
        return f"{self.prefix}seen:{dedupe_key}"

    def stream(self, partition: int) -> str:
        return f"{self.prefix}queue:{partition}"

    def owner(self, partition: int) -> str:
        return f"{self.prefix}queue:{partition}:owner"

    def kv(self, key: str) -> str:
        return self.kv_prefix + key

    def pattern(self, prefix: str = "") -> str:
        """A SCAN MATCH pattern for the keys starting with `<namespace>:<prefix>`."""
        return glob_escape(self.prefix + prefix) + "*"


def glob_escape(text: str) -> str:
    """`text` with the glob characters of SCAN MATCH (`*?[]\\`) taken literally."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


# -- scripts ------------------------------------------------------------------------------------

# KEYS: seen, depth, stream. ARGV: dedupe (0/1), window ms, max depth, then the entry's fields.
# Returns {1, depth} accepted, {0, depth} duplicate, {-1, depth} queue full (nothing written).
_ACCEPT = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
local depth = tonumber(redis.call('GET', KEYS[2]) or '0')
if depth >= tonumber(ARGV[3]) then return {-1, depth} end
if ARGV[1] == '1' then redis.call('SET', KEYS[1], '1', 'PX', ARGV[2]) end
redis.call('XADD', KEYS[3], '*', 's', ARGV[4], 'i', ARGV[5], 't', ARGV[6], 'c', ARGV[7],
           'b', ARGV[8], 'a', ARGV[9])
return {1, redis.call('INCR', KEYS[2])}
"""

# KEYS: stream, depth. ARGV: group, entry ids. An entry no longer pending (acknowledged before) is
# not counted twice. Returns the depth.
_ACK = """
local done = 0
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    done = done + 1
  end
end
if done > 0 then return redis.call('DECRBY', KEYS[2], done) end
return tonumber(redis.call('GET', KEYS[2]) or '0')
"""

# KEYS: workers. ARGV: consumer, lease ms, leaving (0/1). Returns the number of live workers.
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
return redis.call('ZCARD', KEYS[1])
"""

# KEYS: owner, stream, owner, stream… ARGV: consumer, lease ms, group, how many to take.
# Returns the (1-based) positions of the pairs whose partition this call took.
_CLAIM = """
local got = {}
for i = 1, #KEYS, 2 do
  if #got >= tonumber(ARGV[4]) then break end
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    redis.pcall('XGROUP', 'CREATE', KEYS[i + 1], ARGV[3], '0', 'MKSTREAM')  -- BUSYGROUP is fine
    got[#got + 1] = (i + 1) / 2
  end
end
return got
"""

# KEYS: owner keys. ARGV: consumer, lease ms (renew) or '' (release). Returns the positions of
# the keys this consumer held.
_RENEW_OR_RELEASE = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    if ARGV[2] == '' then redis.call('DEL', key) else redis.call('PEXPIRE', key, ARGV[2]) end
    held[#held + 1] = i
  end
end
return held
"""

# KEYS: stream. ARGV: group, consumer. Forgets the consumers (dead workers) with nothing pending.
_PRUNE_CONSUMERS = """
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['pending'] == 0 and f['name'] ~= ARGV[2] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
  end
end
return 0
"""

# KEYS: jobs, due. ARGV: id, due, data. Returns 1 when stored, 0 when the id exists.
_SCHEDULE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: due, leased, jobs. ARGV: now (the caller's clock, like due times), limit, lease ms.
# Returns id, due, data, lease expiry for each job leased by this call.
_TAKE_DUE = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES',
                       'LIMIT', 0, limit + redis.call('ZCARD', KEYS[2]))
local out = {}
local until_ms = now_ms + tonumber(ARGV[3])
for i = 1, #due, 2 do
  if #out >= 4 * limit then break end
  local held = redis.call('ZSCORE', KEYS[2], due[i])
  if not held or tonumber(held) <= now_ms then
    redis.call('ZADD', KEYS[2], until_ms, due[i])
    local data = redis.call('HGET', KEYS[3], due[i]) or '{}'
    out[#out + 1] = due[i]; out[#out + 1] = due[i + 1]; out[#out + 1] = data
    out[#out + 1] = tostring(until_ms)
  end
end
return out
"""

# KEYS: leased. ARGV: lease ms (renew) or '' (release), then id, expiry pairs as leased by us.
# Returns id, new expiry for each job still ours (a lease that expired may be someone else's).
_RENEW_OR_RELEASE_JOBS = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 2, #ARGV, 2 do
  local held = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if held and tonumber(held) == tonumber(ARGV[i + 1]) then
    if ARGV[1] == '' then
      redis.call('ZREM', KEYS[1], ARGV[i])
    else
      local until_ms = now_ms + tonumber(ARGV[1])
      redis.call('ZADD', KEYS[1], until_ms, ARGV[i])
      out[#out + 1] = ARGV[i]; out[#out + 1] = tostring(until_ms)
    end
  end
end
return out
"""


def _translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis' errors leave this module as StorageError."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except RedisError as exc:
            raise StorageError(f"redis: {exc}") from exc

    return call


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _stream_order(delivery: Delivery) -> tuple[int, int]:
    ms, _, seq = delivery.receipt.partition("/")[2].partition("-")
    return int(ms), int(seq)


class RedisStorage:
    """The Redis backend (see the module docstring for the design).

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
        self.keys = RedisKeys(namespace)
        try:
            # A burst of concurrent calls waits for a free connection instead of failing with
            # "Too many connections" (the plain pool's answer past 100).
            pool = aioredis.BlockingConnectionPool.from_url(
                url, max_connections=_MAX_CONNECTIONS, timeout=20, protocol=2, socket_connect_timeout=5
            )
            self._client = aioredis.Redis(connection_pool=pool)
        except ValueError as exc:
            raise ConfigError(f"bad Redis URL {url!r}: {exc}") from exc
        self._accept = self._client.register_script(_ACCEPT)
        self._ack = self._client.register_script(_ACK)
        self._heartbeat = self._client.register_script(_HEARTBEAT)
        self._claim = self._client.register_script(_CLAIM)
        self._renew_or_release = self._client.register_script(_RENEW_OR_RELEASE)
        self._prune_consumers = self._client.register_script(_PRUNE_CONSUMERS)
        self._schedule = self._client.register_script(_SCHEDULE)
        self._take_due = self._client.register_script(_TAKE_DUE)
        self._renew_or_release_jobs = self._client.register_script(_RENEW_OR_RELEASE_JOBS)
        # partitions in this worker's order of preference: workers start at different places,
        # so they rarely race for the same partition
        start = zlib.crc32(self.consumer.encode()) % partitions
        self._preference = [(start + i) % partitions for i in range(partitions)]
        self._tick_every = lease / 3
        self._owned: dict[int, float] = {}  # partition → when its lease ends, by our monotonic clock
        self._draining: set[int] = set()  # owned, no longer read, released once acknowledged
        self._reclaim: dict[int, bytes] = {}  # partition → XAUTOCLAIM cursor, until its backlog is out
        self._inflight: dict[int, set[str]] = {}  # partition → stream ids taken, not acknowledged
        self._buffer: dict[int, deque[Delivery]] = {}  # read past `limit`: handed out next time
        self._held_jobs: dict[str, str] = {}  # job id → its lease expiry as leased by us
        self._owners_changed = asyncio.Event()
        self._tick_lock = asyncio.Lock()
        self._taking = False
        self._partitions_checked = False
        self._depth = 0
        self._depth_at = 0.0
        self._depth_refresh: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._closed = False

    # -- ingest and queue -----------------------------------------------------------------------

    def partition_of(self, event: Incoming) -> int:
        """The partition of `event`: all events of one chat share one."""
        what = f"{event.session}\x1f{event.chat}" if event.chat else event.dedupe_key
        return zlib.crc32(what.encode()) % self.partitions

    @_translated
    async def accept(self, event: Incoming) -> bool:
        return await self._enqueue(event, dedupe=True)

    @_translated
    async def requeue(self, event: Incoming) -> None:
        await self._enqueue(event, dedupe=False)

    async def _enqueue(self, event: Incoming, *, dedupe: bool) -> bool:
        if not self._partitions_checked:
            await self._check_partitions()
        keys = [self.keys.seen(event.dedupe_key), self.keys.depth, self.keys.stream(self.partition_of(event))]
        args: list[Any] = [
            "1" if dedupe else "0",
            _ms(self.dedupe_window),
            self.max_depth,
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
            raise QueueFullError(f"queue holds {depth} events (maximum {self.max_depth})")
        return bool(code == 1)

    async def _check_partitions(self) -> None:
        """Refuse to run with a partition count other than the namespace's: chats would move."""
        await self._client.set(self.keys.partitions, self.partitions, nx=True)
        found = int(await self._client.get(self.keys.partitions) or self.partitions)
        if found != self.partitions:
            raise ConfigError(
                f"Redis namespace {self.namespace!r} has {found} queue partitions, "
                f"this process was configured with {self.partitions}"
            )
        self._partitions_checked = True

    def queue_depth(self) -> int:
        if (
            time.monotonic() - self._depth_at > _DEPTH_STALE
            and self._depth_refresh is None
            and not self._closed
        ):
            with contextlib.suppress(RuntimeError):  # no running loop: the cached value will do
                task = asyncio.get_running_loop().create_task(self._refresh_depth())
                self._depth_refresh = task
        return self._depth

    async def _refresh_depth(self) -> None:
        try:
            self._set_depth(int(await self._client.get(self.keys.depth) or 0))
        except RedisError as exc:
            log.warning("cannot read the queue depth from Redis: %s", exc)
        finally:
            self._depth_refresh = None

    def _set_depth(self, depth: int) -> None:
        self._depth = max(0, depth)
        self._depth_at = time.monotonic()

    @_translated
    async def take(self, limit: int, wait: float) -> list[Delivery]:
        if self._closed:
            raise StorageError("the Redis store is closed")
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
            stream = self.keys.stream(partition)
            reply = await self._client.xautoclaim(
                stream, GROUP, self.consumer, 0, cursor, count=limit - len(found)
            )
            mine = self._inflight.setdefault(partition, set())
            for raw_id, fields in reply[1]:
                entry_id = _text(raw_id) if raw_id is not None else ""
                if fields and entry_id not in mine:
                    found.append(self._delivery(partition, entry_id, fields))
            if partition not in self._reclaim:
                continue  # ownership lost meanwhile: _lose dropped it
            if reply[0] in (b"0-0", "0-0"):
                del self._reclaim[partition]
                await self._prune_consumers(keys=[stream], args=[GROUP, self.consumer])
            else:
                self._reclaim[partition] = reply[0]
        return found

    async def _read(self, limit: int, block: float) -> list[Delivery]:
        """New entries of the partitions this worker may read now, waiting up to `block`."""
        now = time.monotonic()
        readable = [
            p
            for p, lease_end in self._owned.items()
            if p not in self._draining and p not in self._reclaim and lease_end - now > self._tick_every
        ]
        block = min(block, self._tick_every)  # look at ownership changes now and then
        if not readable:
            if block > 0:
                self._owners_changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(block):
                        await self._owners_changed.wait()
            return []
        streams: dict[Any, Any] = {self.keys.stream(p): ">" for p in readable}
        block_ms = int(block * 1000)
        try:
            reply: list[Any] = await self._client.xreadgroup(  # type: ignore[assignment]
                GROUP, self.consumer, streams, count=limit, block=block_ms if block_ms > 0 else None
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._create_groups(readable)  # the stream was deleted under us (FLUSHDB)
            return []
        partition_of = {self.keys.stream(p).encode(): p for p in readable}
        found: list[Delivery] = []
        for raw_stream, entries in reply or []:
            partition = partition_of[raw_stream if isinstance(raw_stream, bytes) else raw_stream.encode()]
            for raw_id, fields in entries:
                if fields:
                    found.append(self._delivery(partition, _text(raw_id), fields))
        return found

    async def _create_groups(self, partitions: Sequence[int]) -> None:
        for partition in partitions:
            with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists
                await self._client.xgroup_create(self.keys.stream(partition), GROUP, id="0", mkstream=True)

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

    @_translated
    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        by_partition: dict[int, list[str]] = {}
        for delivery in deliveries:
            number, _, entry_id = delivery.receipt.partition("/")
            by_partition.setdefault(int(number), []).append(entry_id)
        for partition, entry_ids in by_partition.items():
            self._inflight.get(partition, set()).difference_update(entry_ids)
            depth = await self._ack(
                keys=[self.keys.stream(partition), self.keys.depth], args=[GROUP, *entry_ids]
            )
            self._set_depth(int(depth))

    # -- partition ownership --------------------------------------------------------------------

    @property
    def owned_partitions(self) -> list[int]:
        """The partitions this worker reads now."""
        return sorted(p for p in self._owned if p not in self._draining)

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
                if not self._partitions_checked:
                    await self._check_partitions()
                await self._balance()
            if self._held_jobs:
                await self._renew_jobs()
            self._set_depth(int(await self._client.get(self.keys.depth) or 0))

    async def _balance(self) -> None:
        """Heartbeat, renew what this worker owns, then give up or take partitions to its share."""
        sent = time.monotonic()
        live = int(
            await self._heartbeat(keys=[self.keys.workers], args=[self.consumer, _ms(self.lease), "0"])
        )
        owned = sorted(self._owned)
        if owned:
            held = await self._renew_or_release(
                keys=[self.keys.owner(p) for p in owned], args=[self.consumer, _ms(self.lease)]
            )
            kept = {owned[int(i) - 1] for i in held}
            for partition in owned:
                if partition in kept:
                    self._owned[partition] = sent + self.lease
                else:
                    log.warning("lost partition %d of the Redis queue (lease expired)", partition)
                    self._forget(partition)
        drained = [p for p in self._draining if not self._inflight.get(p) and not self._buffer.get(p)]
        if drained:
            await self._renew_or_release(keys=[self.keys.owner(p) for p in drained], args=[self.consumer, ""])
            for partition in drained:
                self._forget(partition)
        share = math.ceil(self.partitions / max(1, live))
        active = [p for p in self._preference if p in self._owned and p not in self._draining]
        if len(active) > share:
            self._draining.update(active[share:])  # the least preferred go first
            return
        for partition in self._preference:  # take back what is still draining before new ones
            if len(active) < share and partition in self._draining:
                self._draining.discard(partition)
                active.append(partition)
        if len(active) < share:
            await self._take_partitions(share - len(active), sent)

    async def _take_partitions(self, want: int, sent: float) -> None:
        candidates = [p for p in self._preference if p not in self._owned]
        if not candidates:
            return
        keys = [k for p in candidates for k in (self.keys.owner(p), self.keys.stream(p))]
        taken = await self._claim(keys=keys, args=[self.consumer, _ms(self.lease), GROUP, want])
        for position in taken:
            partition = candidates[int(position) - 1]
            self._owned[partition] = sent + self.lease
            self._reclaim[partition] = b"0-0"
            self._inflight.setdefault(partition, set())
        if taken:
            self._owners_changed.set()

    def _forget(self, partition: int) -> None:
        """Stop reading `partition`; what it buffered is pending for us and reclaimed by its next owner."""
        self._owned.pop(partition, None)
        self._draining.discard(partition)
        self._reclaim.pop(partition, None)
        for delivery in self._buffer.pop(partition, ()):
            self._inflight.get(partition, set()).discard(delivery.receipt.partition("/")[2])

    # -- key/value ------------------------------------------------------------------------------

    @_translated
    async def get(self, key: str) -> JSON | None:
        raw = await self._client.get(self.keys.kv(key))
        return None if raw is None else decode(raw)

    @_translated
    async def put(self, key: str, value: JSON, ttl: float | None = None) -> None:
        await self._client.set(self.keys.kv(key), encode(value), px=None if ttl is None else _ms(ttl))

    @_translated
    async def add(self, key: str, value: JSON, ttl: float | None = None) -> bool:
        done = await self._client.set(
            self.keys.kv(key), encode(value), nx=True, px=None if ttl is None else _ms(ttl)
        )
        return bool(done)

    @_translated
    async def delete(self, key: str) -> bool:
        return bool(await self._client.delete(self.keys.kv(key)) == 1)

    @_translated
    async def incr(self, key: str, amount: int = 1) -> int:
        return int(await self._client.incrby(self.keys.kv(key), amount))

    @_translated
    async def scan(self, prefix: str) -> list[tuple[str, JSON]]:
        names = sorted(
            {
                _text(raw)
                async for raw in self._client.scan_iter(match=self.keys.pattern("kv:" + prefix), count=1000)
            }
        )
        found: list[tuple[str, JSON]] = []
        for chunk in _chunks(names, _MGET_CHUNK):
            for name, raw in zip(chunk, await self._client.mget(chunk), strict=True):
                if raw is not None:  # expired since the scan
                    found.append((name.removeprefix(self.keys.kv_prefix), decode(raw)))
        return found

    # -- dead letters ---------------------------------------------------------------------------

    @_translated
    async def dlq_add(self, entry: JSONDict) -> str:
        entry_id = f"{time.time_ns():020d}-{secrets.token_hex(3)}"
        await self._client.hset(self.keys.dlq, entry_id, encode(entry))
        return entry_id

    @_translated
    async def dlq_list(self) -> list[tuple[str, JSONDict]]:
        entries = await self._client.hgetall(self.keys.dlq)
        return sorted((_text(entry_id), decode(raw)) for entry_id, raw in entries.items())

    @_translated
    async def dlq_get(self, entry_id: str) -> JSONDict | None:
        raw = await self._client.hget(self.keys.dlq, entry_id)
        value = None if raw is None else decode(raw)
        return value if isinstance(value, dict) else None

    @_translated
    async def dlq_remove(self, entry_id: str) -> bool:
        return bool(await self._client.hdel(self.keys.dlq, entry_id) == 1)

    # -- jobs -----------------------------------------------------------------------------------

    @_translated
    async def schedule(self, job: Job) -> bool:
        stored = await self._schedule(
            keys=[self.keys.jobs, self.keys.jobs_due], args=[job.id, repr(job.due), encode(job.data)]
        )
        return bool(stored == 1)

    @_translated
    async def take_due(self, now: float, limit: int) -> list[Job]:
        if self._closed:
            raise StorageError("the Redis store is closed")
        if limit <= 0:
            return []
        reply = await self._take_due(
            keys=[self.keys.jobs_due, self.keys.jobs_leased, self.keys.jobs],
            args=[repr(now), limit, _ms(self.lease)],
        )
        jobs = []
        for i in range(0, len(reply), 4):
            job_id = _text(reply[i])
            jobs.append(Job(job_id, float(reply[i + 1]), decode(reply[i + 2])))
            self._held_jobs[job_id] = _text(reply[i + 3])
        if jobs:
            self._start_keeper()  # renews these leases while they run
        return jobs

    async def _renew_jobs(self) -> None:
        held = list(self._held_jobs.items())
        reply = await self._renew_or_release_jobs(
            keys=[self.keys.jobs_leased], args=[_ms(self.lease), *(x for pair in held for x in pair)]
        )
        renewed = {_text(reply[i]): _text(reply[i + 1]) for i in range(0, len(reply), 2)}
        for job_id, _ in held:
            if job_id in self._held_jobs:  # not finished while this ran
                if job_id in renewed:
                    self._held_jobs[job_id] = renewed[job_id]
                else:
                    del self._held_jobs[job_id]  # its lease expired: another scheduler may run it

    @_translated
    async def finish(self, job_id: str) -> None:
        self._held_jobs.pop(job_id, None)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.jobs, job_id)
            pipe.zrem(self.keys.jobs_due, job_id)
            pipe.zrem(self.keys.jobs_leased, job_id)
            await pipe.execute()

    @_translated
    async def jobs(self) -> list[Job]:
        due: list[tuple[bytes, float]] = await self._client.zrange(  # type: ignore[assignment]
            self.keys.jobs_due, 0, -1, withscores=True
        )
        found: list[Job] = []
        for chunk in _chunks(due, _MGET_CHUNK):
            datas = await self._client.hmget(self.keys.jobs, [job_id for job_id, _ in chunk])
            for (job_id, score), raw in zip(chunk, datas, strict=True):
                if raw is not None:
                    found.append(Job(_text(job_id), float(score), decode(raw)))
        return found

    # -- lifecycle ------------------------------------------------------------------------------

    @_translated
    async def ping(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        """Let go of partitions and jobs (others take them at once), stop the keeper, disconnect."""
        if self._closed:
            return
        await self._stop_tasks()
        try:
            if self._owned:
                owned = sorted(self._owned)
                await self._renew_or_release(
                    keys=[self.keys.owner(p) for p in owned], args=[self.consumer, ""]
                )
            if self._taking:
                await self._heartbeat(keys=[self.keys.workers], args=[self.consumer, 0, "1"])
            if self._held_jobs:
                pairs = [x for pair in self._held_jobs.items() for x in pair]
                await self._renew_or_release_jobs(keys=[self.keys.jobs_leased], args=["", *pairs])
        except RedisError as exc:
            log.warning("cannot release leases in Redis (they expire in %ss): %s", self.lease, exc)
        finally:
            self._owned.clear()
            self._held_jobs.clear()
            await self._client.aclose(close_connection_pool=True)

    async def abandon(self) -> None:
        """Disconnect without letting go of anything, as a killed process would (for tests)."""
        if not self._closed:
            await self._stop_tasks()
            await self._client.aclose(close_connection_pool=True)

    async def _stop_tasks(self) -> None:
        self._closed = True
        tasks = [t for t in (self._keeper, self._depth_refresh) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._keeper = self._depth_refresh = None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
