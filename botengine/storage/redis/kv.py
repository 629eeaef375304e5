"""Key/value with expiry on Redis: one string per key under `<ns>:kv:`, values as JSON."""

from __future__ import annotations

import redis.asyncio as aioredis

from botengine.storage.codec import decode, encode
from botengine.storage.redis.connection import chunks, ms, text
from botengine.storage.redis.keys import RedisKeys
from botengine.types import JSON


class RedisKeyValue:
    """The KeyValue role of the Redis backend."""

    def __init__(self, client: aioredis.Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys

    async def get(self, key: str) -> JSON | None:
        raw = await self._client.get(self._keys.kv(key))
        return None if raw is None else decode(raw)

    async def put(self, key: str, value: JSON, ttl: float | None = None) -> None:
        await self._client.set(self._keys.kv(key), encode(value), px=None if ttl is None else ms(ttl))

    async def add(self, key: str, value: JSON, ttl: float | None = None) -> bool:
        done = await self._client.set(
            self._keys.kv(key), encode(value), nx=True, px=None if ttl is None else ms(ttl)
        )
        return bool(done)

    async def delete(self, key: str) -> bool:
        return bool(await self._client.delete(self._keys.kv(key)) == 1)

    async def incr(self, key: str, amount: int = 1) -> int:
        return int(await self._client.incrby(self._keys.kv(key), amount))

    async def scan(self, prefix: str) -> list[tuple[str, JSON]]:
        names = sorted(
            {
                text(raw)
                async for raw in self._client.scan_iter(match=self._keys.pattern("kv:" + prefix), count=1000)
            }
        )
        found: list[tuple[str, JSON]] = []
        for chunk in chunks(names):
            for name, raw in zip(chunk, await self._client.mget(chunk), strict=True):
                if raw is not None:  # expired since the scan
                    found.append((name.removeprefix(self._keys.kv_prefix), decode(raw)))
        return found
