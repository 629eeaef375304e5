"""Scale-out benchmark: the embedded store, one node on Redis, and 2 receivers + 2 workers on Redis.

    .venv/bin/python bench/scale.py [--events 3000] [--seconds 10] [--rate R] [--no-pin]

Configurations: embedded (--sync full, and --sync normal), redis-1 (one `botengine serve
--redis-url`), redis-2x2 (`--role receiver` ×2 + `--role worker` ×2 on one namespace). Each phase
starts fresh nodes on a fresh data dir / Redis namespace (127.0.0.1:6379/14, wiped afterwards):
(1) accept: one `wrk -t1 -c16` per receiver (two on a single node; bench/post.lua) for --seconds,
no rules, so workers only take and acknowledge; (2) burst: --events events posted at once over
32 connections spread over the receivers, a rule replying to every message through `botengine
fake-wawp`: events / (first post → last reply at the fake); (3) steady: --rate events/s (default:
half the slowest burst) for --seconds: post → reply recorded at the fake (its `at`, matched on
the "m<seq>" text), p50/p99. In (1) and (2): CPU µs per event of each node (/proc), and Redis'
commands, main-thread CPU and per-command calls (INFO). Nodes run on core 0, wrk, this loader
and the fake on core 1 (unless --no-pin); Redis is not pinned. Ratios: against embedded (full).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from botengine.storage.redis import RedisKeys
from botengine.testing import make_event
from botengine.testing.server import free_port

HERE, BIN = Path(__file__).resolve().parent, Path(sys.executable).parent
REDIS_URL, SECRET = "redis://127.0.0.1:6379/14", "bench-secret"
CHATS, CONNECTIONS, WARM = 200, 32, 200
RULES = 'rules:\n  - name: echo\n    do: [{reply: "ok {{ text }}"}]\n'
SEQ = re.compile(r"m(\d+)$")
NAN = float("nan")
ROLES = ("all", "receiver", "worker")
PIN = True
DB = redis.Redis.from_url(REDIS_URL)


@dataclass
class Config:
    name: str
    roles: tuple[str, ...]
    redis: bool
    sync: str = "full"


CONFIGS = [
    Config("embedded", ("all",), redis=False),
    Config("embedded normal", ("all",), redis=False, sync="normal"),
    Config("redis-1", ("all",), redis=True),
    Config("redis-2x2", ("receiver", "receiver", "worker", "worker"), redis=True),
]


@dataclass
class Result:
    accepted: float = NAN  # events/s answered by wrk
    wrk_p99: float = NAN  # ms, the worse of the two wrk processes
    burst: float = NAN  # events/s, first post → last reply at the fake
    p50: float = NAN  # ms, post → reply at the fake, steady load
    p99: float = NAN
    cost: dict[str, dict[str, float]] = field(default_factory=dict)  # phase → what → per event
    bad: Counter[str] = field(default_factory=Counter)  # non-2xx, dead letters, log warnings…
    processed: list[int] = field(default_factory=list)  # events each worker processed (burst)
    balanced: list[float] = field(default_factory=list)  # s from start until workers shared the queue


@dataclass
class Node:
    role: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command] if PIN and shutil.which("taskset") else command


def usage(
    nodes: list[Node], on_redis: bool, since: dict[str, float] | None = None, events: int = 1
) -> dict[str, float]:
    """Events processed, CPU µs of the nodes by role (user + system, /proc), Redis' main-thread CPU
    µs, commands, and each command's calls and µs: so far, or per event since `since`."""
    found = dict.fromkeys((node.role for node in nodes), 0.0)
    found["processed"] = sum(
        metric(node.url, "botengine_events_processed") for node in nodes if node.role != "receiver"
    )
    for node in nodes:
        for stat in Path(f"/proc/{node.process.pid}/task").glob("*/stat"):
            with contextlib.suppress(OSError):
                ticks = stat.read_text().rsplit(")", 1)[1].split()[11:13]
                found[node.role] += (int(ticks[0]) + int(ticks[1])) / os.sysconf("SC_CLK_TCK") * 1e6
    if on_redis:
        stats, cpu = DB.info("stats"), DB.info("cpu")
        found["redis cmds"] = float(stats["total_commands_processed"])
        found["redis µs"] = (cpu["used_cpu_user_main_thread"] + cpu["used_cpu_sys_main_thread"]) * 1e6
        for name, stat in DB.info("commandstats").items():  # scripts' own commands are counted too
            found[f"call {name[8:]}"], found[f"usec {name[8:]}"] = float(stat["calls"]), float(stat["usec"])
    return {k: (v - since.get(k, 0)) / events for k, v in found.items()} if since else found


def metric(url: str, name: str) -> int:
    text = httpx.get(url + "/metrics").text
    return round(sum(float(v) for v in re.findall(rf"^{name}_total(?:\{{.*\}})? ([\d.e+]+)$", text, re.M)))


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not come up; see {log}")
        time.sleep(0.1)


def wait_balanced(namespace: str, workers: int) -> float:
    """Seconds until each worker owns its share of the partitions: the first one up takes them all."""
    keys, start = RedisKeys(namespace), time.monotonic()
    while time.monotonic() - start < 120:
        partitions = int(DB.get(keys.partitions) or 16)
        owners = Counter(DB.mget([keys.owner(p) for p in range(partitions)]))
        if None not in owners and len(owners) == workers and max(owners.values()) <= partitions / workers:
            return time.monotonic() - start
        time.sleep(0.5)
    raise SystemExit(f"{workers} workers did not share the queue's partitions within 120 s")


@contextlib.contextmanager
def cluster(cfg: Config, tmp: Path, rules: str, fake: str, r: Result) -> Iterator[list[Node]]:
    """cfg's nodes on a fresh data dir / namespace; on exit, count their trouble, stop them, wipe."""
    namespace, nodes = f"bench-scale-{secrets.token_hex(6)}", list[Node]()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTENGINE_")}
    env |= {"BOTENGINE_SECRET": SECRET, "BOTENGINE_WAWP_TOKEN": "bench", "BOTENGINE_LOG_JSON": "true"}
    try:
        for role in cfg.roles:
            port, name = free_port(), f"{namespace}-{len(nodes)}-{role}"
            command = [
                str(BIN / "botengine"), "serve", "--host", "127.0.0.1", "--port", str(port), "--role", role,
                "--rules", str(tmp / rules), "--data-dir", str(tmp / name), "--sync", cfg.sync,
                "--wawp-url", fake, "--send-rate", "0", "--shutdown-grace", "1s",
            ]  # fmt: skip
            if cfg.redis:
                command += ["--redis-url", REDIS_URL, "--redis-namespace", namespace]
            with (tmp / f"{name}.log").open("wb") as out:
                process = subprocess.Popen(pinned(0, command), stdout=out, stderr=out, env=env)
            nodes.append(Node(role, f"http://127.0.0.1:{port}", process, tmp / f"{name}.log"))
        for node in nodes:
            wait_ready(node.url + "/healthz", node.process, node.log)
        if (workers := sum(node.role == "worker" for node in nodes)) > 1:
            r.balanced.append(round(wait_balanced(namespace, workers), 1))
        yield nodes
        for node in nodes:
            r.bad["dead letters"] += metric(node.url, "botengine_dead_letters")
            r.bad["webhook rejections"] += metric(node.url, "botengine_webhook_rejections")
            r.bad["duplicates"] += metric(node.url, "botengine_events_duplicate")
    finally:
        for node in nodes:
            node.process.terminate()
        for node in nodes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(15)
            node.process.kill()  # a no-op once it exited
            found = re.findall(
                r'"level": "(warning|error|critical)".*?"msg": "([^"]{,60})',
                node.log.read_text("utf-8", "replace"),
            )
            r.bad.update(f"{level} {re.sub(r'[0-9]+', 'N', msg)!r}" for level, msg in found)
        if cfg.redis:
            keys = list(DB.scan_iter(match=f"{namespace}:*", count=1000))
            for start in range(0, len(keys), 1000):
                DB.delete(*keys[start : start + 1000])


async def wrk(urls: list[str], seconds: float, tmp: Path) -> tuple[float, float, int, Counter[str]]:
    """A wrk process (16 connections) per URL: requests/s, the worst p99 ms, requests, trouble."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS // 2}", f"-d{seconds:g}s", "--latency", "-s"]
    env, procs = {**os.environ, "BENCH_SECRET": SECRET}, []
    for n, url in enumerate(urls):
        # post.lua seeds its event ids with the time and thread number, the same in two wrk started
        # together: each gets a copy with its own id prefix, or half the posts would be duplicates
        script = (HERE / "post.lua").read_text().replace('"evt_%d_', f'"evt_w{n}_%d_')
        (tmp / f"post{n}.lua").write_text(script)
        run = pinned(1, [*command, str(tmp / f"post{n}.lua"), url])
        procs.append(await asyncio.create_subprocess_exec(*run, stdout=subprocess.PIPE, env=env))
    try:
        outputs = [(await p.communicate())[0].decode() for p in procs]
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
    rps = p99 = 0.0
    requests, bad = 0, Counter[str]()
    for out in outputs:
        rps += float(re.findall(r"Requests/sec:\s+([\d.]+)", out)[0])
        requests += int(re.findall(r"(\d+) requests in", out)[0])
        for value, unit in re.findall(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
            p99 = max(p99, float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit])
        bad["non-2xx"] += sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
        errors = re.findall(r"(?:connect|read|write|timeout) (\d+)", out)
        bad["wrk socket errors"] += sum(int(n) for n in errors)
    return rps, p99, requests, bad


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Load:
    """Posts "m<seq>" events over the receivers, and reads when the fake recorded each reply.

    Posts go over kept-alive connections of its own: an httpx client spent about 2 ms of CPU per
    post here, so posting ~450 events/s took all of its core, close to what the engine processes."""

    def __init__(self, nodes: list[Node], fake: str) -> None:
        self.ports = [int(node.url.rsplit(":", 1)[1]) for node in nodes if node.role != "worker"]
        self.idle: dict[int, list[Connection]] = {port: [] for port in self.ports}
        self.client = httpx.AsyncClient(timeout=60)  # for the fake's control routes only
        self.fake, self.seq, self.posted, self.bad = fake, 0, dict[int, float](), Counter[str]()

    async def post(self) -> None:
        seq, self.seq = self.seq, self.seq + 1
        body = json.dumps(make_event(text=f"m{seq}", sender=f"1555{seq % CHATS:07d}@c.us")).encode()
        port = self.ports[seq % len(self.ports)]
        head = f"POST /webhook/whatsapp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Webhook-Secret: {SECRET}\r\n"
        request = (
            f"{head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        self.posted[seq] = time.time()
        for attempt in range(3):  # the engine drops a repeated event id, so resending is safe
            pool = self.idle[port]
            fresh = attempt or not pool  # a retry opens a new connection
            reader, writer = await asyncio.open_connection("127.0.0.1", port) if fresh else pool.pop()
            try:
                writer.write(request)
                answer = await reader.readuntil(b"\r\n\r\n")
                length = re.findall(rb"(?i)\r\ncontent-length: *(\d+)", answer)
                await reader.readexactly(int(length[0]) if length else 0)
                break
            except (ConnectionError, asyncio.IncompleteReadError):  # a kept-alive one the server closed
                writer.close()
                self.bad["resent posts"] += 1
                if attempt == 2:
                    raise
        pool.append((reader, writer))
        if not answer.startswith(b"HTTP/1.1 200"):
            self.bad[f"post answered {answer[9:12].decode()}"] += 1

    async def aclose(self) -> None:
        for pool in self.idle.values():
            for _, writer in pool:
                writer.close()
        await self.client.aclose()

    async def replies(self, seqs: range, timeout: float = 300) -> dict[int, float]:
        deadline = time.monotonic() + timeout
        while True:
            at: dict[int, float] = {}
            for call in (await self.client.get(self.fake + "/_fake/calls")).json():
                found = SEQ.search(str((call.get("json") or {}).get("message", "")))
                if found and int(found.group(1)) in seqs:
                    at.setdefault(int(found.group(1)), call["at"])
            if len(at) == len(seqs) or time.monotonic() > deadline:
                self.bad["replies missing"] += len(seqs) - len(at)
                await self.client.post(self.fake + "/_fake/reset")
                return at
            await asyncio.sleep(0.25)

    async def burst(self, events: int) -> float:
        start, t0 = self.seq, time.time()

        async def sender() -> None:  # one per connection: 3,000 requests queued in httpx's pool
            while self.seq < start + events:  # would cost the loader more than the engine
                await self.post()

        await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
        at = await self.replies(range(start, self.seq))
        return len(at) / (max(at.values()) - t0) if at else NAN

    async def steady(self, rate: float, seconds: float) -> list[float]:
        start, loop, tasks = self.seq, asyncio.get_running_loop(), []
        t0 = loop.time()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
            tasks.append(asyncio.create_task(self.post()))
        await asyncio.gather(*tasks)
        at = await self.replies(range(start, self.seq))
        return sorted((t - self.posted[s]) * 1000 for s, t in at.items()) or [NAN]


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Result]:
    (tmp / "none").mkdir()
    (tmp / "reply").mkdir()
    (tmp / "reply" / "bench.yaml").write_text(RULES)
    port = free_port()
    fake, command = f"http://127.0.0.1:{port}", [str(BIN / "botengine"), "fake-wawp", "--port", str(port)]
    with (tmp / "fake.log").open("wb") as out:
        fake_process = subprocess.Popen(pinned(1, command), stdout=out, stderr=out)
    results = {cfg.name: Result() for cfg in CONFIGS}
    try:
        wait_ready(fake + "/_fake/calls", fake_process, tmp / "fake.log")
        for cfg in CONFIGS:
            r = results[cfg.name]
            print(f"{cfg.name}: accept, burst", file=sys.stderr)
            with cluster(cfg, tmp, "none", fake, r) as nodes:
                urls = ([n.url + "/webhook/whatsapp" for n in nodes if n.role != "worker"] * 2)[:2]
                await wrk(urls, 2, tmp)  # warm-up
                before = usage(nodes, cfg.redis)
                r.accepted, r.wrk_p99, requests, bad = await wrk(urls, args.seconds, tmp)
                r.cost["accept"] = usage(nodes, cfg.redis, before, requests)
                r.bad += bad
            with cluster(cfg, tmp, "reply", fake, r) as nodes:
                load = Load(nodes, fake)
                await load.burst(WARM)
                before = usage(nodes, cfg.redis)
                r.burst = await load.burst(args.events)
                r.cost["burst"] = usage(nodes, cfg.redis, before, args.events)
                workers = [node for node in nodes if node.role != "receiver"]
                r.processed = [metric(node.url, "botengine_events_processed") for node in workers]
                r.bad += load.bad
                await load.aclose()
        args.rate = args.rate or round(min(r.burst for r in results.values()) / 2)
        for cfg in CONFIGS:
            r = results[cfg.name]
            print(f"{cfg.name}: steady {args.rate:g}/s", file=sys.stderr)
            with cluster(cfg, tmp, "reply", fake, r) as nodes:
                load = Load(nodes, fake)
                await load.burst(WARM)
                latencies = await load.steady(args.rate, args.seconds)
                r.p50, r.p99 = latencies[len(latencies) // 2], latencies[len(latencies) * 99 // 100]
                r.bad += load.bad
                await load.aclose()
    finally:
        fake_process.terminate()
        fake_process.wait(10)
    return results


COLUMNS = [
    ("accepted/s", ",.0f"), ("×emb", ".2f"), ("wrk p99", ".1f"), ("burst ev/s", ",.0f"), ("×emb", ".2f"),
    ("e2e p50", ".1f"), ("e2e p99", ".1f"), ("×emb p50", ".2f"), ("node µs/acc", ",.0f"),
    ("node µs/ev", ",.0f"), ("R cmd/acc", ".1f"), ("R cmd/ev", ".1f"), ("R µs/acc", ",.0f"),
    ("R µs/ev", ",.0f"),
]  # fmt: skip


def report(args: argparse.Namespace, results: dict[str, Result]) -> None:
    base = results["embedded"]
    pin = "nodes on core 0, wrk, loader and fake on core 1, Redis unpinned" if PIN else "nothing pinned"
    print(f"\naccept: 2 wrk × 16 connections, {args.seconds:g} s, no rules; burst: {args.events} events,")
    print(f"reply rule; steady: {args.rate:g} events/s for {args.seconds:g} s; {pin}; R: Redis main thread")
    print(f"{'config':<16}" + "".join(f"{h:>12}" for h, _ in COLUMNS))
    for name, r in results.items():
        acc, ev = r.cost["accept"], r.cost["burst"]
        cells = [r.accepted, r.accepted / base.accepted, r.wrk_p99, r.burst, r.burst / base.burst, r.p50]
        cells += [r.p99, r.p50 / base.p50, *(sum(c.get(role, 0) for role in ROLES) for c in (acc, ev))]
        cells += [c.get(k, NAN) for k in ("redis cmds", "redis µs") for c in (acc, ev)]
        line = (f"{format(c, f) if c == c else '-':>12}" for (_, f), c in zip(COLUMNS, cells, strict=True))
        print(f"{name:<16}" + "".join(line))
    for name, r in results.items():
        for phase, c in r.cost.items():
            cpu = ", ".join(f"{k} {v:,.0f}" for k, v in c.items() if k in (*ROLES, "redis µs"))
            calls = sorted(((v, k[5:]) for k, v in c.items() if k.startswith("call ")), reverse=True)
            print(f"{name}, {phase}: events processed per event posted {c['processed']:.2f}; CPU µs: {cpu}")
            if calls:
                top = (f"{k} {v:.2f}× {c['usec ' + k]:.1f} µs" for v, k in calls[:10])
                print(
                    "  Redis calls per event, and their µs (a script's include its commands'): "
                    + ", ".join(top)
                )
        if len(r.processed) > 1:
            print(f"  events each worker processed in the burst phase (warm-up included): {r.processed}")
            print(f"  s from start until the workers shared the partitions: {r.balanced}")
        print("  trouble: " + (", ".join(f"{k} {v}" for k, v in r.bad.items() if v) or "none"))


def main() -> None:
    global PIN
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--events", type=int, default=3000, help="events in the burst")
    parser.add_argument("--seconds", type=float, default=10, help="length of wrk and the steady load")
    parser.add_argument("--rate", type=float, default=0, help="events/s of the steady load")
    parser.add_argument("--no-pin", action="store_true", help="let the OS place every process")
    args = parser.parse_args()
    PIN = not args.no_pin
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds like Ctrl-C: nodes stop
    if PIN:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        results = asyncio.run(run(args, Path(tmp)))
    report(args, results)


if __name__ == "__main__":
    main()
