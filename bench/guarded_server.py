"""What the connection deadlines cost: uvicorn's httptools protocol against botengine's guarded one.

    python bench/guarded_server.py [--duration 8] [--rounds 3] [--connections 32]

Serves the bare Starlette route of bench/bare_app.py (answers 200, stores nothing) on the same
uvicorn + uvloop, once with `http="httptools"` and once with `http_server.GuardedProtocol`
(header and body deadlines, header size limit), alternately, each pinned to core 0 with wrk on
core 1 posting bench/post.lua. Prints req/s and the server's CPU µs per request for each run, and
the median of the per-round differences: the machine is shared, so the absolute figures drift;
rounds taken back to back are compared with each other.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

from ingest import cpu_seconds, ensure_wrk, pinned, wait_ready

PORT = 18777
SERVER = f"""
import sys, uvicorn
sys.path.insert(0, "bench")
from bare_app import app
from botengine.http_server import GuardedProtocol
http = GuardedProtocol if sys.argv[1] == "guarded" else "httptools"
uvicorn.run(app, host="127.0.0.1", port={PORT}, loop="uvloop", http=http,
            access_log=False, log_level="warning")
"""


def run(kind: str, wrk: str, duration: int, connections: int) -> tuple[float, float]:
    server = subprocess.Popen(pinned(0, [sys.executable, "-c", SERVER, kind]))
    url = f"http://127.0.0.1:{PORT}/webhook/whatsapp"
    try:
        wait_ready(url)
        before = cpu_seconds(server.pid)
        command = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "-s", "bench/post.lua", url]
        output = subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout
        used = cpu_seconds(server.pid) - before
    finally:
        server.terminate()
        server.wait()
    total = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not total or not rps:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    return float(rps.group(1)), used / int(total.group(1)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    wrk = ensure_wrk()
    differences = []
    for round_ in range(1, args.rounds + 1):
        figures = {kind: run(kind, wrk, args.duration, args.connections) for kind in ("httptools", "guarded")}
        for kind, (rps, cpu) in figures.items():
            print(f"round {round_}  {kind:10s} {rps:8.0f} req/s  {cpu:6.1f} CPU µs/req", flush=True)
        differences.append(figures["guarded"][1] - figures["httptools"][1])
    median = statistics.median(differences)
    print(f"guarded - httptools, CPU µs/req per round: {', '.join(f'{d:+.1f}' for d in differences)}")
    print(f"median: {median:+.1f} µs/req")


if __name__ == "__main__":
    main()
