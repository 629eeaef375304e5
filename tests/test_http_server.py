"""Slow or oversized requests cannot hold `botengine serve`'s connections: raw sockets against the
real command, with short deadlines (--header-timeout 1s, --body-timeout 2s)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from botengine.testing import make_event
from botengine.testing.process import ServeProcess, serve_process

PATH = "/webhook/whatsapp"
_REFUSED = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    root = tmp_path_factory.mktemp("http")
    (root / "rules").mkdir()
    flags = ["--header-timeout", "1s", "--body-timeout", "2s"]
    with serve_process(root / "rules", root / "data", flags=flags) as running:
        yield running


def _connect(engine: ServeProcess) -> socket.socket:
    host, port = engine.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.settimeout(20)  # a bound on the test, far past the deadlines: a hang fails, not blocks
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _served(engine: ServeProcess) -> None:
    """Others are answered meanwhile: the health check, and an event."""
    assert httpx.get(engine.url + "/healthz", timeout=5).status_code == 200
    answer = httpx.post(engine.url + PATH, json=make_event(text="still here"), timeout=5)
    assert answer.json() == {"status": "accepted"}


def test_headers_sent_slowly_get_408_and_the_connection_closes(engine: ServeProcess) -> None:
    slow = [_connect(engine) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")
    _served(engine)
    trickle = slow[0]
    started = time.monotonic()
    for byte in b"Content-Type: application/json\r\n":  # a byte at a time keeps nothing open
        try:
            trickle.sendall(bytes([byte]))
        except OSError:
            break
        time.sleep(0.1)
    assert time.monotonic() - started < 15
    for sock in slow:
        assert _answer(sock).startswith(b"HTTP/1.1 408 ")
        sock.close()
    _served(engine)


def test_a_half_sent_body_gets_408_and_the_connection_closes(engine: ServeProcess) -> None:
    body = json.dumps(make_event(text="half")).encode()
    sock = _connect(engine)
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode() + body[: len(body) // 2])
    _served(engine)
    assert _answer(sock).startswith(b"HTTP/1.1 408 ")
    sock.close()


def test_a_body_sent_to_a_page_that_ignores_it_cannot_hold_the_connection(engine: ServeProcess) -> None:
    sock = _connect(engine)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
    answer = _answer(sock)  # the page answers at once; the body never comes; the deadline ends it
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 1
    sock.close()


def test_after_an_early_answer_the_next_request_still_has_a_header_deadline(engine: ServeProcess) -> None:
    sock = _connect(engine)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
    time.sleep(0.2)  # answered before its body is in
    sock.sendall(b"abc" + b"GET /healthz HTTP/1.1\r\n")  # the body, then a next request, cut short
    answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(_REFUSED)
    sock.close()


def test_a_huge_header_gets_431(engine: ServeProcess) -> None:
    sock = _connect(engine)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
    try:
        for _ in range(64):  # 4 MiB, of which the server takes 64 KiB before it hangs up
            sock.sendall(b"a" * 65536)
    except OSError:
        pass  # refused part-way: what we want
    assert _answer(sock).startswith(b"HTTP/1.1 431 ")
    sock.close()
    _served(engine)


def test_keep_alive_requests_still_work(engine: ServeProcess) -> None:
    with httpx.Client(base_url=engine.url, timeout=5) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(0.5)  # within the keep-alive and header deadlines
        assert client.post(PATH, json=make_event(text="kept alive")).status_code == 200


def test_the_log_names_the_slow_client(engine: ServeProcess, tmp_path: Path) -> None:
    sock = _connect(engine)
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    assert _answer(sock).startswith(b"HTTP/1.1 408 ")
    sock.close()
    log = engine.log.read_text(errors="replace")
    assert "closed a connection: its headers did not arrive in time" in log
