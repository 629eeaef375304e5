"""The Redis backend: several botengine processes share one queue, one state and one schedule.

Chosen with BOTENGINE_REDIS_URL (pip install botengine[redis]). Every key of a store lives under
`<namespace>:` (default "botengine"), and every key name is built in `RedisKeys` (keys.py):

    <ns>:seen:<session>\\x1f<event id>   dedupe window (a string, PX = the window)
    <ns>:queue:<p>                     partition p of the queue: a stream, consumer group "workers"
    <ns>:queue:<p>:owner               the worker that owns partition p (a string, PX = the lease)
    <ns>:queue:depth                   events accepted and not yet acknowledged (a counter)
    <ns>:queue:workers                 live workers (a sorted set: consumer → heartbeat expiry)
    <ns>:queue:partitions              the partition count the namespace was created with
    <ns>:queue:inflight                entries being processed (a hash: receipt → consumer)
    <ns>:queue:crashes                 entries whose consumer died processing them (receipt → count)
    <ns>:kv:<key>                      state, ledger, cooldowns, discount codes, counters (JSON)
    <ns>:dlq                           dead letters (a hash: arrival-ordered id → JSON)
    <ns>:jobs                          scheduled jobs (a hash: id → JSON data)
    <ns>:jobs:due                      their due times (a sorted set, the caller's clock)
    <ns>:jobs:leased                   jobs being run (a sorted set: id → lease expiry, Redis' clock)

The backend is composed by role, as the disk backend is:

    store.py         RedisStorage: the roles together, and the keeper renewing leases every lease/3
    queue.py         ingest and the partitioned queue: accept, take, reclaim, ack, depth
    partitions.py    which partitions this worker owns: leases, heartbeats, a fair share
    jobs.py          scheduled jobs and their leases
    kv.py            key/value with expiry
    dead_letters.py  dead letters
    keys.py          every key name
    connection.py    the client, the translation of Redis' errors, the Lua scripts (lua/*.lua)

Atomic steps are Lua scripts, so a crash between two writes cannot happen: dedupe + depth check +
XADD + depth counter at accept; XACK + XDEL + depth decrement at ack; taking a lease (SET NX) +
creating the partition's consumer group; leasing due jobs (a job whose lease expired, its taker
dead, is due again); add-if-absent of a job.

Durability: an event is "durable" when it is in Redis, which is only as durable as Redis'
persistence. With AOF `appendfsync everysec` a crash of Redis loses up to a second of accepted
events, with `appendfsync always` nothing; without persistence (like the Redis this project's
tests use, which keeps nothing on disk) a restart of Redis loses everything. Keys of one store
are spread across hash slots, so this backend needs a single Redis (with replicas if wanted),
not a Redis Cluster.
"""

from __future__ import annotations

from botengine.errors import ConfigError

try:
    import redis.asyncio  # noqa: F401  # checked here, before any part of the backend imports it
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ConfigError("the Redis backend needs the redis package: pip install botengine[redis]") from exc

from botengine.storage.redis.keys import RedisKeys, glob_escape
from botengine.storage.redis.store import RedisStorage

__all__ = ["RedisKeys", "RedisStorage", "glob_escape"]
