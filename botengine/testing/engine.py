"""A whole engine on a loopback port, for end-to-end tests of rules and actions.

    fake = FakeWawp()
    with fake.serve() as wawp_url, running_engine(rules_dir, data_dir, wawp_url=wawp_url) as bot:
        bot.post(make_event(text="hi"))
        [call] = fake.wait_for(1, "/v2/send/text")

The engine is the real one (receiver, durable queue, worker, rules, executor, scheduler) over real
HTTP; only its settings are chosen for tests: no secret, Wawp credentials for every session, short
retry waits unless you say otherwise.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette

from botengine.app import Engine, build_app
from botengine.config import Settings
from botengine.dlq import replay_job
from botengine.events import chat_id_of
from botengine.jobs import EventLetter, encode
from botengine.testing.server import serve_in_thread
from botengine.testing.waiting import eventually
from botengine.types import JSONDict

T = TypeVar("T")

TEST_ENV = {"BOTENGINE_WAWP_TOKEN": "test-token"}


@dataclass
class RunningEngine:
    url: str
    app: Starlette
    settings: Settings

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.engine
        return engine

    def post(self, event: Mapping[str, Any], **params: str) -> httpx.Response:
        """POST an event to the webhook, the way Wawp does."""
        return httpx.post(self.url + self.settings.webhook_path, json=dict(event), params=params, timeout=10)

    def call(self, make: Callable[[Engine], Awaitable[T]], timeout: float = 10.0) -> T:
        """Run a coroutine on the engine's own event loop (its storage lives there) and return its result."""
        loop = self.engine.loop
        assert loop is not None, "the engine has not started"
        return asyncio.run_coroutine_threadsafe(_call(make, self.engine), loop).result(timeout)

    def dead_letters(self) -> list[tuple[str, JSONDict]]:
        return self.call(lambda e: e.storage.dlq_list())

    def replay(self, event: Mapping[str, Any]) -> None:
        """Replay a whole event, as `botengine dlq replay` does one whose processing crashed."""
        letter = EventLetter(
            session=event["session"],
            event_id=event["id"],
            event_type=event["event"],
            chat=chat_id_of(event["event"], event["payload"]),
            event=json.dumps(event),
        )
        job = replay_job(f"test-{event['id']}", encode(letter))
        self.call(lambda e: e.storage.schedule(job))

    def get(self, key: str) -> Any:
        return self.call(lambda e: e.storage.get(key))

    def wait_until(self, condition: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Poll `condition` until it returns something truthy; TimeoutError saying `what` otherwise."""
        return eventually(condition, timeout, what)

    def wait_processed(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` events have gone through the worker (all outcomes counted)."""

        def processed() -> bool:
            samples = next(iter(self.engine.metrics.processed.collect())).samples
            return sum(s.value for s in samples if s.name.endswith("_total")) >= count

        self.wait_until(processed, timeout, f"{count} processed events")


async def _call(make: Callable[[Engine], Awaitable[T]], engine: Engine) -> T:
    return await make(engine)


def settings_for_tests(rules_dir: Path, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test engine: quick retries (no jitter), no pacing, loopback only."""
    base = Settings(
        host="127.0.0.1",
        rules_dir=Path(rules_dir),
        data_dir=Path(data_dir),
        retry_delay=0.05,
        send_rate=0,
        shutdown_grace=2.0,
    )
    return replace(base, **overrides)


@contextmanager
def running_engine(
    rules_dir: Path,
    data_dir: Path,
    *,
    wawp_url: str | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    server_options: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> Iterator[RunningEngine]:
    """The engine serving on 127.0.0.1 for the length of the block (see the module docstring).

    `overrides` are settings; `server_options` go to uvicorn (e.g. a certificate to serve https).
    """
    if wawp_url is not None:
        overrides["wawp_url"] = wawp_url
    settings = settings_for_tests(rules_dir, data_dir, **overrides)
    app = build_app(settings, env={**TEST_ENV, **(env or {})})
    with serve_in_thread(app, port=port, **(server_options or {})) as url:
        yield RunningEngine(url, app, settings)
