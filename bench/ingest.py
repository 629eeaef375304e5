"""Ingest benchmark: accepted events/s and latency of the webhook receiver, against baselines.

    python bench/ingest.py [--duration 10] [--connections 32] [--rounds 1] [--processor log]

Runs, in one go and on the same machine: (a) a bare Starlette route that only returns 200 on the
same uvicorn (httptools + uvloop); (b) the overview's Express handler on Node (stores nothing);
(c) botengine with the embedded store, synchronous=NORMAL (survives a process crash) and (d)
synchronous=FULL (survives power loss). Each server is pinned to core 0 and wrk to core 1; wrk
posts a realistic event with a fresh id on every request (bench/post.lua). Prints each figure
and its ratio to the baselines measured in the same run, since absolute figures drift on a
shared machine. Installs wrk (apt-get) and Express (npm) when missing.

botengine runs `botengine serve` in one process, the worker draining the queue beside the
receiver. `--processor log` (the default) gives the worker the log processor (one structured
line per event, no rules), so the figure is the ingest path's: receive, check, parse, dedupe,
commit, answer. `--processor rules` runs the full engine on `rules/` (rules, actions, traces),
which measures event processing as much as ingest.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PORT = 18080
SECRET = "bench-secret"


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_us: float = float("nan")  # the server's CPU time (all threads) per request answered


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
    return Result(
        name,
        float(rps.group(1)) if rps else 0.0,
        latency("50"),
        latency("99"),
        int(non_2xx.group(1)) if non_2xx else 0,
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
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(pinned(1, command), capture_output=True, text=True, env=env, check=True)
    result = parse_wrk(name, done.stdout)
    requests = re.search(r"(\d+) requests in", done.stdout)
    if requests and int(requests.group(1)):
        result.cpu_us = (cpu_seconds(pid) - cpu_before) / int(requests.group(1)) * 1e6
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


def variants(express: bool) -> list[tuple[str, list[str], dict[str, str]]]:
    uvicorn = [
        sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(PORT),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    found: list[tuple[str, list[str], dict[str, str]]] = [("bare Starlette", uvicorn, {})]
    if express:
        node = ["node", str(HERE / "express" / "server.js")]
        found.append(("Express (overview)", node, {"PORT": str(PORT)}))
    base_env = {"BOTENGINE_SECRET": SECRET, "BOTENGINE_LOG_JSON": "true"}
    found.append(("botengine sync=normal", [], {**base_env, "BOTENGINE_SYNC": "normal"}))
    found.append(("botengine sync=full", [], {**base_env, "BOTENGINE_SYNC": "full"}))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--processor",
        choices=("log", "rules"),
        default="log",
        help="what botengine's worker does with each event (see above)",
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    express = ensure_express()
    url = f"http://127.0.0.1:{PORT}/webhook/whatsapp"
    results: dict[str, list[Result]] = {}
    for _ in range(args.rounds):
        for name, command, env in variants(express):
            with tempfile.TemporaryDirectory() as tmp:
                data = Path(tmp) / "data"
                process = serve(command or botengine_command(data, args.processor), env)
                try:
                    wait_ready(url)
                    results.setdefault(name, []).append(
                        run_wrk(wrk, name, url, args.duration, args.connections, process.pid)
                    )
                finally:
                    stop(process)
    print(f"\nbotengine's worker: {args.processor} processor")
    print(f"every round ({args.connections} connections, {args.duration}s)", end="")
    print("; ratios against the baselines of the same round")
    header = ("round", "variant", "req/s", "p50 ms", "p99 ms", "× bare", "× Express", "non-2xx", "CPU µs/req")
    print(f"{header[0]:<6}{header[1]:<24}" + "".join(f"{h:>11}" for h in header[2:]))
    for index in range(args.rounds):
        bare_round = results["bare Starlette"][index].rps
        node_round = results.get("Express (overview)")
        for runs in results.values():
            result = runs[index]
            vs_node = f"{result.rps / node_round[index].rps:.2f}" if node_round else "-"
            print(
                f"{index + 1:<6}{result.name:<24}{result.rps:>11.0f}{result.p50_ms:>11.2f}"
                f"{result.p99_ms:>11.2f}{result.rps / bare_round:>11.2f}{vs_node:>11}"
                f"{result.non_2xx:>11}{result.cpu_us:>11.1f}"
            )
    best = {name: max(runs, key=lambda r: r.rps) for name, runs in results.items()}
    bare = best["bare Starlette"].rps
    node = best.get("Express (overview)")
    print(f"\n{args.connections} connections, {args.duration}s, best of {args.rounds}", end="")
    print("; server on core 0, wrk on core 1")
    columns = ("variant", "req/s", "p50 ms", "p99 ms", "× bare", "× Express", "non-2xx", "CPU µs/req")
    print(f"{columns[0]:<24}" + "".join(f"{h:>11}" for h in columns[1:]))
    for result in best.values():
        vs_node = f"{result.rps / node.rps:.2f}" if node else "-"
        print(
            f"{result.name:<24}{result.rps:>11.0f}{result.p50_ms:>11.2f}{result.p99_ms:>11.2f}"
            f"{result.rps / bare:>11.2f}{vs_node:>11}{result.non_2xx:>11}{result.cpu_us:>11.1f}"
        )


if __name__ == "__main__":
    main()
