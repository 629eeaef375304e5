"""Hot reload seen from outside: save a rules file and the running bot answers differently."""

from __future__ import annotations

import time
from pathlib import Path

from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory

V1 = """
rules:
  - name: greet
    do: [{reply: "Hello from v1"}]
"""


def test_a_saved_change_is_live_and_a_broken_save_keeps_the_last_good_rules(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules" / "rules.yaml"
    with engine(V1) as bot:
        bot.post(make_event(text="a"))
        fake.wait_for(1, "/v2/send/text")
        rules_file.write_text(V1.replace("v1", "v2"))

        def answers(expected: str) -> bool:
            bot.post(make_event(text="b"))
            call = fake.wait_for(len(fake.calls_to("/v2/send/text")) + 1, "/v2/send/text")[-1]
            return call.json["message"] == expected

        bot.wait_until(lambda: answers("Hello from v2"), timeout=5, what="v2 to answer")
        rules_file.write_text(V1.replace("reply", "replly"))  # a typo: the bot keeps v2
        bot.wait_until(lambda: not bot.engine.rules.state.success, timeout=5, what="the failed reload")
        assert any("did you mean 'reply'" in p for p in bot.engine.rules.state.problems)
        time.sleep(0.1)
        assert answers("Hello from v2")
