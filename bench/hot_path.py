"""CPU time per event through the worker and per action through the executor, in-process.

    .venv/bin/python bench/hot_path.py

What the store-fault handling adds on the hot path is a few µs per event (the in-flight record,
the retry wrappers): too little for the wall-clock benchmarks (ingest.py, actions.py) to show on
a shared machine. This measures CPU time (time.process_time), which other processes do not
inflate: 20,000 events through a Worker with a trivial processor over the embedded store, and
3,000 `set` actions through the Executor (claim, state write, ledger), three times each. Run it
against another checkout (PYTHONPATH=<checkout> from that directory) for a before/after.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

from botengine.actions import ActionSpec, RuleRun, Services
from botengine.actions.executor import Executor
from botengine.events import parse_envelope, view_of
from botengine.metrics import Metrics
from botengine.sample_events import make_event
from botengine.storage import Incoming
from botengine.storage.disk import DiskStorage
from botengine.worker import Worker

logging.disable(logging.CRITICAL)

N = 20000


async def worker_cost(tmp: Path) -> float:
    """µs of CPU per event: accept is outside the timing; take, dispatch, process, ack inside."""
    store = DiskStorage(tmp / "w", sync="normal")
    for i in range(N):
        event = Incoming("default", f"e{i}", "message", f"{i % 200}@c.us", b"{}", time.time())
        await store.accept(event)
    done = asyncio.Event()
    count = 0

    async def proc(event: Incoming) -> str:
        nonlocal count
        count += 1
        if count == N:
            done.set()
        return "logged"

    worker = Worker(store, proc, Metrics())  # the log processor's work: nothing
    t = time.process_time()
    worker.start()
    await done.wait()
    cpu = time.process_time() - t
    await worker.stop(1)
    await store.close()
    return cpu / N * 1e6


async def executor_cost(tmp: Path) -> float:
    """µs of CPU per `set` action run by the executor on the embedded store."""
    store = DiskStorage(tmp / "x", sync="normal")
    executor = Executor(Services(storage=store))
    spec = ActionSpec(kind="set", params={"var": "menu", "value": "{{ text }}"}, index="0")
    M = 3000
    views = []
    for i in range(M):
        event = make_event(text=f"m{i}", sender=f"{i % 200}@c.us")
        views.append((view_of(parse_envelope(json.dumps(event).encode())), json.dumps(event)))
    t = time.process_time()
    for view, body in views:
        run = RuleRun("r", (spec,), {"text": view.text, "sender": {"id": view.sender.id}})
        outcomes = await executor.run_rule(view, run, body)
        assert outcomes[0].status == "done", outcomes
    cpu = time.process_time() - t
    await store.close()
    return cpu / M * 1e6


async def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        w = [await worker_cost(Path(d) / f"{k}") for k in range(3)]
        x = [await executor_cost(Path(d) / f"{k}") for k in range(3)]
    print("worker µs/event (trivial processor, disk): " + ", ".join(f"{v:.1f}" for v in sorted(w)))
    print("executor µs/action (set, disk):           " + ", ".join(f"{v:.1f}" for v in sorted(x)))


asyncio.run(main())
