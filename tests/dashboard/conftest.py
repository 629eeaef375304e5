"""Dashboard fixtures: a running engine with the dashboard on, and a real headless Chromium."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botengine.testing import FakeWawp
from botengine.testing.engine import RunningEngine, running_engine

TOKEN = "dashboard-test-token"
CHROMIUM = os.environ.get("BOTENGINE_CHROMIUM", "/usr/bin/chromium")

RULES = """
rules:
  - name: greet
    description: Say hello
    if: {contains: hello}
    do: [{reply: "Hello {{ sender.name or 'there' }}!"}]
  - name: crm
    description: Tell the CRM
    if: {contains: order}
    do: [{webhook: "WAWP/hooks/crm"}]
"""


@pytest.fixture
def fake() -> Iterator[FakeWawp]:
    wawp = FakeWawp()
    with wawp.serve():
        yield wawp


@pytest.fixture
def bot(tmp_path: Path, fake: FakeWawp) -> Iterator[RunningEngine]:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "rules.yaml").write_text(textwrap.dedent(RULES).replace("WAWP", fake.url))
    with running_engine(
        rules_dir, tmp_path / "data", wawp_url=fake.url, admin_token=TOKEN, retries=0
    ) as engine:
        yield engine


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright (the system's Chromium: nothing is downloaded)."""
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: scripts/test installs Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
