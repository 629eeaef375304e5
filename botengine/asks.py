"""Answers to questions (`ask`, actions/ask.py): the next message in the chat is the answer.

    message in a chat with a question ─► valid? ─ yes ─► state[as] = answer ─► then: + rest of the rule
                                               └ no ──► `again` (at most `tries` times) ─► else: after that
    the time limit (an AskJob) ─────────────────────────────────────────────────► else:

The answer is consumed by its question: it does not go through the rules (a person answering
"2" to "how many?" must not also pick option 2 of a menu). Only `message` events that are not
the bot's own count, and never a STOP or START keyword (those stay what they are: the question
then runs out of time, and its `else:` is not sent to someone who stopped).

Exactly once, across crashes and races. A question is settled by whoever adds its `taken` mark
first: a valid answer, the last invalid one, or the time limit (so `then:` and `else:` never both
run). Every message that reaches a question is marked with the question it answered, so a
redelivered answer is never taken for the next question of the form; the runs themselves go
through the action ledger under the event that asked, so a run cut short by a crash is resumed
by the redelivery, not repeated. The question's record is forgotten only after its run, and only
if it is still the same question (the run may have asked the next one).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botengine.actions.ask import KEEP_AFTER, MAX_WAIT, answered_key, taken_key, waiting_key
from botengine.actions.base import ActionContext, ActionSpec
from botengine.actions.executor import Executor
from botengine.actions.plan import ActionOutcome, RunPlan
from botengine.errors import RecordError
from botengine.events import EventView
from botengine.handover import Handovers, chat_of
from botengine.jobs import AskJob, PendingAsk, encode
from botengine.keywords import LONGEST as LONGEST_KEYWORD
from botengine.keywords import Keywords, normalized
from botengine.rules.branches import holds
from botengine.rules.variables import variables_of
from botengine.rules.words import fold
from botengine.state import VARIABLE_OF, owner_of, set_var
from botengine.storage import Storage

MARKS_KEPT = MAX_WAIT + KEEP_AFTER  # marks outlive any question they could be about
LONGEST = 320  # characters: a longer answer is no number, email or phone (and costs nothing to refuse)
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]{1,63}(?:\.[^@\s.]{1,63})+")
_PHONE = re.compile(r"\+?\d{7,15}")
_PHONE_MARKS = re.compile(r"[\s().-]")


@dataclass(frozen=True)
class Answered:
    """A message a question took: the rule that asked, and what its answer ran."""

    rule: str
    outcomes: list[ActionOutcome]


class Asks:
    """Offers a chat's messages to its waiting question, and settles questions that ran out of time."""

    def __init__(self, storage: Storage, executor: Executor, keywords: Keywords | None = None) -> None:
        self.storage = storage
        self.executor = executor
        self.keywords = keywords
        self.handovers = Handovers(storage)

    async def answer(self, view: EventView, now: datetime | None = None) -> Answered | None:
        """What the question waiting in `view`'s chat made of it; None when it is no answer."""
        if view.type != "message" or view.from_me or not view.chat.id or self._keyword(view):
            return None
        slot = waiting_key(view)
        record = _pending(await self.storage.get(slot))
        if record is None or record.plan.event_id == view.id:  # the message that asked, redelivered
            return None
        if await self._with_a_person(view):
            self._count("with_a_person")
            return None  # the person answers now: the rules stay quiet, the question ends unsaid
        mark = answered_key(view.session, view.id)
        answered = await self.storage.get(mark)
        if answered is not None and answered != record.token:
            return Answered(record.plan.rule, [])  # a redelivered answer to an earlier question
        await self.storage.put(mark, record.token, ttl=MARKS_KEPT)
        value = await self._valid(record, view, now)
        if value is not None:
            return await self._accept(record, slot, view, value, now)
        if record.last_event == view.id or record.asked_again < record.tries:
            self._count("asked_again")
            return Answered(record.plan.rule, await self._again(record, slot, view))
        self._count("gave_up")
        plan = record.plan.model_copy(update={"actions": record.otherwise})
        outcomes = await self._settle(record.token, slot, record.job, plan, view.id)
        return Answered(record.plan.rule, outcomes or [])

    async def expire(self, job: AskJob) -> list[ActionOutcome]:
        """The question's time limit: its `else:`, unless an answer settled it first (or the chat
        was handed to a person meanwhile: nothing is said over them)."""
        plan = job.plan
        if await self._with_a_person(plan.view()):
            plan = plan.model_copy(update={"actions": []})
        outcomes = await self._settle(job.token, job.slot, None, plan, "timeout")
        if outcomes is None:
            return []  # answered first
        self._count("timed_out")
        return outcomes

    # -- the ways a question ends ---------------------------------------------------------------

    async def _accept(
        self, record: PendingAsk, slot: str, view: EventView, value: str, now: datetime | None
    ) -> Answered | None:
        if not await self._take(record.token, view.id):  # the time limit settled it a moment before:
            await self.storage.delete(answered_key(view.session, view.id))
            return None  # an ordinary message, for the rules
        self._count("answered")
        scope = record.scope
        await set_var(
            self.storage, view.session, scope, owner_of(view, scope), record.var, value, record.expires
        )
        plan = record.plan
        state = VARIABLE_OF[scope]
        known = plan.results.get(state) or plan.variables.get(state) or {}
        plan.results.update(
            {
                record.var: value,
                state: {**known, record.var: value},  # the rest of the rule sees it as state.NAME
                "now": (now or datetime.now(UTC)).isoformat(),
            }
        )
        outcomes = await self.executor.run_plan(plan.view(), plan)
        await self.storage.finish(record.job)  # its time limit is no longer needed
        await self._forget(slot, record.token)
        return Answered(plan.rule, outcomes)

    async def _settle(
        self, token: str, slot: str, job: str | None, plan: RunPlan, by: str
    ) -> list[ActionOutcome] | None:
        """The question gives up (`by` an answer's event id, or 'timeout'): its else: runs.
        None when something else settled it first."""
        if not await self._take(token, by):
            return None
        outcomes = await self.executor.run_plan(plan.view(), plan)
        if job is not None:
            await self.storage.finish(job)
        await self._forget(slot, token)
        return outcomes

    async def _again(self, record: PendingAsk, slot: str, view: EventView) -> list[ActionOutcome]:
        """Not a valid answer: say `again` and keep waiting (counted once per message)."""
        if record.last_event != view.id:
            record = record.model_copy(update={"asked_again": record.asked_again + 1, "last_event": view.id})
            left = max(record.until - time.time(), 0.0) + KEEP_AFTER
            await self.storage.put(slot, encode(record), ttl=left)
        # `again` was rendered when the question was asked: it goes out as data, not as a template
        index = f"{record.index}.again{record.asked_again}"
        spec = ActionSpec(kind="reply", params={"text": "{{ ask_again }}"}, index=index)
        plan = record.plan.model_copy(
            update={"actions": [spec], "results": {**record.plan.results, "ask_again": record.again}}
        )
        return await self.executor.run_plan(plan.view(), plan)

    async def _take(self, token: str, by: str) -> bool:
        """Whether `by` settles the question: it added the mark first, or it is its own (a rerun)."""
        if await self.storage.add(taken_key(token), by, ttl=MARKS_KEPT):
            return True
        return bool(await self.storage.get(taken_key(token)) == by)

    async def _forget(self, slot: str, token: str) -> None:
        current = _pending(await self.storage.get(slot))
        if current is not None and current.token == token:  # not the next question the run asked
            await self.storage.delete(slot)

    # -- what counts as an answer ---------------------------------------------------------------

    def _count(self, outcome: str) -> None:
        metrics = self.executor.services.metrics
        if metrics is not None:
            metrics.questions.labels(outcome).inc()

    async def _with_a_person(self, view: EventView) -> bool:
        return await self.handovers.current(view.session, chat_of(view.chat)) is not None

    def _keyword(self, view: EventView) -> bool:
        words = self.keywords
        if words is None or len(view.text) > LONGEST_KEYWORD:  # longer than a keyword: not one (and not
            return False  # normalized in full: a megabyte of text would hold the loop for a while)
        return normalized(view.text) in words.stop | words.start

    async def _valid(self, record: PendingAsk, view: EventView, now: datetime | None) -> str | None:
        """The answer as kept in state, or None when it is not what the question expects."""
        text = view.text.strip()
        expect = record.expect
        if expect is None:
            return text
        if isinstance(expect, list):
            return _choice(text, [str(choice) for choice in expect])
        if isinstance(expect, dict):
            ctx = ActionContext(view, record.plan.rule, record.index, self.executor.services)
            ctx.results = variables_of(view, now)
            reason, _ = await holds(expect, ctx)
            return text if reason is None else None
        return _builtin(str(expect), text)


def _builtin(expect: str, text: str) -> str | None:
    if len(text) > LONGEST:
        return None
    if expect == "number":
        compact = text.replace(" ", "")
        return compact if _NUMBER.fullmatch(compact) else None
    if expect == "email":
        return text if _EMAIL.fullmatch(text) else None
    if expect == "phone":
        digits = _PHONE_MARKS.sub("", text)
        return digits if _PHONE.fullmatch(digits) else None
    return None


def _choice(text: str, choices: list[str]) -> str | None:
    """The choice `text` names (any case, or its number in the list), as the rule writes it."""
    folded = fold(text).strip()
    for choice in choices:
        if fold(choice).strip() == folded:
            return choice
    if folded.isdecimal() and 1 <= int(folded) <= len(choices):
        return choices[int(folded) - 1]
    return None


def _pending(data: Any) -> PendingAsk | None:
    if data is None:
        return None
    try:
        return PendingAsk.model_validate(data)
    except (ValueError, RecordError):
        return None  # not a question this version can read: it is left to expire
