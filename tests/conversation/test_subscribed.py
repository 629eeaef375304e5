"""`subscribed`: a trigger and a variable that say whether the sender wrote STOP."""

from __future__ import annotations

from pathlib import Path

from botengine.optouts import StoreOptOuts
from botengine.storage.memory import MemoryStorage
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import evaluate, ruleset, view
from tests.test_rules_check import problems

PERSON = "447700900001@c.us"
ADMIN = "447700900999@c.us"

RULES = f"""
rules:
  - name: offers
    if: {{equals: offers, subscribed: true}}
    do: [{{reply: "This week: 20% off everything."}}]
  - name: asked-after-stop
    if: {{equals: offers, subscribed: false}}
    do:
      - send: {{to: "{ADMIN}", text: "{{{{ sender.id }}}} asked (subscribed: {{{{ subscribed }}}})"}}
  - name: by-expression
    if: {{equals: status, expr: "not subscribed"}}
    do: [{{send: {{to: "{ADMIN}", text: "{{{{ sender.id }}}} stopped"}}}}]
"""


def test_subscribed_in_if_and_in_templates_follows_stop(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(RULES) as bot:
        bot.post(make_event(text="offers", sender=PERSON))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="STOP", sender=PERSON))  # the built-in STOP
        fake.wait_for(2, "/v2/send/text")
        bot.post(make_event(text="offers", sender=PERSON))
        bot.post(make_event(text="status", sender=PERSON))
        fake.wait_for(4, "/v2/send/text")
    to_admin = [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.json["chatId"] == ADMIN]
    assert to_admin == [f"{PERSON} asked (subscribed: False)", f"{PERSON} stopped"]
    assert fake.calls_to("/v2/send/text")[0].json["message"] == "This week: 20% off everything."


async def test_a_rule_that_asks_sees_the_opt_out_in_its_variables(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, RULES)
    storage = MemoryStorage()
    await StoreOptOuts(storage).add("default", PERSON)
    evaluation = await evaluate(rules, view(make_event(text="offers", sender=PERSON)), storage)
    [run] = evaluation.matches
    assert run.rule == "asked-after-stop" and run.variables["subscribed"] is False
    untouched = await evaluate(rules, view(make_event(text="hello", sender=PERSON)), storage)
    assert untouched.matches == []


def test_a_wrong_value_is_explained_at_its_line(tmp_path: Path) -> None:
    [problem] = problems(
        tmp_path,
        """
        rules:
          - name: offers
            if: {equals: offers, subscribed: maybe}
            do: [{reply: "hi"}]
        """,
    )
    assert problem.startswith("r.yaml:3:")
    assert "subscribed" in problem
