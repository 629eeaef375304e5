"""`botengine serve` as a person starts it: what the start-up log says, what `/` shows, and the
option values --help lists."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from botengine.cli import build_parser
from botengine.testing.server import free_port
from tests.conftest import REPO


@contextmanager
def serving(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, list[str]]]:
    """The real command in its own process; yields its URL and the log lines read so far."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOTENGINE_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "botengine",
            "serve",
            *args,
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        cwd=REPO,
        env={**clean, **(env or {})},
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        while not any("Uvicorn running on" in line for line in lines):
            line = process.stderr.readline()
            assert line and time.monotonic() < deadline, "".join(lines)
            lines.append(line)
        yield f"http://127.0.0.1:{port}", lines
    finally:
        process.terminate()
        process.communicate(timeout=20)  # reads the rest and closes the pipe


def test_the_start_up_log_names_the_dashboard_and_the_rules(tmp_path: Path) -> None:
    with serving(tmp_path, "rules", "--dry-run", env={"BOTENGINE_ADMIN_TOKEN": "t0ken"}) as (url, lines):
        log = "".join(lines)
        assert "loaded 3 rules from rules/" in log
        assert f"dashboard on {url}/dashboard/" in log
        home = httpx.get(url + "/", follow_redirects=False)
        assert (home.status_code, home.headers["location"]) == (303, "/dashboard/")


def test_without_a_login_set_the_log_and_home_page_say_how_to_turn_the_dashboard_on(tmp_path: Path) -> None:
    with serving(tmp_path, "--rules", "rules", "--dry-run") as (url, lines):
        assert "dashboard off: set BOTENGINE_ADMIN_TOKEN" in "".join(lines)
        home = httpx.get(url + "/")
        assert home.status_code == 200 and "botengine is running" in home.text
        assert "BOTENGINE_ADMIN_TOKEN" in home.text and "/webhook/whatsapp" in home.text


@pytest.mark.parametrize(
    ("flag", "values"), [("--retry-policy", "exponential, linear, constant"), ("--log-level", "debug, info")]
)
def test_serve_help_lists_the_values_an_option_takes(flag: str, values: str) -> None:
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    [action] = [a for a in serve._actions if flag in a.option_strings]
    assert values in (action.help or "")
    assert action.choices is not None and set(values.split(", ")) <= set(action.choices)


def test_serve_refuses_a_value_not_in_the_list(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--log-level", "loud"])
    assert "invalid choice: 'loud'" in capsys.readouterr().err
