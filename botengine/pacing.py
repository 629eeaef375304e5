"""Outbound pacing: at most N WhatsApp messages a minute per session, excess delayed, not dropped.

WhatsApp bans numbers that send in bursts. Each session (one number) gets a budget: a steady rate
of `per_minute`, with bursts of up to `burst` messages. `reserve` books the next free slot and
says how long to wait for it, with the booking; `release` gives that booking back (the send did
not happen after all).

    Pacer        one process: the generic cell rate algorithm, in memory
    SharedPacer  several workers on one store (Redis): slots counted in the store, so the
                 budget is the number's, not each worker's
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from botengine.storage import Storage
from botengine.storage.keys import key


def default_burst(per_minute: float) -> int:
    return max(1, int(per_minute // 6))  # ten seconds' worth


Booking = object
"""What `reserve` hands out, to `release` exactly that place later."""


class Pacing(Protocol):
    async def reserve(self, session: str) -> tuple[float, Booking]: ...

    async def release(self, session: str, booking: Booking) -> None: ...


# Sessions come from events, so what is kept per session is pruned: past this many, the ones with
# nothing pending are forgotten (then the bar doubles, so a busy engine prunes rarely).
_SESSIONS_KEPT = 1_000


class Pacer:
    def __init__(
        self, per_minute: float, *, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.enabled = per_minute > 0
        self.interval = 60.0 / per_minute if self.enabled else 0.0
        self.burst = max(1, burst) if burst is not None else default_burst(per_minute)
        self.clock = clock
        self._next: dict[str, float] = {}  # per session: the theoretical arrival time of the next send
        self._prune_at = _SESSIONS_KEPT

    async def reserve(self, session: str) -> tuple[float, Booking]:
        """Book a send for `session`: seconds to wait before it may go (0: now), and the booking."""
        if not self.enabled:
            return 0.0, None
        now = self.clock()
        if len(self._next) > self._prune_at:
            self._forget_idle(now)
        tat = max(self._next.get(session, now), now)
        allowed_at = tat - self.interval * (self.burst - 1)
        self._next[session] = tat + self.interval
        return max(0.0, allowed_at - now), self._next[session]

    def _forget_idle(self, now: float) -> None:
        # a session whose next free time has passed is the same as one never seen
        self._next = {s: tat for s, tat in self._next.items() if tat > now}
        self._prune_at = max(_SESSIONS_KEPT, 2 * len(self._next))

    async def release(self, session: str, booking: Booking) -> None:
        # Only the latest booking can be given back; an earlier one stays spent (the budget is
        # then under-used for a moment, never exceeded).
        if self.enabled and booking is not None and self._next.get(session) == booking:
            self._next[session] -= self.interval


class SharedPacer:
    """Windows of `burst` sends (each `burst / per_minute` minutes long), booked in the store.

    A send books a free place in the current window, or in the first later window with room, and
    waits for that window to open. Each place is an add-if-absent key that expires after its
    window, so bookings made by any worker count, and nothing piles up in the store.
    """

    _LOOK_AHEAD = 10_000  # windows tried before giving up on finding room

    def __init__(
        self,
        storage: Storage,
        per_minute: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.enabled = per_minute > 0
        self.burst = max(1, burst) if burst is not None else default_burst(per_minute)
        self.window = self.burst * 60.0 / per_minute if self.enabled else 0.0
        self.clock = clock
        self._full_until: dict[str, int] = {}  # per session: windows known to be full, below this
        self._prune_at = _SESSIONS_KEPT

    async def reserve(self, session: str) -> tuple[float, Booking]:
        if not self.enabled:
            return 0.0, None
        now = self.clock()
        current = int(now // self.window)
        if len(self._full_until) > self._prune_at:  # windows past are no news: forget them
            self._full_until = {s: w for s, w in self._full_until.items() if w > current}
            self._prune_at = max(_SESSIONS_KEPT, 2 * len(self._full_until))
        first = max(current, self._full_until.get(session, 0))
        for window in range(first, first + self._LOOK_AHEAD):
            keep = (window + 2) * self.window - now  # until the window is well past
            for place in range(self.burst):
                slot = key("meta", "pace", session, str(window), str(place))
                if await self.storage.add(slot, 1, ttl=keep):
                    return max(0.0, window * self.window - now), slot
            self._full_until[session] = window + 1
        return self._LOOK_AHEAD * self.window, None

    async def release(self, session: str, booking: Booking) -> None:
        if isinstance(booking, str):  # the place's own key: exactly that place is freed
            await self.storage.delete(booking)
            self._full_until.pop(session, None)
