"""Values cross the storage boundary as JSON bytes: the one encoding every backend shares."""

from __future__ import annotations

import json

from botengine.types import JSON


def encode(value: JSON) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def decode(raw: bytes | str | int | float) -> JSON:
    if isinstance(raw, int | float):  # counters are stored as plain integers
        return raw
    return json.loads(raw)
