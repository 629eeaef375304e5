"""The baseline: a bare Starlette route that only answers 200, on the uvicorn `botengine serve` runs.

    python bench/bare_app.py PORT

The server is configured by `botengine.http_server.server_config`, the function `botengine serve`
uses (protocol, loop, keep-alive, headers, logging), so the two differ only in what the route does.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from botengine.config import Settings
from botengine.http_server import server_config


async def webhook(request: Request) -> Response:
    await request.body()
    return JSONResponse({"status": "accepted"})


app = Starlette(routes=[Route("/webhook/whatsapp", webhook, methods=["POST"])])

if __name__ == "__main__":
    settings = Settings.load({"port": sys.argv[1]}, env={})
    uvicorn.Server(server_config(app, settings, "127.0.0.1")).run()
