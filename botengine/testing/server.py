"""Run an ASGI app over real HTTP on a loopback port, in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

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
    server = uvicorn.Server(config)
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
