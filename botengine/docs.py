"""Documentation generated from the code, so it cannot drift: `scripts/docs` rewrites it all
(`botengine docs`, botengine/commands/docs.py).

    README.md               <!-- config:start --> … the configuration reference (options.OPTIONS)
    docs/reference.md       every trigger and action: meaning, example, parameters (registries)
    docs/rules.schema.json  the JSON Schema of a rules file (for editors)

tests/test_docs.py compares each with what this module would write.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from botengine.config import reference_table
from botengine.durations import Duration, format_duration
from botengine.rules.model import rules_schema

if TYPE_CHECKING:
    from botengine.actions import ActionKind

ROOT = Path(__file__).resolve().parent.parent


def replace_block(text: str, name: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"no <!-- {name}:start --> … <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + content + m.group(2), text)


def schema_text() -> str:
    return json.dumps(rules_schema(), indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_PLAIN = {str: "text", int: "number", float: "number", bool: "yes/no", type(None): "none", dict: "mapping"}


def _type_name(annotation: Any) -> str:
    """A parameter's type in words a rule author reads: `text or list of text`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Duration:
        return "duration"
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if origin is typing.Annotated:
        return "duration" if annotation == Duration else _type_name(args[0])
    if annotation is Any:
        return "any"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # e.g. handover's notify:
        return "mapping of " + ", ".join(f"`{f.alias or n}`" for n, f in annotation.model_fields.items())
    return _PLAIN.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value >= 60:
        return f"`{format_duration(value)}`"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _fields_table(params: type[BaseModel]) -> list[str]:
    rows = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for name, info in params.model_fields.items():
        default = "required" if info.is_required() else _default(info.get_default(call_default_factory=True))
        rows.append(
            f"| `{info.alias or name}` | {_cell(_type_name(info.rebuild_annotation()))} | {_cell(default)} "
            f"| {_cell(info.description or '')} |"
        )
    return rows


def reference() -> str:
    """docs/reference.md: generated from the trigger and action registries."""
    from botengine.actions import ACTIONS
    from botengine.rules.triggers import TRIGGERS

    out = [
        "# Rule reference",
        "",
        "Generated from the code by `scripts/docs` (do not edit by hand); every example here is",
        "loaded and checked by the test suite. The language itself is explained in",
        "[rules.md](rules.md), delivery (retries, dead letters, replay) in [actions.md](actions.md).",
        "",
        "## Triggers (`if:`)",
        "",
        "| trigger | meaning | example |",
        "|---|---|---|",
    ]
    for name, trigger in TRIGGERS.items():
        out.append(f"| `{name}` | {_cell(trigger.summary)} | `{_cell(trigger.example)}` |")
    out += ["", *_event_types_section(), "", *_variables_section(), "", "## Actions (`do:`)", ""]
    out.append(
        "Options on every action: `retry:` (a retry policy), `timeout:` (e.g. `10s`), `as:` (a name "
        "later actions read the result under), `uncertain:` (`resend`, `skip` or `dead_letter`: what "
        "to do when a crash or a timeout leaves it unknown whether the action happened; see "
        "[rules.md](rules.md#when-the-engine-cannot-know-uncertain))."
    )
    for name, kind in ACTIONS.items():
        out += ["", f"### `{name}`", "", kind.summary, "", "```yaml", f"- {kind.example}", "```", ""]
        if kind.shorthand:
            out += [f"A bare value fills `{kind.shorthand}`.", ""]
        if asks := _capabilities(kind):
            out += [f"Asks of the engine: {asks}.", ""]
        out += [f"When uncertain (default): `{kind.uncertain}`.", ""]
        out += _fields_table(kind.params)
    return "\n".join(out) + "\n"


# Per variable: a template, and the sample event (examples/events/) docs/reference.md renders it on.
_VARIABLE_EXAMPLES: dict[str, tuple[str, str]] = {
    "text": ("message-text-private.json", "{{ text }}"),
    "previous_text": ("wawp-docs/message.edited-3.json", "{{ previous_text }} → {{ text }}"),
    "sender": ("message-text-group.json", "{{ sender.name }} {{ sender.number }} ({{ sender.kind }})"),
    "chat": ("waha-schema/group.v2.join.json", "{{ chat.name }} {{ chat.id }} ({{ chat.kind }})"),
    "me": ("waha-schema/message-lid-alt.json", "{{ me.name }} {{ me.phone }} {{ me.lid }}"),
    "session": ("message-text-private.json", "{{ session }}"),
    "event": ("message-reaction.json", "{{ event }}"),
    "event_id": ("message-text-private.json", "{{ event_id }}"),
    "message_id": ("wawp-docs/message.edited-3.json", "{{ message_id }}"),
    "from_me": ("message-from-me.json", "{{ from_me }}"),
    "ack": ("message-ack-read.json", "{{ ack }}"),
    "ack_name": ("message-ack-read.json", "{{ ack_name }}"),
    "emoji": ("message-reaction.json", "{{ emoji }}"),
    "reaction": ("message-reaction.json", "{{ reaction.emoji }} on {{ reaction.message_id }}"),
    "media": ("waha-schema/message-voice-note.json", "{{ media.mimetype }}"),
    "quoted": ("waha-schema/message-voice-note.json", "{{ quoted.sender }}: {{ quoted.text }}"),
    "location": (
        "wawp-docs/message-11.json",
        "{{ location.latitude }},{{ location.longitude }} {{ location.description }}",
    ),
    "vcards": ("wawp-docs/message-11.json", "{{ vcards | length }} card: {{ vcards[0] }}"),
    "group": (
        "group-participants-join.json",
        "{{ group.action }} {{ group.participants }} by {{ group.by }}",
    ),
    "participants": ("waha-schema/group.v2.participants-join.json", "{{ participants | join(', ') }}"),
    "participant": ("waha-schema/group.v2.participants-join.json", "{{ participant }}"),
    "poll": ("waha-docs/poll.vote.json", "{{ poll.chosen | join(', ') }}"),
    "call": ("waha-schema/call.received-video-group.json", "video={{ call.video }} group={{ call.group }}"),
    "presence": ("waha-docs/presence.update.json", "{{ presence.state }}"),
    "session_status": ("wawp-docs/session.status-5.json", "{{ session_status }}"),
    "label": ("waha-schema/label.chat.added.json", "{{ label.name }} {{ label.color }}"),
    "payload": ("wawp-docs/message-11.json", "{{ payload.source }} {{ payload.media.s3.Key }}"),
    "metadata": ("message-text-private.json", "{{ metadata['user.email'] }}"),
    "time": ("message-text-private.json", "{{ time }}"),
    "messages": ("message-text-private.json", "{{ messages | map(attribute='text') | join(' / ') }}"),
    "message_ids": ("message-text-private.json", "{{ message_ids | join(', ') }}"),
}


def _variables_section() -> list[str]:
    from botengine.events import parse_envelope, view_of
    from botengine.rules.variables import VARIABLES, variables_of
    from botengine.templating import render_text

    rows = [
        "## Variables (templates and expressions)",
        "",
        "Each example is rendered on the sample event named (in `examples/events/`).",
        "",
        "| variable | holds | example | on | gives |",
        "|---|---|---|---|---|",
    ]
    for name, meaning in VARIABLES.items():
        sample, template = _VARIABLE_EXAMPLES.get(name, ("", ""))
        shown = ""
        if sample:
            envelope = parse_envelope((ROOT / "examples" / "events" / sample).read_bytes())
            assert not isinstance(envelope, list), sample
            shown = render_text(template, variables_of(view_of(envelope)))
        example = f"`{_cell(template)}`" if template else ""
        on = f"`{sample}`" if sample else ""
        rows.append(f"| `{name}` | {_cell(meaning)} | {example} | {on} | {_cell(shown)} |")
    return rows


def _event_types_section() -> list[str]:
    from botengine.event_types import CARRY_WORDS, EVENT_TYPES

    rows = [
        "## Event types (`on:`)",
        "",
        "The types Wawp sends and what each carries (`check` warns about a rule whose trigger or",
        "action needs something its event types never carry). Other types are accepted as well.",
        "",
        "| event type | when | carries |",
        "|---|---|---|",
    ]
    for name, kind in EVENT_TYPES.items():
        carries = ", ".join(CARRY_WORDS[c] for c in CARRY_WORDS if c in kind.carries) or "—"
        rows.append(f"| `{name}` | {_cell(kind.summary)} | {carries} |")
    return rows


_CAPABILITY_WORDS = {
    "follow-ups": "follow-ups (jobs in the store, run by the scheduler)",
    "activity": "every chat's activity recorded (reads, replies)",
    "handover": "chats with a person: the other rules stay quiet there; the bot's sends recorded",
    "questions": "a chat's next message offered to its question first (one store read per message)",
}


def _capabilities(kind: ActionKind[Any]) -> str:
    always = [_CAPABILITY_WORDS[c] for c in sorted(kind.capabilities)]
    given = [f"{_CAPABILITY_WORDS[c]} with `{p}`" for p, c in kind.capability_params.items()]
    return "; ".join(always + given)


def metrics_table() -> str:
    """Every metric the engine exports, from a live Metrics object."""
    from prometheus_client.metrics import MetricWrapperBase

    from botengine.metrics import Metrics

    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for metric in vars(Metrics()).values():
        if isinstance(metric, MetricWrapperBase):
            kind = metric._type
            name = metric._name + ("_total" if kind == "counter" else "")
            labels = ", ".join(f"`{label}`" for label in metric._labelnames)
            rows.append(f"| `{name}` | {kind} | {labels} | {_cell(metric._documentation)} |")
    return "\n".join(rows)


BLOCKS: dict[tuple[str, str], Callable[[], str]] = {
    ("README.md", "config"): reference_table,
    ("docs/operations.md", "metrics"): metrics_table,
}
FILES: dict[str, Callable[[], str]] = {
    "docs/reference.md": reference,
    "docs/rules.schema.json": schema_text,
}


def regenerate(root: Path = ROOT) -> list[str]:
    """Rewrite every generated block and file under `root`; what was written, one line each."""
    written = []
    for (path, name), make in BLOCKS.items():
        target = root / path
        target.write_text(replace_block(target.read_text(encoding="utf-8"), name, make()), encoding="utf-8")
        written.append(f"{path} ({name})")
    for path, make in FILES.items():
        (root / path).write_text(make(), encoding="utf-8")
        written.append(path)
    return written
