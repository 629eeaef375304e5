"""Hot reload: the current rule set, replaced atomically when the rules directory changes.

    live = LiveRules.open(settings.rules_dir)   # RulesError (exit 2) when the set is invalid
    await live.start()                          # watch files; reload within a second of a save
    rules = live.current                        # read once per event: one event, one version
    live.reload()                               # SIGHUP and POST /-/reload
    await live.stop()

A valid set replaces the current one in a single assignment, so an event being evaluated keeps
the version it started with. An invalid set is logged with file:line and the last good set stays
live ("rules fixed" is logged once a later save loads); `state` says which version is loaded,
when, and the last error. A file that lost rules and looks emptied or cut short by a save that
did not finish keeps its previous rules (guard.py), with a warning naming it.

The watcher is supervised: if it stops (the rules directory was deleted, the system ran out of
file watches, a bug), it is started again after a growing pause, the rules are loaded once more
for what changed meanwhile, and `watcher_problem` says what happened until then (/readyz shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from botengine.errors import RulesError
from botengine.rules.engine import RuleSet
from botengine.rules.guard import KeptFile, lost_files, merge
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
    kept: tuple[str, ...] = field(default=())  # files whose previous rules stay live, and why

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "loaded_at": self.loaded_at,
            "rules": self.rules,
            "last_reload_success": self.success,
            "last_attempt_at": self.attempted_at,
            "last_error": list(self.problems),
            "kept": list(self.kept),
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
        listeners: Sequence[Callable[[ReloadState], None]] = (),
    ) -> None:
        self.paths = tuple(paths)
        self.env = env  # where the rules' secrets are read (None: the process environment)
        self.debounce_ms = debounce_ms
        self._current = initial
        self._texts = _texts(initial.files)  # what the files held when their rules were loaded
        self._kept: dict[str, KeptFile] = {}
        now = time.time()
        self.state = ReloadState(initial.version, now, len(initial), True, now)
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.watcher_problem = ""  # why the watcher is being restarted; empty while it watches
        self.listeners = tuple(listeners)  # told after every reload attempt (the metrics gauge)

    @classmethod
    def open(
        cls,
        rules_dir: Path | str,
        *,
        debounce_ms: int = 50,
        env: Mapping[str, str] | None = None,
        listeners: Sequence[Callable[[ReloadState], None]] = (),
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
        rules = RuleSet.load([path], env)
        return cls([path], rules, debounce_ms=debounce_ms, env=env, listeners=listeners)

    @property
    def current(self) -> RuleSet:
        return self._current

    def reload(self) -> ReloadState:
        """Load the whole set again; swap it in when valid, keep the current one otherwise."""
        now = time.time()
        try:
            rules = RuleSet.load(self.paths, self.env)
        except Exception as exc:  # RulesError, or a bug: either way the last good set stays live
            if isinstance(exc, RulesError):
                problems = tuple(str(p) for p in exc.problems)
            else:
                log.exception("loading the rules failed unexpectedly")
                problems = (f"the rules could not be loaded: {type(exc).__name__}: {exc}",)
            self.state = replace(self.state, success=False, attempted_at=now, problems=problems)
            for line in problems:
                log.error("rules not reloaded: %s", line)
        else:
            rules = self._keep_lost(rules)
            changed = rules.version != self._current.version
            fixed = not self.state.success
            self._current = rules  # the swap: one assignment, seen whole by the next event
            kept = tuple(str(k) for k in self._kept.values())
            self.state = ReloadState(rules.version, now, len(rules), True, now, kept=kept)
            fields = {"version": rules.version, "rules": len(rules)}
            if fixed:
                log.info(
                    "rules fixed: the problems above are gone; these rules are live", extra={"fields": fields}
                )
            elif changed:
                log.info("rules reloaded", extra={"fields": fields})
        for listener in self.listeners:
            listener(self.state)
        return self.state

    def _keep_lost(self, rules: RuleSet) -> RuleSet:
        """`rules`, with the previous rules of files that look emptied or cut short put back."""
        # A file kept before is compared with its kept rules (current): kept while it looks lost.
        kept_now = {k.path: k for k in lost_files(self._current.rules, rules.rules, self._texts)}
        for path, entry in kept_now.items():
            if path not in self._kept:
                log.warning("rules kept: %s", entry)
        self._kept = kept_now
        texts = _texts(rules.files)
        self._texts = {**texts, **{p: self._texts[p] for p in kept_now if p in self._texts}}
        if not kept_now:
            return rules
        merged = merge(rules.rules, list(kept_now.values()), rules.files)
        return RuleSet(
            merged,
            version=f"{rules.version}+kept",
            tests=rules.tests,
            warnings=rules.warnings,
            files=rules.files,
        )

    async def start(self) -> None:
        """Start watching the rules paths (and their lists/) for changes."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._supervise(), name="rules-watch")
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

    async def _supervise(self) -> None:
        """Run the watcher; when it stops with an error, say so and start it again."""
        pause = _FIRST_PAUSE
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                problem = _describe(exc)
                if problem != self.watcher_problem:
                    log.error("the rules watcher stopped (it restarts): %s", problem)
                self.watcher_problem = problem
            if time.monotonic() - started > _LAST_PAUSE * 4:
                pause = _FIRST_PAUSE  # it ran fine for a while: a new failure starts over
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
            pause = min(pause * 2, _LAST_PAUSE)

    async def _watch(self) -> None:
        from watchfiles import awatch

        for path in self.paths:
            if not path.is_dir():
                raise FileNotFoundError(f"the rules directory {path} is gone")
        if self.watcher_problem:  # back after a stop: load what changed meanwhile
            await asyncio.to_thread(self.reload)
            log.info("the rules watcher is running again")
            self.watcher_problem = ""
        async for _changes in awatch(
            *self.paths, debounce=self.debounce_ms, step=20, stop_event=self._stop, recursive=True
        ):
            # a load reads a few files; run it off the event loop so events keep flowing
            await asyncio.to_thread(self.reload)
            for path in self.paths:
                if not path.is_dir():  # a watch on a deleted directory hears nothing ever again
                    raise FileNotFoundError(f"the rules directory {path} was deleted")


_FIRST_PAUSE = 0.2  # seconds before restarting a stopped watcher; doubles up to _LAST_PAUSE
_LAST_PAUSE = 5.0


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, FileNotFoundError) else f"{type(exc).__name__}: {exc}"


def _texts(files: Sequence[Path]) -> dict[str, str]:
    texts = {}
    for path in files:
        try:
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return texts
