"""The Redis client of a store, the translation of Redis' errors, and the Lua scripts it runs.

Every step that writes more than one key is a Lua script (so a crash between two writes cannot
happen); the scripts live in `lua/*.lua` beside this module, each with its KEYS and ARGV described
at its top, and are shipped as package data.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from importlib import resources
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from botengine.errors import ConfigError, StorageError

P = ParamSpec("P")
T = TypeVar("T")

_MAX_CONNECTIONS = 64
MGET_CHUNK = 500  # keys per MGET / HMGET of a listing

SCRIPTS = (
    "accept",  # dedupe + depth check + XADD + depth counter
    "ack",  # XACK + XDEL + depth decrement, counted once; in-flight mark and crashes forgotten
    "crashed",  # entries a dead consumer was processing: one crash more each
    "heartbeat",  # a worker's liveness in the workers set
    "alive",  # whether a worker's heartbeat is still current
    "claim",  # partition leases (SET NX) + their consumer groups
    "renew_or_release",  # partition leases still ours
    "prune_consumers",  # forget dead workers with nothing pending
    "schedule",  # add-if-absent of a job
    "take_due",  # lease due jobs (and jobs whose taker died)
    "renew_or_release_jobs",  # job leases still ours
)


def connect(url: str) -> aioredis.Redis:
    """A client for `url`; a bad URL is a ConfigError."""
    try:
        # A burst of concurrent calls waits for a free connection instead of failing with
        # "Too many connections" (the plain pool's answer past 100).
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=_MAX_CONNECTIONS, timeout=20, protocol=2, socket_connect_timeout=5
        )
    except ValueError as exc:
        raise ConfigError(f"bad Redis URL {url!r}: {exc}") from exc
    return aioredis.Redis(connection_pool=pool)


def script_source(name: str) -> str:
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def register_scripts(client: aioredis.Redis) -> dict[str, AsyncScript]:
    """Every script of SCRIPTS, ready to call (EVALSHA, loading it on first use)."""
    return {name: client.register_script(script_source(name)) for name in SCRIPTS}


def translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis' errors leave the backend as StorageError."""

    @functools.wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except RedisError as exc:
            raise StorageError(f"redis: {exc}") from exc

    return call


def ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def chunks(items: Sequence[T], size: int = MGET_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
