"""The shape of a rules file, as pydantic models: the loader validates with them and
`botengine schema` prints their JSON Schema, so the two cannot drift.

`if:` and `do:` are open mappings here because their keys come from the trigger and action
registries; `schema_model()` builds the closed form from those registries for editors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from botengine.durations import Duration
from botengine.quiet import Debounce
from botengine.retry import RetryPolicy
from botengine.rules.schedule import ScheduleModel

RuleName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f:]+$", strip_whitespace=True),
]

ACTION_OPTIONS = ("retry", "timeout", "as", "uncertain")


class RuleModel(BaseModel):
    """One rule: when its triggers (`if`) hold for an event of type `on`, run `do`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: RuleName = Field(description="unique across all files; used in logs, metrics and dry runs")
    description: str = ""
    on: str | list[str] = Field("message", description="event type, a list, or a wildcard like message.*")
    if_: dict[str, Any] = Field(default_factory=dict, alias="if", description="triggers; every one must hold")
    do: list[Any] = Field(min_length=1, description="actions, run in order")
    cooldown: Duration | None = Field(None, description="at most once per chat in this time, e.g. 10m")
    debounce: Debounce | None = Field(
        None, description="wait until the chat is quiet this long, then answer its messages as one, e.g. 5s"
    )
    stop: bool = Field(False, description="when this rule fires, later rules are skipped for the event")
    retry: RetryPolicy | None = None
    enabled: bool = Field(True, description="false: the rule is loaded and checked but never fires")
    schedule: ScheduleModel | None = Field(None, description="run at set times (on: schedule)")


class StepModel(BaseModel):
    """One step of an inline test with `steps:`: an event, or time passing, and what it does."""

    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any] | None = Field(None, description="fields for make_event, as in a test's event:")
    event_file: str | None = Field(None, description="a JSON event file, relative to this rules file")
    wait: Duration | None = Field(
        None, description="time passing, e.g. 10m: follow-ups and question time limits due by then run"
    )
    expect: list[Any] | None = Field(
        None, description="the actions this step does, in order ([] for none); leave out not to check"
    )


class TestModel(BaseModel):
    """An inline test: an event (a file or a few fields) and the actions expected, or `steps:`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    event: dict[str, Any] | None = Field(
        None, description="fields for make_event: type, text, sender, chat, name, emoji, ack, …"
    )
    event_file: str | None = Field(None, description="a JSON event file, relative to this rules file")
    tick: str | None = Field(
        None,
        description="a scheduled rule: its run at now: is the event (nothing runs if now: is no run time)",
    )
    now: datetime | None = Field(None, description="the time to evaluate at (for hours triggers)")
    state: dict[str, Any] = Field(
        default_factory=dict,
        description="state set before the event: {var: value}; add scope: sender for per-person state",
    )
    expect: list[Any] | None = Field(
        None, description="actions expected, in order, e.g. [{reply: 'Hello!'}]; [] for none"
    )
    steps: list[StepModel] | None = Field(
        None, description="a conversation: events and waits in order, each with its expect:"
    )


class RulesFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Any] = Field(default_factory=list)
    tests: list[Any] = Field(default_factory=list)


def schema_model() -> type[BaseModel]:
    """RulesFileModel with `if:` and `do:` closed over the trigger and action registries."""
    from botengine.actions import ACTIONS
    from botengine.actions.base import UncertainPolicy
    from botengine.rules.triggers import TRIGGERS

    trigger_fields: dict[str, Any] = {
        name: (kind.type_ | None, Field(None, description=kind.summary))
        for name, kind in TRIGGERS.items()
        if name != "on"
    }
    triggers = create_model("Triggers", __config__=ConfigDict(extra="forbid"), **trigger_fields)
    items: list[Any] = []
    for name, action in ACTIONS.items():
        params: Any = action.params
        beside: dict[str, Any] = {}
        if action.siblings and action.shorthand:  # `if:` with `then:` and `else:` beside it
            model_fields = {f.alias or n: f for n, f in action.params.model_fields.items()}
            params = model_fields[action.shorthand].annotation
            for sibling in action.siblings:
                given = model_fields[sibling]
                required = given.is_required()
                beside[sibling] = (given.annotation if required else given.annotation | None, given)
        elif action.shorthand:
            params = params | str
        fields: dict[str, Any] = {
            **beside,
            name: (params, Field(description=action.summary)),
            "retry": (RetryPolicy | None, None),
            "timeout": (Duration | None, None),
            "as_": (str | None, Field(None, alias="as", description="name for this action's result")),
            "uncertain": (
                UncertainPolicy | None,
                Field(None, description=f"when it may or may not have happened (default {action.uncertain})"),
            ),
        }
        items.append(create_model(f"Action_{name}", __config__=ConfigDict(extra="forbid"), **fields))
    action_item: Any = items[0]
    for item in items[1:]:
        action_item = action_item | item
    rule = create_model(
        "Rule",
        __base__=RuleModel,
        if_=(triggers, Field(default_factory=dict, alias="if")),
        do=(list[action_item], Field(min_length=1)),
    )
    test = create_model("Test", __base__=TestModel)
    return create_model(
        "RulesFile",
        __config__=ConfigDict(extra="forbid", title="botengine rules file"),
        rules=(list[rule], Field(default_factory=list)),
        tests=(list[test], Field(default_factory=list)),
    )


def rules_schema() -> dict[str, Any]:
    """The JSON Schema of a rules file (`botengine schema`, docs/rules.schema.json)."""
    schema = schema_model().model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
