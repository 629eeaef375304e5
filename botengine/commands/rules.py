"""`botengine check | schema | dry-run | test`: the tools around the rules language.

None of them has side effects: dry runs and tests evaluate on in-memory storage and go through
the live path (the rule processor and the executor) in dry-run mode (botengine/dry_run.py), so
what they print is what would be sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botengine.actions.plan import ActionOutcome
from botengine.config import setting
from botengine.dry_run import dry_run_event, scheduled_runs
from botengine.errors import BotengineError
from botengine.inline_tests import run_tests
from botengine.keywords import Keywords
from botengine.rules.engine import RuleSet
from botengine.rules.loader import load
from botengine.rules.model import rules_schema

RULES_HELP = "rules directories or files (default: $BOTENGINE_RULES or rules)"


def add_rules_arguments(parser: argparse.ArgumentParser, *, positional: bool = True) -> None:
    """Rules given the same way to every command: as arguments, or with --rules (repeatable)."""
    if positional:
        parser.add_argument("paths", nargs="*", default=[], metavar="RULES", help=RULES_HELP)
    parser.add_argument("--rules", action="append", default=[], metavar="DIR", help=RULES_HELP)


def rules_paths(args: argparse.Namespace) -> list[str]:
    """What the command was given, by either form; the engine's default otherwise."""
    given = [*getattr(args, "paths", []), *args.rules]
    return given or [str(setting("rules_dir"))]


def _parse_now(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a date and time: {text!r} (e.g. 2025-11-29T21:00:00Z)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser("check", help="validate rules files; each problem as path:line:col")
    add_rules_arguments(check)
    check.set_defaults(run=cmd_check)

    schema = sub.add_parser("schema", help="print the JSON Schema of a rules file (for editors)")
    schema.set_defaults(run=cmd_schema)

    dry = sub.add_parser("dry-run", help="what the rules would do with events, without doing it")
    dry.add_argument(
        "events",
        nargs="*",
        help="event JSON files, or - for standard input (a rules directory or .yaml file given here "
        "counts as --rules)",
    )
    add_rules_arguments(dry, positional=False)
    dry.add_argument(
        "--at",
        type=_parse_now,
        help="without event files: what the scheduled rules due in that minute would do (ISO 8601); "
        "with them, the same as --now",
    )
    dry.add_argument("--json", action="store_true", help="one JSON object per planned action")
    dry.add_argument("--explain", action="store_true", help="say why each other candidate rule did not match")
    dry.add_argument("--now", type=_parse_now, help="evaluate as if it were this time (ISO 8601)")
    dry.set_defaults(run=cmd_dry_run)

    test = sub.add_parser("test", help="run the tests: written in rules files")
    add_rules_arguments(test)
    test.add_argument(
        "--now", type=_parse_now, help="run the tests that give no `now:` as if it were this time (ISO 8601)"
    )
    test.set_defaults(run=cmd_test)


# --- check -------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    loaded = load(rules_paths(args))
    for problem in loaded.problems:
        print(problem)
    errors, warnings = len(loaded.errors), len(loaded.warnings)
    summary = f"{len(loaded.rules)} rules, {len(loaded.tests)} tests in {len(loaded.files)} files"
    if errors:
        print(f"{errors} problem(s), {warnings} warning(s) ({summary})", file=sys.stderr)
        return 1
    print(f"ok: {summary}" + (f", {warnings} warning(s)" if warnings else ""))
    print(Keywords.from_environment().explained())
    return 0


# --- schema ------------------------------------------------------------------------------------


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(rules_schema(), indent=2, ensure_ascii=False))
    return 0


# --- dry-run -----------------------------------------------------------------------------------


def _read_events(sources: list[str]) -> list[tuple[str, bytes]]:
    """(where, body) per event: a file holds one event; stdin one event, a JSON array or JSON lines."""
    events: list[tuple[str, bytes]] = []
    for source in sources:
        if source == "-":
            text = sys.stdin.read()
            stripped = text.strip()
            if stripped.startswith("["):
                events.extend(("stdin", json.dumps(e).encode()) for e in json.loads(stripped))
            elif "\n" in stripped and stripped.startswith("{") and not _is_one_json(stripped):
                events.extend(("stdin", line.encode()) for line in stripped.splitlines() if line.strip())
            else:
                events.append(("stdin", stripped.encode()))
        else:
            path = Path(source)
            if not path.is_file():
                raise BotengineError(f"{source}: no such event file")
            events.append((source, path.read_bytes()))
    return events


def _is_one_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _is_rules(source: str) -> bool:
    path = Path(source)
    return path.is_dir() or path.suffix in (".yaml", ".yml")


def cmd_dry_run(args: argparse.Namespace) -> int:
    args.paths = [s for s in args.events if _is_rules(s)]
    events = [s for s in args.events if not _is_rules(s)]
    rules = RuleSet.load(rules_paths(args))
    if not events:
        if args.at is None:
            raise BotengineError("name at least one event file (or - for standard input), or --at TIME")
        return asyncio.run(_dry_run_schedule(rules, args.at, as_json=args.json, explain=args.explain))
    now = args.now or args.at
    read = _read_events(events)
    return asyncio.run(_dry_run(rules, read, as_json=args.json, explain=args.explain, now=now))


async def _dry_run_schedule(rules: RuleSet, at: datetime, *, as_json: bool, explain: bool) -> int:
    """The scheduled rules that run in the minute of `at`, each as the ticker would queue it."""
    start = at.replace(second=0, microsecond=0)
    runs = scheduled_runs(rules, start, start + timedelta(minutes=1))
    if not runs:
        print(f"no scheduled rule runs at {start.isoformat()}", file=sys.stderr)
        for rule in (r for r in rules.rules if r.timetable is not None):
            assert rule.timetable is not None
            following = rule.timetable.next_after(start)
            when = following.isoformat() if following else "never"
            print(f"  rule {rule.name} ({rule.timetable.describe()}): next at {when}", file=sys.stderr)
        return 0
    events = [(f"scheduled run of {run.rule} at {run.at.isoformat()}", run.body()) for run in runs]
    times = [run.at for run in runs]
    return await _dry_run(rules, events, now=None, as_json=as_json, explain=explain, times=times)


async def _dry_run(
    rules: RuleSet,
    events: list[tuple[str, bytes]],
    *,
    as_json: bool,
    explain: bool,
    now: datetime | None,
    times: list[datetime] | None = None,
) -> int:
    status = 0
    for n, (where, body) in enumerate(events):
        try:
            processed = await dry_run_event(rules, body, now=times[n] if times else now)
        except BotengineError as exc:
            print(f"{where}: {exc}", file=sys.stderr)
            status = 1
            continue
        view, evaluation = processed.view, processed.evaluation
        if not as_json:
            sender = view.sender.id if view.sender else "-"
            print(f"event {view.id} ({view.type}, chat {view.chat.id or '-'}, from {sender})")
        for run in evaluation.matches:
            if not as_json:
                print(f"  rule {run.rule}: matched")
            for outcome in (o for o in processed.outcomes if o.rule == run.rule):
                _print_planned(view.id, outcome, as_json)
        if not evaluation.matches and not as_json:
            print("  no rule matched")
        for entry in (e for e in evaluation.trace if e.outcome == "held" and not as_json):
            print(f"  rule {entry.rule}: {entry.reason}")  # debounce: what would wait, and for how long
        if explain and not as_json:
            for entry in evaluation.trace:
                if not entry.matched:
                    trigger = f"{entry.trigger}: " if entry.trigger else ""
                    print(f"  rule {entry.rule} ({entry.location}): {entry.label} — {trigger}{entry.reason}")
    return status


def _print_planned(event_id: str, outcome: ActionOutcome, as_json: bool) -> None:
    if as_json:
        planned: dict[str, Any] = {
            "event": event_id,
            "rule": outcome.rule,
            "action": outcome.kind,
            "index": outcome.index,
        }
        if outcome.status == "failed":
            planned["error"] = outcome.detail
        else:
            planned.update(params=outcome.params, preview=outcome.preview)
        print(json.dumps(planned, ensure_ascii=False))
    elif outcome.status == "failed":
        print(f"    {outcome.kind}: ERROR {outcome.detail}")
    else:
        print(f"    {outcome.kind}: {json.dumps(outcome.preview or outcome.params, ensure_ascii=False)}")


# --- test --------------------------------------------------------------------------------------


def cmd_test(args: argparse.Namespace) -> int:
    loaded = load(rules_paths(args))
    if loaded.errors:
        for problem in loaded.problems:
            print(problem)
        print("the rules do not load: fix them first (botengine check)", file=sys.stderr)
        return 1
    rules = RuleSet(loaded.rules, version=loaded.version, tests=loaded.tests)
    outcomes = asyncio.run(run_tests(rules, now=args.now))
    failed = [o for o in outcomes if not o.passed]
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        print(f"{mark} {outcome.location} {outcome.name}")
        if outcome.message:
            print(f"        {outcome.message}")
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
