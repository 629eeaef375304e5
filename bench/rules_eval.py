"""Rules evaluation: indexed evaluation vs a naive linear scan, regex Set vs re.search, load time.

    .venv/bin/python bench/rules_eval.py

Prints median and p99 per event, and the ratios, all measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from botengine.events import EventView, parse_envelope, view_of
from botengine.rules import RuleSet
from botengine.rules.loader import CompiledRule
from botengine.rules.triggers import MatchContext
from botengine.rules.variables import variables_of
from botengine.testing import make_event

TYPES = ["message", "message.reaction", "message.ack", "group.participants.update", "presence.update"]
TYPES += [f"custom.type{i}" for i in range(15)]  # 20 event types in all
BODY = ("Hello, I would like to know about the order I placed yesterday, it has not arrived " * 8)[:600]


def view(envelope: dict[str, object]) -> EventView:
    parsed = parse_envelope(json.dumps(envelope).encode())
    assert not isinstance(parsed, list)
    return view_of(parsed)


def write(directory: Path, rules: list[str]) -> RuleSet:
    (directory / "bench.yaml").write_text("rules:\n" + "".join(rules))
    return RuleSet.load([directory])


def spread_rules(count: int) -> list[str]:
    """Rules spread over 20 event types, each with a keyword trigger (none matches the event)."""
    return [
        f"  - name: r{i}\n    on: {TYPES[i % len(TYPES)]}\n"
        f"    if: {{contains: keyword{i}}}\n    do: [{{reply: x}}]\n"
        for i in range(count)
    ]


def regex_rules(count: int) -> list[str]:
    return [
        f"  - name: re{i}\n    if: {{text: '\\b(order|invoice)\\s*#?{i:04d}\\b'}}\n    do: [{{reply: x}}]\n"
        for i in range(count)
    ]


async def naive(rules: RuleSet, event: EventView) -> list[str]:
    """Every rule, every trigger, each regex with Python's re.search: the baseline."""
    fired = []
    ctx = MatchContext(event, None, __import__("datetime").datetime.now(), lambda: variables_of(event))
    for rule in rules.rules:
        if not rule.matches_type(event.type):
            continue
        if all(c.run is not None and c.run(ctx) is None for c in rule.checks):
            fired.append(rule.name)
    return fired


def linear_re(patterns: list[re.Pattern[str]], text: str) -> list[int]:
    return [i for i, p in enumerate(patterns) if p.search(text)]


async def timed(func: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        await func()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def main() -> None:
    event = view(make_event(text=BODY))
    print("## spread over 20 event types: one message event, indexed vs naive linear scan")
    header = ("rules", "candidates", "median µs", "p99 µs", "naive med", "naive p99", "ratio")
    print(" ".join(f"{h:>10}" for h in header))
    for count in (10, 100, 1_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            rules = write(Path(tmp), spread_rules(count))
        runs = 2000 if count <= 1000 else 300
        med, p99 = await timed(lambda rules=rules: rules.evaluate(event, None, dry_run=True), runs)
        nmed, np99 = await timed(lambda rules=rules: naive(rules, event), runs)
        candidates = len(rules.candidates("message"))
        cells = (f"{count}", f"{candidates}", f"{med:.1f}", f"{p99:.1f}", f"{nmed:.1f}", f"{np99:.1f}")
        print(" ".join(f"{c:>10}" for c in cells) + f" {nmed / med:>9.1f}×")

    print("\n## 1,000 regex rules on the same event type (600-byte text): RE2 Set vs linear re.search")
    with tempfile.TemporaryDirectory() as tmp:
        rules = write(Path(tmp), regex_rules(1000))
    patterns = [re.compile(rf"\b(order|invoice)\s*#?{i:04d}\b", re.IGNORECASE) for i in range(1000)]
    hit = view(make_event(text=BODY + " order #0421"))
    assert [r.rule for r in (await rules.evaluate(hit, None, dry_run=True)).matches] == ["re421"]
    med, p99 = await timed(lambda: rules.evaluate(event, None, dry_run=True), 300)
    hmed, hp99 = await timed(lambda: rules.evaluate(hit, None, dry_run=True), 300)

    async def scan() -> object:
        return linear_re(patterns, event.text)

    lmed, lp99 = await timed(scan, 100)
    print(f"engine, no match:   median {med:8.1f} µs  p99 {p99:8.1f} µs")
    print(f"engine, one match:  median {hmed:8.1f} µs  p99 {hp99:8.1f} µs")
    print(f"linear re.search:   median {lmed:8.1f} µs  p99 {lp99:8.1f} µs")
    print(f"ratio (linear / engine, no match): {lmed / med:.1f}×   (one match): {lmed / hmed:.1f}×")

    print("\n## load + validate 1,000 rules (regex, keyword and template rules)")
    mixed = regex_rules(400) + spread_rules(600)
    mixed = [r.replace("reply: x", "reply: 'Hello {{ sender.name }}'") for r in mixed]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench.yaml").write_text("rules:\n" + "".join(mixed))
        loads = []
        for _ in range(5):
            start = time.perf_counter()
            loaded = RuleSet.load([tmp])
            loads.append((time.perf_counter() - start) * 1000)
        assert len(loaded) == 1000
    print(f"load 1,000 rules: median {statistics.median(loads):.0f} ms (best {min(loads):.0f} ms)")
    _ = CompiledRule  # the naive scan reads the same compiled rules


if __name__ == "__main__":
    asyncio.run(main())
