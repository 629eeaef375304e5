"""The engine's settings, parsed: `Settings`, read from flags, `BOTENGINE_*` variables and defaults.

Every setting is an option of the one table in options.py (flag, variable, default, parser);
`Settings.load` applies the order flag, then environment variable, then default, and a field's
default is its option's, parsed. `setting(name)` reads a single one (for commands).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from botengine.errors import ConfigError
from botengine.options import OPTIONS, Network, Option
from botengine.quiet import QuietWindow
from botengine.secrets import Declared

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
    debounce: QuietWindow | None = _default("debounce")
    stop_words: tuple[str, ...] = _default("stop_words")
    start_words: tuple[str, ...] = _default("start_words")
    stop_reply: str = _default("stop_reply")
    start_reply: str = _default("start_reply")
    retry_policy: Literal["exponential", "linear", "constant"] = _default("retry_policy")
    retries: int = _default("retries")
    retry_delay: float = _default("retry_delay")
    ledger_window: float = _default("ledger_window")
    log_json: bool = _default("log_json")
    log_level: str = _default("log_level")
    log_events: Literal["all", "acted", "none"] = _default("log_events")
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
