"""Event traces stay small and few: a bounded trace whatever the rule count, and the oldest
traces leave with the key that finds them by event id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botengine.dashboard.traces import TraceStore
from botengine.processing import Processed
from botengine.rules import RuleSet
from botengine.storage.keys import key
from botengine.storage.memory import MemoryStorage
from botengine.testing import make_event
from tests.rules_helpers import view


def rules_of(tmp_path: Path, count: int) -> RuleSet:
    tmp_path.mkdir(exist_ok=True)
    lines = ["rules:", "  - {name: hello, if: {contains: hello}, do: [{reply: hi}]}"]
    lines += [
        f"  - {{name: r{i}, if: {{expr: \"'zz{i}' in text\"}}, do: [{{reply: x}}]}}" for i in range(count)
    ]
    (tmp_path / "rules.yaml").write_text("\n".join(lines) + "\n")
    return RuleSet.load([tmp_path])


async def stored_trace(rules: RuleSet, text: str) -> dict[str, Any]:
    storage = MemoryStorage()
    event = view(make_event(text=text))
    await TraceStore(storage).record(Processed(event, await rules.evaluate(event, storage)))
    [(_, trace)] = await storage.scan(key("trace", "event", ""))
    assert isinstance(trace, dict)
    return trace


async def test_a_trace_keeps_the_matches_and_a_few_reasons_whatever_the_rule_count(tmp_path: Path) -> None:
    text = "hello " + "x" * 2000
    few = await stored_trace(rules_of(tmp_path / "few", 3), text)
    many = await stored_trace(rules_of(tmp_path / "many", 2000), text)  # expressions: all visited, all fail
    assert [r["rule"] for r in many["rules"]] == ["hello", *(f"r{i}" for i in range(8))]
    assert many["rules"][1]["reason"] == "expression \"'zz0' in text\" is false"
    assert many["rules_not_shown"] == 1992 and few["rules_not_shown"] == 0
    assert len(json.dumps(many)) - len(json.dumps(few)) < 2000  # five more reasons (~210 bytes), not 1,997


async def test_the_oldest_traces_go_with_their_by_event_keys(tmp_path: Path) -> None:
    rules = rules_of(tmp_path, 1)
    storage = MemoryStorage()
    traces = TraceStore(storage, limit=3)
    events = [view(make_event(text=f"hello {i}")) for i in range(5)]
    for event in events:
        await traces.record(Processed(event, await rules.evaluate(event, storage)))
    kept = await storage.scan(key("trace", ""))
    assert len(kept) == 6  # three traces, each with its by-event key
    assert {v["event_id"] for _, v in kept if isinstance(v, dict)} == {e.id for e in events[2:]}
    assert all(events[0].id not in k and events[1].id not in k for k, _ in kept)
