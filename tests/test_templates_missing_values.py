"""Templates are forgiving where a rule author expects it, and strict where a mistake would hide."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from botengine.dry_run import dry_run_event
from botengine.errors import TemplateError
from botengine.rules.engine import RuleSet
from botengine.templating import fields_used, render_text
from botengine.testing import make_event
from tests.rules_helpers import write_rules


def test_a_value_that_is_none_renders_empty() -> None:
    assert render_text("Hi {{ sender.name }}!", {"sender": {"name": None}}) == "Hi !"
    assert render_text("{{ sender.name or 'there' }}", {"sender": {"name": None}}) == "there"


def test_a_field_of_a_missing_value_renders_empty() -> None:
    variables = {"media": None, "payload": {"replyTo": {"body": "hello"}}}
    assert render_text("[{{ media.filename }}]", variables) == "[]"
    assert render_text("[{{ media.filename.upper }}]", variables) == "[]"
    assert render_text("{{ payload.replyTo.body }}|{{ payload.location.latitude }}", variables) == "hello|"
    assert render_text("{% if payload.isVideo %}video{% else %}voice{% endif %}", variables) == "voice"
    assert render_text("{% for v in payload.vCards %}x{% endfor %}.", variables) == "."


@pytest.mark.parametrize("template", ["{{ sendr.name }}", "{{ sendr }}", "{% if sendr %}x{% endif %}"])
def test_a_name_that_is_no_variable_still_fails(template: str) -> None:
    with pytest.raises(TemplateError, match="'sendr' is undefined"):
        render_text(template, {"sender": {"name": "Alice"}})


def test_fields_used_lists_dotted_and_quoted_fields() -> None:
    used = fields_used("{{ sender.nmae }} {{ payload['isVideo'] }} {{ a.b.c }} {{ x[0] }}")
    assert used == {("sender", "nmae"), ("payload", "isVideo"), ("a", "b")}


async def test_a_rule_renders_missing_media_and_name_as_nothing(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """
        rules:
          - name: echo
            do:
              - reply: "name=[{{ sender.name }}] file=[{{ media.filename }}]"
        """,
    )
    rules = RuleSet.load([tmp_path])
    processed = await dry_run_event(rules, json.dumps(make_event(text="hi")).encode())
    [outcome] = processed.outcomes
    assert outcome.status == "dry-run", outcome.detail
    assert outcome.params == {"text": "name=[] file=[]", "quote": False}
