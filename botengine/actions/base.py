"""What an action kind is, and the one registry every kind is added to.

An action kind is the YAML word (`reply`, `webhook`, …), a pydantic model of its parameters,
a `run` that does it, and a `preview` that says what it would do (dry runs). Adding a kind means
writing one module with an `ActionKind` and adding one line to `botengine/actions/__init__.py`.

Parameters arrive twice: at load time as written (strings may hold `{{ templates }}`; the rules
loader validates them with `params` to report mistakes with file and line), and at run time
rendered, when they are validated again and passed to `run`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from botengine.event_types import Carry
from botengine.events import EventView
from botengine.retry import RetryPolicy
from botengine.storage import Storage
from botengine.types import JSONDict

if TYPE_CHECKING:
    import httpx

    from botengine.actions.plan import RunPlan
    from botengine.metrics import Metrics
    from botengine.wawp import WawpClient


UncertainPolicy = Literal["resend", "skip", "dead_letter"]
"""What to do with an action that may or may not have taken effect (a crash or a timeout after its
request left): send it again, count it as done, or set it aside for a person (a dead letter)."""


class Params(BaseModel):
    """Base of every action's parameters: unknown keys are mistakes, reported with a hint."""

    model_config = ConfigDict(extra="forbid", frozen=True)


FollowUp = Callable[
    ["ActionContext", "tuple[ActionSpec, ...]", float, "tuple[str, ...]"], Awaitable["JSONDict"]
]
"""Schedules `actions` to run `after` seconds from now, cancelled by the `unless` conditions."""


@dataclass
class Services:
    """What actions may reach: shared by every action of a running engine."""

    storage: Storage
    wawp: WawpClient | None = None
    http: httpx.AsyncClient | None = None  # for webhooks
    metrics: Metrics | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # where `secrets.NAME` is looked up
    follow_up: FollowUp | None = None  # schedules the actions of a `later` (FollowUps.schedule)


@dataclass
class ActionContext:
    """One action about to run: the event, where it sits in its rule, and what ran before it."""

    event: EventView
    rule: str
    index: str  # position in the rule: "0", "1", and "2.0" inside a `later`
    services: Services
    results: dict[str, Any] = field(default_factory=dict)
    spec: ActionSpec | None = None
    plan: RunPlan | None = None  # what is being run of the rule (a `later` schedules part of it)

    @property
    def idempotency_key(self) -> str:
        """Stable across redeliveries and replays of the same event (sent to webhooks)."""
        return f"{self.event.session}:{self.event.id}:{self.rule}:{self.index}"


class ActionSpec(BaseModel):
    """One entry of a rule's `do:` list, as loaded from the rules file (not yet rendered).

    `params` is the mapping as written, shorthand expanded; its strings may hold templates.
    `index` is the position in the rule ("0", "1", and "2.0" for the first action inside a
    `later`), which with the event and rule names the action in the idempotency ledger.
    Stored with retries and follow-ups (inside a `RunPlan`), so they survive a rules reload:
    `model_dump(mode="json", by_alias=True)` writes it, `model_validate` reads it.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    kind: str
    params: Any
    index: str
    retry: RetryPolicy | None = None  # None: the rule's policy, else the engine's default
    timeout: float | None = None  # None: the kind's default
    result_as: str | None = Field(None, alias="as")  # name under which later actions see the result
    uncertain: UncertainPolicy | None = None  # None: the kind's default
    location: str = ""  # "rules/shop.yaml:12", for messages
    nested: tuple[ActionSpec, ...] = ()  # the actions inside a `later`, or a branch's ("2.b.j")

    @property
    def rules_folder(self) -> Path:
        """The folder of the rules file this action was written in (pool files are relative to it)."""
        return Path(self.location.rpartition(":")[0] or ".").parent

    @field_serializer("params")
    def _plain_params(self, params: Any) -> Any:
        return _plain(params)


def _plain(value: Any) -> Any:
    """YAML-loaded parameters as JSON data (YAML dates and the like become text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass(frozen=True)
class RuleRun:
    """What the executor needs from a rule that matched an event."""

    rule: str
    actions: tuple[ActionSpec, ...]
    variables: Mapping[str, Any]  # the template variables: event fields, regex groups, now
    retry: RetryPolicy | None = None  # the rule's policy for its actions


P = TypeVar("P", bound=Params)

Run = Callable[[P, ActionContext], Awaitable[JSONDict]]
Preview = Callable[[P, ActionContext], JSONDict]
NextActions = Callable[[ActionSpec, Any, list[ActionSpec], dict[str, Any]], list[ActionSpec]]
"""What runs after an action, given its spec, its result, the rest of the plan and the results so
far (which it may add to: a branch's regex groups)."""
Branches = Callable[[Any], list[tuple[tuple[Any, ...] | None, tuple[Any, ...]]]]
"""Where a kind's branches are written in its parameters: (condition path, actions path) each."""
StaticCheck = Callable[[P, Path], list[tuple[str, str]]]
"""Load-time checks beyond the schema: (message, hint) per problem; gets the rules file's folder."""


class Capability(StrEnum):
    """What an action kind asks of the engine around it.

    The engine asks the registry (`capabilities_of`) what a rule set needs, never a kind by name.
    """

    ACTIVITY = "activity"  # reads the chat's activity since the event: every event's is recorded
    FOLLOW_UPS = "follow-ups"  # schedules actions to run later (through Services.follow_up)
    QUESTIONS = "questions"  # waits for answers: a chat's messages are offered to its question first
    HANDOVER = "handover"  # hands chats to a person: rules stay quiet there, own sends are recorded


class SkipRule(Exception):
    """Raised by an action to end its rule quietly: the rest of the rule is not run.

    For expected business outcomes (a campaign's cap reached), not failures: nothing is retried
    or dead-lettered.
    """


@dataclass(frozen=True)
class ActionKind(Generic[P]):
    """One thing a rule can do.

    `shorthand` names the parameter a bare value fills (`reply: "hi"` is `reply: {text: "hi"}`).
    `sends` marks kinds that post to WhatsApp (paced per session).
    `result_var` names the template variable later actions of the rule read the result from
    (`{{ discount.code }}`), besides the `as:` name the rule may give.
    `uses_secrets`: templates may read `secrets.NAME` (environment variables, redacted in logs,
    dry runs and dead letters). Only kinds that talk to third parties get this, so a secret
    cannot be written into a WhatsApp message.
    `url_params`: parameters holding a URL the engine calls. Their scheme and host must be
    written out; templates fill in the path and query only, every value percent-encoded so it
    stays inside its segment (botengine/urls.py).
    `timeout`: seconds one attempt may take, unless the action says otherwise.
    `uncertain`: what to do, unless the action says otherwise, when an attempt may or may not
    have taken effect (docs/rules.md "When the engine cannot know"): `resend` suits kinds whose
    repeat is harmless or cheaper than a loss, `skip` those a repeat would falsify.
    `dry_result`: the result a dry run pretends the action returned, so later templates render.
    `needs`: what the event must carry for the action to work (`reply` needs a chat, `react` a
    message); `check` warns about a rule whose event types never carry it. `needs_unless` names a
    parameter that gives the action its target instead (`remove`'s `group:`).
    `capabilities`: what the action always asks of the engine; `capability_params`: what it asks
    when a parameter is given (`later` reads chat activity only with `unless:`).
    `item_params`: parameters left as written when the action renders, because the action renders
    them once per item it works through (each recipient of a `broadcast`), where templates also
    see the variables `item_vars` (`{{ person.name }}`).
    `siblings`: keys written beside the action word that are parameters too (`if:` with `then:`
    and `else:`); the word's own value fills `shorthand`.
    `holds`: parameters holding actions or conditions (branches): left as written when the action
    renders, and checked as actions and triggers at load time (rules/branches.py).
    `branches(params)`: where each branch's condition (None: none) and actions are written, in
    branch order: the loader checks them and indexes their actions "i.b.j".
    `reads_only`: it changes nothing (it decides, like `choose`), so dry runs run it for real.
    `rehearse`: what it does in a dry run whose store is a scratch store (inline tests with
    `steps:`): its effect on botengine's own store only (state, a pending question), never a send.
    `next_actions(spec, result, rest, results)`: the actions to run after it instead of `rest` (the rest of
    the plan): a branch puts its chosen actions in front, a question ends the run (the rest waits
    in the store for the answer). Called with the result of a run or the ledger's, so a retry or
    a redelivery goes down the branch chosen the first time.

    Generic over its parameter model, so mypy checks `run`, `preview`… against `params`.
    """

    name: str
    params: type[P]
    run: Run[P]
    preview: Preview[P]
    summary: str
    example: str
    shorthand: str | None = None
    sends: bool = False
    nested: str | None = None  # the parameter holding further actions (`later: {do: …}`)
    result_var: str | None = None
    uses_secrets: bool = False
    url_params: tuple[str, ...] = ()
    timeout: float = 15.0
    uncertain: UncertainPolicy = "resend"
    static_check: StaticCheck[P] | None = None
    dry_result: Preview[P] | None = None
    needs: Carry | None = None
    needs_unless: str | None = None
    capabilities: frozenset[Capability] = frozenset()
    capability_params: Mapping[str, Capability] = field(default_factory=dict)
    item_params: tuple[str, ...] = ()
    item_vars: tuple[str, ...] = ()
    siblings: tuple[str, ...] = ()
    holds: tuple[str, ...] = ()
    branches: Branches | None = None
    reads_only: bool = False
    rehearse: Run[P] | None = None
    next_actions: NextActions | None = None

    def expand(self, raw: Any) -> Any:
        """A bare value as the mapping it stands for."""
        if self.shorthand is not None and not isinstance(raw, dict):
            return {self.shorthand: raw}
        return {} if raw is None else raw

    def params_of(self, item: Mapping[str, Any]) -> Any:
        """The parameters of an action item as written (`siblings` gathered beside the word)."""
        if not self.siblings:
            return self.expand(item[self.name])
        return {self.shorthand: item[self.name], **{k: item[k] for k in self.siblings if k in item}}

    def capabilities_for(self, params: Any) -> frozenset[Capability]:
        """What this action asks of the engine, given its parameters as written."""
        given = params if isinstance(params, dict) else {}
        return self.capabilities | {c for name, c in self.capability_params.items() if given.get(name)}


ACTIONS: dict[str, ActionKind[Any]] = {}


def register(kind: ActionKind[Any]) -> ActionKind[Any]:
    if kind.name in ACTIONS:
        raise ValueError(f"action kind {kind.name!r} registered twice")
    ACTIONS[kind.name] = kind
    return kind


def capabilities_of(specs: Iterable[ActionSpec]) -> frozenset[Capability]:
    """What `specs`, and the actions nested in them, ask of the engine."""
    found: set[Capability] = set()
    for spec in specs:
        kind = ACTIONS.get(spec.kind)
        if kind is not None:
            found |= kind.capabilities_for(spec.params)
        found |= capabilities_of(spec.nested)
    return frozenset(found)
