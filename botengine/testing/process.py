"""`botengine serve` as a process of its own, started the way an operator starts it.

    with serve_process(rules_dir, data_dir, env={"BOTENGINE_ADMIN_TOKEN": "t"}) as engine:
        httpx.get(engine.url + "/readyz")
    print(engine.log.read_text())

For what a server in a thread cannot show: the command line's own server settings (timeouts),
the process environment as the kernel holds it (/proc/self/environ), signals. The process gets
only the `BOTENGINE_*` variables given here (none from the shell running the tests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from botengine.testing.server import free_port


@dataclass(frozen=True)
class ServeProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def serve_process(
    rules_dir: Path,
    data_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    flags: Sequence[str] = (),
    log: Path | None = None,
    timeout: float = 30.0,
) -> Iterator[ServeProcess]:
    """Run `botengine serve` on a free loopback port until the block ends (then SIGTERM)."""
    port = free_port()
    log = log or data_dir.parent / f"serve-{port}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOTENGINE_")}
    environ.update(env or {})
    command = [sys.executable, "-m", "botengine", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--rules", str(rules_dir), "--data-dir", str(data_dir), *flags]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=environ)  # noqa: S603 - our own CLI
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log, timeout)
        yield ServeProcess(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"botengine serve did not start at {url}:\n{log.read_text(errors='replace')}")
