"""`botengine serve`: receive webhooks and run the rules (every option of config.OPTIONS)."""

from __future__ import annotations

import argparse
import ipaddress
import logging

from botengine.app import build_app
from botengine.config import Settings
from botengine.errors import ConfigError
from botengine.logs import configure_logging
from botengine.options import OPTIONS

log = logging.getLogger("botengine")

LOOPBACK = "127.0.0.1"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="receive webhooks and run the rules")
    serve.add_argument(
        "rules", nargs="?", default=None, metavar="RULES", help="the rules directory (same as --rules)"
    )
    for option in OPTIONS:
        if option.flag is None:
            continue
        help_text = f"{option.described} (env {option.env}, default {option.default or 'none'})"
        if option.is_switch:
            serve.add_argument(
                option.flag, dest=option.name, action="store_true", default=None, help=help_text
            )
        else:
            serve.add_argument(
                option.flag, dest=option.name, default=None, choices=option.choices or None, help=help_text
            )
    serve.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    # the server only when serving: the other commands start faster without it

    from botengine.http_server import Server, server_config

    given = vars(args)
    if args.rules is not None:
        if args.rules_dir is not None and args.rules_dir != args.rules:
            raise ConfigError(f"two rules directories given: {args.rules} and --rules {args.rules_dir}")
        given["rules_dir"] = args.rules
    settings = Settings.load(given)
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
    config = server_config(app, settings, host)
    base = f"http://{host}:{settings.port}"
    engine = app.state.engine
    log.info("listening on %s%s", base, settings.webhook_path)
    log.info("loaded %d rules from %s/", len(engine.rules.current), settings.rules_dir)
    if settings.admin_token or settings.dashboard_password:
        log.info("dashboard on %s/dashboard/", base)
    else:
        log.info("dashboard off: set BOTENGINE_ADMIN_TOKEN (or BOTENGINE_DASHBOARD_PASSWORD) to turn it on")
    Server(config).run()  # the worker starts once the socket listens
    return 0
