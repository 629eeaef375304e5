"""Built-in STOP and START: a shop is safe from its first message without writing a rule.

    "STOP", " stop! ", "Arrêt", "توقّف"   ─► opt_out the sender, then confirm (BOTENGINE_STOP_REPLY)
    "START" from someone who opted out    ─► opt_in the sender, then confirm (BOTENGINE_START_REPLY)

The words are settings (`BOTENGINE_STOP_WORDS`, `BOTENGINE_START_WORDS`, options.py holds the
multilingual defaults; `off` turns one off). A message matches when it is one of the words and
nothing else, compared without case, accents or marks (Arabic harakat included) and without the
punctuation, symbols and emoji around it: "Stop." and "STOP 🛑" match, "stop the order" does not.
Only private messages from the person count (`message` events not from us): a STOP written in a
group is a message to the group.

START only acts for someone who opted out, so a menu bot's "start" keeps working for everyone
else. The built-in runs before the rules' own actions (so a catch-all reply to "STOP" is already
skipped), as an ordinary rule run named `built-in STOP` / `built-in START`: the ledger, pacing,
retries and the trace treat it like any rule.

Coexisting with rules: a rule of yours that fires for the message and runs `opt_out` (for a STOP
word) or `opt_in` (for a START word) replaces the built-in for that message, so there is one
confirmation, yours.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from botengine.actions import ActionSpec, RuleRun
from botengine.config import Settings, setting
from botengine.events import EventView
from botengine.optouts import StoreOptOuts, is_person
from botengine.rules.engine import Evaluation, TraceEntry
from botengine.rules.variables import variables_of
from botengine.storage import Storage

Word = Literal["stop", "start"]
LONGEST = 40  # characters: a longer message is never a keyword, so it is not normalized at all
_TATWEEL = "\u0640"  # Arabic elongation: "توقــف" is "توقف"


def normalized(text: str) -> str:
    """`text` as keywords are compared: case-folded, accents and marks removed, the punctuation,
    symbols and spaces around it stripped, spaces inside it collapsed to one."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M") and c != _TATWEEL)
    start, end = 0, len(kept)
    while start < end and not _is_word_char(kept[start]):
        start += 1
    while end > start and not _is_word_char(kept[end - 1]):
        end -= 1
    return unicodedata.normalize("NFC", " ".join(kept[start:end].split()))


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


@dataclass(frozen=True)
class Keywords:
    """The built-in keywords and their confirmations (module docstring)."""

    stop: frozenset[str]  # normalized
    start: frozenset[str]
    stop_reply: str
    start_reply: str
    written: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # as configured, for `check`

    @classmethod
    def of(cls, stop: Iterable[str], start: Iterable[str], stop_reply: str, start_reply: str) -> Keywords:
        stop, start = tuple(stop), tuple(start)
        return cls(
            frozenset(filter(None, map(normalized, stop))),
            frozenset(filter(None, map(normalized, start))),
            stop_reply,
            start_reply,
            (stop, start),
        )

    @classmethod
    def configured(cls, settings: Settings) -> Keywords:
        return cls.of(settings.stop_words, settings.start_words, settings.stop_reply, settings.start_reply)

    @classmethod
    def from_environment(cls) -> Keywords:
        """As `serve` would configure them from the BOTENGINE_* variables (dry runs, `check`)."""
        return cls.of(*(setting(name) for name in ("stop_words", "start_words", "stop_reply", "start_reply")))

    def explained(self) -> str:
        """What the built-ins do, in words (`botengine check` prints it)."""
        stop, start = (", ".join(words) for words in self.written)
        if not self.stop:
            said = "built-in STOP: off (BOTENGINE_STOP_WORDS=off); only your rules' opt_out stops messages"
        else:
            said = (
                f"built-in STOP: a private message that is only one of {stop} stops every message to "
                f'its sender, confirmed with "{self.stop_reply}"'
            )
        if self.start:
            said += f"; {start} from someone who stopped brings them back"
        return said + " (a rule of yours that runs opt_out / opt_in for the message replaces it)"

    def word_of(self, view: EventView) -> Word | None:
        """Which keyword the event is, if it is a person's own private message of one word."""
        if view.type != "message" or view.from_me or len(view.text) > LONGEST:
            return None
        if not is_person(view.chat.id) or view.sender is None:
            return None
        said = normalized(view.text)
        if said in self.stop:
            return "stop"
        return "start" if said in self.start else None

    async def add_to(self, evaluation: Evaluation, view: EventView, storage: Storage) -> None:
        """Put the built-in run first in `evaluation` when the event is a keyword it must act on."""
        word = self.word_of(view)
        if word is None or view.sender is None or _handled(evaluation, word):
            return
        if word == "start" and not await StoreOptOuts(storage).has_any(view.session, view.sender.forms):
            return  # someone subscribed writing "start" (a menu bot's word): not ours to answer
        name = f"built-in {word.upper()}"
        action, text = ("opt_out", self.stop_reply) if word == "stop" else ("opt_in", self.start_reply)
        where = f"BOTENGINE_{word.upper()}_WORDS"
        actions = (
            ActionSpec(kind=action, params={"who": "sender"}, index="0", location=where),
            ActionSpec(
                kind="reply", params={"text": text}, index="1", location=f"BOTENGINE_{word.upper()}_REPLY"
            ),
        )
        evaluation.matches.insert(0, RuleRun(name, actions, variables_of(view)))
        evaluation.trace.insert(0, TraceEntry(name, "matched", location=where))


def _handled(evaluation: Evaluation, word: Word) -> bool:
    """True when a rule that fired runs the keyword's action itself (it confirms in its own words)."""
    action = "opt_out" if word == "stop" else "opt_in"
    return any(_runs(action, run.actions) for run in evaluation.matches)


def _runs(action: str, specs: Iterable[ActionSpec]) -> bool:
    return any(spec.kind == action or _runs(action, spec.nested) for spec in specs)
