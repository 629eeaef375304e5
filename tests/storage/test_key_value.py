"""The KeyValue role: JSON values with expiry, add-if-absent, counters, listings.

Every backend runs these (tests/conftest.py BACKENDS).
"""

from __future__ import annotations

import asyncio

import pytest

from botengine.storage import KeyValue


async def test_key_values_with_expiry(storage: KeyValue) -> None:
    await storage.put("state:a", {"menu": "main"})
    assert await storage.get("state:a") == {"menu": "main"}
    assert await storage.get("state:missing") is None
    await storage.put("state:short", 1, ttl=0.1)
    await asyncio.sleep(0.2)
    assert await storage.get("state:short") is None
    assert await storage.delete("state:a") is True
    assert await storage.delete("state:a") is False


async def test_add_only_if_absent(storage: KeyValue) -> None:
    assert await storage.add("discount:k", "CODE1") is True
    assert await storage.add("discount:k", "CODE2") is False
    assert await storage.get("discount:k") == "CODE1"
    results = await asyncio.gather(*(storage.add("discount:race", i) for i in range(20)))
    assert results.count(True) == 1


async def test_incr(storage: KeyValue) -> None:
    assert await storage.incr("counter:reads") == 1
    assert await storage.incr("counter:reads", 4) == 5
    assert await storage.get("counter:reads") == 5


async def test_scan_by_prefix_sorted(storage: KeyValue) -> None:
    await storage.put("discount:spring\x1fb", "B")
    await storage.put("discount:spring\x1fa", "A")
    await storage.put("discount:summer\x1fc", "C")
    found = await storage.scan("discount:spring\x1f")
    assert found == [("discount:spring\x1fa", "A"), ("discount:spring\x1fb", "B")]


async def test_scan_takes_glob_characters_literally(storage: KeyValue) -> None:
    await storage.put("state:a*\x1f1", 1)
    await storage.put("state:a?[x]\\\x1f2", 2)
    await storage.put("state:ab\x1f3", 3)
    assert await storage.scan("state:a*") == [("state:a*\x1f1", 1)]
    assert await storage.scan("state:a?[x]\\") == [("state:a?[x]\\\x1f2", 2)]
    assert [v for _, v in await storage.scan("state:a")] == [1, 2, 3]


async def test_refuses_values_that_are_not_json(storage: KeyValue) -> None:
    with pytest.raises((TypeError, ValueError)):
        await storage.put("state:obj", object())


async def test_many_concurrent_writes_each_see_their_own_result(storage: KeyValue) -> None:
    """Backends may commit concurrent writes together; each caller still gets its own answer."""
    added = await asyncio.gather(*(storage.add(f"ledger:k{i % 50}", i) for i in range(200)))
    assert added.count(True) == 50
    counted = await asyncio.gather(*(storage.incr("counter:shared") for _ in range(100)))
    assert sorted(counted) == list(range(1, 101))
    deleted = await asyncio.gather(*(storage.delete(f"ledger:k{i}") for i in range(60)))
    assert deleted == [True] * 50 + [False] * 10
    assert await storage.get("ledger:k0") is None
