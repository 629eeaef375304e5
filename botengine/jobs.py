"""Records that outlive the process: jobs, dead letters and ledger entries, typed and versioned.

They are replayed after restarts and upgrades, so each is a pydantic model with one way in and
one way out:

    Job.data      ◄─ encode / decode_job ─►     RunJob | RequeueJob | BroadcastJob | BurstJob | AskJob
    a question    ◄─ encode / PendingAsk ─►     PendingAsk (a question waiting for its answer) | BurstJob
    dead letter   ◄─ encode / decode_letter ─►  ActionLetter | EventLetter | JobLetter
    ledger entry  ◄─ encode / decode_ledger ─►  Claim | Settled | Uncertain

A record carries its format version in `v`. Records written before versions existed have none:
they are version 1, the shape below, and still read (tests/test_jobs.py keeps samples of them).
A record from a newer botengine (a higher `v`) is refused with RecordError rather than guessed at.
"""

from __future__ import annotations

import time
import traceback
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from botengine.actions.base import ActionSpec
from botengine.actions.plan import RunPlan
from botengine.errors import BudgetExceededError, RecordError
from botengine.storage import Incoming
from botengine.storage.keys import key
from botengine.types import JSONDict

VERSION = 1


class Record(BaseModel):
    """Base of every stored record: its version, and fields of other versions ignored on read."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    v: int = VERSION

    @field_validator("v")
    @classmethod
    def _known_version(cls, v: int) -> int:
        if v > VERSION:
            raise ValueError(f"written by a newer botengine (format {v}; this one reads up to {VERSION})")
        return v


def encode(record: Record) -> JSONDict:
    """A record as the JSON data the store keeps."""
    return record.model_dump(mode="json", by_alias=True)


R = TypeVar("R")


def _decode(adapter: TypeAdapter[R], what: str, data: object) -> R:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise RecordError(f"unreadable {what}: {problems}") from None


# -- jobs -----------------------------------------------------------------------------------------


class RunJob(Record):
    """Run the rest of a rule for an event: a retry, a follow-up (`later`), a replayed action."""

    type: Literal["run"] = "run"
    plan: RunPlan


class _OfEvent(Record):
    """A record that carries an event: the queue's fields of it and its body, as received."""

    session: str
    event_id: str
    event_type: str = ""
    chat: str = ""
    event: str

    def incoming(self) -> Incoming:
        body = self.event.encode()
        return Incoming(self.session, self.event_id, self.event_type, self.chat, body, time.time())

    def requeue(self) -> RequeueJob:
        """The job that queues this record's event again."""
        fields = self.model_dump(include={"session", "event_id", "event_type", "chat", "event"})
        return RequeueJob(**fields)


class RequeueJob(_OfEvent):
    """Queue a whole event again (a replayed event whose processing crashed)."""

    type: Literal["requeue"] = "requeue"


def job_id(kind: str, plan: RunPlan, index: str, suffix: str = "") -> str:
    """The id of a job running (part of) `plan`: fixed by the event, rule and action, so a
    redelivered event schedules it once."""
    return "\x1f".join((kind, plan.session, plan.event_id, plan.rule, index, suffix))


class BroadcastJob(Record):
    """Send a broadcast campaign to the people it has not reached yet (botengine/broadcaster.py)."""

    type: Literal["broadcast"] = "broadcast"
    campaign: str


class BurstJob(Record):
    """Answer a burst of messages once its chat was quiet (`debounce:`, botengine/bursts.py).

    One job per message held, due when the window would end after it; only the job of the
    burst's latest message (`seq`) answers it, the others find they were re-armed and do nothing.
    """

    type: Literal["burst"] = "burst"
    burst: str
    slot: str
    seq: int


def burst_job_id(burst: str, seq: int) -> str:
    return "\x1f".join(("burst", burst, str(seq)))


class AskJob(Record):
    """The time limit of a question (`ask`, botengine/asks.py): unanswered when it falls due, the
    question's `else:` runs (`plan`), unless an answer took the question first (`token`)."""

    type: Literal["ask"] = "ask"
    slot: str  # where the question waits in the store
    token: str
    plan: RunPlan


class PendingAsk(Record):
    """A question waiting for its answer, kept in the store (actions/ask.py writes it, asks.py
    reads it): what a valid answer must be, where it goes, and the rule's plan after it."""

    token: str  # the ask action's place: session, event, rule, index
    index: str
    var: str  # the answer lands in state under this name
    scope: Literal["chat", "sender"] = "chat"
    expires: float  # the answer's life in state, in seconds
    expect: Any = None  # as written: number, email, phone, a list of choices, triggers
    again: str  # said when an answer is not valid
    tries: int  # how many times it is said before the question gives up
    asked_again: int = 0
    until: float = 0.0  # its time limit (epoch seconds): how long the record is kept
    last_event: str = ""  # the last answer counted (a redelivered one is not counted twice)
    job: str  # the id of its AskJob
    plan: RunPlan  # then: and the rest of the rule, run after a valid answer
    otherwise: list[ActionSpec] = Field(default_factory=list)  # else:, when it gives up


JobRecord = RunJob | RequeueJob | BroadcastJob | BurstJob | AskJob
_JOBS: TypeAdapter[JobRecord] = TypeAdapter(Annotated[JobRecord, Field(discriminator="type")])


def decode_job(data: object) -> JobRecord:
    """A stored job's data as its record; RecordError when it is not one this version can run."""
    return _decode(_JOBS, "job", data)


# -- dead letters ---------------------------------------------------------------------------------


class LetterError(BaseModel):
    """One failed attempt: when (ISO time, or epoch seconds in letters of crashes), which, why."""

    model_config = ConfigDict(extra="ignore")

    at: str | float
    attempt: int | None = None
    error: str


class _Letter(Record):
    errors: list[LetterError] = Field(default_factory=list)
    reason: str = ""  # why it is here, in words (empty in letters of older versions)

    @property
    def last_error(self) -> str:
        return self.errors[-1].error if self.errors else ""


class ActionLetter(_Letter, _OfEvent):
    """An action that ran out of retries or failed for good; replayed from that action on."""

    kind: Literal["action"] = "action"
    rule: str
    action: str
    index: str
    location: str = ""
    params: Any = None  # as rendered, secrets redacted
    plan: RunPlan


class EventLetter(_Letter, _OfEvent):
    """An event whose processing raised, or killed the engine; replayed by queueing it again."""

    kind: Literal["event"] = "event"
    traceback: str = ""

    @classmethod
    def of(cls, event: Incoming, exc: BaseException) -> EventLetter:
        """The letter of an event whose processing raised `exc` (call it in the `except` block)."""
        reason = (
            "its processing needed more work than a rule may"
            if isinstance(exc, BudgetExceededError)
            else "its processing raised an error"
        )
        return cls(reason=reason, **_event_fields(event), **_crash(exc))

    @classmethod
    def quarantined(cls, event: Incoming, reason: str) -> EventLetter:
        """The letter of an event set aside without processing it (it killed the engine before)."""
        errors = [LetterError(at=time.time(), error=reason)]
        return cls(reason=reason, errors=errors, **_event_fields(event))


def _event_fields(event: Incoming) -> dict[str, str]:
    return {
        "session": event.session,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "chat": event.chat,
        "event": event.body.decode("utf-8", "replace"),
    }


class JobLetter(_Letter):
    """A scheduled job that crashed; replayed by scheduling its data again."""

    kind: Literal["job"] = "job"
    job_id: str
    data: JSONDict  # as stored, whether or not it is a readable job
    traceback: str = ""

    @classmethod
    def of(cls, job_id: str, data: JSONDict, exc: BaseException) -> JobLetter:
        return cls(job_id=job_id, data=data, **_crash(exc))


def _crash(exc: BaseException) -> dict[str, Any]:
    """The error and traceback of something that crashed (call it in the `except` block)."""
    return {
        "errors": [LetterError(at=time.time(), error=f"{type(exc).__name__}: {exc}")],
        "traceback": traceback.format_exc(limit=8),
    }


Letter = ActionLetter | EventLetter | JobLetter
_LETTERS: TypeAdapter[Letter] = TypeAdapter(Annotated[Letter, Field(discriminator="kind")])


def decode_letter(data: object) -> Letter:
    """A stored dead letter as its record; RecordError when it is not one."""
    return _decode(_LETTERS, "dead letter", data)


# -- the action ledger ----------------------------------------------------------------------------


def ledger_key(session: str, event_id: str, rule: str, index: str) -> str:
    """Where the ledger keeps what became of one action of one rule for one event."""
    return key("ledger", session, event_id, rule, index)


class Claim(Record):
    """An action being run: written before it starts, so a crash leaves a trace of it."""

    state: Literal["running"] = "running"
    at: float = Field(default_factory=time.time)
    owner: str = ""  # the store instance (process) running it; empty in claims of older versions
    token: str = ""  # this attempt, so a retried write can tell its own claim


class Settled(Record):
    """An action that ran (`done`, with its result) or ended its rule (`stopped`, with the reason)."""

    state: Literal["done", "stopped"] = "done"
    at: float = Field(default_factory=time.time)
    result: Any = None  # secrets redacted
    uncertain: str = ""  # counted as done without knowing it happened (`uncertain: skip`): why


class Uncertain(Record):
    """An action that may or may not have taken effect, set aside for a person to decide on."""

    state: Literal["uncertain"] = "uncertain"
    at: float = Field(default_factory=time.time)
    reason: str = ""
    letter: str = ""  # the dead letter that holds it


LedgerEntry = Claim | Settled | Uncertain
_LEDGER: TypeAdapter[LedgerEntry] = TypeAdapter(Annotated[LedgerEntry, Field(discriminator="state")])


def decode_ledger(data: object) -> LedgerEntry | None:
    """A ledger entry as its record; None for a value that is not one (nothing to go by)."""
    if data is None:
        return None
    try:
        return _LEDGER.validate_python(data)
    except ValidationError:
        return None
