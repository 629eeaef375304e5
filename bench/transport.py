"""Outbound HTTP clients compared: CPU per call and latency against the fake Wawp, in one run.

    .venv/bin/python bench/transport.py [--calls 3000] [--rounds 4] [--concurrency 64]

Starts `botengine fake-wawp` pinned to core 1 and, pinned to core 0, posts `/v2/send/text` with
each client in turn: `--concurrency` tasks sharing one client with the engine's limits (100
connections, HTTP/1.1 keep-alive, TLS verification on where it applies, 10 s timeouts). Rounds
are interleaved (each round runs every client once, each round in another order) and the
1-minute load average is recorded with each measurement: the machine is shared, so compare CPU
per call and ratios within a round, and read ranges over rounds.

Clients: httpx's default transport (httpcore), httpx with the `httpx-aiohttp` transport, httpx
with botengine's own aiohttp transport (botengine/outbound.py: the engine's client), aiohttp
directly, and aiosonic and niquests when installed (`pip install -e .[bench]`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
PARAMS = {"instance_id": "default", "access_token": "bench"}
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # as botengine/wawp.py
TIMEOUT = 10.0

Post = Callable[[str, dict[str, str]], Awaitable[int]]  # (path with query, JSON body) -> status


@dataclass
class Result:
    client: str
    calls_per_s: float
    cpu_us: float  # this process's CPU (user + system) per call
    p50_ms: float
    p99_ms: float
    load: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.asynccontextmanager
async def httpx_default(base: str) -> AsyncIterator[Post]:
    async with httpx.AsyncClient(base_url=base, limits=LIMITS, timeout=TIMEOUT) as client:

        async def post(path: str, body: dict[str, str]) -> int:
            return (await client.post(path, params=PARAMS, json=body)).status_code

        yield post


@contextlib.asynccontextmanager
async def httpx_aiohttp(base: str) -> AsyncIterator[Post]:
    from httpx_aiohttp import AiohttpTransport

    transport = AiohttpTransport(limits=LIMITS)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, transport=transport) as client:

        async def post(path: str, body: dict[str, str]) -> int:
            return (await client.post(path, params=PARAMS, json=body)).status_code

        yield post


@contextlib.asynccontextmanager
async def botengine_outbound(base: str) -> AsyncIterator[Post]:
    from botengine.outbound import http_client

    async with http_client(httpx.Timeout(TIMEOUT), base_url=base) as client:

        async def post(path: str, body: dict[str, str]) -> int:
            return (await client.post(path, params=PARAMS, json=body)).status_code

        yield post


@contextlib.asynccontextmanager
async def aiohttp_direct(base: str) -> AsyncIterator[Post]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=LIMITS.max_connections or 100)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

        async def post(path: str, body: dict[str, str]) -> int:
            async with session.post(path, params=PARAMS, json=body) as response:
                await response.read()
                return response.status

        yield post


@contextlib.asynccontextmanager
async def aiosonic_client(base: str) -> AsyncIterator[Post]:
    import aiosonic  # type: ignore[import-not-found]
    from aiosonic.connectors import TCPConnector  # type: ignore[import-not-found]
    from aiosonic.timeout import Timeouts  # type: ignore[import-not-found]

    pools = {":default": {"size": LIMITS.max_connections or 100}}
    client = aiosonic.HTTPClient(TCPConnector(pool_configs=pools))
    timeouts = Timeouts(request_timeout=TIMEOUT)

    async def post(path: str, body: dict[str, str]) -> int:
        response = await client.post(base + path, params=PARAMS, json=body, timeouts=timeouts)
        await response.content()
        return int(response.status_code)

    try:
        yield post
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def niquests_client(base: str) -> AsyncIterator[Post]:
    import niquests  # type: ignore[import-not-found]

    async with niquests.AsyncSession(pool_maxsize=LIMITS.max_connections or 100) as session:

        async def post(path: str, body: dict[str, str]) -> int:
            response = await session.post(base + path, params=PARAMS, json=body, timeout=TIMEOUT)
            return int(response.status_code)

        yield post


Factory = Callable[[str], contextlib.AbstractAsyncContextManager[Post]]
# name → (the module it needs, the client)
CLIENTS: dict[str, tuple[str, Factory]] = {
    "httpx (default transport)": ("httpx", httpx_default),
    "httpx + httpx-aiohttp": ("httpx_aiohttp", httpx_aiohttp),
    "httpx + botengine.outbound": ("aiohttp", botengine_outbound),
    "aiohttp": ("aiohttp", aiohttp_direct),
    "aiosonic": ("aiosonic", aiosonic_client),
    "niquests": ("niquests", niquests_client),
}


def available() -> dict[str, Factory]:
    found = {}
    for name, (module, factory) in CLIENTS.items():
        try:
            __import__(module)
        except ImportError:
            print(f"skipping {name}: {module} is not installed", file=sys.stderr)
            continue
        found[name] = factory
    return found


async def measure(name: str, factory: Factory, base: str, calls: int, concurrency: int) -> Result:
    latencies: list[float] = []
    async with factory(base) as post:

        async def worker(left: list[int], record: bool) -> None:
            while left:
                i = left.pop()
                body = {"chatId": f"1555{i % 200:07d}@c.us", "message": f"ok m{i}"}
                start = time.perf_counter()
                status = await post("/v2/send/text", body)
                if status != 200:
                    raise SystemExit(f"{name}: the fake answered {status}")
                if record:
                    latencies.append((time.perf_counter() - start) * 1000)

        warm = list(range(max(concurrency * 2, calls // 10)))
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        left = list(range(calls))
        load = os.getloadavg()[0]
        cpu0, wall0 = cpu(), time.perf_counter()
        await asyncio.gather(*(worker(left, True) for _ in range(concurrency)))
        wall, used = time.perf_counter() - wall0, cpu() - cpu0
    latencies.sort()
    return Result(
        name,
        calls / wall,
        used / calls * 1e6,
        statistics.median(latencies),
        latencies[int(len(latencies) * 0.99) - 1],
        load,
    )


def span(values: list[float], digits: int = 0) -> str:
    return f"{min(values):,.{digits}f}–{max(values):,.{digits}f}"


async def run(args: argparse.Namespace, base: str) -> None:
    clients = available()
    rows: dict[str, list[Result]] = {name: [] for name in clients}
    names = list(clients)
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        if round_ % 2:
            order.reverse()
        for name in order:
            result = await measure(name, clients[name], base, args.calls, args.concurrency)
            rows[name].append(result)
            print(
                f"round {round_ + 1} {name:<28} {result.calls_per_s:7,.0f} calls/s "
                f"{result.cpu_us:7.0f} µs CPU/call p50 {result.p50_ms:6.1f} ms "
                f"p99 {result.p99_ms:6.1f} ms load {result.load:.1f}",
                file=sys.stderr,
            )
    baseline = rows["httpx (default transport)"]
    print(
        f"\n{args.calls} calls per measurement, {args.concurrency} concurrent, "
        f"{args.rounds} rounds interleaved"
    )
    print(
        "client on core 0, fake Wawp on core 1; ranges over rounds; ratios against httpx default, same round"
    )
    header = ("client", "calls/s", "CPU µs/call", "× httpx CPU", "p50 ms", "p99 ms", "load")
    print(f"{header[0]:<28}" + "".join(f"{h:>16}" for h in header[1:]))
    for name, results in rows.items():
        ratio = [b.cpu_us / r.cpu_us for r, b in zip(results, baseline, strict=True)]
        print(
            f"{name:<28}{span([r.calls_per_s for r in results]):>16}{span([r.cpu_us for r in results]):>16}"
            f"{span(ratio, 1):>16}{span([r.p50_ms for r in results], 1):>16}"
            f"{span([r.p99_ms for r in results], 1):>16}{span([r.load for r in results], 1):>16}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000, help="calls per measurement")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64, help="the engine's default --concurrency")
    args = parser.parse_args()
    port = free_port()
    taskset = ["taskset", "-c", "1"] if shutil.which("taskset") else []
    fake = subprocess.Popen(
        [*taskset, str(BIN / "botengine"), "fake-wawp", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/_fake/calls", timeout=1).status_code == 200:
                    break
            if fake.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the fake Wawp did not come up")
            time.sleep(0.1)
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {0})
        asyncio.run(run(args, base))
    finally:
        fake.terminate()
        fake.wait(10)


if __name__ == "__main__":
    main()
