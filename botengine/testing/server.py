"""Run an ASGI app over real HTTP on a loopback port, in a background thread, or the whole engine
as a subprocess (`start_engine`)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from botengine.http_server import Server
from botengine.testing.waiting import eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(
    app: Any, *, port: int | None = None, timeout: float = 10.0, **options: Any
) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 while the block runs; yields its base URL.

    The app's lifespan runs (so its workers start) and shuts down cleanly on exit. `options` go
    to uvicorn.Config (e.g. `ssl_certfile=` and `ssl_keyfile=` to serve https).
    """
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        **options,
    )
    server = Server(config)  # an engine's worker starts once it listens, as under `serve`
    thread = threading.Thread(target=server.run, name=f"serve-{port}", daemon=True)
    thread.start()
    with contextlib.suppress(TimeoutError):
        eventually(lambda: server.started or not thread.is_alive(), timeout, every=0.01)
    if not server.started:
        raise RuntimeError(f"the test server on port {port} did not start")
    try:
        yield f"{'https' if options.get('ssl_certfile') else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def start_engine(
    rules_dir: Path,
    data_dir: Path,
    log_path: Path,
    *,
    port: int,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> subprocess.Popen[bytes]:
    """`botengine serve` in a subprocess on 127.0.0.1:`port`, once it answers /healthz.

    The engine's BOTENGINE_* settings come from `env` only (the caller's shell never leaks in);
    its output goes to `log_path`. RuntimeError, with the end of the log, when it does not start.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOTENGINE_")}
    command = [sys.executable, "-m", "botengine", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--rules", str(rules_dir), *extra]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, env={**clean, **(env or {})})  # noqa: S603 - our own command
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    process.wait(10)
    raise RuntimeError(f"the engine did not start: {log_path.read_text(errors='replace')[-400:]}")
