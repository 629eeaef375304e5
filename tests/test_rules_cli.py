"""The commands: check, schema, dry-run, test; and the shipped rules pass their own tests."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from botengine.cli import main
from botengine.rules.model import rules_schema
from tests.conftest import REPO, SAMPLES

PRIVATE = str(SAMPLES / "message-text-private.json")
GROUP = str(SAMPLES / "message-text-group.json")


def test_shipped_rules_check_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(REPO / "rules")]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ok: 3 rules, 9 tests in 1 files\nbuilt-in STOP: ")  # ok: on stdout
    assert captured.err == ""


def test_every_rules_command_takes_rules_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = str(REPO / "rules")
    monkeypatch.chdir(tmp_path)  # no rules/ here: a command that ignored what it was given would fail
    monkeypatch.delenv("BOTENGINE_RULES", raising=False)
    for command in (["check"], ["test", "--now", "2025-11-25T10:00:00Z"]):
        for given in ([rules], ["--rules", rules]):
            assert main([*command, *given]) == 0, (command, given, capsys.readouterr())
    capsys.readouterr()
    outputs = []
    for given in (["--rules", rules, PRIVATE], [rules, PRIVATE], [PRIVATE, rules]):
        assert main(["dry-run", *given]) == 0
        outputs.append(capsys.readouterr().out)
    assert len(set(outputs)) == 1 and "Hello Alice!" in outputs[0]


def test_dry_run_needs_an_event_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dry-run", str(REPO / "rules")]) == 2
    assert "name at least one event file" in capsys.readouterr().err


def test_test_now_sets_the_clock_of_tests_without_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - name: late\n    if: {outside_hours: {days: mon-fri, from: '09:00', to: '18:00'}}\n"
        "    do: [{reply: closed}]\ntests:\n  - name: at night\n    event: {text: x}\n"
        "    expect: [{reply: closed}]\n"
    )
    assert main(["test", str(tmp_path), "--now", "2025-11-25T23:00:00Z"]) == 0
    assert main(["test", str(tmp_path), "--now", "2025-11-25T12:00:00+00:00"]) == 1
    assert "1 passed, 0 failed" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["test", str(tmp_path), "--now", "tomorrow"])
    assert "not a date and time: 'tomorrow'" in capsys.readouterr().err


def test_shipped_rules_pass_their_inline_tests(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["test", str(REPO / "rules")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert " 0 failed" in out


def test_check_reports_problems_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - name: a\n    do: [{replly: hi}]\n")
    assert main(["check", str(tmp_path)]) == 1
    assert (
        capsys.readouterr().out
        == f"{tmp_path}/r.yaml:3:11: rule 'a': unknown action 'replly' (did you mean 'reply'?)\n"
    )


def test_test_command_reports_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - name: a\n    if: {text: hi}\n    do: [{reply: 'Hi {{ sender.name }}'}]\n"
        "tests:\n  - name: wrong\n    event: {text: hi, name: Bob}\n    expect: [{reply: Hi Alice}]\n"
        "  - name: right\n    event: {text: hi, name: Alice}\n    expect: [{reply: Hi Alice}]\n"
    )
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {tmp_path}/r.yaml:6 wrong" in out
    assert "'text': 'Hi Bob'" in out
    assert "1 passed, 1 failed" in out


def test_schema_is_the_checked_in_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == rules_schema()
    assert printed == json.loads((REPO / "docs" / "rules.schema.json").read_text())
    rule = printed["$defs"]["Rule"]["properties"]
    assert "text" in printed["$defs"]["Triggers"]["properties"]
    assert {"if", "do", "on", "cooldown"} <= set(rule)


def test_dry_run_human_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dry-run", "--rules", str(REPO / "rules"), "--explain", PRIVATE, GROUP]) == 0
    out = capsys.readouterr().out
    assert (
        '    reply: {"to": "447441429009@c.us", "text": "Hello Alice! How can I help?", "quote": false}'
        in out
    )
    assert "chat: chat is group, rule wants contact" in out


def test_dry_run_json_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(Path(PRIVATE).read_text()))
    assert main(["dry-run", "--rules", str(REPO / "rules"), "--json", "-"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {
            "event": "evt_01JDX2K8Q7A1",
            "rule": "greet",
            "action": "reply",
            "index": "0",
            "params": {"text": "Hello Alice! How can I help?", "quote": False},
            "preview": {"to": "447441429009@c.us", "text": "Hello Alice! How can I help?", "quote": False},
        }
    ]


def test_dry_run_refuses_invalid_rules_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.yaml").write_text("rules:\n  - name: a\n    do: [{replly: hi}]\n")
    assert main(["dry-run", "--rules", str(tmp_path), PRIVATE]) == 2
    assert "unknown action 'replly'" in capsys.readouterr().err
