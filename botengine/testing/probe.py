"""Watch an engine's /healthz from a thread: how long did it ever take to answer?

    with HealthProbe("http://127.0.0.1:8080") as probe:
        ...                                # post a poison message, save a heavy rules file
    assert probe.longest() < 1.0           # the engine never froze for a second

One GET at a time, back to back (every 50 ms); `longest()` counts the request still waiting, so
an engine frozen for good shows as a long stall, not as no answer at all.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import httpx


class HealthProbe:
    def __init__(self, base_url: str, every: float = 0.05, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.every = every
        self.timeout = timeout
        self.answers = 0
        self.failures = 0
        self._longest = 0.0
        self._since: float | None = None  # when the request in flight was sent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                start = self._since = time.monotonic()
                try:
                    client.get(f"{self.base_url}/healthz").raise_for_status()
                    self.answers += 1
                except httpx.HTTPError:
                    self.failures += 1
                self._since = None
                self._longest = max(self._longest, time.monotonic() - start)
                self._stop.wait(self.every)

    def longest(self) -> float:
        """The longest answer time so far, in seconds, counting the request still waiting."""
        since = self._since
        return max(self._longest, time.monotonic() - since if since is not None else 0.0)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(self.timeout)
