"""Dead letters on Redis: one hash, arrival-ordered id → JSON entry."""

from __future__ import annotations

import secrets
import time

import redis.asyncio as aioredis

from botengine.storage.codec import decode, encode
from botengine.storage.redis.connection import text
from botengine.storage.redis.keys import RedisKeys
from botengine.types import JSONDict


class RedisDeadLetters:
    """The DeadLetters role of the Redis backend."""

    def __init__(self, client: aioredis.Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys

    async def dlq_add(self, entry: JSONDict) -> str:
        entry_id = f"{time.time_ns():020d}-{secrets.token_hex(3)}"
        await self._client.hset(self._keys.dlq, entry_id, encode(entry))
        return entry_id

    async def dlq_list(self) -> list[tuple[str, JSONDict]]:
        entries = await self._client.hgetall(self._keys.dlq)
        return sorted((text(entry_id), decode(raw)) for entry_id, raw in entries.items())

    async def dlq_get(self, entry_id: str) -> JSONDict | None:
        raw = await self._client.hget(self._keys.dlq, entry_id)
        value = None if raw is None else decode(raw)
        return value if isinstance(value, dict) else None

    async def dlq_remove(self, entry_id: str) -> bool:
        return bool(await self._client.hdel(self._keys.dlq, entry_id) == 1)
