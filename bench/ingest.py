"""Ingest benchmark: accepted events/s and latency of the webhook receiver, against baselines.

    python bench/ingest.py [--duration 10] [--connections 32] [--rounds 3] [--processor rules]

Runs, in one go and on the same machine: (a) a bare Starlette route that only returns 200, on the
uvicorn configuration `botengine serve` uses (bench/bare_app.py: the same function builds both);
(b) the overview's Express handler on Node (stores nothing); (c) `botengine serve` with the
embedded store, synchronous=NORMAL (survives a process crash) and (d) synchronous=FULL (survives
power loss). Each server is pinned to core 0 and wrk to core 1; wrk posts a realistic event with a
fresh id on every request (bench/post.lua). Installs wrk (apt-get) and Express (npm) when missing.

Rounds are interleaved: every round runs every server once, each round in a different order, and
the 1-minute load average is recorded with each measurement (the machine is shared). Ratios are
taken within a round, and the summary gives their range over the rounds, never one figure.

`--processor rules` (the default) is `botengine serve` as a user runs it: the worker evaluates
`rules/` beside the receiver, on the same core, with no Wawp credentials (its replies fail and are
retried later, as they would without a token). `--processor log` gives the worker the log
processor instead (one structured line per event, no rules): the ingest path alone.
`--other-code DIR` adds the engine of another checkout (e.g. main before a change) to every
round, so a before/after comparison shares the rounds and their load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = "bench-secret"


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int = 0
    seconds: float = 1.0
    cpu_us: float = float("nan")  # the server's CPU time (all threads) per request answered
    load: float = float("nan")  # 1-minute load average as the measurement started

    @property
    def accepted(self) -> float:
        """2xx answers per second: a 503 (queue full) is an answer, not an accepted event."""
        return (self.requests - self.non_2xx) / self.seconds if self.requests else self.rps


def free_port() -> int:
    """A port nobody listens on now (another engineer's benchmark may hold any fixed one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = free_port()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from Debian's packages…", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return found


def ensure_express() -> bool:
    if (HERE / "express" / "node_modules" / "express").exists():
        return True
    if not shutil.which("npm"):
        print("no npm: skipping the Express baseline", file=sys.stderr)
        return False
    npm = ["npm", "install", "--silent", "--no-audit", "--no-fund"]
    subprocess.run(npm, cwd=HERE / "express", check=True)
    return True


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.post(url, content=b"{}", headers={"content-type": "application/json"}, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not come up")


def parse_wrk(name: str, output: str) -> Result:
    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)\b", output)
    seconds = 1.0
    if total:
        seconds = float(total.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[total.group(3)]
    return Result(
        name,
        float(rps.group(1)) if rps else 0.0,
        latency("50"),
        latency("99"),
        int(non_2xx.group(1)) if non_2xx else 0,
        int(total.group(1)) if total else 0,
        seconds,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of a process so far (Linux /proc)."""
    ticks = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(wrk: str, name: str, url: str, duration: int, connections: int, pid: int) -> Result:
    env = dict(os.environ, BENCH_SECRET=SECRET)
    warm = [wrk, "-t2", f"-c{connections}", "-d2s", "-s", str(HERE / "post.lua"), url]
    subprocess.run(pinned(1, warm), capture_output=True, env=env, check=True)
    command = [wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["-s", str(HERE / "post.lua"), url]
    load = os.getloadavg()[0]
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(pinned(1, command), capture_output=True, text=True, env=env, check=True)
    result = parse_wrk(name, done.stdout)
    result.load = load
    if result.requests:
        result.cpu_us = (cpu_seconds(pid) - cpu_before) / result.requests * 1e6
    return result


def serve(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        pinned(0, command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


# `botengine serve` (same settings, same uvicorn configuration) with the worker's log processor.
_WITH_LOG_PROCESSOR = """
import sys
import botengine.app
from botengine.cli import main
from botengine.worker import log_processor
build = botengine.app.build_app
botengine.app.build_app = lambda settings, **kw: build(settings, **{"processor": log_processor, **kw})
sys.exit(main())
"""


def botengine_command(data_dir: Path, processor: str) -> list[str]:
    start = ["-c", _WITH_LOG_PROCESSOR] if processor == "log" else ["-m", "botengine"]
    return [
        sys.executable, *start, "serve", "--host", "127.0.0.1", "--port", str(PORT),
        "--data-dir", str(data_dir), "--rules", str(ROOT / "rules"),
    ]  # fmt: skip


def variants(express: bool, other_code: str = "") -> list[tuple[str, list[str], dict[str, str]]]:
    bare = [sys.executable, str(HERE / "bare_app.py"), str(PORT)]
    found: list[tuple[str, list[str], dict[str, str]]] = [("bare Starlette", bare, {})]
    if express:
        node = ["node", str(HERE / "express" / "server.js")]
        found.append(("Express (overview)", node, {"PORT": str(PORT)}))
    base_env = {"BOTENGINE_SECRET": SECRET, "BOTENGINE_LOG_JSON": "true"}
    found.append(("botengine sync=normal", [], {**base_env, "BOTENGINE_SYNC": "normal"}))
    found.append(("botengine sync=full", [], {**base_env, "BOTENGINE_SYNC": "full"}))
    if other_code:  # the same engine from another checkout, in the same rounds: before/after
        for sync in ("normal", "full"):
            env = {**base_env, "BOTENGINE_SYNC": sync, "PYTHONPATH": other_code}
            found.append((f"other code sync={sync}", [], env))
    return found


def measure_round(
    args: argparse.Namespace, wrk: str, url: str, order: list[tuple[str, list[str], dict[str, str]]]
) -> dict[str, Result]:
    found: dict[str, Result] = {}
    for name, command, env in order:
        with tempfile.TemporaryDirectory() as tmp:
            process = serve(command or botengine_command(Path(tmp) / "data", args.processor), env)
            try:
                wait_ready(url)
                found[name] = run_wrk(wrk, name, url, args.duration, args.connections, process.pid)
            finally:
                stop(process)
    return found


def span(values: list[float], digits: int = 2) -> str:
    return (
        f"{min(values):.{digits}f}–{max(values):.{digits}f}" if len(values) > 1 else f"{values[0]:.{digits}f}"
    )


def report(args: argparse.Namespace, rounds: list[dict[str, Result]]) -> None:
    print(
        f"\nbotengine's worker: {args.processor} processor; {args.connections} connections, {args.duration}s"
    )
    print("server on core 0, wrk on core 1; accepted/s counts 2xx answers; ratios within each round")
    header = (
        "round",
        "variant",
        "load",
        "req/s",
        "accepted/s",
        "p50 ms",
        "p99 ms",
        "× bare",
        "× Express",
        "non-2xx",
        "CPU µs/req",
    )
    print(f"{header[0]:<6}{header[1]:<24}" + "".join(f"{h:>11}" for h in header[2:]))
    for index, results in enumerate(rounds, 1):
        bare = results["bare Starlette"].accepted
        node = results.get("Express (overview)")
        for result in results.values():
            vs_node = f"{result.accepted / node.accepted:.2f}" if node else "-"
            print(
                f"{index:<6}{result.name:<24}{result.load:>11.1f}{result.rps:>11.0f}{result.accepted:>11.0f}"
                f"{result.p50_ms:>11.2f}{result.p99_ms:>11.2f}{result.accepted / bare:>11.2f}{vs_node:>11}"
                f"{result.non_2xx:>11}{result.cpu_us:>11.1f}"
            )
    print(f"\nranges over {len(rounds)} rounds (min–max)")
    columns = ("variant", "accepted/s", "× bare", "× Express", "p99 ms", "CPU µs/req", "load")
    print(f"{columns[0]:<24}" + "".join(f"{h:>14}" for h in columns[1:]))
    for name in rounds[0]:
        runs = [r[name] for r in rounds]
        vs_bare = [r[name].accepted / r["bare Starlette"].accepted for r in rounds]
        node = [
            r[name].accepted / r["Express (overview)"].accepted for r in rounds if "Express (overview)" in r
        ]
        print(
            f"{name:<24}{span([r.accepted for r in runs], 0):>14}{span(vs_bare):>14}"
            f"{span(node) if node else '-':>14}{span([r.p99_ms for r in runs]):>14}"
            f"{span([r.cpu_us for r in runs], 1):>14}{span([r.load for r in runs], 1):>14}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-express", action="store_true", help="skip the Express baseline")
    parser.add_argument(
        "--other-code",
        default="",
        metavar="DIR",
        help="also run botengine from DIR (a checkout's root, put first on PYTHONPATH) in every round",
    )
    parser.add_argument(
        "--processor",
        choices=("rules", "log"),
        default="rules",
        help="what botengine's worker does with each event (see above)",
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    express = not args.no_express and ensure_express()
    url = f"http://127.0.0.1:{PORT}/webhook/whatsapp"
    servers = variants(express, args.other_code)
    rounds = []
    for index in range(args.rounds):
        shift = index % len(servers)  # a different server goes first in each round
        order = servers[shift:] + servers[:shift]
        rounds.append(measure_round(args, wrk, url, order if index % 2 == 0 else order[::-1]))
    report(args, rounds)


if __name__ == "__main__":
    main()
