"""The HTTP client every outbound call goes through: Wawp's API and the `webhook` action.

It is httpx's client (its API, errors and URL handling, which the rest of the code uses) on
aiohttp's connection pool. Against the fake Wawp, a call costs about a quarter of the CPU of
httpx's own transport (httpcore), whose pool bookkeeping was half of the worker's time
(docs/benchmarks.md, "Outbound HTTP clients").

The transport is ours rather than the `httpx-aiohttp` package's, which measured the same but
sends some requests differently from httpx: aiohttp re-encodes the URL it is given (`%3D` in a
path became `=`, undoing the webhook's per-segment encoding), refuses a URL with a user:password
(httpx has already turned it into an Authorization header), reports a refused connection as a
timeout, and a header holding a line break as a bare ValueError. Here the URL goes as httpx
encoded it, without its user:password, and aiohttp's errors become httpx's.

What stays as before: TLS verification (certifi's roots, as httpx), HTTP/1.1 keep-alive, at most
`LIMITS.max_connections` connections, idle ones closed after `keepalive_expiry`, the connect,
read and pool timeouts given, no redirects followed. Proxies from the environment are not used.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx
import yarl

LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
_CHUNK = 16 * 1024


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's errors as the httpx ones callers catch (most specific first)."""
    try:
        yield
    except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS, TLS handshake
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc), request=request) from exc
    except (TimeoutError, aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise httpx.ReadTimeout(str(exc) or "no answer in time", request=request) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.NetworkError(str(exc) or type(exc).__name__, request=request) from exc
    except ValueError as exc:  # a header with a line break: aiohttp refuses to write it
        raise httpx.LocalProtocolError(str(exc), request=request) from exc


class _Body(httpx.AsyncByteStream):
    """An aiohttp response's body, read as httpx reads a stream."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent on one aiohttp session (opened on first use, inside the event loop)."""

    def __init__(self, limits: httpx.Limits = LIMITS) -> None:
        self._limits = limits
        self._ssl = httpx.create_ssl_context()  # verification on, certifi's roots
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                keepalive_timeout=self._limits.keepalive_expiry,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        # as httpx encoded it (encoded=True: no second pass), its user:password already a header
        sent = request.url if not request.url.userinfo else request.url.copy_with(userinfo=b"")
        url = yarl.URL(str(sent), encoded=True)
        body = await request.aread()
        with _as_httpx_errors(request):
            response = await self._open().request(
                request.method,
                url,
                headers=request.headers,
                data=body or None,
                allow_redirects=False,
                compress=None,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
            )
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def http_client(
    timeout: httpx.Timeout,
    *,
    base_url: str = "",
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An httpx AsyncClient on aiohttp's pool (or on `transport`, for tests), no redirects."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        limits=LIMITS,
        follow_redirects=False,
        transport=transport if transport is not None else AiohttpTransport(),
    )
