"""The action ledger: what became of each action of a rule for an event, so it takes effect once.

    ledger:<session>:<event id>:<rule>:<index>  →  Claim      being run, by whom (written before)
                                                   Settled    done (its result) or stopped
                                                   Uncertain  set aside for a person (a dead letter)

A claim is written before the action runs and names its owner (the store instance of the process
running it) and its attempt. A claim whose owner is gone will never be settled: its action may
or may not have taken effect, which the executor treats as uncertain. Claims do not expire with a
lease: the store knows whether their owner lives (storage.alive), so recovery after a crash waits
for nothing, however long the engine was down.

Every read and write goes through the store's retry (storage/health.py): while the store fails,
the action waits rather than runs without a record of it.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from botengine.jobs import Claim, LedgerEntry, Settled, Uncertain, decode_ledger, encode
from botengine.storage import Storage
from botengine.storage.health import StoreHealth

_TAKEOVER_TTL = 120.0  # seconds a takeover key outlives the claim written right after it


class Ledger:
    """The ledger of one executor, and the claims it is running now."""

    def __init__(self, storage: Storage, health: StoreHealth, ttl: float) -> None:
        self.storage = storage
        self.health = health
        self.ttl = ttl
        self._running: set[str] = set()  # tokens of this executor's claims whose action is running

    async def entry(self, slot: str) -> LedgerEntry | None:
        return decode_ledger(await self.health.retry("ledger", lambda: self.storage.get(slot)))

    async def claim(self, slot: str) -> Claim | None:
        """A claim of `slot` for this process, or None when another run holds it."""
        claim = self._new_claim()
        for _ in range(2):
            if await self._add(slot, encode(claim), self.ttl):
                return self._started(claim)
            held = await self.entry(slot)
            if isinstance(held, Claim) and held.token == claim.token:
                return self._started(claim)  # our own write: the store did it, its answer was lost
            if held is not None:
                return None
            # settled and forgotten, or released, between the two calls: try once more
        return None

    async def take_over(self, slot: str, dead: Claim) -> Claim | None:
        """The claim of a dead owner made this process's; None when another process got there first.

        The takeover key makes it one winner among processes recovering the same action at once
        (a redelivered event and its retry job); it expires once the new claim stands in its stead.
        """
        takeover = f"{slot}\x1ftakeover\x1f{dead.token or dead.at}"
        claim = self._new_claim()
        if not await self._add(takeover, claim.token, _TAKEOVER_TTL):
            return None
        await self.health.retry("ledger", lambda: self.storage.put(slot, encode(claim), ttl=self.ttl))
        return self._started(claim)

    async def running_elsewhere(self, claim: Claim) -> bool:
        """Whether the run that holds `claim` is still going (else its action is uncertain)."""
        if not claim.owner:
            return True  # an older version's claim: it expires with the lease it was given
        if claim.owner == self.storage.instance:
            return claim.token in self._running
        owner = claim.owner
        return await self.health.retry("ledger", lambda: self.storage.alive(owner))

    def finished(self, claim: Claim) -> None:
        """The run of `claim` is over in this process, whatever the ledger says about it."""
        self._running.discard(claim.token)

    async def settle(
        self, slot: str, result: Any, state: Literal["done", "stopped"] = "done", uncertain: str = ""
    ) -> None:
        entry = encode(Settled(state=state, result=result, uncertain=uncertain))
        await self.health.retry("ledger", lambda: self.storage.put(slot, entry, ttl=self.ttl))

    async def set_aside(self, slot: str, reason: str, letter: str) -> None:
        entry = encode(Uncertain(reason=reason, letter=letter))
        await self.health.retry("ledger", lambda: self.storage.put(slot, entry, ttl=self.ttl))

    async def release(self, slot: str) -> None:
        """Forget the claim: the action did not happen, and may run again."""
        await self.health.retry("ledger", lambda: self.storage.delete(slot))

    def _new_claim(self) -> Claim:
        return Claim(owner=self.storage.instance, token=secrets.token_hex(8))

    def _started(self, claim: Claim) -> Claim:
        self._running.add(claim.token)
        return claim

    async def _add(self, key: str, value: Any, ttl: float) -> bool:
        return await self.health.retry("ledger", lambda: self.storage.add(key, value, ttl=ttl))
