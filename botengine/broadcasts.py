"""Broadcast campaigns in the store: the campaign, its recipients, what became of each, progress.

    broadcast·campaign·<id>        Campaign: what to send, from which number, to how many
    broadcast·of·<id>·state        running | paused | cancelled | done (and why), changed by the
                                   CLI and the dashboard while the campaign runs
    broadcast·of·<id>·people·<n>   the recipients, 500 a chunk, fixed when the campaign starts
    broadcast·of·<id>·to·<index>   the ledger: sending → sent | skipped | failed | uncertain
    broadcast·of·<id>·n·<outcome>  counters for the progress bar
    broadcast·of·<id>·cursor       where a resumed run starts looking (an optimisation: every
                                   recipient's ledger entry is read before they are sent to)

The recipients are read once, when the campaign starts, so a restart sends to the same people.
Everything but the counters expires after KEEP (180 days): a campaign is history by then.
The campaign's id is derived from what started it (the event, the rule and the action), so a
rule that runs again after a crash finds the campaign it started instead of starting another.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from botengine.audience import Person
from botengine.jobs import BroadcastJob, Record, encode
from botengine.storage import Job, Storage
from botengine.storage.keys import key

State = Literal["running", "paused", "cancelled", "done"]
Outcome = Literal["sent", "skipped", "failed", "uncertain"]
OUTCOMES: tuple[Outcome, ...] = ("sent", "skipped", "failed", "uncertain")
CHUNK = 500
KEEP = 180 * 86400.0  # a campaign, its recipients and its ledger are kept this long (then forgotten)


class Campaign(Record):
    """What a broadcast sends, from which number, to how many people; written once."""

    id: str
    name: str
    session: str
    text: str  # a template: {{ person.<column> }} per recipient, plus `variables`
    image: str | None = None  # a link or a file in `folder`; `text` is then its caption
    folder: str = "."  # the rules folder: local images and suppression lists are read there
    suppress: list[str] = Field(default_factory=list)  # suppression list files
    total: int
    uncertain: Literal["skip", "resend"] = "skip"
    jitter: float = 0.2
    created_at: float = Field(default_factory=time.time)
    origin: str = ""  # "rule weekly-offer" or "command line"
    variables: dict[str, Any] = Field(default_factory=dict)  # the starting event's, for templates


@dataclass(frozen=True)
class Progress:
    campaign: Campaign
    state: State
    reason: str
    sent: int
    skipped: int
    failed: int
    uncertain: int

    @property
    def done(self) -> int:
        return self.sent + self.skipped + self.failed + self.uncertain

    @property
    def left(self) -> int:
        return max(0, self.campaign.total - self.done)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.campaign.id,
            "name": self.campaign.name,
            "session": self.campaign.session,
            "state": self.state,
            "reason": self.reason,
            "total": self.campaign.total,
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "uncertain": self.uncertain,
            "left": self.left,
            "created_at": self.campaign.created_at,
        }


def campaign_id(origin: str) -> str:
    """A short id, the same for the same origin (so starting twice starts once)."""
    return hashlib.sha256(origin.encode()).hexdigest()[:12]


def _campaign_key(cid: str) -> str:
    return key("broadcast", "campaign", cid)


def _of(cid: str, *parts: str) -> str:
    return key("broadcast", "of", cid, *parts)


def ledger_key(cid: str, index: int) -> str:
    return _of(cid, "to", f"{index:07d}")


async def create(storage: Storage, campaign: Campaign, people: list[Person]) -> bool:
    """Store a new campaign and queue its first run; False when it exists already (a rerun)."""
    for start in range(0, len(people), CHUNK):  # recipients first: a campaign is never half there
        chunk = [[p.to, p.fields] for p in people[start : start + CHUNK]]
        await storage.put(_of(campaign.id, "people", str(start // CHUNK)), chunk, ttl=KEEP)
    if not await storage.add(_campaign_key(campaign.id), encode(campaign), ttl=KEEP):
        return False
    await set_state(storage, campaign.id, "running")
    await schedule_run(storage, campaign.id)
    return True


async def schedule_run(storage: Storage, cid: str) -> None:
    """Queue a run of the campaign (the scheduler's jobs survive restarts)."""
    job_id = "\x1f".join(("broadcast", cid, f"{time.time():.6f}"))
    await storage.schedule(Job(job_id, time.time(), encode(BroadcastJob(campaign=cid))))


async def load(storage: Storage, cid: str) -> Campaign | None:
    data = await storage.get(_campaign_key(cid))
    return Campaign.model_validate(data) if isinstance(data, dict) else None


async def people_chunk(storage: Storage, cid: str, chunk: int) -> list[Person]:
    data = await storage.get(_of(cid, "people", str(chunk)))
    if not isinstance(data, list):
        return []
    return [Person(str(to), dict(fields or {})) for to, fields in data]


async def state_of(storage: Storage, cid: str) -> tuple[State, str]:
    data = await storage.get(_of(cid, "state"))
    if isinstance(data, dict) and data.get("state") in ("running", "paused", "cancelled", "done"):
        return data["state"], str(data.get("reason") or "")
    return "running", ""


async def set_state(storage: Storage, cid: str, state: State, reason: str = "") -> None:
    await storage.put(_of(cid, "state"), {"state": state, "reason": reason, "at": time.time()}, ttl=KEEP)


async def count(storage: Storage, cid: str, outcome: Outcome) -> None:
    await storage.incr(_of(cid, "n", outcome))


async def cursor(storage: Storage, cid: str) -> int:
    value = await storage.get(_of(cid, "cursor"))
    return value if isinstance(value, int) else 0


async def move_cursor(storage: Storage, cid: str, index: int) -> None:
    await storage.put(_of(cid, "cursor"), index, ttl=KEEP)


async def progress(storage: Storage, cid: str) -> Progress | None:
    campaign = await load(storage, cid)
    if campaign is None:
        return None
    state, reason = await state_of(storage, cid)
    counts = []
    for outcome in OUTCOMES:
        value = await storage.get(_of(cid, "n", outcome))
        counts.append(value if isinstance(value, int) else 0)
    return Progress(campaign, state, reason, *counts)


async def recount(storage: Storage, cid: str) -> None:
    """Counters from the ledger itself (a crash may have come between a settle and its count)."""
    found = dict.fromkeys(OUTCOMES, 0)
    for _, entry in await storage.scan(_of(cid, "to") + "\x1f"):
        if isinstance(entry, dict) and entry.get("state") in found:
            found[entry["state"]] += 1
    for outcome, value in found.items():  # counters are incr's own kind of value: set them that way
        counter = _of(cid, "n", outcome)
        await storage.delete(counter)
        if value:
            await storage.incr(counter, value)


async def campaigns(storage: Storage) -> list[Progress]:
    """Every campaign, newest first."""
    found = []
    for stored_key, _ in await storage.scan(key("broadcast", "campaign") + "\x1f"):
        cid = stored_key.rsplit("\x1f", 1)[-1]
        if (shown := await progress(storage, cid)) is not None:
            found.append(shown)
    return sorted(found, key=lambda p: p.campaign.created_at, reverse=True)


async def pause(storage: Storage, cid: str, reason: str = "paused by hand") -> bool:
    state, _ = await state_of(storage, cid)
    if state != "running" or await load(storage, cid) is None:
        return False
    await set_state(storage, cid, "paused", reason)
    return True


async def resume(storage: Storage, cid: str) -> bool:
    state, _ = await state_of(storage, cid)
    if state != "paused" or await load(storage, cid) is None:
        return False
    await set_state(storage, cid, "running")
    await schedule_run(storage, cid)
    return True


async def cancel(storage: Storage, cid: str) -> bool:
    state, _ = await state_of(storage, cid)
    if state in ("cancelled", "done") or await load(storage, cid) is None:
        return False
    await set_state(storage, cid, "cancelled", "cancelled by hand")
    return True
