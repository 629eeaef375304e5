"""Poison messages and heavy rules against a real engine process: nothing freezes, nothing is lost.

Before the budgets (issue 10), on main: a backtracking regex froze the engine 8–12 s on a
28-character message and for good on a long one; nested `range` loops froze it 13 s; a template
with `{{ 10**(10**7) }}` stopped it from starting at all, and saved while it ran froze it 11–17 s
and killed the rules watcher. Now each event goes to the dead-letter queue with the reason, in
plain words, while /healthz keeps answering within a second, and later saves still reload.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from botengine.testing import eventually, make_event
from botengine.testing.probe import HealthProbe
from botengine.testing.server import free_port, start_engine

pytestmark = pytest.mark.slow
SECRET = "poison-test-secret"
HEADERS = {"content-type": "application/json", "x-webhook-secret": SECRET}

POISON = """
rules:
  - name: backtracking
    if: {text: {pattern: '^(a|a)+(?=b)', backtracking: true}}
    do: [{reply: never}]
  - name: loops
    if: {equals: loops}
    do: [{reply: "{% for i in range(20000) %}{% for j in range(20000) %}{% endfor %}{% endfor %}done"}]
  - name: power
    if: {equals: power}
    do: [{reply: "{{ 10**(10**7) }}"}]
  - name: expr-power
    if: {expr: "text == 'expr' and 10**4000000 > 1"}
    do: [{reply: x}]
  - name: repeat
    if: {equals: repeat}
    do: [{reply: "{{ 'a'*10**9 }}"}]
  - name: width
    if: {equals: width}
    do: [{reply: '{{ "{:>100000000}".format(1) }}'}]
  - name: doubled
    if: {expr: "text == 'doubled' and len(str(DOUBLED)) > 0"}
    do: [{reply: x}]
  - name: formatted
    if: {equals: formatted}
    do: [{reply: "{% set s = 'x' * 999999 %}{{ ('{0}' * 3000).format(s)|length }}"}]
  - name: fine
    if: {equals: ping}
    do: [{reply: pong}]
""".replace("DOUBLED", "[" * 40 + "'x'" + "] * 2" * 40)

# message → the reason its dead letter gives (first, so `dlq list` shows it)
EXPECTED = {
    "a" * 40 + "!": "the regex /^(a|a)+(?=b)/ took more than 0.1 s on this message",
    "loops": "the template ran more than 100,000 loop steps",
    "power": "10 ** 10000000 would have about 10,000,000 digits (the limit is 4,300)",
    "expr": "10 ** 4000000 would have about 4,000,000 digits (the limit is 4,300)",
    "repeat": "repeating text would make 1,000,000,000 characters (the limit is 1,000,000)",
    "width": "a format width of 100,000,000 (the limit is 1,000,000)",
    # a list holding the list before it twice, forty deep: hours in one str() before the weights
    "doubled": "building a value of more than 4,000,000 characters as text",
    # three gigabytes in one call before its size was known
    "formatted": "formatting text would make 3,000,006,000 characters",
}


def engine(root: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {"BOTENGINE_SECRET": SECRET, "BOTENGINE_LOG_JSON": "true"}
    return start_engine(root / "rules", root / "data", log, port=port, extra=["--dry-run"], env=env)


def dead_letters(data_dir: Path) -> list[str]:
    """`botengine dlq list`, as an operator reads it (one line per entry)."""
    command = [sys.executable, "-m", "botengine", "dlq", "--data-dir", str(data_dir), "list"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.splitlines()


def details(data_dir: Path, entry_id: str) -> str:
    """The last error of one dead letter, from `botengine dlq show`."""
    command = [sys.executable, "-m", "botengine", "dlq", "--data-dir", str(data_dir), "show", entry_id]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return str(json.loads(done.stdout)["errors"][-1]["error"])


def post(base: str, text: str) -> None:
    body = json.dumps(make_event(text=text))
    assert (
        httpx.post(f"{base}/webhook/whatsapp", content=body, headers=HEADERS, timeout=10).status_code == 200
    )


def dry_run_lines(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if '"msg": "dry run: would reply"' in line]


def test_poison_events_are_dead_lettered_while_the_engine_keeps_answering(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "poison.yaml").write_text(POISON)
    port, log = free_port(), tmp_path / "serve.log"
    server = engine(tmp_path, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        with HealthProbe(base) as probe:
            for text in EXPECTED:
                post(base, text)
            post(base, "ping")  # an ordinary message, after the poison ones
            letters = eventually(
                lambda: len(found := dead_letters(tmp_path / "data")) >= len(EXPECTED) and found,
                timeout=60,
                what="every poison event in the dead-letter queue",
            )
            eventually(lambda: any("pong" in line for line in dry_run_lines(log)), timeout=30)

            # a heavy template saved while the engine runs: it loads at once, later saves too
            (rules / "late.yaml").write_text(
                "rules:\n  - name: late\n    if: {equals: late}\n    do: [{reply: '{{ 10**(10**7) }}'}]\n"
            )
            eventually(lambda: loaded(log) == [10], timeout=20, what="the late rule to load")
            post(base, "late")
            eventually(lambda: len(dead_letters(tmp_path / "data")) == len(EXPECTED) + 1, timeout=30)
            (rules / "late.yaml").unlink()
            eventually(lambda: loaded(log) == [10, 9], timeout=20, what="a later save to reload")
        longest = probe.longest()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert len(letters) == len(EXPECTED)
    for reason in EXPECTED.values():
        assert sum(f": BudgetExceededError: {reason}" in line for line in letters) == 1, (reason, letters)
    for line in letters:  # `dlq show` has the whole reason, ending with the rule's file:line
        assert re.search(r"poison\.yaml:\d+\)$", details(tmp_path / "data", line.split()[0]))
    print(f"\nlongest /healthz answer: {longest:.2f} s over {probe.answers} probes")
    assert probe.failures == 0
    assert longest < 1.0, f"/healthz took {longest:.2f} s to answer"


def loaded(log: Path) -> list[int]:
    """How many rules each reload brought in, from the JSON log."""
    counts = []
    for line in log.read_text(errors="replace").splitlines():
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("msg") == "rules reloaded":
            counts.append(int(entry["rules"]))
    return counts


def test_the_rules_watcher_restarts_and_readyz_says_so_meanwhile(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("rules:\n  - {name: a, if: {equals: ping}, do: [{reply: pong}]}\n")
    port, log = free_port(), tmp_path / "serve.log"
    server = engine(tmp_path, port, log)
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        return httpx.get(f"{base}/readyz", timeout=10).status_code == 200

    try:
        assert ready()
        shutil.rmtree(rules)  # the watcher cannot hear a deleted directory: it must start over
        eventually(lambda: not ready(), timeout=20, what="/readyz to say not ready")
        rules.mkdir()
        (rules / "r.yaml").write_text("rules:\n  - {name: b, if: {equals: ping}, do: [{reply: pang}]}\n")
        eventually(ready, timeout=30, what="the watcher to run again")
        post(base, "ping")  # the rules saved while it was down are live
        eventually(lambda: any("pang" in line for line in dry_run_lines(log)), timeout=30)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert "the rules watcher stopped (it restarts): the rules directory" in log.read_text()
