"""Rules lost to a half-finished save: `check` warns, the engine keeps the file's previous rules
until the file is deleted or says `rules: []`, and says so in its log, naming the file."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from botengine.cli import main
from botengine.rules.live import LiveRules
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine
from tests.conftest import REPO

THREE = """rules:
  - name: one
    do: [{reply: one}]
  - name: two
    do: [{reply: two}]
  - name: three
    do: [{reply: three}]
"""


def names(live: LiveRules) -> list[str]:
    return [rule.name for rule in live.current.rules]


@pytest.fixture
def live(tmp_path: Path) -> LiveRules:
    (tmp_path / "shop.yaml").write_text(THREE)
    (tmp_path / "other.yaml").write_text("rules:\n  - name: other\n    do: [{reply: o}]\n")
    return LiveRules.open(tmp_path)


@pytest.mark.parametrize(
    ("what", "text"),
    [
        ("emptied", ""),
        ("only a comment left", "# starter rules\n"),
        ("cut in the middle of a line", THREE[: THREE.index("\n  - name: three")]),
        ("cut at a line end, so it still ends with a line break", THREE[: THREE.index("  - name: two")]),
    ],
)
def test_a_file_emptied_or_cut_short_keeps_its_rules(
    live: LiveRules, tmp_path: Path, caplog: pytest.LogCaptureFixture, what: str, text: str
) -> None:
    (tmp_path / "shop.yaml").write_text(text)
    with caplog.at_level(logging.WARNING, logger="botengine.rules.live"):
        state = live.reload()
    assert state.success
    assert names(live) == ["other", "one", "two", "three"], what
    [warning] = [r.getMessage() for r in caplog.records if "rules kept" in r.getMessage()]
    assert f"{tmp_path}/shop.yaml" in warning and "until the file is deleted or says rules: []" in warning
    assert state.kept and "shop.yaml" in state.kept[0]
    # still kept at the next reload, without a second warning
    caplog.clear()
    live.reload()
    assert names(live) == ["other", "one", "two", "three"]
    assert not [r for r in caplog.records if "rules kept" in r.getMessage()]


@pytest.mark.parametrize(
    "text",
    ["rules:\n", THREE[: THREE.index("  - name: two") + 9], THREE[:-5]],
    ids=["no list", "no do", "no ]"],
)
def test_a_cut_that_breaks_the_file_keeps_every_rule(live: LiveRules, tmp_path: Path, text: str) -> None:
    (tmp_path / "shop.yaml").write_text(text)
    state = live.reload()
    assert not state.success and "shop.yaml" in state.problems[0]
    assert names(live) == ["other", "one", "two", "three"]


def test_rules_go_when_the_file_says_so_or_is_deleted(live: LiveRules, tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text("")
    live.reload()
    assert "one" in names(live)
    (tmp_path / "shop.yaml").write_text("rules: []\n")
    assert live.reload().kept == ()
    assert names(live) == ["other"]

    (tmp_path / "shop.yaml").write_text(THREE)
    live.reload()
    (tmp_path / "shop.yaml").write_text("")
    live.reload()
    (tmp_path / "shop.yaml").unlink()
    live.reload()
    assert names(live) == ["other"]


def test_a_rule_deleted_from_a_complete_file_is_gone(live: LiveRules, tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(THREE.replace("  - name: two\n    do: [{reply: two}]\n", ""))
    state = live.reload()
    assert names(live) == ["other", "one", "three"]
    assert state.kept == ()


def test_after_a_mistake_is_fixed_the_log_says_so(
    live: LiveRules, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "shop.yaml").write_text(THREE.replace("reply: two", "replly: two"))
    with caplog.at_level(logging.INFO, logger="botengine.rules.live"):
        live.reload()
        (tmp_path / "shop.yaml").write_text(THREE)
        live.reload()
    lines = [r.getMessage() for r in caplog.records]
    assert "rules not reloaded" in lines[0]
    assert lines[-1].startswith("rules fixed:")


@pytest.mark.parametrize(
    ("text", "words", "status"),
    [
        ("", "this file holds no rules", 0),
        ("rules:\n", "rules: holds nothing", 1),  # also an error: rules: must be a list
        ("rules:\n  - name: one\n    do: [{reply: one}]", "the file ends in the middle of a line", 0),
    ],
)
def test_check_warns_about_a_file_that_may_have_lost_its_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str, status: int
) -> None:
    (tmp_path / "shop.yaml").write_text(text)
    assert main(["check", str(tmp_path)]) == status
    out = capsys.readouterr().out
    assert f"warning: {words}" in out
    assert f"{tmp_path}/shop.yaml:" in out


def test_check_is_quiet_about_rules_removed_on_purpose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "shop.yaml").write_text("rules: []\n")
    assert main(["check", "--rules", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("ok: 0 rules, 0 tests in 1 files\nbuilt-in STOP: ")


def test_the_engine_still_answers_greetings_after_a_save_empties_the_starter_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    shutil.copytree(REPO / "examples" / "events", tmp_path / "examples" / "events")  # its tests read them
    fake = FakeWawp()
    with fake.serve(), running_engine(rules, tmp_path / "data", wawp_url=fake.url) as bot:
        (rules / "shop.yaml").write_text("")
        bot.wait_until(lambda: bot.engine.rules.state.kept, what="the emptied file noticed")
        bot.post(make_event(text="hello", name="Alice"))
        [reply] = fake.wait_for(1, "/v2/send/text")
        assert reply.json["message"] == "Hello Alice! How can I help?"
