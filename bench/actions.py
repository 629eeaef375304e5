"""Actions benchmark: replies/s the executor sustains and webhook-to-send latency, against a baseline.

    .venv/bin/python bench/actions.py [--events 3000] [--rate R] [--seconds 10] [--sync full]

Runs `botengine fake-wawp` and `botengine serve` (rules: reply "ok {{ text }}" to every message,
and for messages containing "order" a webhook to the fake's /hooks/down) as subprocesses, the
engine pinned to core 0, the fake and this load generator to core 1. In one run it measures:
(1) the ceilings: bare client loops on core 0 posting /v2/send/text to the fake, with the
engine's client limits and concurrency: httpx's default client, and the engine's own
(botengine/outbound.py); (2) a burst of --events events posted at once: replies/s at the fake,
first to last; (3) a steady load of --rate events/s (default: half the burst's rate): time
from posting an event to the fake recording its reply; (4) the same loads while /hooks/down hangs
past the webhook timeout for the "order" chats (--order-share of the chats): the other chats'
replies/s and latency, as ratios to (2) and (3).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from poster import Poster  # bench/poster.py

from botengine.testing import make_event

BIN = Path(sys.executable).parent
CONCURRENCY = 64  # the engine's default --concurrency
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # as in botengine/wawp.py
HANG = 12  # seconds /hooks/down holds a call in the outage: more than the webhook's 10 s timeout
RULES = """rules:
  - name: echo
    do: [{reply: "ok {{ text }}"}]
  - name: order-hook
    if: {contains: order}
    do: [{webhook: {url: "%s/hooks/down", json: {text: "{{ text }}"}}}]
"""
SEQ = re.compile(r"m(\d+)$")
NAN = float("nan")


@dataclass
class Phase:
    name: str
    events: int
    replies: int  # replies to the other (not "order") chats recorded by the fake
    per_s: float  # those replies per second, first to last
    p50: float = NAN  # ms, posting an event → the fake recording its reply
    p99: float = NAN
    top: float = NAN
    answered_p50: float = NAN  # ms, the engine's 200 → the fake recording the reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


@contextlib.contextmanager
def started(command: list[str], log: Path, ready: str, core: int) -> Iterator[subprocess.Popen[bytes]]:
    taskset = ["taskset", "-c", str(core)] if shutil.which("taskset") else []
    env = {**os.environ, "BOTENGINE_WAWP_TOKEN": "bench", "BOTENGINE_LOG_JSON": "true"}
    with log.open("wb") as out:
        process = subprocess.Popen([*taskset, *command], stdout=out, stderr=out, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{command[1]} did not come up; see {log}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else NAN


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (max(times) - min(times)) if len(times) > 1 else 0.0


def bare_clients(fake: str) -> dict[str, httpx.AsyncClient]:
    """The bare clients measured as ceilings: httpx's default, and the engine's own when there."""
    found = {"httpx default": httpx.AsyncClient(base_url=fake, limits=LIMITS, timeout=30)}
    try:
        from botengine.outbound import http_client
    except ImportError:  # an engine from before botengine/outbound.py
        return found
    found["botengine.outbound"] = http_client(httpx.Timeout(30), base_url=fake)
    return found


async def ceiling(client: httpx.AsyncClient, calls: int) -> float:
    """Calls/s of a bare client loop against the fake: what any sender here could reach."""
    params = {"instance_id": "default", "access_token": "bench"}
    async with client:

        async def loop(left: Iterator[int]) -> None:
            for i in left:
                body = {"chatId": f"1555{i % 200:07d}@c.us", "message": f"ok m{i}"}
                (await client.post("/v2/send/text", params=params, json=body)).raise_for_status()

        warm = iter(range(calls // 10))
        await asyncio.gather(*(loop(warm) for _ in range(CONCURRENCY)))
        left = iter(range(calls))
        start = time.perf_counter()
        await asyncio.gather(*(loop(left) for _ in range(CONCURRENCY)))
        return calls / (time.perf_counter() - start)


class Load:
    """Posts events to the engine and reads what the fake recorded."""

    def __init__(self, engine: str, fake: str, chats: int, order_share: float) -> None:
        self.client = httpx.AsyncClient(timeout=60)  # for the fake's control routes only
        self.poster = Poster(engine, connections=32)
        self.engine, self.fake, self.chats, self.order_share = engine, fake, chats, order_share
        self.seq = 0
        self.sent: dict[int, tuple[float, float]] = {}  # seq → (posted, answered), time.time()
        self.orders: set[int] = set()
        self.failed_posts = 0

    async def post(self, outage: bool) -> None:
        seq, self.seq = self.seq, self.seq + 1
        chat = seq % self.chats
        order = outage and chat < self.chats * self.order_share  # the same chats order every time
        event = make_event(text=("order " if order else "") + f"m{seq}", sender=f"1555{chat:07d}@c.us")
        if order:
            self.orders.add(seq)
        posted = time.time()
        status = await self.poster.post(event)
        self.failed_posts += status != 200
        self.sent[seq] = (posted, time.time())

    async def replies(self, seqs: set[int], timeout: float = 120) -> dict[int, float]:
        """seq → when the fake recorded its reply, once every one arrived (or after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while True:
            at: dict[int, float] = {}
            for call in (await self.client.get(self.fake + "/_fake/calls")).json():
                match = SEQ.search(str((call.get("json") or {}).get("message", "")))
                if call["path"] == "/v2/send/text" and match and int(match.group(1)) in seqs:
                    at.setdefault(int(match.group(1)), call["at"])
            if len(at) >= len(seqs) or time.monotonic() > deadline:
                return at
            await asyncio.sleep(0.5)

    async def burst(self, name: str, events: int, outage: bool) -> Phase:
        start = self.seq
        await asyncio.gather(*(self.post(outage) for _ in range(events)))
        return await self.measure(name, range(start, self.seq), latency=False)

    async def steady(self, name: str, per_s: float, seconds: float, outage: bool) -> Phase:
        start, loop = self.seq, asyncio.get_running_loop()
        t0, tasks = loop.time(), []
        for i in range(int(per_s * seconds)):
            await asyncio.sleep(max(0.0, t0 + i / per_s - loop.time()))
            tasks.append(asyncio.create_task(self.post(outage)))
        await asyncio.gather(*tasks)
        return await self.measure(name, range(start, self.seq), latency=True)

    async def measure(self, name: str, seqs: range, latency: bool) -> Phase:
        # an "order" chat's next reply waits for its hook to time out: wait for the others only
        other = await self.replies(set(seqs) - self.orders)
        phase = Phase(name, len(seqs), len(other), rate(list(other.values())))
        if latency:
            from_post = [(t - self.sent[s][0]) * 1000 for s, t in other.items()]
            phase.p50, phase.p99 = percentile(from_post, 0.5), percentile(from_post, 0.99)
            phase.top = max(from_post, default=NAN)
            phase.answered_p50 = percentile([(t - self.sent[s][1]) * 1000 for s, t in other.items()], 0.5)
        return phase


def counters(text: str, metric: str) -> dict[str, float]:
    pattern = rf"^{metric}_total\{{(.*)\}} ([\d.e+]+)$"
    return {labels.replace('"', ""): float(value) for labels, value in re.findall(pattern, text, re.M)}


async def run(args: argparse.Namespace, tmp: Path) -> None:
    fake_port, engine_port = free_port(), free_port()
    fake = f"http://127.0.0.1:{fake_port}"
    (tmp / "rules").mkdir()
    (tmp / "rules" / "bench.yaml").write_text(RULES % fake)
    fake_cmd = [str(BIN / "botengine"), "fake-wawp", "--port", str(fake_port)]
    engine_cmd = [
        str(BIN / "botengine"), "serve", "--host", "127.0.0.1", "--port", str(engine_port),
        "--rules", str(tmp / "rules"), "--data-dir", str(tmp / "data"), "--wawp-url", fake,
        "--send-rate", "0", "--sync", args.sync,
    ]  # fmt: skip
    with started(fake_cmd, tmp / "fake.log", fake + "/_fake/calls", core=1):
        pin(0)  # the baseline loops get the core the engine will have
        bases = {name: await ceiling(client, args.events) for name, client in bare_clients(fake).items()}
        pin(1)
        httpx.post(fake + "/_fake/reset")
        engine_url = f"http://127.0.0.1:{engine_port}"
        with started(engine_cmd, tmp / "engine.log", engine_url + "/healthz", core=0) as engine:
            print(f"engine pid {engine.pid}, fake on {fake}", file=sys.stderr)
            load = Load(engine_url + "/webhook/whatsapp", fake, args.chats, args.order_share)
            await load.burst("warm-up", 300, outage=False)
            burst = await load.burst("burst", args.events, outage=False)
            args.rate = args.rate or round(burst.per_s / 2)
            phases = [burst, await load.steady("steady", args.rate, args.seconds, outage=False)]
            spec = {"mode": "timeout", "path": "/hooks/down", "times": None, "delay": HANG}
            httpx.post(fake + "/_fake/fail", json=spec).raise_for_status()
            phases.append(await load.steady("outage steady", args.rate, args.seconds, outage=True))
            phases.append(await load.burst("outage burst", args.events, outage=True))
            metrics = httpx.get(engine_url + "/metrics").text
            calls = httpx.get(fake + "/_fake/calls").json()
            await load.client.aclose()
            load.poster.close()
    report(args, bases, phases)
    dead = sum(counters(metrics, "botengine_dead_letters").values())
    found = re.findall(
        r'"level": "(?:warning|error|critical)".*?"msg": "([^"]{,70})', (tmp / "engine.log").read_text()
    )
    warnings = Counter(re.sub(r"\d+(\.\d+)?", "N", msg) for msg in found)
    print(f"\nwebhook calls reaching /hooks/down: {sum(c['path'] == '/hooks/down' for c in calls)}")
    print(
        f"posts not answered 200: {load.failed_posts}, resent: {load.poster.resent}; dead letters: {dead:.0f}"
    )
    actions = {k: v for k, v in counters(metrics, "botengine_actions").items() if v}
    print("engine actions:", ", ".join(f"{k}: {v:.0f}" for k, v in actions.items()))
    print(f"engine log warnings/errors: {len(found)}")
    for msg, count in warnings.most_common(6):
        print(f"  {count:>6} × {msg}")


def report(args: argparse.Namespace, bases: dict[str, float], phases: list[Phase]) -> None:
    burst, steady, outage_steady, outage_burst = phases
    for name, calls in bases.items():
        print(
            f"\nbaseline: bare {name} loop → fake, {CONCURRENCY} concurrent, core 0: {calls:,.0f} calls/s",
            end="",
        )
        print(f"; burst replies/s × it: {burst.per_s / calls:.2f}")
    base = bases["httpx default"]
    print(f"engine on core 0 (--sync {args.sync}, --send-rate 0), fake and load generator on core 1;")
    print(f"steady loads at {args.rate:g} events/s for {args.seconds:g} s; in the outage phases, replies")
    print("count the other chats only (not the 'order' ones), and so do their latencies")
    header = ("phase", "events", "replies", "replies/s", "× base", "p50 ms", "p99 ms", "max ms", "200→p50")
    print(f"{header[0]:<15}" + "".join(f"{h:>10}" for h in header[1:]))
    for p in phases:
        latency = (p.p50, p.p99, p.top, p.answered_p50)
        cells = [f"{p.events}", f"{p.replies}", f"{p.per_s:,.0f}", f"{p.per_s / base:.2f}"]
        cells += [f"{v:.1f}" if v == v else "-" for v in latency]
        print(f"{p.name:<15}" + "".join(f"{c:>10}" for c in cells))
    share = f"{args.order_share:.0%}"
    print(f"\noutage: {share} of chats 'order', /hooks/down hangs {HANG} s (webhook timeout: 10 s)")
    print("the other chats, as ratios to the same load without the outage:")
    print(f"  burst replies/s  {outage_burst.per_s / burst.per_s:.2f}×")
    print(f"  steady p50       {outage_steady.p50 / steady.p50:.2f}×", end="")
    print(f"    p99 {outage_steady.p99 / steady.p99:.2f}×")


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--events", type=int, default=3000, help="events per burst")
    parser.add_argument("--rate", type=float, default=0, help="events/s of the steady loads")
    parser.add_argument("--seconds", type=float, default=10, help="length of a steady load")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--order-share", type=float, default=0.2, help="share of chats hitting the dead hook")
    parser.add_argument("--sync", choices=("full", "normal"), default="full")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: servers stop
    with tempfile.TemporaryDirectory(prefix="bench-actions-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
