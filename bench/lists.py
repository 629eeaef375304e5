"""What a list the bot keeps costs per event, beside the same rule reading a list file, in one run.

    .venv/bin/python bench/lists.py [--events 4000] [--members 1000] [--others 100] [--redis redis://127.0.0.1:6379/15]

One rule `sender: {in: vip}` (and `--others` rules waiting for other words, as a real set has),
evaluated by the real RuleSet for `--events` messages, half of them from people on the list:
once with vip as lists/vip.txt (`--members` lines: a hash lookup in the rule index, built at
load), once with vip kept in the store (`add_to: vip` names it; `--members` people put on it
first): one store read per sender form, for every event the rule meets, since the index cannot
hold what changes between events. CPU µs (process time) and wall µs per event, and store round
trips per event (every call to the store; on Redis each is a network round trip). Ratios are
store list / list file, in the same run (rounds alternate, the fastest of each is kept), on the
embedded disk store and on Redis with --redis
(a namespace of its own, deleted afterwards).

`measure(...)` is the function a caller (bench/conversation.py) can use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debounce import Counting  # bench/debounce.py

from botengine.events import parse_envelope, view_of
from botengine.rules.engine import RuleSet
from botengine.sample_events import make_event
from botengine.storage import Storage
from botengine.storage.disk import DiskStorage
from botengine.store_lists import StoreLists

logging.disable(logging.CRITICAL)

RULE = """
rules:
  - name: vip
    if: {sender: {in: vip}}
    do: [{reply: "Hello VIP"}]
"""
OTHER = """
  - name: other-{n}
    if: {{equals: word{n}}}
    do: [{{reply: "{n}"}}]
"""
KEEPER = """
  - name: keeper
    if: {equals: join}
    do: [{add_to: vip}]
"""


@dataclass
class Cost:
    cpu_us: float
    wall_us: float
    trips: float
    fired: int


def _member(n: int) -> str:
    return f"4470{n:08d}@c.us"


def _rules(folder: Path, kept: bool, members: int, others: int) -> RuleSet:
    folder.mkdir(parents=True)
    text = RULE + "".join(OTHER.format(n=n) for n in range(others)) + (KEEPER if kept else "")
    (folder / "rules.yaml").write_text(text)
    if not kept:
        (folder / "lists").mkdir()
        (folder / "lists" / "vip.txt").write_text("".join(_member(n) + "\n" for n in range(members)))
    return RuleSet.load([folder])


async def _run(store: Storage, folder: Path, kept: bool, events: int, members: int, others: int) -> Cost:
    rules = _rules(folder, kept, members, others)
    if kept:
        lists = StoreLists(store)
        for n in range(members):
            await lists.add("default", "vip", _member(n))
    views = []
    for n in range(events):  # every other message from someone on the list
        sender = _member(n % members) if n % 2 == 0 else f"1555{n:08d}@c.us"
        parsed = parse_envelope(json.dumps(make_event(text=f"message {n}", sender=sender)).encode())
        assert not isinstance(parsed, list)
        views.append(view_of(parsed))
    counting: Any = Counting(store)
    fired = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for view in views:
        evaluation = await rules.evaluate(view, counting)
        fired += len(evaluation.matches)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Cost(cpu / events * 1e6, wall / events * 1e6, sum(counting.calls.values()) / events, fired)


async def measure(
    events: int = 4000, members: int = 1000, others: int = 100, redis_url: str | None = None, rounds: int = 3
) -> dict[str, Cost]:
    """{"disk file", "disk store", "redis file", "redis store"}: per-event costs, this run.

    File and store rounds alternate, `rounds` times each, and the fastest of each is kept: on a
    shared machine a neighbour's burst then slows both sides, not one."""
    costs: dict[str, Cost] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds + 1):  # round 0 warms imports and caches, and is not kept
            for kind, kept in (("file", False), ("store", True)):
                path = Path(tmp) / f"{kind}-{round_}"
                store = DiskStorage(path / "data", sync="normal")
                _keep(
                    costs,
                    f"disk {kind}",
                    await _run(store, path / "rules", kept, events, members, others),
                    round_,
                )
                await store.close()
                if redis_url:
                    cost = await _redis(
                        redis_url, Path(tmp) / f"r-{kind}-{round_}", kept, events, members, others
                    )
                    _keep(costs, f"redis {kind}", cost, round_)
    return costs


def _keep(costs: dict[str, Cost], name: str, cost: Cost, round_: int) -> None:
    if round_ and (name not in costs or cost.cpu_us < costs[name].cpu_us):
        costs[name] = cost


async def _redis(url: str, path: Path, kept: bool, events: int, members: int, others: int) -> Cost:
    from botengine.testing.redis_scratch import scratch_redis_store

    async with scratch_redis_store(url, "bench-lists") as store:
        return await _run(store, path / "rules", kept, events, members, others)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--members", type=int, default=1000, help="people on the list")
    parser.add_argument("--others", type=int, default=100, help="other rules in the set")
    parser.add_argument("--redis", default=None, help="also on this Redis (a namespace of its own)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the fastest is kept")
    args = parser.parse_args()
    costs = asyncio.run(measure(args.events, args.members, args.others, args.redis, args.rounds))
    print(
        f"{args.events} messages (half from the {args.members} people on vip), "
        f"1 + {args.others} rules; per event:"
    )
    for backend in ("disk", "redis"):
        file, store = costs.get(f"{backend} file"), costs.get(f"{backend} store")
        if file is None or store is None:
            continue
        for name, cost in (("list file", file), ("store list", store)):
            print(
                f"{backend:5} {name:10}: {cost.cpu_us:7.1f} µs CPU  {cost.wall_us:7.1f} µs wall  "
                f"{cost.trips:4.2f} round trips  ({cost.fired} fired)"
            )
        cpu, wall = store.cpu_us / file.cpu_us, store.wall_us / file.wall_us
        extra = store.trips - file.trips
        print(f"{backend:5} ratio     : ×{cpu:.2f} CPU, ×{wall:.2f} wall, +{extra:.2f} round trips")


if __name__ == "__main__":
    main()
