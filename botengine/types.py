"""Type aliases shared across the package."""

from __future__ import annotations

from typing import Any, TypeAlias

JSON: TypeAlias = Any
"""A value that survives `json.dumps`: dict, list, str, int, float, bool or None."""

JSONDict: TypeAlias = dict[str, Any]
