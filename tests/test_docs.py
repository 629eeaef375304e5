"""The documentation cannot drift from the code: references are generated and compared here."""

from __future__ import annotations

import re

from botengine.config import reference_table
from tests.conftest import REPO


def block(path: str, name: str) -> str:
    text = (REPO / path).read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert match, f"{path} has no <!-- {name}:start --> … <!-- {name}:end --> block"
    return match.group(1).strip()


def test_readme_configuration_reference_is_current() -> None:
    assert block("README.md", "config") == reference_table(), (
        "README's configuration table is out of date: regenerate it with `python -m botengine.config`"
    )


def test_readme_opens_with_the_two_commands() -> None:
    head = (REPO / "README.md").read_text(encoding="utf-8").split("\n\n", 3)[:3]
    assert "scripts/run" in "\n".join(head)
    assert "scripts/test" in "\n".join(head)
    assert (REPO / ".ci" / "run").read_text().strip().endswith('scripts/test"')
