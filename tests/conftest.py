"""Shared fixtures: real storage in temp dirs, a real Redis when this machine runs one."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from functools import cache
from pathlib import Path

import pytest

from botengine.storage import Storage
from botengine.storage.disk import DiskStorage
from botengine.storage.memory import MemoryStorage
from botengine.testing import redis_scratch

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "examples" / "events"

REDIS_URL = os.environ.get("BOTENGINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

BACKENDS = ["memory", "disk", pytest.param("redis", marks=pytest.mark.redis)]

StorageFactory = Callable[..., Storage]


@cache
def redis_missing() -> str | None:
    """Why the Redis tests cannot run here (None when they can)."""
    try:
        import redis
    except ImportError:
        return "the redis package is not installed: pip install botengine[redis]"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        return f"no Redis at {REDIS_URL}: start one (redis-server) or set BOTENGINE_TEST_REDIS_URL"
    finally:
        client.close()
    return None


def require_redis() -> None:
    """Skip a Redis test where no Redis runs; on CI (CI is set) fail instead: CI must run them."""
    reason = redis_missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the Redis tests must run)")
        pytest.skip(reason)


async def drop_namespace(namespace: str) -> None:
    """Delete every key of a test's Redis namespace."""
    await redis_scratch.drop_namespace(REDIS_URL, namespace)


@pytest.fixture(params=BACKENDS)
async def storage_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageFactory]:
    """Opens stores of one backend (several may be opened, e.g. to simulate a restart).

    Redis stores of one test share a fresh random namespace (reopening one is a restart), whose
    keys are deleted afterwards.
    """
    opened: list[Storage] = []
    namespace = f"botengine-test-{secrets.token_hex(6)}"
    if request.param == "redis":
        require_redis()

    def open_store(**options: object) -> Storage:
        store: Storage
        if request.param == "memory":
            store = MemoryStorage(**options)  # type: ignore[arg-type]
        elif request.param == "redis":
            from botengine.storage.redis import RedisStorage

            store = RedisStorage(REDIS_URL, namespace=namespace, **options)  # type: ignore[arg-type]
        else:
            store = DiskStorage(tmp_path / "data", **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    open_store.backend = request.param  # type: ignore[attr-defined]
    open_store.namespace = namespace  # type: ignore[attr-defined]
    yield open_store
    for store in opened:
        await store.close()
    if request.param == "redis":
        await drop_namespace(namespace)


@pytest.fixture
async def storage(storage_factory: StorageFactory) -> Storage:
    return storage_factory()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No BOTENGINE_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("BOTENGINE_"):
            monkeypatch.delenv(name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the dashboard's screenshots are (tests/dashboard/test_screenshots.py), so a person
    looks at them: a page can pass every test and still look wrong."""
    shots = REPO / "build" / "screenshots"
    if shots.is_dir() and any(shots.glob("*.png")):
        count = len(list(shots.glob("*.png")))
        terminalreporter.write_line(
            f"dashboard screenshots ({count}, every page at 1280 and 390 px): {shots}"
        )
