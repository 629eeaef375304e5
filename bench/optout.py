"""What the opt-out check costs each send: CPU µs and store round trips, against no check, in one run.

    .venv/bin/python bench/optout.py [--events 3000] [--redis redis://127.0.0.1:6379/15]

The same rule (`reply: "ok"` to every private message) runs through the real RuleProcessor and
Executor, the Wawp client answering from an in-process transport (no network), on the embedded
store (and on Redis with --redis, in a namespace of its own, deleted afterwards):

    without       the reply as a kind that does not send (`sends=False`): no consent check
    checked       the real `reply`: one store read per send (the person has not opted out)
    opted out     the real `reply` to people who all opted out: skipped, no request at all
    + keywords    `checked` with the built-in STOP/START words on (the defaults): each message's
                  text is compared with them (no store read unless it is a START word)

and, alone, `refusal()` (actions/consent.py) per call: to a person (a store read) and to a group
(none); and `Keywords.word_of()` per ordinary message (CPU only). Ratios are against `without`
in the same run; each case keeps its cheapest of three rounds (after a warm-up round).

`measure(...)` is the function a caller (bench/conversation.py) can use.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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

from botengine.actions import ACTIONS, ActionContext, Services
from botengine.actions.consent import refusal
from botengine.actions.executor import Executor
from botengine.actions.messaging import REPLY, ReplyParams
from botengine.config import Settings
from botengine.events import EventView, parse_envelope, view_of
from botengine.keywords import Keywords
from botengine.optouts import StoreOptOuts
from botengine.processing import RuleProcessor
from botengine.rules.engine import RuleSet
from botengine.sample_events import make_event
from botengine.storage import Incoming, Storage
from botengine.wawp import CredentialStore, WawpClient

logging.disable(logging.CRITICAL)

ROUNDS = 3
UNCHECKED = "reply_unchecked"  # the reply, registered as a kind that does not send: no check
ACTIONS.setdefault(UNCHECKED, dataclasses.replace(REPLY, name=UNCHECKED, sends=False))


@dataclass
class Cost:
    us: float  # CPU µs per event (per call for refusal alone)
    trips: float  # store round trips per event (per call)


def _wawp() -> WawpClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": f"true_x_{secrets.token_hex(6)}"})

    credentials = CredentialStore({"BOTENGINE_WAWP_TOKEN": "bench"})
    return WawpClient(credentials, base_url="http://wawp.bench", transport=httpx.MockTransport(answer))


_TAGS: dict[str, int] = {}  # each case of each round writes to people of its own


def _person(n: int, tag: str) -> str:
    return f"44{_TAGS.setdefault(tag, len(_TAGS)):03d}{n:08d}@c.us"


def _events(count: int, tag: str) -> list[Incoming]:
    found = []
    for n in range(count):
        chat = _person(n, tag)
        body = json.dumps(make_event(text=f"message {n}", sender=chat)).encode()
        found.append(Incoming("default", f"e{tag}{n}-{secrets.token_hex(4)}", "message", chat, body, 0.0))
    return found


async def _events_cost(
    store: Storage, rules_dir: Path, kind: str, events: list[Incoming], keywords: Keywords | None = None
) -> Cost:
    (rules_dir / "rules.yaml").write_text(f'rules:\n  - name: answer\n    do: [{{{kind}: "ok"}}]\n')
    rules = RuleSet.load([rules_dir])
    counting: Any = Counting(store)
    executor = Executor(Services(storage=counting, wawp=_wawp()))
    processor = RuleProcessor(lambda: rules, counting, executor, keywords=keywords)
    started = time.process_time()
    for event in events:
        await processor(event)
    spent = time.process_time() - started
    return Cost(spent / len(events) * 1e6, sum(counting.calls.values()) / len(events))


async def _refusal_cost(store: Storage, count: int, to: str) -> Cost:
    counting: Any = Counting(store)
    view = _view("hi")
    ctx = ActionContext(view, "bench", "0", Services(storage=counting))
    params = ReplyParams(text="ok")
    kind = ACTIONS["send"]
    started = time.process_time()
    for n in range(count):
        await refusal(kind, params.model_copy(update={"to": to or _person(n, "R9")}), ctx)
    spent = time.process_time() - started
    return Cost(spent / count * 1e6, sum(counting.calls.values()) / count)


async def _round(store: Storage, folder: Path, events: int, tag: str) -> dict[str, Cost]:
    costs: dict[str, Cost] = {}
    keywords = Keywords.configured(Settings())
    for n in range(events):  # the people of "opted out"
        await StoreOptOuts(store).add("default", _person(n, tag + "3"))
    for name, kind, part, words in (
        ("without", UNCHECKED, "0", None),
        ("checked", "reply", "1", None),
        ("+ keywords", "reply", "2", keywords),
        ("opted out", "reply", "3", None),
    ):
        rules_dir = folder / f"{tag}-{part}"
        rules_dir.mkdir(parents=True)
        costs[name] = await _events_cost(store, rules_dir, kind, _events(events, tag + part), words)
    costs["refusal(): a person"] = await _refusal_cost(store, events, "")
    costs["refusal(): a group"] = await _refusal_cost(store, events, "120363025912345678@g.us")
    costs["word_of(): a message"] = _keyword_cost(keywords, events)
    return costs


def _view(text: str) -> EventView:
    envelope = parse_envelope(json.dumps(make_event(text=text)).encode())
    assert not isinstance(envelope, list)
    return view_of(envelope)


def _keyword_cost(keywords: Keywords, count: int) -> Cost:
    """The built-in keywords' look at one ordinary message (CPU only: no store)."""
    views = [_view(f"message {n}") for n in range(100)]
    started = time.process_time()
    for n in range(count):
        keywords.word_of(views[n % 100])
    return Cost((time.process_time() - started) / count * 1e6, 0.0)


async def _measure_on(store: Storage, folder: Path, events: int, rounds: int = ROUNDS) -> dict[str, Cost]:
    """The cheapest of `rounds` rounds (after one to warm up) for each case: the machine is shared,
    and noise only ever adds time."""
    await _round(store, folder, max(events // 10, 10), "W")
    found = [await _round(store, folder, events, f"R{n}") for n in range(rounds)]
    return {name: min((costs[name] for costs in found), key=lambda c: c.us) for name in found[0]}


async def measure(events: int = 3000, redis_url: str | None = None) -> dict[str, dict[str, Cost]]:
    """{"disk": {"without": Cost, "checked": …, "+ keywords": …, "opted out": …, "refusal(): …": …}}"""
    return await on_disk_and_redis(_measure_on, events, redis_url, "bench-optout")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--redis", default=None, help="also on this Redis (a namespace of its own)")
    args = parser.parse_args()
    found = asyncio.run(measure(args.events, args.redis))
    print(f"{args.events} events; CPU µs and store round trips per event (per call for refusal())")
    for backend, costs in found.items():
        base = costs["without"]
        for name, cost in costs.items():
            ratio = f"×{cost.us / base.us:.2f} CPU, {cost.trips - base.trips:+.1f} round trips vs without"
            print(f"{backend:5} {name:20} {cost.us:8.1f} µs  {cost.trips:4.1f} round trips  ({ratio})")


if __name__ == "__main__":
    main()
