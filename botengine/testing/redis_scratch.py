"""A Redis store in a namespace of its own, for tests and benchmarks on a shared Redis.

    async with scratch_redis_store("redis://127.0.0.1:6379/15", "bench-lists") as store:
        ...                                  # every key it wrote is deleted afterwards

The machine's Redis is shared (other suites, other engineers): nothing here ever flushes a
database; only the keys of the namespace are deleted.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from botengine.storage.redis import RedisKeys, RedisStorage


async def drop_namespace(url: str, namespace: str) -> None:
    """Delete every key of `namespace` (and nothing else) on the Redis at `url`."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        names = [name async for name in client.scan_iter(match=RedisKeys(namespace).pattern(), count=1000)]
        for start in range(0, len(names), 500):
            await client.delete(*names[start : start + 500])
    finally:
        await client.aclose()


@asynccontextmanager
async def scratch_redis_store(url: str, prefix: str) -> AsyncIterator[RedisStorage]:
    """A RedisStorage in a fresh random namespace `prefix-<hex>`, its keys deleted on exit."""
    namespace = f"{prefix}-{secrets.token_hex(4)}"
    store = RedisStorage(url, namespace=namespace)
    try:
        yield store
    finally:
        await store.close()
        await drop_namespace(url, namespace)
