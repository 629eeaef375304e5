"""What a quiet window (`debounce:`) costs per event: CPU µs and store round trips, in one run.

    .venv/bin/python bench/debounce.py [--events 3000] [--burst 3] [--redis redis://127.0.0.1:6379/15]

The same rule (`set` a state variable from the text: no network) runs through the real
RuleProcessor and Executor on the embedded store (and on Redis with --redis, in a namespace of
its own, deleted afterwards), twice: answering every message at once, and with `debounce: 60s`,
messages coming in bursts of `--burst` per chat. For the debounced rule the cost is split in
holding a message (the worker's part) and answering (the jobs: one per message held, all but the
last of each burst finding they were re-armed), and added up per message. Store round trips
count every call to the store. Ratios are against the at-once rule in the same run.

`measure(...)` is the function a caller (bench/conversation.py) can use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botengine.actions import Services
from botengine.actions.executor import Executor
from botengine.processing import RuleProcessor
from botengine.rules.engine import RuleSet
from botengine.sample_events import make_event
from botengine.storage import Incoming, Storage
from botengine.storage.disk import DiskStorage

logging.disable(logging.CRITICAL)

RULE = """
rules:
  - name: remember
    {debounce}
    do:
      - set: {{var: said, value: "{{{{ text }}}}"}}
"""
ROUND_TRIPS = {"get", "put", "add", "delete", "incr", "scan", "schedule", "take_due", "finish", "jobs"}


class Counting:
    """A store that counts the calls made to it (every one is a round trip on Redis)."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in ROUND_TRIPS:
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)

        return counted


@dataclass
class Cost:
    held_us: float  # per message: processing it (at once: the whole answer)
    answer_us: float  # per message: its share of the jobs (debounced only)
    trips: float  # store round trips per message, both parts

    @property
    def us(self) -> float:
        return self.held_us + self.answer_us


async def _run(store: Storage, rules_dir: Path, window: str | None, events: int, burst: int) -> Cost:
    (rules_dir / "rules.yaml").write_text(RULE.format(debounce=f"debounce: {window}" if window else ""))
    rules = RuleSet.load([rules_dir])
    counting = Counting(store)
    shared: Any = counting
    processor = RuleProcessor(lambda: rules, shared, Executor(Services(storage=shared)))
    chats = max(1, events // burst)
    incoming = []
    for n in range(chats * burst):  # each chat's messages one after another: a burst per chat
        chat = f"4470{n // burst:08d}@c.us"
        body = json.dumps(make_event(text=f"message {n}", sender=chat)).encode()
        incoming.append(
            Incoming("default", f"e{n}-{secrets.token_hex(4)}", "message", chat, body, time.time())
        )
    started = time.process_time()
    for event in incoming:
        await processor(event)
    held = time.process_time() - started
    jobs = await store.jobs()
    started = time.process_time()
    for job in jobs:  # what the scheduler does when they fall due (not waited for here)
        await processor.run_job(job)
        await counting.finish(job.id)
    answer = time.process_time() - started
    total = len(incoming)
    return Cost(held / total * 1e6, answer / total * 1e6, sum(counting.calls.values()) / total)


async def measure(events: int = 3000, burst: int = 3, redis_url: str | None = None) -> dict[str, Cost]:
    """{"disk at once", "disk debounce", …}: the cost per message of each, measured in this run."""
    costs: dict[str, Cost] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, window in (("at once", None), ("debounce", "60s")):
            for round_ in range(2):  # the second round is kept: the first warms imports and caches
                path = Path(tmp) / f"{name}-{round_}"
                (path / "rules").mkdir(parents=True)
                store = DiskStorage(path / "data", sync="normal")
                costs[f"disk {name}"] = await _run(store, path / "rules", window, events, burst)
                await store.close()
            if redis_url:
                costs[f"redis {name}"] = await _redis(
                    redis_url, Path(tmp) / f"r-{name}", window, events, burst
                )
    return costs


async def _redis(url: str, path: Path, window: str | None, events: int, burst: int) -> Cost:
    from botengine.testing.redis_scratch import scratch_redis_store

    (path / "rules").mkdir(parents=True)
    async with scratch_redis_store(url, "bench-debounce") as store:
        return await _run(store, path / "rules", window, events, burst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--burst", type=int, default=3, help="messages per chat, one burst")
    parser.add_argument("--redis", default=None, help="also on this Redis (a namespace of its own)")
    args = parser.parse_args()
    costs = asyncio.run(measure(args.events, args.burst, args.redis))
    print(
        f"{args.events} messages, bursts of {args.burst} per chat; CPU µs and store round trips per message"
    )
    for backend in ("disk", "redis"):
        base = costs.get(f"{backend} at once")
        windowed = costs.get(f"{backend} debounce")
        if base is None or windowed is None:
            continue
        print(f"{backend:5} at once:   {base.us:8.1f} µs  {base.trips:5.1f} round trips")
        print(
            f"{backend:5} debounce:  {windowed.us:8.1f} µs  {windowed.trips:5.1f} round trips "
            f"(holding {windowed.held_us:.1f} µs + answering {windowed.answer_us:.1f} µs)  "
            f"ratio ×{windowed.us / base.us:.2f} CPU, ×{windowed.trips / base.trips:.2f} round trips"
        )


if __name__ == "__main__":
    main()
