"""`botengine dlq`: --data-dir before or after the verb, a mistyped data directory is an error,
and `replay` waits for the engine and says whether each replay worked."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from botengine.cli import main
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine

RULES = """
rules:
  - name: greet
    if: {contains: hi}
    do: [{reply: "Hello!"}]
"""


@pytest.fixture
def fake() -> Iterator[FakeWawp]:
    wawp = FakeWawp()
    with wawp.serve():
        yield wawp


@pytest.fixture
def bot(tmp_path: Path, fake: FakeWawp) -> Iterator[RunningEngine]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(textwrap.dedent(RULES))
    fake.fail("400", times=1)  # a refusal: dead-lettered at once
    with running_engine(tmp_path / "rules", tmp_path / "data", wawp_url=fake.url) as engine:
        engine.post(make_event(text="hi"))
        engine.wait_until(engine.dead_letters, what="a dead letter")
        yield engine


def test_data_dir_before_or_after_the_verb(
    bot: RunningEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    for argv in (["dlq", "--data-dir", data, "list"], ["dlq", "list", "--data-dir", data]):
        assert main(argv) == 0
        captured = capsys.readouterr()
        assert "rule greet → reply" in captured.out and "400" in captured.out
        assert captured.err == "1 dead letter(s)\n"


def test_a_mistyped_data_dir_is_an_error_not_an_empty_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    for wrong in (tmp_path / "dta", tmp_path / "empty"):
        assert main(["dlq", "list", "--data-dir", str(wrong)]) == 2
        err = capsys.readouterr().err
        assert f"no engine data in {wrong}" in err and "dead letter" not in err
    assert not (tmp_path / "dta").exists()  # and nothing was created there
    assert main(["codes", "--data-dir", str(tmp_path / "dta")]) == 2


def test_replay_waits_and_says_it_worked(
    bot: RunningEngine, tmp_path: Path, fake: FakeWawp, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dlq", "replay", "--all", "--data-dir", str(tmp_path / "data")]) == 0
    err = capsys.readouterr().err
    assert err == f"\r[{'#' * 30}] 1/1\n1 worked\n"  # the bar counts replays done, not queued
    assert [c.status for c in fake.calls_to("/v2/send/text")] == [400, 200]
    assert bot.dead_letters() == []


def test_replay_says_which_failed_again_and_why(
    bot: RunningEngine, tmp_path: Path, fake: FakeWawp, capsys: pytest.CaptureFixture[str]
) -> None:
    [(old, _)] = bot.dead_letters()
    fake.fail("400", times=1)
    assert main(["dlq", "replay", old, "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert f"failed again: {old}: " in err and "400" in err and "a new dead letter holds it" in err
    [(new, _)] = bot.dead_letters()
    assert new != old


def test_replay_with_no_engine_running_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(textwrap.dedent(RULES))
    with running_engine(tmp_path / "rules", tmp_path / "data", wawp_url="http://127.0.0.1:9") as bot:
        bot.post(make_event(text="hi"))
        bot.wait_until(
            lambda: bot.dead_letters() if bot.dead_letters() else None, timeout=30, what="a letter"
        )
    # the engine is stopped: the replay is queued, and nobody runs it
    assert main(["dlq", "replay", "--all", "--wait", "1s", "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert "0/1 finished" in err and "1 not run yet: is the engine running" in err
