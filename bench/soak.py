"""Soak: does the engine stay the same size and speed after many events at a steady rate?

    .venv/bin/python bench/soak.py [--events 200000] [--rate 400] [--every 10000] [--dedupe-window 60s]

Starts `botengine fake-wawp` and `botengine serve` (rules: one in ten messages gets a reply, the
others meet rules that do not fire), the engine pinned to core 0, the fake and this load
generator to core 1, and posts `--events` events at `--rate` per second over kept-alive
connections. Every `--every` events it records the engine's RSS, its CPU time (all threads, from
/proc) per event processed since the last sample, the dedupe table's rows, the queue depth, the
data directory's bytes (WAL files included) and the 1-minute load average. The dedupe window is
short (`--dedupe-window`) so the table reaches its steady size (window × rate) within the run.

The report compares the samples at a quarter of the run (50k of 200k) and at the end: RSS and
CPU per event should stay within 10%, the dedupe rows near window × rate, the bytes per event
flat. `--events 20000 --every 2000` is a quick run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from poster import Poster  # bench/poster.py

from botengine.durations import parse_duration
from botengine.testing import make_event

BIN = Path(sys.executable).parent
SECRET = "soak-secret"
CONNECTIONS = 8
CHATS = 500
RULES = """rules:
  - name: echo
    if: {starts_with: reply}
    do: [{reply: "ok {{ text }}"}]
  - name: prices
    if: {contains: [price, cost]}
    do: [{reply: "see our prices"}]
  - name: vip
    if: {sender: {in: vip}, chat: contact}
    do: [{reply: "hello VIP"}]
"""


@dataclass
class Sample:
    posted: int
    processed: int
    rss_mb: float
    cpu_s: float
    cpu_us_per_event: float  # since the previous sample
    seen_rows: int
    depth: int
    disk_bytes: int
    load: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    ticks = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) / 1024 if found else float("nan")


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def seen_rows(journal: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5)) as db:
        return int(db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])


def processed(metrics: str) -> int:
    return int(
        sum(
            float(v)
            for v in re.findall(r"^botengine_events_processed_total\{.*\} ([\d.e+]+)$", metrics, re.M)
        )
    )


@contextlib.contextmanager
def started(command: list[str], log: Path, ready: str, core: int) -> Iterator[subprocess.Popen[bytes]]:
    taskset = ["taskset", "-c", str(core)] if shutil.which("taskset") else []
    env = {
        **os.environ,
        "BOTENGINE_WAWP_TOKEN": "soak",
        "BOTENGINE_SECRET": SECRET,
        "BOTENGINE_LOG_JSON": "true",
    }
    with log.open("wb") as out:
        process = subprocess.Popen([*taskset, *command], stdout=out, stderr=out, env=env)
    try:
        deadline = time.monotonic() + 60
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
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


async def soak(
    args: argparse.Namespace, engine: subprocess.Popen[bytes], url: str, data: Path
) -> list[Sample]:
    poster = Poster(url + "/webhook/whatsapp", secret=SECRET, connections=CONNECTIONS)
    refused = 0

    async def post(seq: int) -> None:
        nonlocal refused
        chat = f"1555{seq % CHATS:07d}@c.us"
        text = ("reply " if seq % 10 == 0 else "") + f"message {seq} about the order, thanks"
        refused += await poster.post(make_event(text=text, sender=chat)) != 200

    loop = asyncio.get_running_loop()
    samples: list[Sample] = []
    inflight: set[asyncio.Task[None]] = set()
    last_cpu, last_done = cpu_seconds(engine.pid), 0
    t0 = loop.time()
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(args.events):
            await asyncio.sleep(max(0.0, t0 + i / args.rate - loop.time()))
            while len(inflight) >= CONNECTIONS * 4:  # the engine is behind: wait, do not pile up
                await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
            task = asyncio.create_task(post(i))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            if (i + 1) % args.every == 0:
                await asyncio.gather(*inflight)
                metrics = (await client.get(url + "/metrics")).text
                done = processed(metrics)
                depth = int(float(re.findall(r"^botengine_queue_depth ([\d.e+]+)$", metrics, re.M)[0]))
                cpu = cpu_seconds(engine.pid)
                sample = Sample(
                    i + 1,
                    done,
                    rss_mb(engine.pid),
                    cpu,
                    (cpu - last_cpu) / max(1, done - last_done) * 1e6,
                    seen_rows(data / "journal.sqlite"),
                    depth,
                    disk_bytes(data),
                    os.getloadavg()[0],
                )
                last_cpu, last_done = cpu, done
                samples.append(sample)
                print(
                    f"{sample.posted:>8} posted {sample.processed:>8} done  RSS {sample.rss_mb:6.1f} MB  "
                    f"CPU {sample.cpu_us_per_event:7.0f} µs/event  seen {sample.seen_rows:>8}  "
                    f"depth {depth:>6}  "
                    f"disk {sample.disk_bytes / 1e6:7.1f} MB  load {sample.load:.1f}",
                    file=sys.stderr,
                )
    poster.close()
    print(f"posts not answered 200: {refused}, resent: {poster.resent}", file=sys.stderr)
    return samples


def report(args: argparse.Namespace, samples: list[Sample]) -> None:
    quarter = samples[max(0, len(samples) // 4 - 1)]
    end = samples[-1]
    window = parse_duration(args.dedupe_window)
    print(
        f"\n{args.events:,} events at {args.rate:g}/s, dedupe window {args.dedupe_window}; "
        f"samples every {args.every:,}"
    )
    header = ("at", "RSS MB", "CPU µs/event", "seen rows", "window×rate", "disk MB", "disk B/event", "load")
    print("".join(f"{h:>14}" for h in header))
    for s in (quarter, end):
        print(
            f"{s.posted:>14,}{s.rss_mb:>14.1f}{s.cpu_us_per_event:>14.0f}{s.seen_rows:>14,}"
            f"{window * args.rate:>14,.0f}{s.disk_bytes / 1e6:>14.1f}{s.disk_bytes / s.posted:>14.0f}"
            f"{s.load:>14.1f}"
        )
    print(f"RSS at the end × at {quarter.posted:,}: {end.rss_mb / quarter.rss_mb:.2f}")

    # CPU per event over the last quarter of the samples vs the first quarter after warm-up
    def mean(xs: list[Sample]) -> float:
        return sum(x.cpu_us_per_event for x in xs) / len(xs)

    n = max(1, len(samples) // 4)
    early, late = samples[1 : 1 + n] or samples[:1], samples[-n:]
    print(
        f"CPU per event, last quarter × second sample on: {mean(late) / mean(early):.2f} "
        f"({mean(early):.0f} → {mean(late):.0f} µs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=400)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--dedupe-window", default="60s")
    parser.add_argument("--sync", choices=("full", "normal"), default="full")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "rules" / "lists").mkdir(parents=True)
        (tmp / "rules" / "soak.yaml").write_text(RULES)
        (tmp / "rules" / "lists" / "vip.txt").write_text("15550000007@c.us\n")
        fake_port, port = free_port(), free_port()
        fake = f"http://127.0.0.1:{fake_port}"
        url = f"http://127.0.0.1:{port}"
        data = tmp / "data"
        engine_cmd = [
            str(BIN / "botengine"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--rules", str(tmp / "rules"), "--data-dir", str(data), "--wawp-url", fake,
            "--send-rate", "0", "--sync", args.sync, "--dedupe-window", args.dedupe_window,
        ]  # fmt: skip
        fake_cmd = [str(BIN / "botengine"), "fake-wawp", "--port", str(fake_port)]
        with (
            started(fake_cmd, tmp / "fake.log", fake + "/_fake/calls", core=1),
            started(engine_cmd, tmp / "engine.log", url + "/healthz", core=0) as engine,
        ):
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {1})
            samples = asyncio.run(soak(args, engine, url, data))
        report(args, samples)


if __name__ == "__main__":
    main()
