"""Posting events to an engine over kept-alive sockets, for the benchmarks' load generators.

An httpx client costs ~2 ms of CPU per post here, and with thousands of posts waiting its pool
spends its time choosing a connection (httpcore's `_assign_requests_to_connections`): the load
generator, not the engine, set the pace. A raw request over a socket costs ~30 µs.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

SECRET_HEADER = "X-Webhook-Secret"


class Poster:
    """POSTs JSON bodies to one engine's webhook over at most `connections` kept-alive sockets."""

    def __init__(self, url: str, *, secret: str = "", connections: int = 32) -> None:
        host_port, _, path = url.removeprefix("http://").partition("/")
        host, _, port = host_port.partition(":")
        self.host, self.port, self.path = host, int(port or 80), "/" + path
        self.secret = secret
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(connections)
        self.resent = 0

    async def post(self, event: dict[str, Any]) -> int:
        """The status of the engine's answer; a post on a connection the engine closed is resent
        (the engine drops a repeated event id, so resending is safe)."""
        body = json.dumps(event).encode()
        secret = f"{SECRET_HEADER}: {self.secret}\r\n" if self.secret else ""
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{secret}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        async with self.slots:
            for attempt in range(3):
                fresh = attempt or not self.idle
                reader, writer = (
                    await asyncio.open_connection(self.host, self.port) if fresh else self.idle.pop()
                )
                try:
                    writer.write(head.encode() + body)
                    answer = await reader.readuntil(b"\r\n\r\n")
                    length = re.findall(rb"(?i)\r\ncontent-length: *(\d+)", answer)
                    await reader.readexactly(int(length[0]) if length else 0)
                    break
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    self.resent += 1
                    if attempt == 2:
                        raise
            self.idle.append((reader, writer))
        return int(answer[9:12])

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()
