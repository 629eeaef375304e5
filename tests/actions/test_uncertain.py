"""Uncertain effects: a send whose answer never came follows its `uncertain:` policy.

The fake Wawp records a send and then answers it late, past the action's timeout: the message
went out, the engine cannot know. `skip` sends nothing twice, `resend` sends again (the decision
says so), `dead_letter` sets it aside for a person, whose replay sends it again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from botengine.dlq import replay
from botengine.jobs import ActionLetter, Settled, Uncertain, decode_ledger, decode_letter, ledger_key
from botengine.rules.loader import load
from botengine.storage.keys import key
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine
from tests.actions.conftest import EngineFactory
from tests.faults.harness import BASELINE, report
from tests.rules_helpers import write_rules

SLOW_REPLY = """
rules:
  - name: echo
    do:
      - reply: "got {{ event_id }}"
        timeout: 1s
        POLICY
      - reply: "and then"
"""


def rules(policy: str) -> str:
    return SLOW_REPLY.replace("POLICY", "" if BASELINE else f"uncertain: {policy}")


def send_slowly(fake: FakeWawp) -> None:
    """The next send is recorded (it went out) and answered after 2.5 s, past the 1 s timeout."""
    fake.fail("timeout", times=1, path="/v2/send/text", delay=2.5)


def uncertain_count(bot: RunningEngine, policy: str) -> float:
    samples = next(iter(bot.engine.metrics.uncertain.collect())).samples
    return sum(s.value for s in samples if s.name.endswith("_total") and s.labels["policy"] == policy)


def sends_of(fake: FakeWawp, event_id: str) -> int:
    return sum(1 for call in fake.calls_to("/v2/send/text") if call.json["message"] == f"got {event_id}")


def test_skip_sends_a_slow_but_successful_reply_once(engine: EngineFactory, fake: FakeWawp) -> None:
    send_slowly(fake)
    event = make_event(text="hi")
    with engine(rules("skip")) as bot:
        bot.post(event)
        fake.wait_for(2, "/v2/send/text", timeout=15)  # the slow one, then "and then"
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="no retry left to run")
        entry = decode_ledger(bot.get(ledger_key(event["session"], event["id"], "echo", "0")))
        counted = 0.0 if BASELINE else uncertain_count(bot, "skip")
        traces = bot.call(lambda e: e.storage.scan(key("trace", "event", "")))
    report("timeout-skip", sends=sends_of(fake, event["id"]))
    if BASELINE:
        return
    assert sends_of(fake, event["id"]) == 1
    assert counted == 1
    assert isinstance(entry, Settled)
    assert entry.uncertain.startswith("no answer within 1s")
    assert [c.json["message"] for c in fake.calls_to("/v2/send/text")][-1] == "and then"
    [(_, trace)] = traces  # what the dashboard shows for the event
    shown = trace["actions"][0]
    assert shown["status"] == "uncertain"
    assert shown["detail"] == "no answer within 1s; it may have been done; not done again (uncertain: skip)"


def test_resend_sends_it_again_as_decided(engine: EngineFactory, fake: FakeWawp) -> None:
    send_slowly(fake)
    event = make_event(text="hi")
    with engine(rules("resend")) as bot:
        bot.post(event)
        fake.wait_for(3, "/v2/send/text", timeout=15)
        counted = uncertain_count(bot, "resend")
    report("timeout-resend", sends=sends_of(fake, event["id"]))
    assert sends_of(fake, event["id"]) == 2
    assert counted == 1


@pytest.mark.skipif(BASELINE, reason="no policy before the fixes")
def test_dead_letter_sets_it_aside_until_a_person_replays_it(engine: EngineFactory, fake: FakeWawp) -> None:
    send_slowly(fake)
    event = make_event(text="hi")
    slot = ledger_key(event["session"], event["id"], "echo", "0")
    with engine(rules("dead_letter")) as bot:
        bot.post(event)
        [(entry_id, entry)] = bot.wait_until(bot.dead_letters, timeout=15, what="a dead letter")
        letter = decode_letter(entry)
        assert isinstance(letter, ActionLetter)
        assert letter.reason.startswith("uncertain: no answer within 1s")
        assert isinstance(decode_ledger(bot.get(slot)), Uncertain)
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="no retry left to run")
        assert sends_of(fake, event["id"]) == 1  # the rule stopped there: "and then" waits too
        assert len(fake.calls_to("/v2/send/text")) == 1
        assert bot.call(lambda e: replay(e.storage, entry_id))
        bot.engine.scheduler.wake()
        fake.wait_for(3, "/v2/send/text", timeout=15)
        done = decode_ledger(bot.get(slot))
    assert sends_of(fake, event["id"]) == 2  # the person decided: it goes again
    assert isinstance(done, Settled)


@pytest.mark.skipif(BASELINE, reason="not redacted before the fixes")
def test_a_result_stored_in_the_ledger_is_redacted(engine: EngineFactory, fake: FakeWawp) -> None:
    fake.respond("crm", json={"echo": "Bearer s3cr3t-token"})  # an answer that echoes the token
    rules_yaml = f"""
rules:
  - name: crm
    do:
      - webhook:
          url: "{fake.url}/hooks/crm"
          headers: {{Authorization: "Bearer {{{{ secrets.CRM_TOKEN }}}}"}}
"""
    event = make_event(text="hi")
    slot = ledger_key(event["session"], event["id"], "crm", "0")
    env = {"CRM_TOKEN": "s3cr3t-token", "BOTENGINE_RULE_SECRETS": "CRM_TOKEN"}
    with engine(rules_yaml, env=env) as bot:
        bot.post(event)
        bot.wait_until(lambda: isinstance(decode_ledger(bot.get(slot)), Settled), what="the action done")
        entry = decode_ledger(bot.get(slot))
    assert isinstance(entry, Settled)
    assert entry.result["json"] == {"echo": "Bearer «secret CRM_TOKEN»"}
    assert "s3cr3t-token" not in str(entry)


def test_a_policy_that_is_not_one_is_reported_with_its_line(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """
        rules:
          - name: echo
            do:
              - reply: hi
                uncertain: maybe
        """,
    )
    [problem] = load([tmp_path]).errors
    assert str(problem).endswith("uncertain: 'maybe' is not a policy (use resend, skip or dead_letter)")
    assert problem.line == 6
