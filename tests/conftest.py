"""Shared fixtures: real storage in temp dirs, a real Redis when this machine runs one."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from botengine.storage import Storage
from botengine.storage.disk import DiskStorage
from botengine.storage.memory import MemoryStorage

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "examples" / "events"

BACKENDS = ["memory", "disk"]

StorageFactory = Callable[..., Storage]


@pytest.fixture(params=BACKENDS)
async def storage_factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageFactory]:
    """Opens stores of one backend (several may be opened, e.g. to simulate a restart)."""
    opened: list[Storage] = []

    def open_store(**options: object) -> Storage:
        store: Storage
        if request.param == "memory":
            store = MemoryStorage(**options)  # type: ignore[arg-type]
        else:
            store = DiskStorage(tmp_path / "data", **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    open_store.backend = request.param  # type: ignore[attr-defined]
    yield open_store
    for store in opened:
        await store.close()


@pytest.fixture
async def storage(storage_factory: StorageFactory) -> Storage:
    return storage_factory()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No BOTENGINE_* variable of the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("BOTENGINE_"):
            monkeypatch.delenv(name)
