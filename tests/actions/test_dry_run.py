"""Dry runs: the live path renders every action and performs none (serve --dry-run, dry-run)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from botengine.actions.discount import issued_codes
from botengine.cli import main
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import write_rules

RULES = """
rules:
  - name: love
    on: message.reaction
    do:
      - discount: {campaign: spring, prefix: "SPRING-"}
      - reply: "Your code: {{ discount.code }}"
      - set: {var: got_code, value: "yes"}
      - webhook: {url: "https://crm.example.com/x", headers: {X-Token: "{{ secrets.CRM_TOKEN }}"}}
      - later: {after: 1h, do: [{reply: "Did you use {{ discount.code }}?"}]}
"""


def test_serve_dry_run_logs_every_action_and_does_nothing(
    engine: EngineFactory, fake: FakeWawp, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="botengine.actions"),
        engine(RULES, dry_run=True, env={"CRM_TOKEN": "hush", "BOTENGINE_RULE_SECRETS": "CRM_TOKEN"}) as bot,
    ):
        bot.post(make_event("message.reaction", emoji="❤️", sender="15550001111@c.us"))
        bot.wait_processed(1)
        assert bot.call(lambda e: issued_codes(e.storage, "spring")) == []
        assert bot.call(lambda e: e.storage.jobs()) == []
        assert bot.call(lambda e: e.storage.scan("state:")) == []
    assert fake.calls == []
    planned = [r for r in caplog.records if r.getMessage().startswith("dry run: would")]
    assert [r.getMessage().split()[-1] for r in planned] == ["discount", "reply", "set", "webhook", "later"]
    reply = planned[1].fields["action"]  # type: ignore[attr-defined]
    assert reply == {"to": "15550001111@c.us", "text": "Your code: SPRING-XXXXXXXX", "quote": False}
    assert "hush" not in caplog.text


def test_dry_run_command_prints_the_rendered_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", "hush")
    monkeypatch.setenv("BOTENGINE_RULE_SECRETS", "CRM_TOKEN")
    write_rules(tmp_path / "rules", RULES)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(make_event("message.reaction", emoji="🔥", sender="15550001111@c.us")))
    assert main(["dry-run", "--rules", str(tmp_path / "rules"), "--json", str(event)]) == 0
    planned = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["action"] for p in planned] == ["discount", "reply", "set", "webhook", "later"]
    assert planned[1]["params"]["text"] == "Your code: SPRING-XXXXXXXX"
    assert planned[3]["params"]["headers"] == {"X-Token": "«secret CRM_TOKEN»"}
    assert planned[4]["preview"]["after"] == "1h"
