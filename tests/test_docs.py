"""The documentation cannot drift from the code: generated parts are compared with what
`scripts/docs` (botengine/docs.py) would write."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from botengine.actions import ACTIONS
from botengine.docs import BLOCKS, FILES
from botengine.rules.loader import load
from botengine.rules.triggers import TRIGGERS
from tests.conftest import REPO


def block(path: str, name: str) -> str:
    text = (REPO / path).read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert match, f"{path} has no <!-- {name}:start --> … <!-- {name}:end --> block"
    return match.group(1)


@pytest.mark.parametrize(("path", "name"), list(BLOCKS))
def test_generated_blocks_are_current(path: str, name: str) -> None:
    assert block(path, name) == BLOCKS[(path, name)](), f"{path} ({name}) is stale: run scripts/docs"


@pytest.mark.parametrize("path", list(FILES))
def test_generated_files_are_current(path: str) -> None:
    assert (REPO / path).read_text(encoding="utf-8") == FILES[path](), f"{path} is stale: run scripts/docs"


def test_readme_opens_with_the_two_commands() -> None:
    head = (REPO / "README.md").read_text(encoding="utf-8").split("\n\n", 3)[:3]
    assert "scripts/run" in "\n".join(head)
    assert "scripts/test" in "\n".join(head)
    assert (REPO / ".ci" / "run").read_text().strip().endswith('scripts/test"')


def _loads_clean(tmp_path: Path, rule_body: str) -> list[str]:
    (tmp_path / "lists").mkdir(exist_ok=True)
    (tmp_path / "lists" / "vip.txt").write_text("447441429009@c.us\n")
    (tmp_path / "r.yaml").write_text("rules:\n  - name: example\n" + textwrap.indent(rule_body, "    "))
    return [str(p) for p in load([tmp_path]).errors]


@pytest.mark.parametrize("name", list(TRIGGERS))
def test_every_trigger_example_in_the_reference_loads(tmp_path: Path, name: str) -> None:
    example = TRIGGERS[name].example
    body = f"{example}\ndo: [{{log: x}}]\n" if name == "on" else f"if:\n  {example}\ndo: [{{log: x}}]\n"
    assert _loads_clean(tmp_path, body) == []


@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_action_example_in_the_reference_loads(tmp_path: Path, name: str) -> None:
    assert _loads_clean(tmp_path, f"do:\n  - {ACTIONS[name].example}\n") == []


async def test_the_readme_tutorial_works_as_written(tmp_path: Path) -> None:
    from botengine.inline_tests import run_tests
    from botengine.rules import RuleSet

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Your first rule in five minutes")[1].split("\n## ")[0]
    rule, test = (textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S))
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "prices.yaml").write_text(rule + test)
    outcomes = await run_tests(RuleSet.load([rules_dir]))
    assert [o.passed for o in outcomes] == [True]
    (rules_dir / "prices.yaml").write_text(rule.replace("- reply:", "- replly:"))
    [problem] = load([rules_dir]).errors
    shown = str(problem).replace(str(tmp_path) + "/", "")
    assert f"`{shown}`" in " ".join(section.split()), "the README quotes a different message"


# A weekday in office hours, a weekday night, a Saturday, a Sunday night (London): the starter
# rules answer differently at night and at weekends (their VIP rule), the tutorial must not.
TIMES = ["2025-11-25T10:00:00Z", "2025-11-25T22:30:00Z", "2025-11-29T12:00:00Z", "2025-11-30T03:00:00Z"]


@pytest.mark.parametrize("now", TIMES)
def test_the_tutorial_passes_beside_the_starter_rules_at_any_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], now: str
) -> None:
    from botengine.cli import main

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Your first rule in five minutes")[1].split("\n## ")[0]
    rule, test = (textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S))
    shutil.copytree(REPO / "rules", tmp_path / "rules")  # as a newcomer has it: beside the starter rules
    shutil.copytree(REPO / "examples" / "events", tmp_path / "examples" / "events")
    (tmp_path / "rules" / "prices.yaml").write_text(rule + test)
    status = main(["test", str(tmp_path / "rules"), "--now", now])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.endswith(" passed, 0 failed\n") and "answers a price question" in out


def test_every_module_the_architecture_page_names_exists() -> None:
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"[\w/]*\w\.py\b|\b[\w/]+/(?=[`\s,)])", text))
    files = {p.relative_to(REPO).as_posix() for p in REPO.rglob("*") if ".venv" not in p.parts}
    missing = [
        name
        for name in sorted(named)
        if not any(f == name.rstrip("/") or f.endswith("/" + name.rstrip("/")) for f in files)
    ]
    assert named and not missing, f"docs/architecture.md names what is not there: {missing}"
