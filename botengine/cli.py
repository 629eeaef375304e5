"""The command line: `botengine serve | …`. The only place that turns errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import logging
import sys
from collections.abc import Sequence

from botengine import __version__
from botengine.config import OPTIONS, Settings
from botengine.errors import BotengineError
from botengine.logs import configure_logging

log = logging.getLogger("botengine")

LOOPBACK = "127.0.0.1"

# Modules that add subcommands: each defines `add_commands(sub)`. A new command group is one line
# here; its code lives beside the feature it belongs to.
COMMAND_MODULES: list[str] = [
    "botengine.rules.commands",
    "botengine.emit",
    "botengine.dlq",
    "botengine.actions.discount",
    "botengine.testing.fake_wawp",
]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="receive webhooks and run the rules")
    for option in OPTIONS:
        if option.flag is None:
            continue
        help_text = f"{option.help} (env {option.env}, default {option.default or 'none'})"
        if option.is_switch:
            serve.add_argument(
                option.flag, dest=option.name, action="store_true", default=None, help=help_text
            )
        else:
            serve.add_argument(option.flag, dest=option.name, default=None, help=help_text)
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from botengine.app import build_app

    settings = Settings.load(vars(args))
    configure_logging(json_lines=settings.log_json, level=settings.log_level)
    host = settings.host
    if settings.is_open and not _is_loopback(host):
        log.warning(
            "no webhook secret configured (BOTENGINE_SECRET): listening on %s only, "
            "so nothing outside this machine can post events",
            LOOPBACK,
        )
        host = LOOPBACK
    app = build_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace) + 1,
        server_header=False,
        # botengine reads X-Forwarded-For itself, only from BOTENGINE_TRUSTED_PROXIES; uvicorn's
        # default would trust it from loopback and let a local caller pick its own address
        proxy_headers=False,
    )
    log.info("listening on http://%s:%d%s", host, settings.port, settings.webhook_path)
    uvicorn.Server(config).run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botengine", description="A rule-based WhatsApp bot engine for Wawp."
    )
    parser.add_argument("--version", action="version", version=f"botengine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_serve(sub)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BotengineError as exc:
        print(f"botengine: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
