"""Every trigger a rule can list under `if:`, in one registry.

A trigger kind is the YAML word, the type its value must have (validated by pydantic and shown in
the JSON Schema), and a `compile` that turns the value into a `Check` once, at load time. A check
returns None when the event passes, or a reason in plain words ("chat is group, rule wants
contact") that `dry-run --explain` and the dashboard show. Adding a trigger kind means writing a
compile function and one `_register(...)` call below.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from botengine.errors import ExpressionError
from botengine.event_types import Carry
from botengine.events import ACK_LEVELS, ACK_NAMES, GROUP_ACTIONS, EventView, Party
from botengine.expressions import Expression, compile_expression
from botengine.jid import JID_KINDS, JidKind
from botengine.rules.dates import DateError, DateSpan, parse_span
from botengine.rules.globs import glob_matcher
from botengine.rules.regex import CompiledRegex, RegexError, compile_regex
from botengine.rules.state_reads import StateReadError, expression_reads
from botengine.rules.words import WordMatcher, fold
from botengine.state import Scope, get_var, read_vars
from botengine.storage import Storage
from botengine.textlists import TextList

# --- what a check sees -------------------------------------------------------------------------


@dataclass
class MatchContext:
    """One event meeting one rule's triggers. `groups` collects regex named groups."""

    view: EventView
    storage: Storage | None
    now: datetime
    variables: Callable[[], dict[str, Any]]  # built on first use: most events need none
    screened: frozenset[CompiledRegex] = frozenset()  # regexes the RE2 Set already ran on the text
    hits: frozenset[CompiledRegex] = frozenset()  # … and those of them that matched
    groups: dict[str, Any] = field(default_factory=dict)
    state: dict[str, dict[str, Any]] = field(default_factory=lambda: {"state": {}, "sender_state": {}})
    _read: set[tuple[Scope, str]] = field(default_factory=set)  # the state names read so far

    async def read_state(self, needed: frozenset[tuple[Scope, str]]) -> dict[str, dict[str, Any]]:
        """`state` and `sender_state` holding (at least) `needed`: each name read once per event."""
        missing = needed - self._read
        if missing and self.storage is not None:
            for variable, values in (await read_vars(self.storage, self.view, missing)).items():
                self.state[variable].update(values)
        self._read |= missing
        return self.state


SyncCheck = Callable[[MatchContext], str | None]
AsyncCheck = Callable[[MatchContext], Awaitable[str | None]]


@dataclass(frozen=True)
class Check:
    """A compiled trigger: `run` (sync) or `run_async` (reads storage)."""

    trigger: str
    run: SyncCheck | None = None
    run_async: AsyncCheck | None = None
    regex: CompiledRegex | None = None  # for the engine's RE2 Set prefilter


class TriggerError(ValueError):
    """A trigger value that does not compile: `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = "", *, warning: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.warning = warning


@dataclass
class CompileContext:
    """What compiling a trigger may need: the named lists, and a place for warnings."""

    lists: Mapping[str, TextList]
    warnings: list[TriggerError] = field(default_factory=list)

    def named_list(self, name: str) -> TextList:
        from botengine.rules.problems import did_you_mean

        if name not in self.lists:
            known = ", ".join(sorted(self.lists)) or "none"
            hint = did_you_mean(name, self.lists) or f"lists found: {known}"
            raise TriggerError(f"no list named {name!r} (put it in lists/{name}.txt)", hint)
        return self.lists[name]


Compile = Callable[[Any, CompileContext], Check]


@dataclass(frozen=True)
class TriggerKind:
    name: str
    type_: Any  # the annotation its YAML value must satisfy
    compile: Compile
    summary: str
    example: str
    needs: Carry | None = None  # what the event must carry for it to hold (`check` warns if never)


TRIGGERS: dict[str, TriggerKind] = {}


def _register(
    name: str, type_: Any, summary: str, example: str, *, needs: Carry | None = None
) -> Callable[[Compile], Compile]:
    def add(func: Compile) -> Compile:
        if name in TRIGGERS:
            raise ValueError(f"trigger {name!r} registered twice")
        TRIGGERS[name] = TriggerKind(name, type_, func, summary, example, needs)
        return func

    return add


# --- value types (these also make the JSON Schema) ----------------------------------------------


class InList(BaseModel):
    """`{in: vip}`: the entries of the named list file lists/vip.txt."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    in_: str = Field(alias="in", description="name of a list file in lists/ (without .txt)")


class NotInList(BaseModel):
    """`{not_in: members}`: anyone who is not in the named list file lists/members.txt."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    not_in: str = Field(description="name of a list file in lists/ (without .txt)")


class TextPattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pattern: str = Field(description="regular expression searched in the text")
    case_sensitive: bool = False
    backtracking: bool = Field(
        False,
        description="allow lookaround and backreferences: a slower engine, which gives up after 0.1 s "
        "(the message then goes to the dead-letter queue)",
    )


DateEntry = str | date | InList
DateList = DateEntry | list[DateEntry]


class HoursWindow(BaseModel):
    """A weekly time window: `{days: mon-fri, from: "09:00", to: "18:00", tz: Europe/London}`,
    closed on some dates (`closed: ["24-26 Dec", {in: holidays}]`), or open only on some
    (`dates: 2025-12-24`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    days: str | list[str] = Field("mon-sun", description="mon-fri, sat,sun, daily, or a list of days")
    from_: str | int = Field(alias="from", description='start time, "HH:MM" (quote it)')
    to: str | int = Field(description='end time, "HH:MM"; earlier than from = overnight')
    tz: str = Field("UTC", description="IANA time zone, e.g. Europe/London")
    dates: DateList | None = Field(
        None, description='only on these dates (instead of days): 2025-12-24, "31 Dec", "24-26 Dec"'
    )
    closed: DateList | None = Field(
        None, description='not on these dates: holidays, "24-26 Dec", 2026-01-01, or {in: holidays}'
    )


Words = str | list[str]
GroupAction = Literal["join", "leave", "promote", "demote", "update"]
JidMatch = str | list[str] | InList | NotInList
KeywordMatch = str | list[str] | InList
Scalar = str | int | float | bool | None

# --- helpers -----------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _fold(text: str) -> str:
    return fold(text).strip()


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- event type --------------------------------------------------------------------------------


def type_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """`message`, `message.*`, `group.*`, `*`: exact words or shell-style wildcards."""
    return glob_matcher(patterns)


@_register("on", Words, "the event type, a list of them, or a wildcard", "on: [message, message.*]")
def _on(value: Any, ctx: CompileContext) -> Check:
    patterns = _as_list(value)
    for pattern in patterns:
        if not pattern:
            raise TriggerError("an empty event type", "write e.g. message or message.*")
    matches = type_matcher(patterns)
    wanted = ", ".join(patterns)

    def check(m: MatchContext) -> str | None:
        return None if matches(m.view.type) else f"event is {m.view.type}, rule wants {wanted}"

    return Check("on", check)


@_register("session", Words, "the Wawp instance (name, list or wildcard)", "session: acme_main")
def _session(value: Any, ctx: CompileContext) -> Check:
    patterns = _as_list(value)
    matches = type_matcher(patterns)
    wanted = ", ".join(patterns)

    def check(m: MatchContext) -> str | None:
        return None if matches(m.view.session) else f"session is {m.view.session}, rule wants {wanted}"

    return Check("session", check)


# --- chats and people --------------------------------------------------------------------------


@_register(
    "chat",
    JidKind | list[JidKind],
    "kind of chat: contact, group, channel, lid, broadcast, status",
    "chat: contact",
    needs="chat",
)
def _chat(value: Any, ctx: CompileContext) -> Check:
    kinds = set(_as_list(value))
    wanted = " or ".join(sorted(kinds))

    def check(m: MatchContext) -> str | None:
        kind = m.view.chat.kind
        return None if kind in kinds else f"chat is {kind}, rule wants {wanted}"

    return Check("chat", check)


JidMatcher = Callable[[Iterable[str]], bool]


def _jid_patterns(value: Any, ctx: CompileContext, what: str) -> tuple[JidMatcher, str]:
    """A matcher for full JIDs or glob patterns of them; lists come from `in:` (or `not_in:`).

    It is given every form a person is known by (`…@c.us` and `…@lid`): `in:` holds when one of
    them is listed, `not_in:` when none is, whichever form the rule or the list was written in.
    """
    if isinstance(value, NotInList):
        inside, _ = _jid_patterns(InList(**{"in": value.not_in}), ctx, what)
        return (lambda forms: not inside(forms)), f"outside list {value.not_in!r}"
    if isinstance(value, InList):
        named = ctx.named_list(value.in_)
        entries = list(named.entries)
        label = f"in list {value.in_!r}"
        for entry in entries:
            if "@" not in entry:
                # named by its line, never quoted: a list file may hold anything
                raise TriggerError(
                    f"line {named.line_of(entry)} of {named.name} is not a full JID",
                    "every line is a full JID: 447700900123@c.us for a contact, …@g.us for a group",
                )
    else:
        entries = _as_list(value)
        label = ", ".join(entries)
    for entry in entries:
        if "@" not in entry:
            raise TriggerError(
                f"{what} {entry!r} is not a full JID",
                f"write {entry}@c.us for a contact or {entry}@g.us for a group; a contact and a group "
                "can share digits",
            )
    one = glob_matcher(entries)

    def matches(forms: Iterable[str]) -> bool:
        return any(one(jid) for jid in forms)

    return matches, _short(label, 60)


def _who(party: Party | None) -> str:
    return party.shown if party is not None and party.id else "(none)"


@_register(
    "chat_id",
    JidMatch,
    "the chat's full JID, a glob like 4474*@c.us, or {in: list}",
    "chat_id: 120363025912345678@g.us",
    needs="chat",
)
def _chat_id(value: Any, ctx: CompileContext) -> Check:
    matches, label = _jid_patterns(value, ctx, "chat_id")

    def check(m: MatchContext) -> str | None:
        chat = m.view.chat
        return None if chat.id and matches(chat.forms) else f"chat {_who(chat)} is not {label}"

    return Check("chat_id", check)


@_register(
    "sender", JidMatch, "the sender's full JID, a glob, or {in: list}", "sender: {in: vip}", needs="sender"
)
def _sender(value: Any, ctx: CompileContext) -> Check:
    matches, label = _jid_patterns(value, ctx, "sender")

    def check(m: MatchContext) -> str | None:
        sender = m.view.sender
        return None if sender and matches(sender.forms) else f"sender {_who(sender)} is not {label}"

    return Check("sender", check)


@_register(
    "participant",
    JidMatch,
    "a person a group event is about (JID, glob or {in: list})",
    "participant: '44*@c.us'",
    needs="participants",
)
def _participant(value: Any, ctx: CompileContext) -> Check:
    matches, label = _jid_patterns(value, ctx, "participant")

    def check(m: MatchContext) -> str | None:
        members = m.view.group.members if m.view.group else ()
        # the rule is about the people who matched: `participants` (and `remove`) mean them, in
        # the form the event gave them
        chosen = [p.id for p in members if matches(dict.fromkeys(f for f in (p.id, p.phone, p.lid) if f))]
        if chosen:
            m.groups.update(participants=chosen, participant=chosen[0])
            return None
        people = ", ".join(p.id + (f" ({p.phone})" if p.phone and p.phone != p.id else "") for p in members)
        return f"participants {people or '(none)'} are not {label}"

    return Check("participant", check)


@_register(
    "action",
    GroupAction | list[GroupAction],
    "what happened in a group: join, leave, promote, demote, update (subject, description…)",
    "action: join",
    needs="group",
)
def _action(value: Any, ctx: CompileContext) -> Check:
    actions = set(_as_list(value))
    assert actions <= set(GROUP_ACTIONS)  # the type above only lets these through
    wanted = " or ".join(sorted(actions))

    def check(m: MatchContext) -> str | None:
        action = m.view.group.action if m.view.group else None
        return None if action in actions else f"group action is {action or '(none)'}, rule wants {wanted}"

    return Check("action", check)


@_register(
    "from_me",
    bool | Literal["any"],
    "own messages: ignored unless a rule says from_me: true (or any)",
    "from_me: true",
)
def _from_me(value: Any, ctx: CompileContext) -> Check:
    if value == "any":
        return Check("from_me", lambda m: None)

    def check(m: MatchContext) -> str | None:
        if m.view.from_me == value:
            return None
        return "the event is our own message" if m.view.from_me else "the event is not our own message"

    return Check("from_me", check)


def not_from_me(m: MatchContext) -> str | None:
    """The default when a rule does not list `from_me`: a bot must not answer itself.

    Delivery receipts (`message.ack`, `message.ack.group`) are always about our own messages, so
    they are exempt.
    """
    if m.view.from_me and not m.view.type.startswith("message.ack"):
        return "the event is our own message (add from_me: true to match it)"
    return None


# --- text --------------------------------------------------------------------------------------


@_register(
    "text",
    str | TextPattern,
    "regular expression searched in the text, case-insensitive; named groups become variables",
    r"text: '^\s*order (?P<number>\d+)'",
    needs="text",
)
def _text(value: Any, ctx: CompileContext) -> Check:
    pattern = value if isinstance(value, TextPattern) else TextPattern(pattern=value)
    source = pattern.pattern
    try:
        regex = compile_regex(
            source, case_sensitive=pattern.case_sensitive, backtracking=pattern.backtracking
        )
    except RegexError as exc:
        raise TriggerError(exc.message, exc.hint) from exc
    if regex.warning:
        hint = "write [\\pL\\pN_] for a letter or digit in any language, \\p{Nd} for a digit"
        ctx.warnings.append(TriggerError(regex.warning, hint, warning=True))
    if pattern.backtracking and regex.engine == "re2":
        ctx.warnings.append(
            TriggerError(
                "backtracking: true is not needed: the safe engine runs this regex",
                "remove backtracking: true",
                warning=True,
            )
        )
    label = f"/{_short(source)}/"

    def check(m: MatchContext) -> str | None:
        if regex in m.screened and regex not in m.hits:
            return f"text does not match {label}"
        found = regex.search(m.view.text)
        if found is None:
            return f"text does not match {label}"
        m.groups.update(found)
        return None

    return Check("text", check, regex=regex)


def _keywords(value: Any, ctx: CompileContext) -> tuple[list[str], str]:
    if isinstance(value, InList):
        words = list(ctx.named_list(value.in_).entries)
        label = f"a word in list {value.in_!r}"
    else:
        words = _as_list(value)
        label = " or ".join(repr(w) for w in words)
    folded = [_fold(w) for w in words if _fold(w)]
    if not folded:
        raise TriggerError("no words to look for", "give a word, a list of words or {in: list}")
    return folded, _short(label, 60)


@_register(
    "contains",
    KeywordMatch,
    "the text contains one of these words, as a whole word, any case (cost: not costume)",
    "contains: [price, cost]",
    needs="text",
)
def _contains(value: Any, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)
    matcher = WordMatcher(words)

    def check(m: MatchContext) -> str | None:
        return None if matcher.search(fold(m.view.text)) else f"text does not contain {label}"

    return Check("contains", check)


@_register(
    "contains_anywhere",
    KeywordMatch,
    "the text contains this text anywhere, even inside a word, any case (cost: costume too)",
    "contains_anywhere: [http://, www.]",
    needs="text",
)
def _contains_anywhere(value: Any, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)

    def check(m: MatchContext) -> str | None:
        text = fold(m.view.text)
        return None if any(w in text for w in words) else f"text does not contain {label}"

    return Check("contains_anywhere", check)


@_register(
    "starts_with", KeywordMatch, "the text starts with a word, any case", "starts_with: order", needs="text"
)
def _starts_with(value: Any, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)
    prefixes = tuple(words)

    def check(m: MatchContext) -> str | None:
        return None if _fold(m.view.text).startswith(prefixes) else f"text does not start with {label}"

    return Check("starts_with", check)


@_register(
    "equals",
    KeywordMatch,
    "the whole text is one of these, any case, spaces around ignored",
    "equals: [menu, start]",
    needs="text",
)
def _equals(value: Any, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)
    wanted = set(words)

    def check(m: MatchContext) -> str | None:
        return None if _fold(m.view.text) in wanted else f"text is not {label}"

    return Check("equals", check)


# --- delivery receipts and reactions -----------------------------------------------------------

_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*(-?\d+|[a-z]+)\s*$")
_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@_register(
    "ack",
    int | str,
    "delivery level: a name, a number, or a comparison like '>= delivered'",
    "ack: '>= read'",
    needs="ack",
)
def _ack(value: Any, ctx: CompileContext) -> Check:
    found = _COMPARISON.match(str(value).lower())
    levels = ", ".join(ACK_NAMES.values())
    if not found:
        raise TriggerError(
            f"{value!r} is not an ack level", f"write a level ({levels}) or a comparison like '>= delivered'"
        )
    op, word = found.group(1) or "==", found.group(2)
    level = int(word) if word.lstrip("-").isdigit() else ACK_LEVELS.get(word)
    if level is None or level not in ACK_NAMES:
        from botengine.rules.problems import did_you_mean

        raise TriggerError(
            f"{word!r} is not an ack level", did_you_mean(word, ACK_LEVELS) or f"levels: {levels}"
        )
    compare, wanted = _OPS[op], f"{op} {ACK_NAMES[level]}".replace("== ", "")

    def check(m: MatchContext) -> str | None:
        ack = m.view.ack
        if ack is not None and compare(ack, level):
            return None
        return f"ack is {m.view.ack_name or '(none)'}, rule wants {wanted}"

    return Check("ack", check)


# Emoji variants that mean the same reaction: the emoji-style variation selector (❤ vs ❤️) and
# skin-tone modifiers (👍🏽 vs 👍).
_EMOJI_NOISE = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")


def normalize_emoji(emoji: str) -> str:
    return _EMOJI_NOISE.sub("", emoji).strip()


@_register(
    "emoji",
    Words,
    "a reaction emoji or a list; skin tones and ❤/❤️ variants match",
    "emoji: ['❤', '👍']",
    needs="reaction",
)
def _emoji(value: Any, ctx: CompileContext) -> Check:
    wanted = {normalize_emoji(e) for e in _as_list(value)}
    if not all(wanted):
        raise TriggerError("an empty emoji", "to react to removed reactions, use removed: true")
    label = " or ".join(sorted(wanted))

    def check(m: MatchContext) -> str | None:
        reaction = m.view.reaction
        if reaction is None:
            return "the event is not a reaction"
        if reaction.removed:
            return "the reaction was removed"
        got = normalize_emoji(reaction.emoji)
        return None if got in wanted else f"emoji is {reaction.emoji}, rule wants {label}"

    return Check("emoji", check)


@_register(
    "removed", bool, "true: a reaction was taken back; false: it was not", "removed: true", needs="reaction"
)
def _removed(value: Any, ctx: CompileContext) -> Check:
    def check(m: MatchContext) -> str | None:
        reaction = m.view.reaction
        if reaction is None:
            return "the event is not a reaction"
        if reaction.removed == value:
            return None
        return "the reaction was removed" if reaction.removed else "the reaction was not removed"

    return Check("removed", check)


# --- media -------------------------------------------------------------------------------------


def media_type(mimetype: str) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg`: the type without its parameters, lower case."""
    return mimetype.partition(";")[0].strip().lower()


@_register(
    "media",
    bool | str,
    "true/false, or a mimetype pattern like image/* (parameters such as ; codecs=opus ignored)",
    "media: image/*",
    needs="media",
)
def _media(value: Any, ctx: CompileContext) -> Check:
    if isinstance(value, bool):

        def has(m: MatchContext) -> str | None:
            if (m.view.media is not None) == value:
                return None
            return "the message has media" if m.view.media else "the message has no media"

        return Check("media", has)
    matches = glob_matcher([media_type(value)])

    def check(m: MatchContext) -> str | None:
        mimetype = (m.view.media.mimetype or "") if m.view.media else ""
        if mimetype and matches(media_type(mimetype)):
            return None
        return f"media type is {mimetype or '(none)'}, rule wants {value}"

    return Check("media", check)


# --- time --------------------------------------------------------------------------------------

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_days(value: str | list[str]) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `daily`, `[mon, wed]`, full names too; ranges may wrap (`fri-mon`)."""
    parts = [p.strip().lower() for part in _as_list(value) for p in str(part).split(",") if p.strip()]
    days: set[int] = set()
    for part in parts:
        if part in ("daily", "every day", "all", "mon-sun"):
            return frozenset(range(7))
        start, _, end = part.partition("-")
        first, last = start.strip()[:3], (end.strip() or start.strip())[:3]
        if first not in _DAYS or last not in _DAYS:
            raise TriggerError(
                f"{part!r} is not a day or range of days", "write days like mon-fri, sat,sun or daily"
            )
        i = _DAYS.index(first)
        days.add(i)
        while i != _DAYS.index(last):
            i = (i + 1) % 7
            days.add(i)
    return frozenset(days)


def _parse_clock(value: str | int) -> time:
    # YAML 1.1 reads an unquoted 9:30 as the number 570 (base 60): turn it back into a time
    if isinstance(value, int):
        hours, minutes = divmod(value, 60)
        if 0 <= hours <= 24 and 0 <= minutes < 60:
            return time(hours % 24, minutes)
        raise TriggerError(f"{value!r} is not a time of day", 'write it like "09:00" (in quotes)')
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
    if not found or int(found.group(1)) > 24 or int(found.group(2)) > 59:
        raise TriggerError(f"{value!r} is not a time of day", 'write it like "09:00" (in quotes)')
    return time(int(found.group(1)) % 24, int(found.group(2)))


@dataclass(frozen=True)
class Window:
    days: frozenset[int]
    start: time
    end: time
    tz: ZoneInfo
    dates: tuple[DateSpan, ...] = ()  # only on these dates (then `days` does not count)
    closed: tuple[DateSpan, ...] = ()

    def contains(self, moment: datetime) -> bool:
        return self.why_not(moment) is None

    def why_not(self, moment: datetime) -> str | None:
        """None when `moment` is inside the window, else why not ("closed on 25 Dec")."""
        local = moment.astimezone(self.tz)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            day = local.date() if self.start <= clock < self.end else None
        elif self.start == self.end or clock >= self.start:  # 00:00–00:00: the whole day
            day = local.date()
        else:
            day = (local - timedelta(days=1)).date() if clock < self.end else None
        if day is None:
            return "outside the hours"
        if self.dates:
            if not any(span.contains(day) for span in self.dates):
                return f"{day:%d %b} is not one of its dates"
        elif day.weekday() not in self.days:
            return "outside the days"
        closed = next((span for span in self.closed if span.contains(day)), None)
        return None if closed is None else f"closed on {day:%d %b} ({closed.source})"


def _date_spans(value: Any, ctx: CompileContext, what: str) -> tuple[DateSpan, ...]:
    """The dates of `dates:` or `closed:`: written in the rule, or read from a list file."""
    spans: list[DateSpan] = []
    for entry in _as_list(value) if value is not None else []:
        if not isinstance(entry, InList):
            try:
                spans.append(parse_span(entry))
            except DateError as exc:
                raise TriggerError(f"{what}: {exc}", exc.hint) from exc
            continue
        named = ctx.named_list(entry.in_)
        for line in named.entries:
            try:
                spans.append(parse_span(line))
            except DateError as exc:
                # named by its line, never quoted: a list file may hold anything
                raise TriggerError(
                    f"{what}: line {named.line_of(line)} of {named.name} is not a date", exc.hint
                ) from exc
    return tuple(spans)


def _windows(value: Any, ctx: CompileContext) -> tuple[list[Window], str]:
    windows = []
    for item in _as_list(value):
        try:
            tz = ZoneInfo(item.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise TriggerError(
                f"unknown time zone {item.tz!r}", "use an IANA name like Europe/London or Asia/Dubai"
            ) from exc
        windows.append(
            Window(
                _parse_days(item.days),
                _parse_clock(item.from_),
                _parse_clock(item.to),
                tz,
                _date_spans(item.dates, ctx, "dates"),
                _date_spans(item.closed, ctx, "closed"),
            )
        )
    label = "; ".join(_window_label(w) for w in windows)
    return windows, label


def _window_label(window: Window) -> str:
    days = ", ".join(s.source for s in window.dates) if window.dates else _days_label(window.days)
    label = f"{days} {window.start:%H:%M}-{window.end:%H:%M} {window.tz.key}"
    if window.closed:
        label += " (closed " + ", ".join(s.source for s in window.closed) + ")"
    return label


def _days_label(days: frozenset[int]) -> str:
    return "daily" if len(days) == 7 else ",".join(_DAYS[d] for d in sorted(days))


@_register(
    "hours",
    HoursWindow | list[HoursWindow],
    "inside a weekly time window (business hours), not on closed dates",
    'hours: {days: mon-fri, from: "09:00", to: "18:00", tz: Europe/London}',
)
def _hours(value: Any, ctx: CompileContext) -> Check:
    windows, label = _windows(value, ctx)

    def check(m: MatchContext) -> str | None:
        reasons = [w.why_not(m.now) for w in windows]
        if None in reasons:
            return None
        closed = next((r for r in reasons if r and r.startswith("closed")), None)
        return f"{m.now:%a %H:%M} UTC is outside {label}" + (f": {closed}" if closed else "")

    return Check("hours", check)


@_register(
    "outside_hours",
    HoursWindow | list[HoursWindow],
    "outside a weekly time window (closed hours), or on a closed date",
    'outside_hours: {days: mon-fri, from: "09:00", to: "18:00", tz: Europe/London}',
)
def _outside_hours(value: Any, ctx: CompileContext) -> Check:
    windows, label = _windows(value, ctx)

    def check(m: MatchContext) -> str | None:
        return f"{m.now:%a %H:%M} UTC is inside {label}" if any(w.contains(m.now) for w in windows) else None

    return Check("outside_hours", check)


# --- state and expressions ---------------------------------------------------------------------


@_register(
    "state",
    dict[str, Annotated[Scalar | list[Scalar], Field()]],
    "conversation state set by the set action: {var: value} (null = not set); scope: sender",
    "state: {menu: main}",
)
def _state(value: Any, ctx: CompileContext) -> Check:
    wanted = dict(value)
    scope = wanted.pop("scope", "chat")
    if scope not in ("chat", "sender"):
        raise TriggerError(
            f"scope {scope!r} is not chat or sender", "state is kept per chat (default) or per sender"
        )
    if not wanted:
        raise TriggerError("no state variable to compare", "write e.g. state: {menu: main}")

    async def check(m: MatchContext) -> str | None:
        if m.storage is None:
            return "no storage to read state from"
        owner = m.view.chat.id if scope == "chat" else (m.view.sender.id if m.view.sender else "")
        for var, expected in wanted.items():
            got = await get_var(m.storage, m.view.session, scope, owner, var)
            ok = got in expected if isinstance(expected, list) else got == expected
            if not ok:
                return f"state {var} is {got!r}, rule wants {expected!r}"
        return None

    return Check("state", run_async=check)


@_register("expr", str, "a safe expression over the template variables", "expr: len(text) < 200")
def _expr(value: Any, ctx: CompileContext) -> Check:
    try:
        expression = compile_expression(value)
    except ExpressionError as exc:
        raise TriggerError(
            str(exc), "expressions are written like Python: len(text) < 200 and chat.kind == 'group'"
        ) from exc

    def verdict(variables: dict[str, Any]) -> str | None:
        if expression.evaluate(variables):
            return None
        return f"expression {_short(expression.source)!r} is false"

    try:
        needed = expression_reads(expression)
    except StateReadError as exc:
        raise TriggerError(str(exc), "e.g. expr: state.tries < 3") from exc
    if needed:  # reading state takes the store: evaluated with the asynchronous checks

        async def with_state(m: MatchContext) -> str | None:
            return verdict({**m.variables(), **m.groups, **await m.read_state(needed)})

        return Check("expr", run_async=with_state)
    return Check("expr", lambda m: verdict({**m.variables(), **m.groups}))


def expression_of(check_value: Any) -> Expression | None:
    """The parsed expression of an `expr:` value, for `check`'s variable-name validation."""
    try:
        return compile_expression(check_value) if isinstance(check_value, str) else None
    except ExpressionError:
        return None


# Names a template or expression may use beyond the event variables: none so far, but `check`
# reads JID_KINDS so a misspelt kind gets a hint.
KNOWN_CHAT_KINDS: tuple[str, ...] = JID_KINDS
