"""What the engine makes of every sample event: accepted or not, and the values rules would see.

    .venv/bin/python scripts/event_matrix.py [--markdown] [FILE_OR_DIR ...]   (default: examples/events)

Each body goes through a real receiver over HTTP on loopback (a fresh store per file, since the
docs samples share one placeholder id), then the stored event through the same parsing the worker
does, and the template variables are read back. Only the public entry points are used
(`build_app`, `parse_envelope`, `view_of`, `variables_of`), so the script runs unchanged against an
older checkout: `PYTHONPATH=/path/to/old/checkout .venv/bin/python scripts/event_matrix.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx

from botengine.app import build_app
from botengine.config import Settings
from botengine.events import parse_envelope, view_of
from botengine.rules.variables import variables_of
from botengine.storage import Incoming
from botengine.testing import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent

# Variables shown beyond chat, sender and text, when an event has them (dotted paths).
EXTRA = (
    "message_id",
    "previous_text",
    "chat.name",
    "sender.name",
    "sender.phone",
    "sender.lid",
    "ack_name",
    "emoji",
    "reaction.removed",
    "media.mimetype",
    "quoted.id",
    "quoted.text",
    "location.latitude",
    "vcards",
    "group.action",
    "group.subject",
    "group.by",
    "participants",
    "poll.question",
    "poll.chosen",
    "call.id",
    "call.video",
    "call.group",
    "presence.state",
    "session_status",
    "label.id",
    "label.name",
)


class _Recorder:
    def __init__(self) -> None:
        self.events: list[Incoming] = []
        self.arrived = threading.Event()

    async def __call__(self, event: Incoming) -> str:
        self.events.append(event)
        self.arrived.set()
        return "recorded"


def _get(variables: dict[str, Any], path: str) -> Any:
    value: Any = variables
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _shown(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:59] + "…"


def measure(path: Path) -> dict[str, Any]:
    """One file: the receiver's answer, and the variables of the event the worker got."""
    recorder = _Recorder()
    with tempfile.TemporaryDirectory() as data:
        app = build_app(Settings(data_dir=Path(data), host="127.0.0.1"), processor=recorder)
        with serve_in_thread(app) as url:
            response = httpx.post(
                url + "/webhook/whatsapp",
                content=path.read_bytes(),
                headers={"content-type": "application/json"},
                timeout=10,
            )
            if response.status_code == 200:
                recorder.arrived.wait(10)
    row: dict[str, Any] = {"file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)}
    try:
        row["event"] = json.loads(path.read_bytes()).get("event") or "(none)"
    except (ValueError, AttributeError):
        row["event"] = "(not JSON)"
    if response.status_code != 200 or not recorder.events:
        answer = response.json() if response.headers.get("content-type") == "application/json" else {}
        row["accepted"] = f"no: {response.status_code} {answer.get('field', '')}".strip()
        return row
    parsed = parse_envelope(recorder.events[0].body)
    assert not isinstance(parsed, list), parsed
    variables = variables_of(view_of(parsed))
    row.update(
        accepted="yes",
        event=variables["event"],
        chat=variables["chat"]["id"],
        sender=variables["sender"]["id"],
        text=variables["text"],
        extra={p: _get(variables, p) for p in EXTRA if _shown(_get(variables, p)) != "—"},
    )
    return row


def _files(targets: list[str]) -> list[Path]:
    found: list[Path] = []
    for target in targets or [str(ROOT / "examples" / "events")]:
        path = Path(target)
        found.extend(sorted(path.rglob("*.json")) if path.is_dir() else [path])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("targets", nargs="*", help="event files or folders (default: examples/events)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    rows = [measure(path) for path in _files(args.targets)]
    if not args.markdown:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=str))
        return 0
    print("| file | event | accepted | chat | sender | text | type-specific |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        extra = "; ".join(f"{k}={_shown(v)}" for k, v in row.get("extra", {}).items()) or "—"
        cells = [row["file"], row.get("event", "?"), row["accepted"]]
        cells += [_shown(row.get(k)) for k in ("chat", "sender", "text")] + [extra]
        print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
