"""Every setting in one table (`OPTIONS`): its flag, its `BOTENGINE_*` variable, its default, its
parser and what it means. The only place a default is written.

The CLI builds its `serve` flags from it, the README's configuration reference is generated from
it (tests/test_docs.py), and config.Settings holds the parsed values: flag, then variable, then
default, always parsed from text. Secrets are only ever read from the environment, never from
flags (they would show in `ps`) or from rules files: their options have no flag.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botengine.durations import parse_duration
from botengine.quiet import parse_quiet_window
from botengine.secrets import parse_declaration

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(text: str) -> tuple[Network, ...]:
    nets = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not an IP address or CIDR range") from exc
    return tuple(nets)


def words(text: str) -> tuple[str, ...]:
    return tuple(filter(None, (p.strip() for p in text.split(","))))


def keywords(text: str) -> tuple[str, ...]:
    """Comma-separated words, or `off` for none."""
    return () if text.strip().lower() in ("off", "none") else words(text)


def size(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("kib", 1024), ("mib", 1 << 20), ("kb", 1000), ("mb", 1_000_000), ("b", 1)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def yes_no(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{text!r} is not a yes/no value (use true or false)")


@dataclass(frozen=True)
class Choice:
    """A parser that accepts one of a few words, and can say which (for --help and the README)."""

    choices: tuple[str, ...]

    def __call__(self, text: str) -> str:
        if text not in self.choices:
            raise ValueError(f"{text!r} is not one of {', '.join(self.choices)}")
        return text


def choice(*choices: str) -> Choice:
    return Choice(choices)


@dataclass(frozen=True)
class Option:
    """One setting: `flag` is None for secrets, which come from the environment only."""

    name: str
    env: str
    parse: Callable[[str], Any]
    default: str
    help: str
    flag: str | None = None
    is_switch: bool = False

    @property
    def choices(self) -> tuple[str, ...]:
        """The values allowed, when there are only a few (listed in --help and the README)."""
        return self.parse.choices if isinstance(self.parse, Choice) else ()

    @property
    def described(self) -> str:
        """The help text, with the values allowed when there are only a few."""
        if not self.choices:
            return self.help
        return f"{self.help} (one of: {', '.join(self.choices)})"


OPTIONS: tuple[Option, ...] = (
    Option(
        "host",
        "BOTENGINE_HOST",
        str,
        "0.0.0.0",  # noqa: S104 - the default; loopback is forced while no secret is set
        "address to listen on (loopback only while no secret is set)",
        "--host",
    ),
    Option("port", "BOTENGINE_PORT", int, "8080", "port to listen on", "--port"),
    Option(
        "rules_dir",
        "BOTENGINE_RULES",
        Path,
        "rules",
        "directory of rules files (*.yaml) and list files",
        "--rules",
    ),
    Option(
        "data_dir",
        "BOTENGINE_DATA_DIR",
        Path,
        ".botengine-data",
        "directory of the embedded store",
        "--data-dir",
    ),
    Option(
        "redis_url",
        "BOTENGINE_REDIS_URL",
        str,
        "",
        "use Redis at this URL instead of the embedded store (pip install botengine[redis])",
        "--redis-url",
    ),
    Option(
        "redis_namespace",
        "BOTENGINE_REDIS_NAMESPACE",
        str,
        "botengine",
        "prefix of every Redis key (several bots can share one Redis)",
        "--redis-namespace",
    ),
    Option(
        "redis_lease",
        "BOTENGINE_REDIS_LEASE",
        parse_duration,
        "30s",
        "how long a dead worker's queue partitions wait before another worker takes them over",
        "--redis-lease",
    ),
    Option(
        "role",
        "BOTENGINE_ROLE",
        choice("all", "receiver", "worker"),
        "all",
        "receiver: accept webhooks only; worker: run the rules only; all: both (scale them apart on Redis)",
        "--role",
    ),
    Option(
        "dry_run",
        "BOTENGINE_DRY_RUN",
        yes_no,
        "false",
        "log every action instead of performing it",
        "--dry-run",
        is_switch=True,
    ),
    Option(
        "webhook_path",
        "BOTENGINE_WEBHOOK_PATH",
        str,
        "/webhook/whatsapp",
        "URL path Wawp posts events to",
        "--webhook-path",
    ),
    Option(
        "secrets",
        "BOTENGINE_SECRET",
        words,
        "",
        "webhook secret(s), comma-separated; accepted as ?secret= or X-Webhook-Secret",
    ),
    Option(
        "hmac_keys",
        "BOTENGINE_HMAC_KEY",
        words,
        "",
        "key(s) for the X-Webhook-Hmac signature (HMAC-SHA512 of the body), comma-separated",
    ),
    Option(
        "admin_token",
        "BOTENGINE_ADMIN_TOKEN",
        str,
        "",
        "bearer token for /-/reload, /metrics and the dashboard",
    ),
    Option(
        "rule_secrets",
        "BOTENGINE_RULE_SECRETS",
        parse_declaration,
        "",
        "environment variables rules may read as `{{ secrets.NAME }}`: names, or prefixes like "
        "`SHOP_*`, comma-separated (see docs/actions.md)",
    ),
    Option(
        "dashboard_user",
        "BOTENGINE_DASHBOARD_USER",
        str,
        "admin",
        "user name for the dashboard's password login",
        "--dashboard-user",
    ),
    Option(
        "dashboard_password",
        "BOTENGINE_DASHBOARD_PASSWORD",
        str,
        "",
        "password for the dashboard (it is off while neither this nor the admin token is set)",
    ),
    Option(
        "dashboard_viewer",
        "BOTENGINE_DASHBOARD_VIEWER",
        str,
        "viewer",
        "user name of the dashboard's read-only login",
        "--dashboard-viewer",
    ),
    Option(
        "dashboard_viewer_password",
        "BOTENGINE_DASHBOARD_VIEWER_PASSWORD",
        str,
        "",
        "password of the read-only login: sees every page, changes nothing (off while not set)",
    ),
    Option(
        "trace_window",
        "BOTENGINE_TRACE_WINDOW",
        parse_duration,
        "24h",
        "how long the dashboard keeps each event's trace (at most 5000 traces)",
        "--trace-window",
    ),
    Option(
        "allow_ips",
        "BOTENGINE_ALLOW_IPS",
        networks,
        "",
        "if set, only these addresses/CIDRs may post events",
        "--allow-ips",
    ),
    Option(
        "trusted_proxies",
        "BOTENGINE_TRUSTED_PROXIES",
        networks,
        "",
        "proxies whose X-Forwarded-For and X-Forwarded-Proto are believed",
        "--trusted-proxies",
    ),
    Option("max_body", "BOTENGINE_MAX_BODY", size, "1MiB", "largest accepted request body", "--max-body"),
    Option(
        "header_timeout",
        "BOTENGINE_HEADER_TIMEOUT",
        parse_duration,
        "10s",
        "a request's headers must arrive within this (408 and the connection closed otherwise)",
        "--header-timeout",
    ),
    Option(
        "body_timeout",
        "BOTENGINE_BODY_TIMEOUT",
        parse_duration,
        "30s",
        "a request's whole body must arrive within this once its headers did (408 otherwise)",
        "--body-timeout",
    ),
    Option(
        "dedupe_window",
        "BOTENGINE_DEDUPE_WINDOW",
        parse_duration,
        "7d",
        "how long an event id is remembered",
        "--dedupe-window",
    ),
    Option(
        "max_queue",
        "BOTENGINE_MAX_QUEUE",
        int,
        "100000",
        "queue depth past which the receiver answers 503",
        "--max-queue",
    ),
    Option(
        "sync",
        "BOTENGINE_SYNC",
        choice("full", "normal"),
        "full",
        "full: survive power loss; normal: survive a crash of the process",
        "--sync",
    ),
    Option(
        "concurrency",
        "BOTENGINE_CONCURRENCY",
        int,
        "64",
        "events processed at once (one chat is always one at a time)",
        "--concurrency",
    ),
    Option(
        "shutdown_grace",
        "BOTENGINE_SHUTDOWN_GRACE",
        parse_duration,
        "10s",
        "on SIGTERM, how long in-flight events may finish",
        "--shutdown-grace",
    ),
    Option(
        "wawp_url",
        "BOTENGINE_WAWP_URL",
        str,
        "https://api.wawp.net",
        "base URL of the Wawp API (point it at `botengine fake-wawp` to try without an account)",
        "--wawp-url",
    ),
    Option(
        "wawp_reaction_path",
        "BOTENGINE_WAWP_REACTION_PATH",
        str,
        "/v2/send/reaction",
        "path of Wawp's reaction endpoint (its docs leave it open)",
        "--wawp-reaction-path",
    ),
    Option(
        "send_rate",
        "BOTENGINE_SEND_RATE",
        float,
        "30",
        "WhatsApp messages a minute per session, excess delayed (0: no limit)",
        "--send-rate",
    ),
    Option(
        "debounce",
        "BOTENGINE_DEBOUNCE",
        parse_quiet_window,
        "off",
        "quiet window of every rule without its own debounce: (5s; 5s/30s with a maximum wait; off): "
        "a chat's burst of messages is answered once, that long after the last",
        "--debounce",
    ),
    Option(
        "stop_words",
        "BOTENGINE_STOP_WORDS",
        keywords,
        "STOP, STOPALL, STOPP, UNSUBSCRIBE, ARRÊT, ARRÊTER, DÉSABONNER, ALTO, PARAR, BAJA, BASTA, "
        "ABMELDEN, СТОП, ОТПИСАТЬСЯ, DUR, توقف, إلغاء الاشتراك, BERHENTI, 退订, 取消订阅",
        "a private message that is one of these words (any case, accents, punctuation around it) opts "
        "the sender out of every message and is confirmed; `off`: no built-in STOP (docs/actions.md)",
        "--stop-words",
    ),
    Option(
        "start_words",
        "BOTENGINE_START_WORDS",
        keywords,
        "START, UNSTOP, SUBSCRIBE, DÉMARRER, EMPEZAR, SUSCRIBIR, COMEÇAR, ANMELDEN, СТАРТ, BAŞLA, "
        "ابدأ, اشتراك, MULAI, 订阅",
        "the same for opting back in (only someone who opted out is answered); `off`: none",
        "--start-words",
    ),
    Option(
        "stop_reply",
        "BOTENGINE_STOP_REPLY",
        str,
        "You will get no more messages from us. Write START to get them again.",
        "the built-in STOP's confirmation (a rule of yours that runs opt_out replaces it)",
        "--stop-reply",
    ),
    Option(
        "start_reply",
        "BOTENGINE_START_REPLY",
        str,
        "Welcome back! You will get our messages again. Write STOP to stop them.",
        "the built-in START's confirmation (a rule of yours that runs opt_in replaces it)",
        "--start-reply",
    ),
    Option(
        "retry_policy",
        "BOTENGINE_RETRY_POLICY",
        choice("exponential", "linear", "constant"),
        "exponential",
        "how waits between retries of a failed action grow",
        "--retry-policy",
    ),
    Option(
        "retries",
        "BOTENGINE_RETRIES",
        int,
        "5",
        "retries of a failed action before the dead-letter queue",
        "--retries",
    ),
    Option(
        "retry_delay",
        "BOTENGINE_RETRY_DELAY",
        parse_duration,
        "5s",
        "wait before the first retry (exponential: 5s, 10s, 20s, 40s, 80s)",
        "--retry-delay",
    ),
    Option(
        "ledger_window",
        "BOTENGINE_LEDGER_WINDOW",
        parse_duration,
        "30d",
        "how long actions done are remembered, so a redelivery or replay never repeats them",
        "--ledger-window",
    ),
    Option(
        "log_json",
        "BOTENGINE_LOG_JSON",
        yes_no,
        "false",
        "log JSON lines instead of text",
        "--log-json",
        is_switch=True,
    ),
    Option(
        "log_level",
        "BOTENGINE_LOG_LEVEL",
        choice("debug", "info", "warning", "error"),
        "info",
        "log level",
        "--log-level",
    ),
    Option(
        "log_events",
        "BOTENGINE_LOG_EVENTS",
        choice("all", "acted", "none"),
        "acted",
        "an `event processed` line for every event, only for those a rule fired for (or that "
        "failed), or none (a line costs ~13 µs, a sixth of an event no rule wants)",
        "--log-events",
    ),
)
