"""What human handover costs an ordinary message event: CPU µs and store round trips, in one run.

    .venv/bin/python bench/handover.py [--events 1000] [--redis redis://127.0.0.1:6379/15]

The same ordinary rule (a `reply`, through the real Wawp client answered in process: no network)
runs through the real RuleProcessor and Executor on the embedded store (and on Redis with
--redis, in a namespace of its own, deleted afterwards), for customer messages in chats no person
has:

    without     the rule alone: a set without handovers gets no check and records no send
    with        the rule beside a `human_reply` → `handover` rule and a `#bot` → `resume` rule:
                the replying rule gets the implicit `handover: false` (one store read per event,
                shared by all its rules), and the reply is recorded (before and after the send)
    held        as `with`, each chat with a person: the rule is held back (no action runs)

and, on their own: the rules' evaluation (where the check's read shows), an own message (the
bot's echo, told from a person's by its recorded id), and recording one send (before and after).
Ratios are against `without` in the same run; each kind is measured in five interleaved rounds
and its fastest kept (the machine is shared).

`measure(...)` is the function a caller (bench/conversation.py) can use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from debounce import Counting  # bench/debounce.py
from stores import on_disk_and_redis  # bench/stores.py

from botengine.actions import Capability, Services
from botengine.actions.executor import Executor
from botengine.events import parse_envelope, view_of
from botengine.handover import Handovers, SentMessages
from botengine.processing import RuleProcessor
from botengine.rules.engine import RuleSet
from botengine.sample_events import make_event
from botengine.storage import Incoming, Storage
from botengine.wawp import CredentialStore, WawpClient

logging.disable(logging.CRITICAL)

ORDINARY = """
rules:
  - name: answer
    do:
      - reply: "Got it: {{ text }}"
"""
HANDING = (
    ORDINARY
    + """
  - name: back to the bot
    on: message.any
    if: {from_me: true, equals: "#bot"}
    do: [{resume: {}}]
    stop: true
  - name: a person answered
    on: message.any
    if: {human_reply: true}
    do: [{handover: {for: 12h}}]
"""
)


@dataclass
class Cost:
    us: float  # CPU µs per event (or per send)
    trips: float  # store round trips per event (or per send)


def _events(kind: str, count: int, tag: str) -> list[Incoming]:
    found = []
    for n in range(count):
        chat = f"4470{n:08d}@c.us"
        own = kind == "message.any"
        envelope = make_event(kind, text=f"message {n}", sender=chat, from_me=own)
        if own:
            envelope["payload"]["id"] = f"true_{chat}_{tag}{n:012d}"
        found.append(
            Incoming(
                "default", f"e{n}-{secrets.token_hex(4)}", kind, chat, json.dumps(envelope).encode(), 0.0
            )
        )
    return found


def _wawp_answer(request: httpx.Request) -> httpx.Response:
    """Wawp's answer to a send, in process: the real client's work without the network's."""
    chat = json.loads(request.content)["chatId"]
    return httpx.Response(200, json={"id": f"true_{chat}_{secrets.token_hex(10).upper()}"})


async def _events_cost(store: Storage, rules_dir: Path, text: str, events: list[Incoming]) -> Cost:
    """Whole events: rules, then the reply through the real Wawp client (its sends recorded as
    app.py has them recorded: while the set uses handovers)."""
    (rules_dir / "rules.yaml").write_text(text)
    rules = RuleSet.load([rules_dir])
    counting: Any = Counting(store)
    credentials = CredentialStore({"BOTENGINE_WAWP_TOKEN": "bench"})
    wawp = WawpClient(
        credentials, base_url="http://wawp.invalid", transport=httpx.MockTransport(_wawp_answer)
    )
    wawp.observer = SentMessages(counting, lambda: Capability.HANDOVER in rules.capabilities)
    processor = RuleProcessor(lambda: rules, counting, Executor(Services(storage=counting, wawp=wawp)))
    try:
        started = time.process_time()
        for event in events:
            await processor(event)
        spent = time.process_time() - started
    finally:
        await wawp.close()
    return Cost(spent / len(events) * 1e6, sum(counting.calls.values()) / len(events))


async def _evaluation_cost(store: Storage, rules_dir: Path, text: str, events: list[Incoming]) -> Cost:
    """The rules' evaluation alone (what the check adds to), without running the actions."""
    (rules_dir / "rules.yaml").write_text(text)
    rules = RuleSet.load([rules_dir])
    counting: Any = Counting(store)
    views = [view_of(parse(event.body)) for event in events]
    started = time.process_time()
    for view in views:
        await rules.evaluate(view, counting)
    spent = time.process_time() - started
    return Cost(spent / len(events) * 1e6, sum(counting.calls.values()) / len(events))


def parse(body: bytes) -> Any:
    parsed = parse_envelope(body)
    assert not isinstance(parsed, list)
    return parsed


async def _sends_cost(store: Storage, count: int, tag: str) -> Cost:
    counting: Any = Counting(store)
    sent = SentMessages(counting)
    started = time.process_time()
    for n in range(count):
        chat = f"4470{n:08d}@c.us"
        await sent.sending("default", chat, {"chatId": chat, "message": f"Hi {n}"})
        await sent.sent("default", chat, {"id": f"true_{chat}_{tag}{n:012d}"})
    spent = time.process_time() - started
    return Cost(spent / count * 1e6, sum(counting.calls.values()) / count)


async def _measure_on(store: Storage, folder: Path, events: int, rounds: int = 5) -> dict[str, Cost]:
    """Each kind measured in `rounds` interleaved rounds (the machine is shared): the fastest kept."""
    costs: dict[str, Cost] = {}

    def keep(name: str, cost: Cost) -> None:
        if name not in costs or cost.us < costs[name].us:
            costs[name] = cost

    for round_ in range(rounds + 1):  # round 0 warms imports and caches, and is not kept
        tag = f"R{round_}"
        found: dict[str, Cost] = {}
        for name, text in (("without", ORDINARY), ("with", HANDING)):
            rules_dir = folder / f"{name}-{round_}"
            rules_dir.mkdir(parents=True)
            found[name] = await _events_cost(store, rules_dir, text, _events("message", events, tag))
        for name, text in (("without: rules only", ORDINARY), ("with: rules only", HANDING)):
            rules_dir = folder / f"{name.split(':')[0]}-eval-{round_}"
            rules_dir.mkdir(parents=True)
            found[name] = await _evaluation_cost(store, rules_dir, text, _events("message", events, tag))
        found["bot send recorded"] = await _sends_cost(store, events, tag)
        rules_dir = folder / f"echo-{round_}"
        rules_dir.mkdir(parents=True)
        found["own message (echo)"] = await _events_cost(
            store, rules_dir, HANDING, _events("message.any", events, tag)
        )
        for n in range(events):
            await Handovers(store).start("default", f"4470{n:08d}@c.us", 3600)
        rules_dir = folder / f"held-{round_}"
        rules_dir.mkdir(parents=True)
        found["held"] = await _events_cost(store, rules_dir, HANDING, _events("message", events, tag))
        for n in range(events):
            await Handovers(store).end("default", f"4470{n:08d}@c.us")
        if round_:
            for name, cost in found.items():
                keep(name, cost)
    return costs


async def measure(events: int = 1000, redis_url: str | None = None) -> dict[str, dict[str, Cost]]:
    """{"disk": {"without": Cost, "with": …, "held": …, "own message (echo)": …, "bot send recorded": …}}"""
    return await on_disk_and_redis(_measure_on, events, redis_url, "bench-handover")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per kind and round (5 rounds)")
    parser.add_argument("--redis", default=None, help="also on this Redis (a namespace of its own)")
    args = parser.parse_args()
    found = asyncio.run(measure(args.events, args.redis))
    print(
        f"{args.events} events a round; CPU µs and store round trips per event (per send: bot send recorded)"
    )
    for backend, costs in found.items():
        for name, cost in costs.items():
            base = costs["without: rules only" if "rules only" in name else "without"]
            ratio = f"×{cost.us / base.us:.2f} CPU, {cost.trips - base.trips:+.1f} round trips"
            print(f"{backend:5} {name:22} {cost.us:8.1f} µs  {cost.trips:4.1f} round trips  ({ratio})")


if __name__ == "__main__":
    main()
