"""Hot reload: the current rule set, replaced atomically when the rules directory changes.

    live = LiveRules.open(settings.rules_dir)   # RulesError (exit 2) when the set is invalid
    await live.start()                          # watch files; reload within a second of a save
    rules = live.current                        # read once per event: one event, one version
    live.reload()                               # SIGHUP and POST /-/reload
    await live.stop()

A valid set replaces the current one in a single assignment, so an event being evaluated keeps
the version it started with. An invalid set is logged with file:line and the last good set stays
live; `state` says which version is loaded, when, and the last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from botengine.errors import RulesError
from botengine.rules.engine import RuleSet
from botengine.rules.problems import Problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadState:
    """For status pages and metrics: the live version and how the last reload went."""

    version: str
    loaded_at: float  # Unix time the live version was loaded
    rules: int
    success: bool  # the last reload attempt loaded
    attempted_at: float
    problems: tuple[str, ...] = field(default=())  # the last failed attempt's problems

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "loaded_at": self.loaded_at,
            "rules": self.rules,
            "last_reload_success": self.success,
            "last_attempt_at": self.attempted_at,
            "last_error": list(self.problems),
        }


class LiveRules:
    """Holds the current RuleSet and swaps in new valid ones."""

    def __init__(
        self,
        paths: Sequence[Path],
        initial: RuleSet,
        *,
        debounce_ms: int = 50,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.paths = tuple(paths)
        self.env = env  # where the rules' secrets are read (None: the process environment)
        self.debounce_ms = debounce_ms
        self._current = initial
        now = time.time()
        self.state = ReloadState(initial.version, now, len(initial), True, now)
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.listeners: list[Callable[[ReloadState], None]] = []  # e.g. the metrics gauge

    @classmethod
    def open(
        cls, rules_dir: Path | str, *, debounce_ms: int = 50, env: Mapping[str, str] | None = None
    ) -> LiveRules:
        """Load the directory or raise RulesError with every problem (the engine refuses to start)."""
        path = Path(rules_dir)
        if not path.is_dir():
            raise RulesError(
                [
                    Problem(
                        str(path),
                        1,
                        1,
                        "the rules directory does not exist",
                        "create it or set BOTENGINE_RULES",
                    )
                ]
            )
        return cls([path], RuleSet.load([path], env), debounce_ms=debounce_ms, env=env)

    @property
    def current(self) -> RuleSet:
        return self._current

    def reload(self) -> ReloadState:
        """Load the whole set again; swap it in when valid, keep the current one otherwise."""
        now = time.time()
        try:
            rules = RuleSet.load(self.paths, self.env)
        except RulesError as exc:
            problems = tuple(str(p) for p in exc.problems)
            self.state = ReloadState(
                self.state.version, self.state.loaded_at, self.state.rules, False, now, problems
            )
            for line in problems:
                log.error("rules not reloaded: %s", line)
        else:
            changed = rules.version != self._current.version
            self._current = rules  # the swap: one assignment, seen whole by the next event
            self.state = ReloadState(rules.version, now, len(rules), True, now)
            if changed:
                log.info("rules reloaded", extra={"fields": {"version": rules.version, "rules": len(rules)}})
        for listener in self.listeners:
            listener(self.state)
        return self.state

    async def start(self) -> None:
        """Start watching the rules paths (and their lists/) for changes."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._watch(), name="rules-watch")
            # Let the task run up to its first wait: the watcher is registered by then. A save
            # that landed between the first load and that moment is caught by one more load.
            for _ in range(2):
                await asyncio.sleep(0)
            await asyncio.to_thread(self.reload)

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        from watchfiles import awatch

        async for _changes in awatch(
            *self.paths, debounce=self.debounce_ms, step=20, stop_event=self._stop, recursive=True
        ):
            # a load reads a few files; run it off the event loop so events keep flowing
            await asyncio.to_thread(self.reload)
