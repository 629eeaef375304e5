"""The outbound HTTP client (httpx on aiohttp's pool): TLS verified, connections kept alive and
capped, timeouts and refusals reported as httpx's errors, the URL sent as httpx encoded it."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest
import trustme

from botengine.outbound import AiohttpTransport, http_client

TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class Server:
    """A loopback HTTP/1.1 server that answers 200 (after `delay` s), keeps connections open,
    and records every connection and request line it saw."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.connections = 0
        self.requests: list[bytes] = []
        self.headers: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.requests.append(head.split(b"\r\n", 1)[0])
                self.headers.append(head)
                length = next(
                    (
                        int(h.split(b":")[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def serve(server: Server, tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, str]:
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    return listening, f"{'https' if tls else 'http'}://127.0.0.1:{port}"


@pytest.fixture
async def plain() -> AsyncIterator[tuple[Server, str]]:
    server = Server()
    listening, url = await serve(server)
    async with listening:
        yield server, url


async def test_calls_share_kept_alive_connections(plain: tuple[Server, str]) -> None:
    server, url = plain
    async with http_client(TIMEOUT, base_url=url) as client:
        for i in range(5):
            assert (await client.post("/v2/send/text", json={"n": i})).text == "ok"
    assert len(server.requests) == 5 and server.connections == 1


async def test_at_most_max_connections_at_once() -> None:
    server = Server(delay=0.2)
    listening, url = await serve(server)
    async with (
        listening,
        httpx.AsyncClient(
            base_url=url, timeout=TIMEOUT, transport=AiohttpTransport(httpx.Limits(max_connections=3))
        ) as client,
    ):
        answers = await asyncio.gather(*(client.get(f"/{i}") for i in range(9)))
    assert [a.status_code for a in answers] == [200] * 9 and server.connections == 3


async def test_the_url_goes_as_httpx_encoded_it_and_its_password_as_a_header(
    plain: tuple[Server, str],
) -> None:
    server, url = plain
    target = url.replace("http://", "http://user:p%40ss@") + "/a/x%2F..%3Fy%3D1/b?q=a%26b"
    async with http_client(TIMEOUT) as client:
        assert (await client.get(target)).status_code == 200
    assert server.requests == [b"GET /a/x%2F..%3Fy%3D1/b?q=a%26b HTTP/1.1"]
    assert b"\r\nauthorization: Basic dXNlcjpwQHNz\r\n" in server.headers[0]  # user:p@ss


async def test_a_refused_connection_is_a_connect_error() -> None:
    listening, url = await serve(Server())
    listening.close()
    await listening.wait_closed()  # nobody listens on that port any more
    async with http_client(TIMEOUT) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)


async def test_a_slow_answer_is_a_read_timeout() -> None:
    server = Server(delay=2.0)
    listening, url = await serve(server)
    async with listening, http_client(httpx.Timeout(0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(url)


async def test_a_line_break_in_a_header_is_refused_before_sending(plain: tuple[Server, str]) -> None:
    server, url = plain
    async with http_client(TIMEOUT) as client:
        with pytest.raises(httpx.LocalProtocolError):
            await client.get(url, headers={"x-note": "a\r\nx-injected: 1"})
    assert server.requests == []


async def test_tls_certificates_are_verified() -> None:
    authority = trustme.CA()  # a CA the client does not trust
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    server = Server()
    listening, url = await serve(server, tls)
    async with listening, http_client(TIMEOUT) as client:
        with pytest.raises(httpx.ConnectError, match="certificate"):
            await client.get(url)
    assert server.requests == []
