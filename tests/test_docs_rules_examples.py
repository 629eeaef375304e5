"""Every rule written out in docs/rules.md loads clean: the docs show what actually works."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from botengine.rules.loader import load
from tests.conftest import REPO

_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def _rule_blocks() -> list[str]:
    text = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    blocks = []
    for block in _BLOCK.findall(text):
        if block.lstrip().startswith("- name:"):
            blocks.append("rules:\n" + textwrap.indent(block, "  "))
        elif re.search(r"^rules:", block, re.M):
            blocks.append(block)
    return blocks


BLOCKS = _rule_blocks()


def test_the_docs_have_rule_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_a_rules_example_in_the_docs_loads(tmp_path: Path, block: str) -> None:
    (tmp_path / "lists").mkdir()
    for name in ("vip", "holidays", "banned", "staff"):  # the lists the examples name
        (tmp_path / "lists" / f"{name}.txt").write_text("", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(block, encoding="utf-8")
    loaded = load([tmp_path])
    assert [str(p) for p in loaded.errors] == []
    assert loaded.rules
