"""What branches and questions cost per event: CPU µs and store round trips, beside a plain reply.

    .venv/bin/python bench/flow.py [--events 500] [--rounds 3] [--redis redis://127.0.0.1:6379/15]

Every scenario runs through the real RuleProcessor and Executor on the embedded store (and on
Redis with --redis, in a namespace of its own, deleted afterwards). Replies go through the real
Wawp client to an httpx MockTransport that answers like Wawp (no sockets, no server: the figures
are the engine's own), the same for every scenario:

    reply        `reply: "Thanks: {{ text }}"`, the baseline
    if           `if: {equals: hi}` with then:/else:, one reply in the branch taken
    choose       three options (text regex, state, expr) and a default, one reply
    bystander    the reply rule beside an `ask` rule: a message in a chat with no question waiting
    ask          "order": the question sent, stored, its time limit scheduled
    answer       the answer: validated (`expect: number`), kept in state, the next reply sent

Ratios are against `reply` in the same run. `measure(...)` is the function a caller
(bench/conversation.py) can use.
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
from pathlib import Path
from typing import Any

import httpx
from debounce import Counting  # bench/debounce.py

from botengine.actions import Services
from botengine.actions.executor import Executor
from botengine.processing import RuleProcessor
from botengine.rules.engine import RuleSet
from botengine.sample_events import make_event
from botengine.storage import Incoming, Storage
from botengine.storage.disk import DiskStorage
from botengine.wawp import CredentialStore, WawpClient

logging.disable(logging.CRITICAL)

REPLY = """
  - name: plain
    do: [{reply: "Thanks: {{ text }}"}]
"""
RULES = {
    "reply": REPLY,
    "if": """
  - name: branch
    do:
      - if: {equals: hi}
        then: [{reply: "Hello!"}]
        else: [{reply: "Thanks: {{ text }}"}]
""",
    "choose": r"""
  - name: menu
    do:
      - choose:
          - if: {text: '^\s*order (?P<n>\d+)'}
            do: [{reply: "Order {{ n }}"}]
          - if: {state: {menu: main}}
            do: [{reply: "Menu"}]
          - if: {expr: "len(text) > 500"}
            do: [{reply: "Long"}]
        default: [{reply: "Thanks: {{ text }}"}]
""",
    "bystander": REPLY.replace("name: plain", "name: plain\n    if: {expr: \"text != 'order'\"}")
    + """
  - name: form
    if: {equals: order}
    do:
      - ask: "Your order number?"
        as: order
        expect: number
      - reply: "Order {{ state.order }}: thanks"
""",
}
RULES["ask"] = RULES["answer"] = RULES["bystander"]


def _events(texts: list[str], chats: int) -> list[Incoming]:
    found = []
    for text in texts:
        for n in range(chats):
            chat = f"4470{n:08d}@c.us"
            body = json.dumps(make_event(text=text, sender=chat)).encode()
            found.append(Incoming("default", f"e-{secrets.token_hex(6)}", "message", chat, body, time.time()))
    return found


async def _run(store: Storage, rules_dir: Path, scenario: str, events: int) -> tuple[float, float]:
    """(CPU µs, round trips) per event of `scenario`'s measured events."""
    (rules_dir / "rules.yaml").write_text("rules:" + RULES[scenario])
    rules = RuleSet.load([rules_dir])
    counting = Counting(store)
    shared: Any = counting
    sent = Counter[str]()

    def wawp_answers(request: httpx.Request) -> httpx.Response:
        sent[request.url.path] += 1
        return httpx.Response(200, json={"id": f"true_x_{secrets.token_hex(8)}"})

    wawp = WawpClient(
        CredentialStore({"BOTENGINE_WAWP_TOKEN": "t"}),
        base_url="http://wawp",
        transport=httpx.MockTransport(wawp_answers),
    )
    processor = RuleProcessor(lambda: rules, shared, Executor(Services(storage=shared, wawp=wawp)))
    before = {"ask": [], "answer": ["order"]}.get(scenario, [])
    measured = {"ask": ["order"], "answer": ["10423"], "bystander": ["hello"]}.get(scenario, ["hi there"])
    for event in _events(before, events):  # the questions the answers answer: not measured
        await processor(event)
    counting.calls.clear()
    incoming = _events(measured, events)
    started = time.process_time()
    for event in incoming:
        await processor(event)
    spent = time.process_time() - started
    texts = sent["/v2/send/text"]
    assert texts >= len(incoming), f"{scenario}: {texts} messages sent for {len(incoming)} events"
    await wawp.http.aclose()
    return spent / len(incoming) * 1e6, sum(counting.calls.values()) / len(incoming)


async def measure(
    events: int = 500, redis_url: str | None = None, rounds: int = 3
) -> dict[str, tuple[float, float]]:
    """{"disk reply": (µs, round trips), "disk ask", …}: the cost per event, measured in this run.

    Rounds interleave the scenarios (a burst of load elsewhere hits them alike); each keeps its
    lowest CPU of `rounds` (after a first round that warms imports and caches): the figure least
    disturbed by the other processes of a shared machine."""
    costs: dict[str, tuple[float, float]] = {}
    backends = ["disk", *(["redis"] if redis_url else [])]
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds + 1):
            for backend in backends:
                for scenario in RULES:
                    path = Path(tmp) / f"{backend}-{scenario}-{round_}"
                    (path / "rules").mkdir(parents=True)
                    if backend == "redis":
                        assert redis_url is not None
                        cost = await _redis(redis_url, path, scenario, events)
                    else:
                        store = DiskStorage(path / "data", sync="normal")
                        cost = await _run(store, path / "rules", scenario, events)
                        await store.close()
                    name = f"{backend} {scenario}"
                    if round_ and (name not in costs or cost[0] < costs[name][0]):
                        costs[name] = cost
    return costs


async def _redis(url: str, path: Path, scenario: str, events: int) -> tuple[float, float]:
    from botengine.testing.redis_scratch import scratch_redis_store

    async with scratch_redis_store(url, "bench-flow") as store:
        return await _run(store, path / "rules", scenario, events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="events per scenario (one per chat)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds kept (the lowest CPU of them)")
    parser.add_argument("--redis", default=None, help="also on this Redis (a namespace of its own)")
    args = parser.parse_args()
    costs = asyncio.run(measure(args.events, args.redis, args.rounds))
    print(
        f"{args.events} events per scenario, lowest of {args.rounds} interleaved rounds; "
        "CPU µs and store round trips per event; ratio to reply"
    )
    for backend in ("disk", "redis"):
        base = costs.get(f"{backend} reply")
        if base is None:
            continue
        for scenario in RULES:
            us, trips = costs[f"{backend} {scenario}"]
            print(
                f"{backend:5} {scenario:9} {us:8.1f} µs  {trips:5.1f} round trips  "
                f"×{us / base[0]:.2f} CPU  +{trips - base[1]:.1f} round trips"
            )


if __name__ == "__main__":
    main()
