"""What the fault tests share: the engine as a process, a load, a /healthz probe, and the tally.

    fake = FakeWawp()                       # in this process; the engine replies through it
    engine = EngineProcess(tmp_path, RULES, fake.url)
    engine.start()
    with HealthProbe(engine.url) as probe, Stream(engine.url, events) as stream:
        stream.wait_accepted(100)
        ...                                 # the fault: a full disk, Redis killed, SIGKILL
    tally = Tally.of(stream.accepted, fake, dead_letter_ids)
    report("disk full", tally, probe)       # one line, in the test's output and in the note

Every rule replies "got <event id>", so the fake Wawp's record says which accepted events were
answered, and how often. An accepted event is *lost* when it was neither answered nor
dead-lettered once everything settled (a restart included); *stuck* when it was neither before
the restart, after the fault had cleared; a *duplicate* when it was answered more than once.

FAULTS_BASELINE=1 runs the scenarios against a botengine without the fixes (PYTHONPATH pointing
at its checkout): rules then leave out `uncertain:`, and the tests print their figures without
asserting them (the "before" column of the note).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest

from botengine.testing import FakeWawp
from botengine.testing.server import free_port, start_engine
from botengine.testing.waiting import eventually

BASELINE = os.environ.get("FAULTS_BASELINE") == "1"
SECRET = "fault-test-secret"
ADMIN = "fault-test-admin"
HEADERS = {"content-type": "application/json", "x-webhook-secret": SECRET}
REPLY = re.compile(r"^got (\S+)$")


def rules(uncertain: str | None = None, timeout: str | None = None) -> str:
    """One rule: reply "got <event id>" to every message (with its `uncertain:` policy)."""
    options = ""
    if uncertain and not BASELINE:
        options += f"\n        uncertain: {uncertain}"
    if timeout:
        options += f"\n        timeout: {timeout}"
    return f"""
rules:
  - name: echo
    on: message
    do:
      - reply: "got {{{{ event_id }}}}"{options}
"""


class EngineProcess:
    """`botengine serve` on one port, started, killed and restarted on the same data."""

    def __init__(
        self,
        tmp: Path,
        rules_yaml: str,
        wawp_url: str,
        *,
        data_dir: Path | None = None,
        redis_url: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.rules_dir = tmp / "rules"
        self.rules_dir.mkdir(exist_ok=True)
        (self.rules_dir / "rules.yaml").write_text(rules_yaml)
        self.data_dir = data_dir or tmp / "data"
        self.redis_url = redis_url
        self.namespace = f"faults-{os.getpid()}-{free_port()}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "BOTENGINE_SECRET": SECRET,
            "BOTENGINE_ADMIN_TOKEN": ADMIN,
            "BOTENGINE_LOG_JSON": "true",
            "BOTENGINE_WAWP_URL": wawp_url,
            "BOTENGINE_WAWP_TOKEN": "test-token",
            "BOTENGINE_SEND_RATE": "0",
            "BOTENGINE_RETRY_DELAY": "0.2s",
            "BOTENGINE_SHUTDOWN_GRACE": "3s",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        extra = ["--redis-url", self.redis_url, "--redis-namespace", self.namespace] if self.redis_url else []
        log = self.tmp / f"engine-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = start_engine(
            self.rules_dir, self.data_dir, log, port=self.port, extra=extra, env=self.env, timeout=30
        )

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a power cut of the container would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_lines(self) -> Iterator[dict[str, Any]]:
        """Every JSON line every run of this engine logged (lines cut by a kill are skipped)."""
        for log in self.logs:
            for line in log.read_text(errors="replace").splitlines():
                try:
                    yield json.loads(line)
                except ValueError:
                    continue

    def metric(self, name: str) -> float:
        """The sum of a metric's samples, from /metrics (0 when it has none)."""
        text = httpx.get(f"{self.url}/metrics", headers={"authorization": f"Bearer {ADMIN}"}, timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def ready(self) -> int:
        return httpx.get(f"{self.url}/readyz", timeout=5).status_code

    def stored(self) -> StoreState:
        """The dead letters, queue depth and pending jobs, read from the store itself."""
        return asyncio.run(self._stored())

    async def _stored(self) -> StoreState:
        from botengine.storage.disk import DiskStorage

        store: Any
        if self.redis_url:
            from botengine.storage.redis import RedisStorage

            store = RedisStorage(self.redis_url, namespace=self.namespace)
        else:
            store = DiskStorage(self.data_dir)
        try:
            letters = [entry for _, entry in await store.dlq_list()]
            jobs = await store.jobs()
            depth = store.queue_depth()
            if self.redis_url:
                depth = int(await store._client.get(store.keys.depth) or 0)
            return StoreState(letters, depth, len(jobs))
        finally:
            await store.close()

    def __enter__(self) -> EngineProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class StoreState:
    letters: list[dict[str, Any]]
    depth: int
    jobs: int

    @property
    def dead_lettered(self) -> set[str]:
        return {str(letter.get("event_id")) for letter in self.letters}


_PROBE = """
import sys, time, httpx
url, longest, probes = sys.argv[1], 0.0, 0
with httpx.Client(timeout=10) as client:
    while True:
        started = time.monotonic()
        try:
            client.get(url)
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
            time.sleep(0.05)
            continue  # down on purpose (killed, restarting)
        except httpx.TimeoutException:
            pass
        probes += 1
        longest = max(longest, time.monotonic() - started)
        print(f"{longest:.4f} {probes}", flush=True)
        time.sleep(0.05)
"""


class HealthProbe:
    """GETs /healthz 20 times a second; the longest answer while the server was up is the stall.

    A process of its own, so the test's own threads (load, fake Wawp) cannot slow the probe down.
    A refused connection (the engine is down on purpose, between a kill and its restart) is not
    a stall; an answer that takes long, or never comes within 10 s, is.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.longest = 0.0
        self.probes = 0
        self._process: subprocess.Popen[str] | None = None
        self._reader = threading.Thread(target=self._read, name="healthz-probe", daemon=True)

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            longest, probes = line.split()
            self.longest, self.probes = float(longest), int(probes)

    def __enter__(self) -> HealthProbe:
        command = [sys.executable, "-c", _PROBE, f"{self.url}/healthz"]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self._reader.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(10)
        self._reader.join(10)
        if self._process.stdout is not None:
            self._process.stdout.close()


class Stream:
    """Posts events from `threads` connections, as Wawp would; records each event's answer.

    `pace` seconds between two posts of one thread keeps the load steady; a refused connection
    (the engine is restarting) is retried, like Wawp's retries, until `give_up` seconds passed.
    """

    def __init__(
        self,
        url: str,
        events: Iterable[Mapping[str, Any]],
        *,
        threads: int = 8,
        pace: float = 0.0,
        give_up: float = 60.0,
    ) -> None:
        self.url = url + "/webhook/whatsapp"
        self.events = list(events)
        self.answers: dict[str, str] = {}
        self.pace = pace
        self.give_up = give_up
        self._next = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    @property
    def accepted(self) -> set[str]:
        with self._lock:
            return {event_id for event_id, answer in self.answers.items() if answer == "accepted"}

    def _take(self) -> Mapping[str, Any] | None:
        with self._lock:
            if self._next >= len(self.events):
                return None
            self._next += 1
            return self.events[self._next - 1]

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while (event := self._take()) is not None:
                self._post(client, event)
                if self.pace:
                    time.sleep(self.pace)

    def _post(self, client: httpx.Client, event: Mapping[str, Any]) -> None:
        body = json.dumps(event).encode()
        deadline = time.monotonic() + self.give_up
        while True:
            try:
                response = client.post(self.url, content=body, headers=HEADERS)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    self._record(event, "unreachable")
                    return
                time.sleep(0.1)
                continue
            answer = (
                response.json().get("status") if response.status_code == 200 else str(response.status_code)
            )
            self._record(event, str(answer))
            return

    def _record(self, event: Mapping[str, Any], answer: str) -> None:
        with self._lock:
            if self.answers.get(str(event["id"])) != "accepted":  # a retry's "duplicate" is no news
                self.answers[str(event["id"])] = answer

    def wait_accepted(self, count: int, timeout: float = 60.0) -> None:
        eventually(lambda: len(self.accepted) >= count, timeout, f"{count} accepted events")

    def __enter__(self) -> Stream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(self.give_up + 30)


@dataclass
class Tally:
    accepted: set[str]
    replies: Counter[str]
    dead_lettered: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, accepted: set[str], fake: FakeWawp, dead_lettered: Iterable[str] = ()) -> Tally:
        replies: Counter[str] = Counter()
        for call in fake.calls_to("/v2/send/text"):
            found = REPLY.match(str((call.json or {}).get("message", "")))
            if found and call.status == 200:
                replies[found[1]] += 1
        return cls(accepted, replies, set(dead_lettered))

    @property
    def unsettled(self) -> set[str]:
        """Accepted, and neither answered nor dead-lettered."""
        return self.accepted - set(self.replies) - self.dead_lettered

    @property
    def duplicated(self) -> int:
        return sum(1 for n in self.replies.values() if n > 1)


def settle(
    engine: EngineProcess,
    fake: FakeWawp,
    accepted: set[str],
    within: float,
    excluded: Callable[[], set[str]] = set,
) -> Tally:
    """The tally once every accepted event is answered or dead-lettered, or at `within` seconds.

    `excluded()` names events that need neither (their action was skipped by policy); it and the
    store's dead letters are read once a second at most.
    """
    deadline = time.monotonic() + within
    looked = 0.0
    dead_lettered: set[str] = set()
    skipped: set[str] = set()
    while True:
        tally = Tally.of(accepted, fake, dead_lettered)
        now = time.monotonic()
        if tally.unsettled - skipped and now - looked > 1.0:
            looked = now
            tally.dead_lettered = dead_lettered = engine.stored().dead_lettered
            skipped = excluded()
        if not tally.unsettled - skipped or now > deadline:
            return tally
        time.sleep(0.2)


def report(scenario: str, **figures: object) -> str:
    """One line for the test's output (pytest -s) and the note: `FAULTS <scenario>: k=v …`."""
    line = f"FAULTS {scenario}: " + " ".join(f"{k}={v}" for k, v in figures.items())
    print("\n" + line, flush=True)
    with (Path(os.environ.get("FAULTS_REPORT", "/dev/null"))).open("a") as out:
        out.write(line + "\n")
    return line


def check(condition: bool, message: str) -> None:
    """Assert, except in a baseline run (which only reports what it saw)."""
    if not BASELINE:
        assert condition, message


def redis_server(stack: ExitStack, directory: Path) -> RedisServer:
    """A redis-server of the test's own, running until `stack` closes (skips where none is installed)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return stack.enter_context(RedisServer(directory))


def redis_url_for(backend: str, stack: ExitStack, directory: Path) -> str | None:
    """None for the embedded store; for "redis", the URL of a redis-server of the test's own."""
    return redis_server(stack, directory).url if backend == "redis" else None


def readiness_for(engine: EngineProcess, seconds: float) -> set[int]:
    """What /readyz answered, looking five times a second for `seconds` (the fault lasts that long)."""
    answers: set[int] = set()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        answers.add(engine.ready())
        time.sleep(0.2)
    return answers


def settle_then_restart(engine: EngineProcess, fake: FakeWawp, accepted: set[str]) -> tuple[int, Tally]:
    """Stuck (unsettled well after the fault cleared, no restart) and the tally after a restart."""
    stuck = len(settle(engine, fake, accepted, within=40).unsettled)
    engine.stop()  # a restart: whatever is still queued runs now, or is lost for good
    engine.start()
    return stuck, settle(engine, fake, accepted, within=30)


def judge_recovery(
    scenario: str, stream: Stream, stuck: int, after: Tally, probe: HealthProbe, ready_during: set[int]
) -> None:
    """Report a store fault's figures, then check them: nothing lost, stuck, doubled or frozen."""
    accepted = stream.accepted
    refused = sum(1 for answer in stream.answers.values() if answer == "503")
    report(
        scenario,
        accepted=len(accepted),
        refused_503=refused,
        lost=len(after.unsettled),
        stuck=stuck,
        duplicated=after.duplicated,
        dead_lettered=len(after.dead_lettered & accepted),
        healthz_stall_s=round(probe.longest, 3),
        readyz_during_fault=sorted(ready_during),
    )
    assert refused > 0, "the fault never showed while events came in"
    check(not after.unsettled, f"{len(after.unsettled)} accepted events lost")
    check(stuck == 0, f"{stuck} accepted events waited for a restart")
    check(after.duplicated == 0, f"{after.duplicated} events answered twice")
    check(not (after.dead_lettered & accepted), "a store fault is no reason to dead-letter an event")
    check(ready_during == {503}, "/readyz said ready while the store was failing")
    check(probe.longest < 1.0, f"/healthz took {probe.longest:.2f}s to answer")


class RedisServer:
    """A redis-server of the test's own, on its own free port, persisting with AOF `always`.

    Never the machine's shared Redis: this one is killed and restarted by the test.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no",
        ]  # fmt: skip
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        eventually(self._answers, 20, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType] | None) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
