"""Documentation generated from the code, so it cannot drift: `scripts/docs` rewrites it all.

    README.md               <!-- config:start --> … the configuration reference (config.OPTIONS)
    docs/rules.schema.json  the JSON Schema of a rules file (for editors)

tests/test_docs.py compares each with what this module would write.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from botengine.config import reference_table

ROOT = Path(__file__).resolve().parent.parent


def replace_block(text: str, name: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"no <!-- {name}:start --> … <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + content + m.group(2), text)


def schema_text() -> str:
    from botengine.rules.commands import rules_schema

    return json.dumps(rules_schema(), indent=2, ensure_ascii=False) + "\n"


BLOCKS: dict[tuple[str, str], Callable[[], str]] = {
    ("README.md", "config"): reference_table,
}
FILES: dict[str, Callable[[], str]] = {
    "docs/rules.schema.json": schema_text,
}


def main() -> int:
    for (path, name), make in BLOCKS.items():
        target = ROOT / path
        target.write_text(replace_block(target.read_text(encoding="utf-8"), name, make()), encoding="utf-8")
        print(f"updated {path} ({name})")
    for path, make in FILES.items():
        (ROOT / path).write_text(make(), encoding="utf-8")
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
