"""Poison messages and heavy templates against a real engine: how long does /healthz stall?

    .venv/bin/python bench/poison.py [SCENARIO…] [--cap 30]

Each scenario starts `botengine serve --dry-run` on loopback with one rule, posts one event (or,
for the load-time scenarios, saves a rules file while the engine runs), and probes /healthz every
50 ms until the event is processed or dead-lettered, or `--cap` seconds pass. It prints the longest
/healthz answer, whether the engine still answers, and what became of the event (the `dlq list`
line, or the processing log line). The same command measures main before and after a fix.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from botengine.testing import make_event
from botengine.testing.probe import HealthProbe
from botengine.testing.server import free_port, start_engine

SECRET = "poison-bench-secret"
ADMIN = "poison-bench-admin"
HEADERS = {"content-type": "application/json", "x-webhook-secret": SECRET}
AUTH = {"authorization": f"Bearer {ADMIN}"}
GOOD = "rules:\n  - name: ok\n    if: {equals: ping}\n    do: [{reply: pong}]\n"


@dataclass(frozen=True)
class Scenario:
    name: str
    rule: str  # the YAML of one rule (under `rules:`)
    text: str = "hello"  # the message posted
    at_load: bool = False  # the rule is saved while the engine runs, instead of an event posted


def reply_rule(template: str) -> str:
    return f"  - name: heavy\n    do: [{{reply: {json.dumps(template)}}}]\n"


def expr_rule(expression: str) -> str:
    return f"  - name: heavy\n    if: {{expr: {json.dumps(expression)}}}\n    do: [{{reply: x}}]\n"


def regex_rule(pattern: str, extra: str = "") -> str:
    return f"  - name: poison\n    if: {{text: {{pattern: '{pattern}'{extra}}}}}\n    do: [{{reply: x}}]\n"


NESTED = "{% for i in range(20000) %}{% for j in range(20000) %}{% endfor %}{% endfor %}done"
SCENARIOS = [
    Scenario("regex-28", regex_rule("^(a+)+(?=b)"), "a" * 27 + "c"),
    Scenario("regex-long", regex_rule("^(a+)+(?=b)"), "a" * 5000 + "c"),
    Scenario("regex-28-optin", regex_rule("^(a+)+(?=b)", ", backtracking: true"), "a" * 27 + "c"),
    Scenario("regex-long-optin", regex_rule("^(a+)+(?=b)", ", backtracking: true"), "a" * 5000 + "c"),
    Scenario("regex-aa-optin", regex_rule("^(a|a)+(?=b)", ", backtracking: true"), "a" * 40 + "!"),
    Scenario("nested-range", reply_rule(NESTED)),
    Scenario("expr-power", expr_rule("10**4000000 > 1")),
    Scenario("template-power", reply_rule("{{ 10**(10**7) }}")),
    Scenario("template-power-load", reply_rule("{{ 10**(10**7) }}"), at_load=True),
    Scenario("repeat", reply_rule("{{ ('a'*10**9)|length }}")),
    Scenario("format-width", reply_rule('{{ "{:>100000000}".format(1)|length }}')),
    Scenario("center", reply_rule("{{ 'a'|center(10**9)|length }}")),
]


def outcome_of(log: Path) -> str | None:
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "event processed":
            return f"processed: {entry.get('outcome')}"
    return None


def dlq_lines(root: Path) -> str:
    command = [sys.executable, "-m", "botengine", "dlq", "--data-dir", str(root / "data"), "list"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return (done.stdout + done.stderr).strip()


def run(scenario: Scenario, cap: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "rules").mkdir()
        rules_file = root / "rules" / "rules.yaml"
        rules_file.write_text(GOOD if scenario.at_load else "rules:\n" + scenario.rule)
        port, log = free_port(), root / "serve.log"
        try:
            env = {"BOTENGINE_SECRET": SECRET, "BOTENGINE_LOG_JSON": "true", "BOTENGINE_ADMIN_TOKEN": ADMIN}
            process = start_engine(
                root / "rules", root / "data", log, port=port, extra=["--dry-run"], env=env
            )
        except RuntimeError as exc:
            return {"scenario": scenario.name, "outcome": str(exc)}
        try:
            base = f"http://127.0.0.1:{port}"
            result: dict[str, object] = {"scenario": scenario.name}
            first_version = httpx.get(f"{base}/readyz", headers=AUTH, timeout=5).json()["rules"]["version"]
            started = time.monotonic()
            with HealthProbe(base) as prober:
                time.sleep(0.3)
                if scenario.at_load:
                    rules_file.write_text(GOOD + scenario.rule)
                else:
                    event = make_event(text=scenario.text)
                    httpx.post(
                        f"{base}/webhook/whatsapp", content=json.dumps(event), headers=HEADERS, timeout=cap
                    )
                finished = None
                while time.monotonic() - started < cap:
                    if scenario.at_load:
                        try:
                            ready = httpx.get(f"{base}/readyz", headers=AUTH, timeout=cap).json()
                        except httpx.HTTPError:
                            ready = {}
                        rules = ready.get("rules", {})
                        if rules.get("last_attempt_at", 0) > 0 and rules.get("rules") == 2:
                            finished = "loaded"
                        elif rules.get("last_error"):
                            finished = "refused: " + "; ".join(rules["last_error"])[:200]
                    else:
                        finished = outcome_of(log)
                    if finished:
                        break
                    time.sleep(0.1)
                time.sleep(0.3)
                result["longest_healthz_s"] = round(prober.longest(), 2)
            result["outcome"] = finished or f"nothing after {cap:.0f} s (still frozen)"
            result["seconds"] = round(time.monotonic() - started, 1)
            if scenario.at_load:
                # does a later save still reload? (the watcher died on main)
                rules_file.write_text(GOOD.replace("pong", "pong2"))
                deadline = time.monotonic() + 10
                reloaded = False
                while time.monotonic() < deadline and not reloaded:
                    try:
                        state = httpx.get(f"{base}/readyz", headers=AUTH, timeout=5).json()["rules"]
                        reloaded = state["version"] not in (first_version, "") and state["rules"] == 1
                    except (httpx.HTTPError, KeyError, ValueError):
                        pass
                    time.sleep(0.2)
                result["later_save_reloads"] = reloaded
        finally:  # never leave an engine behind, whatever went wrong
            process.kill()
            process.wait(10)
        if not scenario.at_load:
            result["dlq"] = dlq_lines(root)[-300:]
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="names (default: all)")
    parser.add_argument("--cap", type=float, default=30.0, help="seconds to wait per scenario")
    args = parser.parse_args()
    wanted = [s for s in SCENARIOS if not args.scenarios or s.name in args.scenarios]
    for scenario in wanted:
        print(json.dumps(run(scenario, args.cap), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
