"""What an action kind is, and the one registry every kind is added to.

An action kind is the YAML word (`reply`, `webhook`, …), a pydantic model of its parameters,
a `run` that does it, and a `preview` that says what it would do (dry runs). Adding a kind means
writing one module with an `ActionKind` and adding one line to `botengine/actions/__init__.py`.

Parameters arrive twice: at load time as written (strings may hold `{{ templates }}`; the rules
loader validates them with `params` to report mistakes with file and line), and at run time
rendered, when they are validated again and passed to `run`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from botengine.events import EventView
from botengine.retry import RetryPolicy
from botengine.storage import Storage
from botengine.types import JSONDict

if TYPE_CHECKING:
    from botengine.wawp import WawpClient


class Params(BaseModel):
    """Base of every action's parameters: unknown keys are mistakes, reported with a hint."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Services:
    """What actions may reach: shared by every action of a running engine."""

    storage: Storage
    wawp: WawpClient | None = None
    http: Any = None  # httpx.AsyncClient for webhooks
    secrets: Mapping[str, str] = field(default_factory=dict)
    files_dir: Any = None  # pathlib.Path the rules live in (pool files are relative to it)
    schedule_later: Callable[..., Awaitable[JSONDict]] | None = None


@dataclass
class ActionContext:
    """One action about to run: the event, where it sits in its rule, and what ran before it."""

    event: EventView
    rule: str
    index: str  # position in the rule: "0", "1", and "2.0" inside a `later`
    services: Services
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """Stable across redeliveries and replays of the same event (sent to webhooks)."""
        return f"{self.event.session}:{self.event.id}:{self.rule}:{self.index}"


@dataclass(frozen=True)
class ActionSpec:
    """One entry of a rule's `do:` list, as loaded from the rules file (not yet rendered).

    `params` is the mapping as written, shorthand expanded; its strings may hold templates.
    `index` is the position in the rule ("0", "1", and "2.0" for the first action inside a
    `later`), which with the event and rule names the action in the idempotency ledger.
    """

    kind: str
    params: Any
    index: str
    retry: RetryPolicy | None = None  # None: the rule's policy, else the engine's default
    timeout: float | None = None  # None: the kind's default
    result_as: str | None = None  # `as:` name under which later actions see the result
    location: str = ""  # "rules/shop.yaml:12", for messages
    nested: tuple[ActionSpec, ...] = ()  # the actions inside a `later`


@dataclass(frozen=True)
class RuleRun:
    """What the executor needs from a rule that matched an event."""

    rule: str
    actions: tuple[ActionSpec, ...]
    variables: Mapping[str, Any]  # the template variables: event fields, regex groups, now
    retry: RetryPolicy | None = None  # the rule's policy for its actions


Run = Callable[[Any, ActionContext], Awaitable[JSONDict]]
Preview = Callable[[Any, ActionContext], JSONDict]


@dataclass(frozen=True)
class ActionKind:
    """One thing a rule can do.

    `shorthand` names the parameter a bare value fills (`reply: "hi"` is `reply: {text: "hi"}`).
    `sends` marks kinds that post to WhatsApp (paced per session, printed in dry runs).
    """

    name: str
    params: type[Params]
    run: Run
    preview: Preview
    summary: str
    example: str
    shorthand: str | None = None
    sends: bool = False
    nested: str | None = None  # the parameter holding further actions (`later: {do: …}`)

    def expand(self, raw: Any) -> Any:
        """A bare value as the mapping it stands for."""
        if self.shorthand is not None and not isinstance(raw, dict):
            return {self.shorthand: raw}
        return {} if raw is None else raw


ACTIONS: dict[str, ActionKind] = {}


def register(kind: ActionKind) -> ActionKind:
    if kind.name in ACTIONS:
        raise ValueError(f"action kind {kind.name!r} registered twice")
    ACTIONS[kind.name] = kind
    return kind
