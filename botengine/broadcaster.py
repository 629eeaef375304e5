"""Sending a broadcast campaign: one person at a time, paced, each at most once.

    for each recipient from the cursor on:
        state paused or cancelled ─► stop (resume queues a new run)
        ledger says settled       ─► next (a resumed run skips who was reached)
        ledger says "sending"     ─► a run died mid-send: uncertain ─► skip (default) or resend
        opted out                 ─► skipped
        wait for the number's send budget (the engine's pacer) plus jitter
        claim (add-if-absent) ─► send ─► sent | failed

Exactly once: the claim is written before the send and the outcome after it, so a crash can
leave at most the one person in flight "uncertain" (did Wawp get it before the crash?). For a
campaign a second message is worse than a missing one (spam reports get numbers banned), so
`uncertain: skip` is the default: that person is counted as uncertain and shown, not resent.
`uncertain: resend` sends again instead.

A Wawp that keeps failing pauses the campaign (ten failures in a row) rather than marking the
whole list failed; resume it once Wawp is back.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from botengine import broadcasts, confined
from botengine.actions.files import guess_mimetype, media_file
from botengine.audience import Person
from botengine.broadcasts import Campaign, Outcome
from botengine.errors import (
    ActionError,
    FileRefusedError,
    PermanentError,
    RetryableError,
    StorageError,
    TemplateError,
)
from botengine.metrics import Metrics
from botengine.optouts import AnyOf, ListOptOuts, OptOuts, StoreOptOuts
from botengine.pacing import Pacing
from botengine.storage import Storage
from botengine.templating import render
from botengine.textlists import read_list
from botengine.types import JSONDict
from botengine.wawp import WawpClient, message_id_of

log = logging.getLogger(__name__)

ATTEMPTS = 3  # tries per person when Wawp answers "later" (429, 5xx, a timeout)
FAILURES_BEFORE_PAUSE = 10  # in a row: Wawp is down, not this person's number
CURSOR_EVERY = 25  # recipients between cursor writes


class Broadcaster:
    def __init__(
        self,
        storage: Storage,
        wawp: Callable[[], WawpClient | None],
        pacer: Pacing,
        *,
        send_rate: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        metrics: Metrics | None = None,
    ) -> None:
        self.storage = storage
        self.wawp = wawp
        self.pacer = pacer
        self.interval = 60.0 / send_rate if send_rate > 0 else 0.0
        self.sleep = sleep
        self.rng = rng
        self.metrics = metrics

    async def run(self, cid: str) -> None:
        """Send what is left of campaign `cid` (a scheduler job); returns when done, paused or stopped."""
        campaign = await broadcasts.load(self.storage, cid)
        if campaign is None:
            log.error("broadcast %s: no such campaign (dropped from the store?)", cid)
            return
        state, _ = await broadcasts.state_of(self.storage, cid)
        if state != "running":
            return
        start = await broadcasts.cursor(self.storage, cid)
        if start:  # a resumed run: the counters may lag the ledger by the one in flight
            await broadcasts.recount(self.storage, cid)
        try:
            optouts = self._optouts(campaign)
        except FileRefusedError as exc:  # nobody may be sent to while the list cannot be read
            await broadcasts.set_state(self.storage, cid, "paused", f"paused: {exc}")
            log.error("broadcast %s paused: cannot read a suppression list: %s", cid, exc)
            return
        log.info("broadcast %s (%s): sending from %d of %d", cid, campaign.name, start, campaign.total)
        await self._send_from(campaign, start, optouts)

    async def _send_from(self, campaign: Campaign, start: int, optouts: OptOuts) -> None:
        cid = campaign.id
        chunk_no, chunk = -1, []
        failures = 0
        for index in range(start, campaign.total):
            # read before every person: a pause or cancel stops after the message in flight
            state, _ = await broadcasts.state_of(self.storage, cid)
            if state != "running":
                log.info("broadcast %s %s at %d of %d", cid, state, index, campaign.total)
                return
            if index // broadcasts.CHUNK != chunk_no:
                chunk_no = index // broadcasts.CHUNK
                chunk = await broadcasts.people_chunk(self.storage, cid, chunk_no)
            person = chunk[index % broadcasts.CHUNK]
            outcome = await self._one(campaign, index, person, optouts)
            if outcome is not None:
                await broadcasts.count(self.storage, cid, outcome)
            failures = failures + 1 if outcome == "failed" else 0
            if failures >= FAILURES_BEFORE_PAUSE:
                await broadcasts.move_cursor(self.storage, cid, index + 1)
                reason = f"paused: {failures} sends in a row failed (is Wawp reachable?)"
                await broadcasts.set_state(self.storage, cid, "paused", reason)
                log.error("broadcast %s %s", cid, reason)
                return
            if index % CURSOR_EVERY == 0:
                await broadcasts.move_cursor(self.storage, cid, index + 1)
        await broadcasts.move_cursor(self.storage, cid, campaign.total)
        await broadcasts.recount(self.storage, cid)
        await broadcasts.set_state(self.storage, cid, "done")
        log.info("broadcast %s done", cid)

    async def _one(self, campaign: Campaign, index: int, person: Person, optouts: OptOuts) -> Outcome | None:
        """What became of one recipient; None when a run before this one settled them."""
        slot = broadcasts.ledger_key(campaign.id, index)
        entry = await self.storage.get(slot)
        if isinstance(entry, dict) and entry.get("state") != "sending":
            return None
        if isinstance(entry, dict):  # claimed by a run that died before it knew the outcome
            if campaign.uncertain == "skip":
                await self._settle(slot, "uncertain", "a crash came between the send and its record")
                return "uncertain"
            await self.storage.delete(slot)
        if await optouts.has(campaign.session, person.to):
            if self.metrics is not None:
                self.metrics.opted_out.labels("broadcast").inc()
            await self._settle(slot, "skipped", "opted out")
            return "skipped"
        try:
            text = self._text(campaign, person)
        except TemplateError as exc:
            await self._settle(slot, "failed", str(exc))
            return "failed"
        booking = await self._pace(campaign)
        if not await self.storage.add(slot, {"state": "sending", "at": time.time()}, ttl=broadcasts.KEEP):
            await self.pacer.release(campaign.session, booking)
            return None  # another run of this campaign took them meanwhile
        try:
            answer = await self._send(campaign, person, text)
        except ActionError as exc:
            await self._settle(slot, "failed", str(exc))
            return "failed"
        await self._settle(slot, "sent", message_id_of(answer) or "")
        return "sent"

    async def _pace(self, campaign: Campaign) -> object:
        wait, booking = await self.pacer.reserve(campaign.session)
        # jitter: a number sending at exact intervals looks like the robot it is
        extra = campaign.jitter * self.interval * self.rng()
        if wait + extra > 0:
            await self.sleep(wait + extra)
        return booking

    async def _send(self, campaign: Campaign, person: Person, text: str) -> JSONDict:
        wawp = self.wawp()
        if wawp is None:
            raise PermanentError("no Wawp client is configured (set BOTENGINE_WAWP_TOKEN)")
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if campaign.image is None:
                    return await wawp.send_text(campaign.session, person.to, text)
                image = await self._image(campaign)
                return await wawp.send_file(campaign.session, person.to, image, caption=text, as_image=True)
            except RetryableError as exc:
                if attempt == ATTEMPTS:
                    raise
                await self.sleep(max(exc.retry_after or 0.0, 2.0**attempt))
        raise AssertionError("unreachable")

    async def _image(self, campaign: Campaign) -> Any:
        assert campaign.image is not None
        mimetype = guess_mimetype(campaign.image) or "image/jpeg"
        return await media_file(campaign.image, Path(campaign.folder), mimetype=mimetype, filename=None)

    async def _settle(self, slot: str, outcome: Outcome, detail: str) -> None:
        entry = {"state": outcome, "at": time.time(), "detail": detail[:300]}
        try:
            await self.storage.put(slot, entry, ttl=broadcasts.KEEP)
        except StorageError:  # sent but not recorded: a resumed run will see "sending" (uncertain)
            log.exception("broadcast outcome not recorded: %s", slot.replace("\x1f", " "))
            raise

    @staticmethod
    def _text(campaign: Campaign, person: Person) -> str:
        rendered = render(campaign.text, {**campaign.variables, "person": person.fields, "to": person.to})
        return str(rendered)

    def _optouts(self, campaign: Campaign) -> OptOuts:
        """The store's opt-outs and the suppression lists, read now (each run reads them again)."""
        lists = []
        for name in campaign.suppress:
            text = confined.read(campaign.folder, name).decode("utf-8", errors="replace")
            lists.append(ListOptOuts(read_list(text)))
        return AnyOf(StoreOptOuts(self.storage), *lists)
