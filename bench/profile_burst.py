"""Where the engine's CPU goes in a burst of replies: a py-spy profile, summed by function.

    .venv/bin/python bench/profile_burst.py [--events 6000] [--sync full] [--top 25]

Starts `botengine fake-wawp` (core 1) and `botengine serve` (core 0, one rule replying to every
message), posts `--events` events as fast as the engine takes them, and samples the engine with
`py-spy record` (100 Hz, every thread; `pip install -e .[bench]`) from the first post until the
last reply. Prints the functions with the largest share of the event loop's samples, inclusive
("in it or in what it calls") and by themselves ("self"), and the replies/s of the burst.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from actions import free_port, started  # bench/actions.py
from poster import Poster  # bench/poster.py

from botengine.testing import make_event

BIN = Path(sys.executable).parent
RULES = 'rules:\n  - name: echo\n    do: [{reply: "ok {{ text }}"}]\n'


def _short(frame: str) -> str:
    """`name (path/to/file.py:12)` → `name (file.py)`: one entry per function, not per line."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})"


def summary(raw: Path, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [_short(frame) for frame in stack.split(";")]
        if frames[0].startswith("Thread._bootstrap"):
            continue  # another thread: the checkpointer and thread pools, mostly waiting
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    print(f"\n{total} samples of the main thread (the event loop)")
    for title, table in (("inclusive", inclusive), ("self", own)):
        print(f"\ntop {top} by {title} share:")
        for frame, n in table.most_common(top):
            print(f"  {n / total:6.1%}  {frame}")


async def burst(engine: str, fake: str, events: int) -> float:
    poster = Poster(engine + "/webhook/whatsapp", connections=32)
    start = time.time()
    posts = (poster.post(make_event(text=f"m{i}", sender=f"1555{i % 200:07d}@c.us")) for i in range(events))
    await asyncio.gather(*posts)
    async with httpx.AsyncClient(timeout=60) as client:
        while True:
            calls = (await client.get(fake + "/_fake/calls")).json()
            if len(calls) >= events:
                break
            await asyncio.sleep(0.5)
    poster.close()
    return events / (max(c["at"] for c in calls) - start)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--sync", choices=("full", "normal"), default="full")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "rules").mkdir()
        (tmp / "rules" / "echo.yaml").write_text(RULES)
        fake_port, port = free_port(), free_port()
        fake, engine = f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{port}"
        engine_cmd = [
            str(BIN / "botengine"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--rules", str(tmp / "rules"), "--data-dir", str(tmp / "data"), "--wawp-url", fake,
            "--send-rate", "0", "--sync", args.sync,
        ]  # fmt: skip
        fake_cmd = [str(BIN / "botengine"), "fake-wawp", "--port", str(fake_port)]
        with (
            started(fake_cmd, tmp / "fake.log", fake + "/_fake/calls", core=1),
            started(engine_cmd, tmp / "engine.log", engine + "/healthz", core=0) as process,
        ):
            asyncio.run(burst(engine, fake, 300))  # warm-up
            httpx.post(fake + "/_fake/reset")
            raw = tmp / "profile.txt"
            record = [spy, "record", "--pid", str(process.pid), "--rate", "100", "--format", "raw"]
            spying = subprocess.Popen([*record, "--output", str(raw)], stdout=subprocess.DEVNULL)
            time.sleep(1.0)  # py-spy attaches
            rate = asyncio.run(burst(engine, fake, args.events))
            spying.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
            spying.wait(30)
        print(f"burst: {args.events} events, {rate:,.0f} replies/s (--sync {args.sync})")
        summary(raw, args.top)


if __name__ == "__main__":
    main()
