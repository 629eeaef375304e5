"""Who a broadcast goes to: a list file or a CSV beside the rules, read into recipients.

    lists/customers.txt     one number or JID a line (# comments), like every named list
    customers.csv           a header row; the column `phone` (or to, jid, number, whatsapp) says
                            who, every other column is a field the message can use:
                            "Hi {{ person.name }}, your code is {{ person.code }}"

Numbers are written as people write them (`+44 7441 429009`, `0044…` is not guessed at: give
the country code) and become JIDs (`447441429009@c.us`); JIDs are kept as they are. The same
person twice is sent to once (the first row wins). Rows that name nobody are reported, not sent.
Files are read with botengine/confined.py: inside the rules folder, plain files only.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from botengine import confined
from botengine.errors import FileRefusedError, PermanentError
from botengine.textlists import read_list

WHO_COLUMNS = ("to", "jid", "phone", "number", "whatsapp", "mobile")
_NUMBER = re.compile(r"^\+?[\d\s().-]{6,30}$")


@dataclass(frozen=True)
class Person:
    to: str  # the full JID
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Audience:
    people: list[Person]
    problems: list[str]  # rows that name nobody, in words with their line


def jid_of(value: str) -> str | None:
    """`+44 7441 429009` → `447441429009@c.us`; a JID as it is; None when it is neither."""
    value = value.strip()
    if "@" in value:
        return value if " " not in value and value.split("@", 1)[0] else None
    if not _NUMBER.match(value):
        return None
    digits = "".join(c for c in value if c.isdigit())
    return f"{digits}@c.us" if 6 <= len(digits) <= 15 else None


def source_path(folder: Path, source: str) -> str:
    """The file a source names: `customers` is lists/customers.txt, anything with a suffix a file."""
    return source if Path(source).suffix else f"lists/{source}.txt"


def read_audience(folder: Path, source: str) -> Audience:
    """Everyone `source` names; PermanentError when the file cannot be read or names no one."""
    name = source_path(folder, source)
    try:
        text = confined.read(folder, name).decode("utf-8-sig", errors="replace")
    except FileRefusedError as exc:
        raise PermanentError(f"the audience {source!r}: {exc}") from exc
    audience = _csv(text, name) if name.lower().endswith(".csv") else _lines(text)
    if not audience.people:
        raise PermanentError(f"the audience {source!r} ({name}) names no one to send to")
    return audience


def _lines(text: str) -> Audience:
    people, problems, seen = [], [], set()
    for entry in read_list(text):
        jid = jid_of(entry)
        if jid is None:
            problems.append(f"{entry!r} is not a phone number or JID")
        elif jid not in seen:
            seen.add(jid)
            people.append(Person(jid))
    return Audience(people, problems)


def _csv(text: str, name: str) -> Audience:
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if not header:
        raise PermanentError(f"{name} is empty: its first row names the columns (phone, name, …)")
    columns = [_column(c) for c in header]
    who = next((columns.index(c) for c in WHO_COLUMNS if c in columns), None)
    if who is None:
        raise PermanentError(f"{name}: no column says who (name one of: {', '.join(WHO_COLUMNS)})")
    people, problems, seen = [], [], set()
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        jid = jid_of(row[who]) if who < len(row) else None
        if jid is None:
            problems.append(
                f"{name}:{line}: {row[who] if who < len(row) else ''!r} is not a phone number or JID"
            )
            continue
        if jid in seen:
            continue
        seen.add(jid)
        cells = {columns[i]: row[i].strip() for i in range(min(len(columns), len(row))) if i != who}
        people.append(Person(jid, cells))
    return Audience(people, problems)


def _column(title: str) -> str:
    """A header as a template name: `First name` → first_name."""
    return re.sub(r"\W+", "_", title.strip().lower()).strip("_") or "column"
