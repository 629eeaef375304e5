"""The DeadLetters role.

Every backend runs these (tests/conftest.py BACKENDS).
"""

from __future__ import annotations

from botengine.storage import DeadLetters


async def test_dead_letters(storage: DeadLetters) -> None:
    first = await storage.dlq_add({"kind": "action", "n": 1})
    second = await storage.dlq_add({"kind": "action", "n": 2})
    listed = await storage.dlq_list()
    assert [entry_id for entry_id, _ in listed] == [first, second]
    assert await storage.dlq_get(first) == {"kind": "action", "n": 1}
    assert await storage.dlq_remove(first) is True
    assert await storage.dlq_remove(first) is False
    assert [e["n"] for _, e in await storage.dlq_list()] == [2]
