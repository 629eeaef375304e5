"""`{{ secrets.NAME }}` reads only the variables the operator declared in BOTENGINE_RULE_SECRETS."""

from __future__ import annotations

from pathlib import Path

import pytest

from botengine.actions import ActionSpec
from botengine.actions.render import render_action
from botengine.cli import main
from botengine.config import Settings
from botengine.errors import ConfigError, PermanentError
from botengine.rules.loader import load
from botengine.secrets import parse_declaration
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine
from tests.rules_helpers import write_rules

HOOK = """
rules:
  - name: crm
    if: {contains: order}
    do:
      - webhook:
          url: "WAWP/hooks/crm"
          headers: {Authorization: "Bearer {{ secrets.NAME }}"}
"""


def _rules(tmp_path: Path, secret: str, url: str = "https://crm.example.com") -> Path:
    return write_rules(tmp_path / "rules", HOOK.replace("NAME", secret).replace("WAWP", url)).parent


def test_check_refuses_an_undeclared_variable_and_says_how_to_declare_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOTENGINE_RULE_SECRETS", "CRM_TOKEN")
    rules = _rules(tmp_path, "HOME")
    assert main(["check", str(rules)]) == 1
    out = capsys.readouterr().out
    assert "rules.yaml:7:" in out and "secrets.HOME: HOME is not declared as a secret rules may read" in out
    assert "BOTENGINE_RULE_SECRETS=CRM_TOKEN,HOME" in out
    assert "/root" not in out and str(Path.home()) not in out  # the value itself is never shown


@pytest.mark.parametrize(
    ("declared", "name", "loads"),
    [
        ("CRM_TOKEN", "CRM_TOKEN", True),
        ("CRM_TOKEN, SHOP_*", "SHOP_KEY", True),
        ("SHOP_*", "SHOPKEY", False),
        ("CRM_TOKEN", "CRM_TOKEN_OLD", False),
        ("", "CRM_TOKEN", False),
        ("BOT*", "BOTENGINE_WAWP_TOKEN", False),  # a prefix never reaches the engine's own
    ],
)
def test_only_declared_names_and_prefixes_load(tmp_path: Path, declared: str, name: str, loads: bool) -> None:
    env = {"BOTENGINE_RULE_SECRETS": declared, name: "value-of-the-secret"}
    errors = load([_rules(tmp_path, name)], env).errors
    assert (errors == []) is loads, [str(e) for e in errors]


def test_a_declared_but_unset_variable_only_warns(tmp_path: Path) -> None:
    loaded = load([_rules(tmp_path, "CRM_TOKEN")], {"BOTENGINE_RULE_SECRETS": "CRM_*"})
    assert loaded.errors == []
    [warning] = loaded.warnings
    assert "the environment variable CRM_TOKEN is not set" in str(warning)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("*", "would give rules every variable"),
        ("CRM_TOKEN,BOTENGINE_SECRET", "the engine's own settings"),
        ("BOTENGINE_*", "the engine's own settings"),
        ("CRM-TOKEN", "is not a variable name"),
        ("CRM*TOKEN", "is not a variable name"),
    ],
)
def test_a_bad_declaration_stops_the_engine_at_start(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_declaration(text)
    with pytest.raises(ConfigError, match=f"BOTENGINE_RULE_SECRETS: .*{why}"):
        Settings.load({}, {"BOTENGINE_RULE_SECRETS": text})


def test_at_run_time_an_undeclared_secret_is_refused_too() -> None:
    # rules checked under one environment and run under another (a declaration removed since)
    spec = ActionSpec(
        kind="webhook",
        params={"url": "https://crm.example.com", "headers": {"X": "{{ secrets.CRM }}"}},
        index="0",
    )
    with pytest.raises(PermanentError, match="CRM is not declared"):
        render_action(spec, {}, {"CRM": "value-of-the-secret"})
    rendered = render_action(spec, {}, {"CRM": "value-of-the-secret", "BOTENGINE_RULE_SECRETS": "CRM"})
    assert rendered.params.model_dump()["headers"] == {"X": "value-of-the-secret"}


def test_a_prefix_declared_secret_reaches_the_webhook(tmp_path: Path) -> None:
    fake = FakeWawp()
    env = {"BOTENGINE_RULE_SECRETS": "SHOP_*", "SHOP_CRM_TOKEN": "shop-crm-token"}
    with fake.serve() as url:
        rules = _rules(tmp_path, "SHOP_CRM_TOKEN", fake.url)
        with running_engine(rules, tmp_path / "data", wawp_url=url, env=env) as bot:
            bot.post(make_event(text="my order"))
            [call] = fake.wait_for(1, "/hooks/crm")
    assert call.headers["authorization"] == "Bearer shop-crm-token"
