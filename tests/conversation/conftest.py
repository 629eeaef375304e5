"""The end-to-end fixtures of the conversation tests: the real engine on loopback, a fake Wawp,
and a Redis namespace of the test's own (deleted afterwards; Redis is never flushed)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest

from tests.actions.conftest import engine, fake
from tests.conftest import drop_namespace, require_redis

__all__ = ["engine", "fake", "redis_namespace"]


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    require_redis()
    namespace = f"botengine-test-{secrets.token_hex(6)}"
    yield namespace
    asyncio.run(drop_namespace(namespace))
