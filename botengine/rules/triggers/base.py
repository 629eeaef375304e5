"""What a trigger is and sees: the registry, the compiled check, the contexts of compiling and
matching, and the small helpers every group of triggers shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from botengine.event_types import Carry
from botengine.events import EventView
from botengine.optouts import StoreOptOuts
from botengine.rules.regex import CompiledRegex
from botengine.rules.words import fold
from botengine.state import Scope, read_vars
from botengine.storage import Storage
from botengine.store_lists import StoreLists
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
    _subscribed: bool | None = None  # the sender's consent, once read
    _members: dict[tuple[str, str], bool] = field(default_factory=dict)  # (list, jid) read so far
    memo: dict[str, Any] = field(default_factory=dict)  # store reads shared by the event's rules

    def know_state(self, scope: Scope, values: Mapping[str, Any]) -> None:
        """State the run already holds (read or written by its rule): not read from the store."""
        self.state["state" if scope == "chat" else "sender_state"].update(values)
        self._read |= {(scope, name) for name in values}

    async def read_state(self, needed: frozenset[tuple[Scope, str]]) -> dict[str, dict[str, Any]]:
        """`state` and `sender_state` holding (at least) `needed`: each name read once per event."""
        missing = needed - self._read
        if missing and self.storage is not None:
            for variable, values in (await read_vars(self.storage, self.view, missing)).items():
                self.state[variable].update(values)
        self._read |= missing
        return self.state

    async def on_store_list(self, name: str, jids: Iterable[str]) -> bool:
        """Whether one of `jids` is on the store list `name`: each (list, JID) read once per event,
        however many rules ask (store_lists.py)."""
        for jid in jids:
            found = self._members.get((name, jid))
            if found is None and self.storage is not None:
                found = self._members[name, jid] = await StoreLists(self.storage).has(
                    self.view.session, name, jid
                )
            if found:
                return True
        return False

    async def subscribed(self) -> bool | None:
        """Whether the sender has not opted out (STOP); None for an event that names no sender.
        Read from the store once per event, however many rules ask."""
        sender = self.view.sender
        if sender is None or not sender.id:
            return None
        if self.storage is None:  # no store, no opt-outs (a check without one)
            return True
        if self._subscribed is None:
            self._subscribed = not await StoreOptOuts(self.storage).has_any(self.view.session, sender.forms)
        return self._subscribed


SyncCheck = Callable[[MatchContext], str | None]
AsyncCheck = Callable[[MatchContext], Awaitable[str | None]]


@dataclass(frozen=True, eq=False)
class Dimension:
    """Something of an event the rule index looks up (rules/index.py), and how to read it.

    `exact`: `probe` gives the event's values (a chat kind, every form of the sender…), looked up
    in a table. `prefix`: `probe` gives one text, looked up by each prefix length in use.
    `substring`: `probe` gives one text, searched for every word at once (one RE2 Set pass).
    `regex`: the rules' `text:` regexes, searched at once by the engine's RegexSet.
    """

    name: str
    probe: Callable[[EventView], Iterable[Hashable]]
    match: Literal["exact", "prefix", "substring", "regex"] = "exact"


@dataclass(frozen=True)
class IndexKey:
    """A check's promise to the rule index: it can hold only when the event's `dimension` has
    one of `values`. A check without one is run on every event its rule meets; a check that has
    one must never hold otherwise (tests/test_rules_index.py compares both ways)."""

    dimension: Dimension
    values: frozenset[Hashable]


@dataclass(frozen=True)
class Check:
    """A compiled trigger: `run` (sync) or `run_async` (reads storage)."""

    trigger: str
    run: SyncCheck | None = None
    run_async: AsyncCheck | None = None
    regex: CompiledRegex | None = None  # for the engine's RE2 Set prefilter
    index: IndexKey | None = None  # how the rule index can skip the rule without running this


class TriggerError(ValueError):
    """A trigger value that does not compile: `hint` says how to fix it."""

    def __init__(self, message: str, hint: str = "", *, warning: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.warning = warning


@dataclass
class CompileContext:
    """What compiling a trigger may need: the named lists (files, and the names rules keep in the
    store with `add_to:` / `remove_from:`), and a place for warnings."""

    lists: Mapping[str, TextList]
    warnings: list[TriggerError] = field(default_factory=list)
    stored: frozenset[str] = frozenset()
    read: set[str] = field(default_factory=set)  # the lists of people read so far (for `check`)

    def named_list(self, name: str, *, people: bool = False) -> TextList:
        """A list file's entries (words for `contains:`, dates for `closed:`…); `people`: a list
        of people, which rules may keep in the store instead (see `people_list`)."""
        from botengine.rules.problems import did_you_mean

        if name in self.lists:
            return self.lists[name]
        if name in self.stored:
            raise TriggerError(
                f"{name!r} is a list of people rules keep with add_to:, not a list file",
                "sender, chat_id and participant read it: sender: {in: " + name + "}",
            )
        known = {*self.lists, *self.stored} if people else set(self.lists)
        hint = did_you_mean(name, known) or f"lists found: {', '.join(sorted(known)) or 'none'}"
        where = f"lists/{name}.txt, or add to it with add_to: {name}" if people else f"lists/{name}.txt"
        raise TriggerError(f"no list named {name!r} (put it in {where})", hint)

    def people_list(self, name: str) -> tuple[TextList, bool]:
        """A list of people: its file's entries (empty when there is only the store's), and whether
        the store keeps people on it too (then it is read per event, see MatchContext)."""
        self.read.add(name)
        if name not in self.stored:
            return self.named_list(name, people=True), False
        if name in self.lists:
            self.warnings.append(
                TriggerError(
                    f"{name!r} is both lists/{name}.txt and a list rules add to: it holds the people of both",
                    "add_to and the dashboard never write the file; keep one of the two if that is not meant",
                    warning=True,
                )
            )
        return self.lists.get(name, TextList(f"the store list {name}", ())), True


V = TypeVar("V")

Compile = Callable[[V, CompileContext], Check]
"""Turns a trigger's value (validated against the kind's type) into a Check, once, at load time."""


@dataclass(frozen=True)
class TriggerKind(Generic[V]):
    """One word a rule can write under `if:`. Generic over its value's type, so mypy checks the
    compile function against it; tests/test_rules_triggers.py checks `type_` is that same type."""

    name: str
    type_: Any  # the annotation its YAML value must satisfy
    compile: Compile[V]
    summary: str
    example: str
    needs: Carry | None = None  # what the event must carry for it to hold (`check` warns if never)


TRIGGERS: dict[str, TriggerKind[Any]] = {}


def register(
    name: str, type_: Any, summary: str, example: str, *, needs: Carry | None = None
) -> Callable[[Compile[V]], Compile[V]]:
    """Add the decorated compile function to TRIGGERS as the trigger `name`."""

    def add(func: Compile[V]) -> Compile[V]:
        if name in TRIGGERS:
            raise ValueError(f"trigger {name!r} registered twice")
        TRIGGERS[name] = TriggerKind(name, type_, func, summary, example, needs)
        return func

    return add


# --- helpers of every group ------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def fold_word(text: str) -> str:
    """`text` for comparing words: case-folded, NFC-normalized, trimmed."""
    return fold(text).strip()


def short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
