"""Outbound pacing: at most N WhatsApp messages a minute per session, excess delayed, not dropped.

WhatsApp bans numbers that send in bursts. Each session (one number) gets a budget, kept with
the generic cell rate algorithm: a steady rate of `per_minute`, with bursts of up to `burst`
messages. `reserve` books the next free slot and says how long to wait for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    def __init__(
        self, per_minute: float, *, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.enabled = per_minute > 0
        self.interval = 60.0 / per_minute if self.enabled else 0.0
        self.burst = max(1, burst if burst is not None else int(per_minute // 6) or 1)
        self.clock = clock
        self._next: dict[str, float] = {}  # per session: the theoretical arrival time of the next send

    def reserve(self, session: str) -> float:
        """Book a send for `session`; seconds to wait before it may go (0: now)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        tat = max(self._next.get(session, now), now)
        allowed_at = tat - self.interval * (self.burst - 1)
        self._next[session] = tat + self.interval
        return max(0.0, allowed_at - now)

    def release(self, session: str) -> None:
        """Give back the last booking (the send was deferred or did not happen)."""
        if self.enabled and session in self._next:
            self._next[session] -= self.interval
