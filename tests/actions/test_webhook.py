"""The webhook action: templated calls, secrets by name (never shown), the answer for later actions."""

from __future__ import annotations

from pathlib import Path

from botengine.rules.loader import load
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import write_rules

DECLARED = {"BOTENGINE_RULE_SECRETS": "CRM_TOKEN"}
CRM = """
rules:
  - name: crm
    if: {chat: contact}
    do:
      - webhook:
          url: "WAWP/hooks/crm"
          method: PUT
          headers: {Authorization: "Bearer {{ secrets.CRM_TOKEN }}"}
          query: {source: whatsapp}
          json: {from: "{{ sender.id }}", text: "{{ text }}", session: "{{ session }}"}
        as: ticket
      - reply: "Ticket {{ ticket.json.n }} ({{ webhook.status }})"
"""


def test_webhook_call_with_secret_and_result(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = CRM.replace("WAWP", fake.url)
    fake.respond("crm", status=201, json={"n": 42})
    with engine(rules, env={"CRM_TOKEN": "s3cr3t-token", **DECLARED}) as bot:
        event = make_event(text="my order is late", sender="15550001111@c.us", session="shop")
        bot.post(event)
        [call] = fake.wait_for(1, "/hooks/crm")
        [reply] = fake.wait_for(1, "/v2/send/text")
    assert call.method == "PUT"
    assert call.headers["authorization"] == "Bearer s3cr3t-token"
    assert call.headers["idempotency-key"] == f"shop:{event['id']}:crm:0"
    assert call.query == {"source": "whatsapp"}
    assert call.json == {"from": "15550001111@c.us", "text": "my order is late", "session": "shop"}
    assert reply.json["message"] == "Ticket 42 (201)"


def test_a_failed_webhook_dead_letter_never_holds_the_secret(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = CRM.replace("WAWP", fake.url)
    fake.fail("400", times=1, path="/hooks/crm")
    with engine(rules, env={"CRM_TOKEN": "s3cr3t-token", **DECLARED}) as bot:
        bot.post(make_event(text="hello"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "s3cr3t-token" not in str(letter)
    assert letter["params"]["headers"] == {"Authorization": "Bearer «secret CRM_TOKEN»"}
    assert letter["params"]["json"]["text"] == "hello"


def test_a_missing_secret_is_a_clear_error(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = CRM.replace("WAWP", fake.url)
    with engine(rules, env=DECLARED) as bot:
        bot.post(make_event(text="hello"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "the environment variable CRM_TOKEN is not set" in letter["errors"][0]["error"]
    assert fake.calls_to("/hooks/crm") == []


def test_check_refuses_secrets_in_whatsapp_messages_and_the_engines_own(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """
        rules:
          - name: leak
            do: [{reply: "token {{ secrets.CRM_TOKEN }}"}]
          - name: steal
            do: [{webhook: {url: "https://x.example/{{ secrets.BOTENGINE_WAWP_TOKEN }}"}}]
        """,
    )
    messages = [str(p) for p in load([tmp_path]).errors]
    assert any("rule 'leak': reply: secrets cannot be used here" in m for m in messages)
    assert any("secrets.BOTENGINE_WAWP_TOKEN: the engine's own settings" in m for m in messages)


def test_check_knows_results_of_earlier_actions_only(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """
        rules:
          - name: early
            do:
              - reply: "{{ webhook.status }}"
              - webhook: https://x.example/a
              - reply: "{{ webhook.status }} {{ disount.code }}"
        """,
    )
    messages = [str(p) for p in load([tmp_path]).errors]
    assert len(messages) == 2
    assert ":5:" in messages[0] and "unknown variable 'webhook'" in messages[0]
    assert "unknown variable 'disount'" in messages[1]


def test_a_secret_in_the_url_never_reaches_errors_or_dead_letters(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = """
    rules:
      - name: hook
        do: [{webhook: "WAWP/hooks/{{ secrets.HOOK_PATH }}"}]
    """.replace("WAWP", "http://user:pw@127.0.0.1:9")  # nothing listens on port 9
    with engine(
        rules, retries=1, env={"HOOK_PATH": "t0p-secret-path", "BOTENGINE_RULE_SECRETS": "HOOK_PATH"}
    ) as bot:
        bot.post(make_event(text="hello"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
        traces = bot.call(lambda e: e.storage.scan("trace:"))
    assert "cannot reach" in letter["errors"][0]["error"]
    assert "t0p-secret-path" not in str(letter) and "t0p-secret-path" not in str(traces)
    assert "«secret HOOK_PATH»" in letter["errors"][0]["error"]
    assert "user:pw" not in str(letter["errors"])  # credentials in a URL are not repeated either


def test_a_huge_answer_is_cut_not_kept_whole(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: hook
        do:
          - webhook: "WAWP/hooks/big"
          - reply: "{{ webhook.status }} {{ webhook.json is none }} {{ webhook.text | length }}"
    """.replace("WAWP", fake.url)
    fake.respond("big", json={"blob": "x" * 1_000_000})
    with engine(rules) as bot:
        bot.post(make_event(text="hello"))
        [reply] = fake.wait_for(1, "/v2/send/text")
    assert reply.json["message"] == "200 True 2000"


def test_a_value_in_the_url_stays_inside_its_segment(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: hook
        do: [{webhook: "WAWP/hooks/crm/{{ text }}/notes?from={{ sender.id }}&q={{ text }}"}]
    """.replace("WAWP", fake.url)
    hostile = "crm/../../admin?x=1&y=2#frag"
    with engine(rules) as bot:
        bot.post(make_event(text=hostile, sender="15550001111@c.us"))
        [call] = fake.wait_for(1, "/hooks/")
        bot.post(make_event(text=".."))
        [_, dots] = fake.wait_for(2, "/hooks/")
    assert call.raw_path == "/hooks/crm/crm%2F..%2F..%2Fadmin%3Fx%3D1%26y%3D2%23frag/notes"
    assert call.query == {"from": "15550001111@c.us", "q": hostile}  # one value, as sent
    assert dots.raw_path == "/hooks/crm/%2E%2E/notes"
    assert [c.path for c in fake.calls if "admin" in c.path and not c.path.startswith("/hooks/crm/")] == []


def test_check_refuses_a_url_whose_host_comes_from_a_template(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """
        rules:
          - name: anywhere
            do:
              - webhook: "https://{{ text }}/hook"
              - webhook: "{{ secrets.CRM_URL }}"
              - webhook: "https://crm.example.com{{ text }}"
              - webhook: "https://crm.example.com/{% if text %}x{% endif %}"
              - webhook: "https://crm.example.com:8443/c/{{ sender.number }}?q={{ text }}"
        """,
    )
    messages = [str(p) for p in load([tmp_path], {"BOTENGINE_RULE_SECRETS": "CRM_URL"}).errors]
    assert len(messages) == 4, messages
    assert sum("the scheme and host must be written out" in m for m in messages) == 3
    assert ":5:" in messages[0] and ":6:" in messages[1] and ":7:" in messages[2]
    assert "no {% blocks %}" in messages[3]


def test_a_line_break_in_a_header_is_refused_not_sent_nor_retried(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = """
    rules:
      - name: hook
        do: [{webhook: {url: "WAWP/hooks/crm", headers: {X-Customer: "{{ text }}"}}}]
    """.replace("WAWP", fake.url)
    with engine(rules, retries=3) as bot:
        bot.post(make_event(text="Alice\r\nX-Admin: yes"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "a header holds a line break" in letter["errors"][-1]["error"]
    assert len(letter["errors"]) == 1  # refused at once, not retried
    assert fake.calls_to("/hooks/") == []
