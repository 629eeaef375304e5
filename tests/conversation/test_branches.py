"""Branches inside `do:`: `choose:` and `if:`/`then:`/`else:`, end to end and at load time."""

from __future__ import annotations

import json
from pathlib import Path

from botengine.cli import main
from botengine.dry_run import dry_run_event
from botengine.rules import RuleSet
from botengine.rules.loader import load
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import write_rules

MENU = r"""
rules:
  - name: menu
    do:
      - set: {var: seen, value: "yes"}
      - choose:
          - if: {text: '^\s*order (?P<number>\d+)'}
            do:
              - reply: "Looking up order {{ number }}"
          - if: {expr: "state.seen == 'yes' and len(text) > 20"}
            do: [{reply: "That is a long message"}]
        default:
          - reply: "Write: order <number>"
      - if: {equals: thanks}
        then: [{reply: "You are welcome"}]
        else: [{reply: "Anything else?", as: asked}]
      - reply: "done ({{ asked.message_id if asked else 'no question' }})"
"""


def texts(fake: FakeWawp) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text")]


def test_the_first_option_that_holds_runs_and_the_rule_goes_on(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(MENU) as bot:
        bot.post(make_event(text="order 1042", sender="15550000001@c.us"))
        fake.wait_for(3, "/v2/send/text")
        bot.post(make_event(text="this is certainly a long message", sender="15550000002@c.us"))
        fake.wait_for(6, "/v2/send/text")
        bot.post(make_event(text="thanks", sender="15550000003@c.us"))
        fake.wait_for(9, "/v2/send/text")
    said = texts(fake)
    assert said[:2] == ["Looking up order 1042", "Anything else?"]
    assert said[2].startswith("done (") and "no question" not in said[2]  # `as:` inside a branch
    assert said[3:5] == ["That is a long message", "Anything else?"]  # state set before the choose
    assert said[6:] == ["Write: order <number>", "You are welcome", "done (no question)"]


ONCE = """
rules:
  - name: welcome
    do:
      - if: {state: {welcomed: null}}
        then:
          - set: {var: welcomed, value: "yes"}
          - reply: "Welcome, first-timer"
        else:
          - reply: "Welcome back"
      - reply: "How can I help?"
"""


def test_a_retry_inside_a_branch_stays_in_that_branch(engine: EngineFactory, fake: FakeWawp) -> None:
    fake.fail("500", times=2)  # the branch's reply fails after its `set` changed what `if:` reads
    with engine(ONCE) as bot:
        bot.post(make_event(text="hi"))
        fake.wait_for(4, "/v2/send/text")
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the retries to finish")
    ok = [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.status == 200]
    assert ok == ["Welcome, first-timer", "How can I help?"]


def test_a_redelivered_event_goes_down_the_branch_the_ledger_recorded(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(ONCE) as bot:
        event = make_event(text="hi")
        bot.post(event)
        fake.wait_for(2, "/v2/send/text")
        bot.replay(event)  # the state now says welcomed: evaluated again, `if:` would go to else:
        bot.wait_processed(2)
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the replay to run")
    assert texts(fake) == ["Welcome, first-timer", "How can I help?"]


def test_a_dead_letter_inside_a_branch_is_replayed_from_there(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path
) -> None:
    fake.fail("400", times=1)
    with engine(ONCE) as bot:
        bot.post(make_event(text="hi"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
        assert (letter["rule"], letter["index"]) == ("welcome", "0.0.1")
        assert [a["index"] for a in letter["plan"]["actions"]] == ["0.0.1", "1"]
        assert main(["dlq", "--data-dir", str(tmp_path / "data"), "replay", "--all"]) == 0
        fake.wait_for(3, "/v2/send/text")
    assert [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.status == 200] == [
        "Welcome, first-timer",
        "How can I help?",
    ]


async def test_a_dry_run_says_which_branch_and_why(tmp_path: Path) -> None:
    rules = RuleSet.load([write_rules(tmp_path, MENU)])
    processed = await dry_run_event(rules, json.dumps(make_event(text="hello")).encode())
    steps = [(o.index, o.kind, (o.preview or {}).get("why")) for o in processed.outcomes]
    assert steps[1][:2] == ("1", "choose")
    assert "default" in str(steps[1][2]) and "does not match" in str(steps[1][2])
    assert steps[2][:2] == ("1.2.0", "reply")  # default: comes after the two options
    assert steps[3] == ("2", "if", "text is not 'thanks'")
    assert [s[0] for s in steps[4:]] == ["2.1.0", "3"]


def test_the_dry_run_command_prints_the_branch(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rules = write_rules(tmp_path, MENU)
    event = tmp_path / "e.json"
    event.write_text(json.dumps(make_event(text="order 7")))
    assert main(["dry-run", str(rules), str(event)]) == 0
    out = capsys.readouterr().out
    assert "option 1 holds" in out and "Looking up order 7" in out


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write_rules(tmp_path, text)
    return [str(p).replace(str(path), "FILE") for p in load([path]).errors]


def test_mistakes_in_branches_are_reported_at_their_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        rules:
          - name: b
            do:
              - choose:
                  - if: {txt: hello}
                    do: [{reply: hi}]
                  - if: {text: '(?P<n>\\d+)'}
                    do: [{reply: "{{ n }}", as: got}]
                  - if: "text == 'x'"
                    do: [{reply: x}]
              - if: {equals: yes}
                then: []
              - if: {equals: no}
              - reply: "{{ got }} {{ n }}"
              - if: {}
                then: [{reply: x}]
              - if: {expr: "gott == 1"}
                then: [{replly: x}]
        """,
    )
    assert any(p.startswith("FILE:6:") and "unknown trigger 'txt'" in p for p in found), found
    assert any(p.startswith("FILE:10:") and "valid dictionary" in p for p in found), found
    assert any(p.startswith("FILE:13:") and "then" in p and "at least 1" in p for p in found), found
    assert any(p.startswith("FILE:14:") and "then" in p and "required" in p.lower() for p in found), found
    assert any(p.startswith("FILE:15:") and "unknown variable 'n'" in p for p in found), found
    assert not any("unknown variable 'got'" in p for p in found), found  # `as:` in a branch: usable after
    assert any(p.startswith("FILE:16:") and "at least one trigger" in p for p in found), found
    assert any(p.startswith("FILE:18:") and "unknown variable 'gott'" in p for p in found), found
    assert any(p.startswith("FILE:19:") and "unknown action 'replly'" in p for p in found), found


async def test_a_live_run_traces_the_branch_taken_and_why(tmp_path: Path) -> None:
    from botengine.actions import Services
    from botengine.actions.executor import Executor
    from botengine.processing import RuleProcessor
    from botengine.storage.memory import MemoryStorage
    from tests.rules_helpers import view

    rules = RuleSet.load([write_rules(tmp_path, ONCE)])
    storage = MemoryStorage()
    processor = RuleProcessor(lambda: rules, storage, Executor(Services(storage=storage)))
    event = make_event(text="hi")
    processed = await processor.process(view(event), json.dumps(event).encode())
    decision = processed.outcomes[0]  # (its reply then fails here: no Wawp; the trace is the point)
    assert (decision.kind, decision.status, decision.detail) == ("if", "done", "the condition holds")
