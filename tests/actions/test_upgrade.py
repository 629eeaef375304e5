"""A store written by the botengine before typed records: its jobs, dead letters and ledger run on.

The records are the samples of tests/test_jobs.py, in the exact shape that version wrote.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from botengine.dlq import replay
from botengine.jobs import Settled, decode_ledger, ledger_key
from botengine.storage import Job
from botengine.testing import FakeWawp
from tests.actions.conftest import EngineFactory
from tests.test_jobs import (
    CUSTOMER,
    EVENT,
    OLD_ACTION_LETTER,
    OLD_EVENT_LETTER,
    OLD_JOB_LETTER,
    OLD_RUN_JOB,
    RULES,
)


def test_an_old_retry_job_runs_after_an_upgrade(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(RULES) as bot:
        bot.call(lambda e: e.storage.schedule(Job("old-retry", time.time(), OLD_RUN_JOB)))
        [call] = fake.wait_for(1, "/v2/send/text")
        assert call.json == {"chatId": CUSTOMER, "message": "on its way, Ann"}
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the job to finish")
        done = decode_ledger(bot.get(ledger_key(EVENT["session"], EVENT["id"], "answer", "0")))
    assert isinstance(done, Settled)
    assert done.state == "done"


@pytest.mark.parametrize(
    "letter", [OLD_ACTION_LETTER, OLD_EVENT_LETTER, OLD_JOB_LETTER], ids=lambda x: x["kind"]
)
def test_an_old_dead_letter_replays_after_an_upgrade(
    letter: dict[str, Any], engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(RULES) as bot:
        entry_id = bot.call(lambda e: e.storage.dlq_add(letter))
        assert bot.call(lambda e: replay(e.storage, entry_id))
        bot.engine.scheduler.wake()
        [call] = fake.wait_for(1, "/v2/send/text")
        assert call.json == {"chatId": CUSTOMER, "message": "on its way, Ann"}
        assert bot.dead_letters() == []


def test_a_ledger_entry_of_the_old_format_still_stops_a_repeat(engine: EngineFactory, fake: FakeWawp) -> None:
    slot = ledger_key(EVENT["session"], EVENT["id"], "answer", "0")
    with engine(RULES) as bot:
        bot.call(lambda e: e.storage.put(slot, {"state": "done", "at": time.time(), "result": {"id": "m0"}}))
        bot.post(EVENT)
        bot.wait_processed(1)
    assert fake.calls_to("/v2/send/text") == []
