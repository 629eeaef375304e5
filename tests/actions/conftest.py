"""End-to-end fixtures for actions: the real engine on loopback, pointed at a fake Wawp."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from botengine.testing import FakeWawp
from botengine.testing.engine import RunningEngine, running_engine


@pytest.fixture
def fake() -> Iterator[FakeWawp]:
    wawp = FakeWawp()
    with wawp.serve():
        yield wawp


EngineFactory = Callable[..., AbstractContextManager[RunningEngine]]


@pytest.fixture
def engine(tmp_path: Path, fake: FakeWawp) -> EngineFactory:
    """engine(rules_yaml, **settings) → a context manager running the engine on tmp_path."""

    def start(rules: str, **overrides: Any) -> AbstractContextManager[RunningEngine]:
        rules_dir = tmp_path / "rules"
        rules_dir.mkdir(exist_ok=True)
        (rules_dir / "rules.yaml").write_text(textwrap.dedent(rules), encoding="utf-8")
        overrides.setdefault("wawp_url", fake.url)
        return running_engine(rules_dir, tmp_path / "data", **overrides)

    return start
