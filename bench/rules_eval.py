"""Rules evaluation: indexed evaluation vs a naive linear scan, regex Set vs re.search, load time,
10,000 rules of every kind with a few that fire, and the bytes of an event's trace.

    .venv/bin/python bench/rules_eval.py [--rounds 10] [--only mixed,trace]

The two sides of each comparison are timed ALTERNATELY, in interleaved rounds (engine then
baseline, then baseline then engine, …), so a neighbour's load on a shared machine hits both
sides alike. Each round gives a median per side and their ratio; the report shows the median
ratio, the range of ratios over the rounds, and the 1-minute load average during the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from botengine.dashboard.traces import TraceStore
from botengine.events import EventView, parse_envelope, view_of
from botengine.processing import Processed
from botengine.rules import RuleSet
from botengine.rules.loader import CompiledRule
from botengine.rules.triggers import MatchContext
from botengine.rules.variables import variables_of
from botengine.storage.keys import key
from botengine.storage.memory import MemoryStorage
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


def keyword_rules(count: int) -> list[str]:
    """`count` keyword rules on `message`, none matching the benchmark's text."""
    return [
        f"  - name: k{i}\n    if: {{contains: keyword{i}}}\n    do: [{{reply: x}}]\n" for i in range(count)
    ]


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


def mixed_rules(count: int) -> list[str]:
    """`count` rules of every indexable kind (with an expression beside a keyword in one of ten);
    about 1 in 700 fires for the benchmark's message (a keyword, a regex, the chat kind), at most 20."""
    kinds = [
        "if: {{contains: [keyword{i}, other{i}]}}",
        "if: {{chat: contact, contains: 'word{i}'}}",
        "if: {{equals: 'menu {i}'}}",
        "if: {{starts_with: 'order {i}'}}",
        "if: {{sender: '4474{i:08d}@c.us'}}",
        "if: {{chat_id: ['12036{i:013d}@g.us']}}",
        "if: {{text: '\\b(order|invoice)\\s*#?{i:05d}\\b'}}",
        "on: message.reaction\n    if: {{emoji: '{emoji}'}}",
        "on: message.ack\n    if: {{ack: read, sender: '4474{i:08d}@c.us'}}",
        "if: {{contains: 'price{i}', expr: 'len(text) > {i}'}}",
    ]
    emojis = ["❤", "👍", "😂", "🙏"]
    found = []
    for i in range(count):
        trigger = kinds[i % len(kinds)].format(i=i, emoji=emojis[i % 4])
        if i % 700 == 0 and i // 700 < 20:  # one of the few that fire for the benchmark's message
            trigger = ["if: {contains: order}", "if: {chat: contact}", "if: {text: 'arrived\\b'}"][i % 3]
        found.append(f"  - name: m{i}\n    {trigger}\n    do: [{{reply: x}}]\n")
    return found


def linear_re(patterns: list[re.Pattern[str]], text: str) -> list[int]:
    return [i for i, p in enumerate(patterns) if p.search(text)]


async def timed(func: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    """`runs` timings of `func`, in microseconds."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        await func()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


@dataclass
class Duel:
    """Two sides timed in alternate rounds; `ratio` is baseline / engine per round."""

    engine: list[float] = field(default_factory=list)  # per-round medians, µs
    baseline: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)  # the engine's per-round p99
    load: list[float] = field(default_factory=list)  # 1-minute load average after each round

    @property
    def ratios(self) -> list[float]:
        return [b / e for e, b in zip(self.engine, self.baseline, strict=True)]

    def line(self) -> str:
        ratios = self.ratios
        return (
            f"{statistics.median(self.engine):9.1f} {statistics.median(self.p99):9.1f} "
            f"{statistics.median(self.baseline):10.1f} {statistics.median(ratios):7.1f}× "
            f"{min(ratios):5.1f}–{max(ratios):<5.1f} load {min(self.load):.1f}–{max(self.load):.1f}"
        )


async def duel(
    engine: Callable[[], Awaitable[object]],
    baseline: Callable[[], Awaitable[object]],
    rounds: int,
    runs: int,
    baseline_runs: int | None = None,
) -> Duel:
    result = Duel()
    for round_ in range(rounds):
        sides = [(engine, runs, True), (baseline, baseline_runs or runs, False)]
        if round_ % 2:
            sides.reverse()  # engine first, then baseline first: neither always gets the warm cache
        for func, n, is_engine in sides:
            samples = sorted(await timed(func, n))
            if is_engine:
                result.engine.append(statistics.median(samples))
                result.p99.append(samples[max(int(len(samples) * 0.99) - 1, 0)])
            else:
                result.baseline.append(statistics.median(samples))
        result.load.append(os.getloadavg()[0])
    return result


HEADER = "  median µs    p99 µs  baseline µs   ratio  range        load"


async def mixed(rounds: int) -> None:
    """10,000 rules of every kind, a few firing: load time, the first event, then the rest."""
    event = view(make_event(text=BODY, sender="447441429009@c.us"))
    print("\n## 10,000 rules of every kind (≤ 20 fire): load, first event, then indexed vs naive scan")
    for count in (1_000, 10_000):
        loads, firsts = [], []
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(3):  # a fresh load each time: the first event after a load is the stall
                start = time.perf_counter()
                rules = write(Path(tmp), mixed_rules(count))
                loads.append((time.perf_counter() - start) * 1000)
                gc.collect()  # as `botengine serve` does once the rules are loaded (app.py)
                start = time.perf_counter()
                fired = await rules.evaluate(event, None, dry_run=True)
                firsts.append((time.perf_counter() - start) * 1e6)
        result = await duel(
            lambda rules=rules: rules.evaluate(event, None, dry_run=True),
            lambda rules=rules: naive(rules, event),
            rounds,
            60 if count <= 1000 else 20,
            10 if count <= 1000 else 3,
        )
        print(
            f"{count:>6} rules, {len(fired.matches)} fire: load {min(loads):,.0f}–{max(loads):,.0f} ms; "
            f"first event {min(firsts):,.0f}–{max(firsts):,.0f} µs"
        )
        print(f"{'':>6}" + HEADER)
        print(f"{'':>6} " + result.line())


async def trace_bytes() -> None:
    """The bytes of one event's trace as the dashboard stores it, by rule count (none fires)."""
    event = view(make_event(text=BODY))
    print("\n## bytes of one event's trace (rules on `message`, none fires; the dashboard's record)")
    for count in (10, 100, 1_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            rules = write(Path(tmp), keyword_rules(count))
        storage = MemoryStorage()
        evaluation = await rules.evaluate(event, storage)
        await TraceStore(storage).record(Processed(event, evaluation))
        stored = [v for _, v in await storage.scan(key("trace", "event", "")) if isinstance(v, dict)]
        size = len(json.dumps(stored[0], ensure_ascii=False).encode())
        print(f"{count:>6} rules: {size:>9,} bytes ({len(stored[0]['rules'])} rule entries)")


async def main(rounds: int, only: set[str]) -> None:
    if "mixed" in only:
        await mixed(rounds)
    if "trace" in only:
        await trace_bytes()
    print(f"# {rounds} rounds per comparison, sides alternating; medians of the per-round medians")
    if "spread" in only:
        await spread(rounds)
    if "regex" in only:
        await regexes(rounds)
    if "load" in only:
        load_time()


async def spread(rounds: int) -> None:
    event = view(make_event(text=BODY))
    print("\n## spread over 20 event types: one message event, indexed vs naive linear scan")
    print(f"{'rules':>6} {'cands':>5}" + HEADER)
    for count in (10, 100, 1_000, 10_000):
        with tempfile.TemporaryDirectory() as tmp:
            rules = write(Path(tmp), spread_rules(count))
        runs = 300 if count <= 1000 else 40
        result = await duel(
            lambda rules=rules: rules.evaluate(event, None, dry_run=True),
            lambda rules=rules: naive(rules, event),
            rounds,
            runs,
        )
        print(f"{count:>6} {len(rules.candidates('message')):>5} " + result.line())


async def regexes(rounds: int) -> None:
    event = view(make_event(text=BODY))
    print("\n## 1,000 regex rules on the same event type (600-byte text): RE2 Set vs linear re.search")
    with tempfile.TemporaryDirectory() as tmp:
        rules = write(Path(tmp), regex_rules(1000))
    patterns = [re.compile(rf"\b(order|invoice)\s*#?{i:04d}\b", re.IGNORECASE) for i in range(1000)]
    hit = view(make_event(text=BODY + " order #0421"))
    assert [r.rule for r in (await rules.evaluate(hit, None, dry_run=True)).matches] == ["re421"]

    async def scan(text: str = event.text) -> object:
        return linear_re(patterns, text)

    print(f"{'':>12}" + HEADER)
    for label, target in (("no match", event), ("one match", hit)):
        result = await duel(
            lambda target=target: rules.evaluate(target, None, dry_run=True),
            lambda target=target: scan(target.text),
            rounds,
            60,
            20,
        )
        print(f"{label:>12} " + result.line())


def load_time() -> None:
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="alternate rounds per comparison")
    parser.add_argument(
        "--only", default="spread,regex,load,mixed,trace", help="sections to run, comma-separated"
    )
    args = parser.parse_args()
    asyncio.run(main(args.rounds, set(args.only.split(","))))
