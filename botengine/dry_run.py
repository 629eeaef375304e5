"""Dry runs: what the rules would do with an event, through the live path, with no side effects.

The one service behind `botengine dry-run`, the rules files' inline tests and the dashboard's
playground: the real rule processor and executor in dry-run mode, on fresh in-memory storage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botengine.actions import Services
from botengine.actions.executor import Executor
from botengine.errors import BotengineError
from botengine.events import parse_envelope, view_of
from botengine.processing import Processed, RuleProcessor
from botengine.rules.engine import RuleSet
from botengine.state import Scope, set_var
from botengine.storage.memory import MemoryStorage


async def dry_run_event(
    rules: RuleSet,
    body: bytes,
    *,
    now: datetime | None = None,
    state: Mapping[str, Any] | None = None,
) -> Processed:
    """What the rules would do with one event, through the live path in dry-run mode.

    On fresh in-memory storage (holding the `state` given: the chat's, or the sender's with
    `scope: sender`): nothing the run does outlives it. Raises BotengineError when the body is
    not a valid event.
    """
    parsed = parse_envelope(body)
    if isinstance(parsed, list):
        raise BotengineError(
            "not a valid event: " + "; ".join(f"{p.field or 'body'}: {p.message}" for p in parsed)
        )
    view = view_of(parsed)
    storage = MemoryStorage()
    variables = dict(state or {})
    scope: Scope = "sender" if variables.pop("scope", "chat") == "sender" else "chat"
    owner = view.chat.id if scope == "chat" else (view.sender.id if view.sender else "")
    for var, value in variables.items():
        await set_var(storage, view.session, scope, owner, var, value, None)
    executor = Executor(Services(storage=storage, env=os.environ), dry_run=True)
    processor = RuleProcessor(lambda: rules, storage, executor, dry_run=True)
    return await processor.process(view, body, now=now)
