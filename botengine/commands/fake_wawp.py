"""`botengine fake-wawp`: a fake Wawp API on loopback, to try a bot without a WhatsApp account."""

from __future__ import annotations

import argparse

import uvicorn

from botengine.logs import configure_logging
from botengine.testing.fake_wawp import FakeWawp


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fake = sub.add_parser("fake-wawp", help="run a fake Wawp API to try a bot without WhatsApp")
    fake.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    fake.add_argument("--port", type=int, default=8099, help="port to listen on (default 8099)")
    fake.set_defaults(run=run_fake_wawp)


def run_fake_wawp(args: argparse.Namespace) -> int:
    configure_logging()
    base_url = f"http://{args.host}:{args.port}"
    print(f"fake Wawp API on {base_url}; point the engine at it:")
    print(f"  BOTENGINE_WAWP_URL={base_url} BOTENGINE_WAWP_TOKEN=test botengine serve ...")
    print(f'inject failures with: curl -X POST {base_url}/_fake/fail -d \'{{"mode": "500", "times": 2}}\'')
    config = uvicorn.Config(
        FakeWawp().app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=1,  # do not wait out a "timeout" failure's delay on Ctrl-C
    )
    uvicorn.Server(config).run()
    return 0
