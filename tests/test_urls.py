"""URL templates: values percent-encoded into their component, the host never from a template."""

from __future__ import annotations

import pytest

from botengine.actions import ActionSpec
from botengine.actions.render import render_action
from botengine.errors import PermanentError
from botengine.urls import encode_component, same_origin, template_problem


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("crm/../../admin?x=1#frag", "crm%2F..%2F..%2Fadmin%3Fx%3D1%23frag"),
        ("a b&c=d+e%20", "a%20b%26c%3Dd%2Be%2520"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("447441429009@c.us", "447441429009@c.us"),
        ("مرحبا", "%D9%85%D8%B1%D8%AD%D8%A8%D8%A7"),
    ],
)
def test_a_value_becomes_one_component(value: str, encoded: str) -> None:
    assert encode_component(value) == encoded


@pytest.mark.parametrize(
    "template",
    [
        "https://crm.example.com/c/{{ text }}",
        "http://127.0.0.1:9/hooks?q={{ text }}",
        "https://user:pw@crm.example.com#{{ text }}",
        "https://crm.example.com",
    ],
)
def test_a_written_out_host_is_accepted(template: str) -> None:
    assert template_problem(template) is None


@pytest.mark.parametrize(
    "template",
    [
        "https://{{ text }}/x",
        "{{ secrets.CRM_URL }}",
        "https://crm.example.com{{ text }}",
        "https://crm.{{ text }}.com/x",
        "https://user:{{ secrets.PW }}@crm.example.com/x",
        "ftp://crm.example.com/{{ text }}",
        "https://crm.example.com/{% for x in text %}{{ x }}{% endfor %}",
    ],
)
def test_a_host_from_a_template_is_refused(template: str) -> None:
    assert template_problem(template) is not None


def test_rendering_checks_the_origin_again() -> None:
    # a spec that never went through `check` (an old stored retry, a test helper)
    spec = ActionSpec(kind="webhook", params={"url": "https://{{ text }}/x"}, index="0")
    with pytest.raises(PermanentError, match="scheme and host must be written out"):
        render_action(spec, {"text": "evil.example"}, {})
    assert not same_origin("https://{{ text }}/x", "https://evil.example/x")
    assert same_origin("https://CRM.example.com/{{ x }}", "https://crm.example.com/a%2Fb")


def test_a_secret_in_a_url_is_hidden_in_its_encoded_spelling_too() -> None:
    spec = ActionSpec(
        kind="webhook", params={"url": "https://crm.example.com/k/{{ secrets.KEY }}"}, index="0"
    )
    env = {"KEY": "a/b+c=d", "BOTENGINE_RULE_SECRETS": "KEY"}
    rendered = render_action(spec, {}, env)
    assert rendered.params.model_dump()["url"] == "https://crm.example.com/k/a%2Fb%2Bc%3Dd"
    assert rendered.shown["url"] == "https://crm.example.com/k/«secret KEY»"
