"""Stored records (jobs, dead letters, ledger entries): typed, versioned, and readable when old.

The samples below are in the exact shape botengine wrote before records had types (hand-built
dicts in actions/executor.py, dlq.py, worker.py and scheduler.py): a store written by that
version must still run its retries, follow-ups and replays after an upgrade.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from botengine.actions.base import ActionSpec
from botengine.dlq import headline
from botengine.errors import RecordError
from botengine.jobs import (
    ActionLetter,
    Claim,
    EventLetter,
    JobLetter,
    RequeueJob,
    RunJob,
    Settled,
    decode_job,
    decode_ledger,
    decode_letter,
    encode,
)
from botengine.retry import RetryPolicy
from botengine.testing import make_event

CUSTOMER = "15550001111@c.us"
EVENT = make_event(text="where is my parcel?", sender=CUSTOMER, name="Ann")
BODY = json.dumps(EVENT)

RULES = """
rules:
  - name: answer
    on: message
    if: {contains: parcel}
    do:
      - reply: "on its way, {{ sender.name }}"
"""


def old_plan(text: str = "on its way, Ann", **changes: Any) -> dict[str, Any]:
    """A RunPlan as RunPlan.to_json wrote it (ActionSpec.to_json for its actions)."""
    plan = {
        "event": BODY,
        "session": EVENT["session"],
        "event_id": EVENT["id"],
        "chat": CUSTOMER,
        "rule": "answer",
        "variables": {"text": "where is my parcel?"},
        "actions": [
            {
                "kind": "reply",
                "params": {"text": text},
                "index": "0",
                "retry": {
                    "policy": "constant",
                    "retries": 2,
                    "delay": 0.05,
                    "max_delay": 3600.0,
                    "jitter": False,
                },
                "timeout": 5.0,
                "as": "sent",
                "location": "rules/rules.yaml:7",
                "nested": [],
            }
        ],
        "retry": None,
        "results": {},
        "attempts": {"0": 1},
        "errors": {"0": [{"at": "2025-01-02T03:04:05+00:00", "attempt": 1, "error": "Wawp answered 500"}]},
        "unless": [],
        "since": 0.0,
    }
    plan.update(changes)
    return plan


OLD_RUN_JOB = {"type": "run", "plan": old_plan()}
OLD_REQUEUE_JOB = {
    "type": "requeue",
    "session": EVENT["session"],
    "event_id": EVENT["id"],
    "event_type": "message",
    "chat": CUSTOMER,
    "event": BODY,
}
OLD_ACTION_LETTER = {
    "kind": "action",
    "session": EVENT["session"],
    "event_id": EVENT["id"],
    "event_type": "message",
    "chat": CUSTOMER,
    "rule": "answer",
    "action": "reply",
    "index": "0",
    "location": "rules/rules.yaml:7",
    "params": {"text": "on its way, Ann"},
    "errors": [{"at": "2025-01-02T03:04:05+00:00", "attempt": 6, "error": "Wawp answered 500"}],
    "event": BODY,
    "plan": old_plan(),
}
OLD_EVENT_LETTER = {
    "kind": "event",
    "session": EVENT["session"],
    "event_id": EVENT["id"],
    "event_type": "message",
    "chat": CUSTOMER,
    "event": BODY,
    "errors": [{"at": 1735787045.5, "error": "ValueError: boom"}],
    "traceback": "Traceback (most recent call last):\n...",
}
OLD_JOB_LETTER = {
    "kind": "job",
    "job_id": "run\x1fdefault\x1fabc\x1fanswer\x1f0\x1fretry1",
    "data": OLD_RUN_JOB,
    "errors": [{"at": 1735787045.5, "error": "KeyError: 'x'"}],
    "traceback": "Traceback (most recent call last):\n...",
}


def test_old_jobs_and_letters_are_read_field_for_field() -> None:
    job = decode_job(OLD_RUN_JOB)
    assert isinstance(job, RunJob)
    [spec] = job.plan.actions
    assert spec == ActionSpec(
        kind="reply",
        params={"text": "on its way, Ann"},
        index="0",
        retry=RetryPolicy(policy="constant", retries=2, delay=0.05, jitter=False),
        timeout=5.0,
        result_as="sent",
        location="rules/rules.yaml:7",
    )
    assert job.plan.attempts == {"0": 1}
    assert job.plan.errors["0"][0]["error"] == "Wawp answered 500"
    assert job.plan.event_type == ""  # not stored then; a dead letter reads it from the event
    assert job.plan.view().chat.id == CUSTOMER

    requeue = decode_job(OLD_REQUEUE_JOB)
    assert isinstance(requeue, RequeueJob)
    assert requeue.incoming().body == BODY.encode()

    action = decode_letter(OLD_ACTION_LETTER)
    assert isinstance(action, ActionLetter)
    assert (action.rule, action.index, action.last_error) == ("answer", "0", "Wawp answered 500")
    event = decode_letter(OLD_EVENT_LETTER)
    assert isinstance(event, EventLetter)
    assert event.last_error == "ValueError: boom"
    letter = decode_letter(OLD_JOB_LETTER)
    assert isinstance(letter, JobLetter)
    assert encode(decode_job(letter.data)) == encode(job)


def test_old_ledger_entries_are_read() -> None:
    assert decode_ledger({"state": "running", "at": 1.5}) == Claim(at=1.5)
    assert decode_ledger({"state": "done", "at": 2.0, "result": {"id": "m1"}}) == Settled(
        at=2.0, result={"id": "m1"}
    )
    stopped = decode_ledger({"state": "stopped", "at": 2.0, "result": "cap reached"})
    assert isinstance(stopped, Settled)
    assert (stopped.state, stopped.result) == ("stopped", "cap reached")
    assert decode_ledger(None) is None
    assert decode_ledger({"state": "exploded"}) is None  # nothing to go by: the action may run


def test_records_survive_a_round_trip_through_json() -> None:
    for record, decode in (
        (decode_job(OLD_RUN_JOB), decode_job),
        (decode_job(OLD_REQUEUE_JOB), decode_job),
        (decode_letter(OLD_ACTION_LETTER), decode_letter),
        (decode_letter(OLD_EVENT_LETTER), decode_letter),
        (decode_letter(OLD_JOB_LETTER), decode_letter),
    ):
        stored = json.loads(json.dumps(encode(record)))
        assert stored["v"] == 1
        assert decode(stored) == record
    # the written plan keeps the old field names, so an older botengine can still read it
    assert encode(decode_job(OLD_RUN_JOB))["plan"]["actions"][0]["as"] == "sent"


def test_unreadable_records_are_refused_in_plain_words() -> None:
    with pytest.raises(RecordError, match="newer botengine"):
        decode_job({**OLD_REQUEUE_JOB, "v": 99})
    with pytest.raises(RecordError, match="unreadable job"):
        decode_job({"type": "teleport"})
    with pytest.raises(RecordError, match="plan"):
        decode_job({"type": "run"})
    assert "unreadable dead letter" in headline("1-x", {"kind": "poem"})
