"""Every setting: its flag, its `BOTENGINE_*` variable, its default, in one table.

The CLI builds its `serve` flags from `OPTIONS`, the README's configuration reference is checked
against it (tests/test_docs.py), and `Settings.load` applies the order: flag, then environment
variable, then default. Secrets are only ever read from the environment, never from flags (they
would show in `ps`) or from rules files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from botengine.durations import parse_duration
from botengine.errors import ConfigError
from botengine.option import Network, Option, choice, networks, size, words, yes_no
from botengine.secrets import Declared, parse_declaration

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
)


_OPTION = {option.name: option for option in OPTIONS}


def _default(name: str) -> Any:
    """The default of setting `name`, parsed from OPTIONS: defaults are written there only."""
    option = _OPTION[name]
    return option.parse(option.default)


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed; a field's default is its option's, parsed (OPTIONS is the one source)."""

    host: str = _default("host")
    port: int = _default("port")
    rules_dir: Path = _default("rules_dir")
    data_dir: Path = _default("data_dir")
    redis_url: str = _default("redis_url")
    redis_namespace: str = _default("redis_namespace")
    redis_lease: float = _default("redis_lease")
    role: Literal["all", "receiver", "worker"] = _default("role")
    dry_run: bool = _default("dry_run")
    webhook_path: str = _default("webhook_path")
    secrets: tuple[str, ...] = _default("secrets")
    hmac_keys: tuple[str, ...] = _default("hmac_keys")
    admin_token: str = _default("admin_token")
    rule_secrets: Declared = _default("rule_secrets")  # checked at start; rules read the env
    dashboard_user: str = _default("dashboard_user")
    dashboard_password: str = _default("dashboard_password")
    dashboard_viewer: str = _default("dashboard_viewer")
    dashboard_viewer_password: str = _default("dashboard_viewer_password")
    trace_window: float = _default("trace_window")
    allow_ips: tuple[Network, ...] = _default("allow_ips")
    trusted_proxies: tuple[Network, ...] = _default("trusted_proxies")
    max_body: int = _default("max_body")
    header_timeout: float = _default("header_timeout")
    body_timeout: float = _default("body_timeout")
    dedupe_window: float = _default("dedupe_window")
    max_queue: int = _default("max_queue")
    sync: Literal["full", "normal"] = _default("sync")
    concurrency: int = _default("concurrency")
    shutdown_grace: float = _default("shutdown_grace")
    wawp_url: str = _default("wawp_url")
    wawp_reaction_path: str = _default("wawp_reaction_path")
    send_rate: float = _default("send_rate")
    retry_policy: Literal["exponential", "linear", "constant"] = _default("retry_policy")
    retries: int = _default("retries")
    retry_delay: float = _default("retry_delay")
    ledger_window: float = _default("ledger_window")
    log_json: bool = _default("log_json")
    log_level: str = _default("log_level")
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from flags (already parsed, None when not given), then environment, then defaults."""
        flags = flags or {}
        env = os.environ if env is None else env
        values = {option.name: _value(option, flags.get(option.name), env) for option in OPTIONS}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def is_open(self) -> bool:
        """True when anyone who can reach the port could post events."""
        return not self.secrets and not self.hmac_keys


def _value(option: Option, given: Any, env: Mapping[str, str]) -> Any:
    """One setting: the flag `given` (None or False when not), then its variable, then its default."""
    if given is not None and given is not False:
        raw, source = given, option.flag
    elif option.env in env:
        raw, source = env[option.env], option.env
    else:
        raw, source = option.default, None
    try:
        return option.parse(raw) if isinstance(raw, str) else raw
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source or option.name}: {exc}") from exc


def setting(name: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting from its variable (default: the process environment), else its default: for
    commands that need one or two settings of the engine (`emit`'s port), not all of them."""
    return _value(_OPTION[name], None, os.environ if env is None else env)


def reference_table() -> str:
    """The configuration reference as a Markdown table (the README embeds it; a test compares)."""
    lines = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for option in OPTIONS:
        flag = f"`{option.flag}`" if option.flag else "(environment only)"
        default = f"`{option.default}`" if option.default else ""
        lines.append(f"| {flag} | `{option.env}` | {default} | {option.described} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_table())
