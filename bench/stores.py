"""Run one measurement on the embedded disk store, then on Redis (a namespace of its own)."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from botengine.storage import Storage
from botengine.storage.disk import DiskStorage
from botengine.testing.redis_scratch import scratch_redis_store

T = TypeVar("T")


async def on_disk_and_redis(
    measure_on: Callable[[Storage, Path, int], Awaitable[T]], events: int, redis_url: str | None, prefix: str
) -> dict[str, T]:
    """{"disk": …, "redis": …} (Redis only with a URL): `measure_on(store, folder, events)` on each."""
    found: dict[str, T] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = DiskStorage(Path(tmp) / "data", sync="normal")
        try:
            found["disk"] = await measure_on(store, Path(tmp) / "disk", events)
        finally:
            await store.close()
        if redis_url:
            async with scratch_redis_store(redis_url, prefix) as redis_store:
                found["redis"] = await measure_on(redis_store, Path(tmp) / "redis", events)
    return found
