"""Action kinds say what they ask of the engine; the engine asks the registry, not a kind's name."""

from __future__ import annotations

from pathlib import Path

from botengine.actions import ACTIONS, ActionSpec, Capability, capabilities_of
from tests.rules_helpers import ruleset


def test_a_later_with_unless_makes_the_engine_record_activity(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: nudge
            do:
              - later: {after: 1h, unless: read, do: [{reply: "Still there?"}]}
        """,
    )
    assert rules.capabilities == {Capability.FOLLOW_UPS, Capability.ACTIVITY}
    assert rules.follows_activity


def test_a_later_without_unless_schedules_but_reads_no_activity(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: nudge
            do:
              - reply: hi
              - later: {after: 1h, do: [{reply: "Still there?"}]}
        """,
    )
    assert rules.capabilities == {Capability.FOLLOW_UPS}
    assert not rules.follows_activity


def test_capabilities_are_found_in_nested_actions() -> None:
    inner = ActionSpec(kind="later", params={"after": 60, "unless": ["replied"], "do": []}, index="0.0")
    outer = ActionSpec(kind="later", params={"after": 60, "do": [{}]}, index="0", nested=(inner,))
    assert capabilities_of([outer]) == {Capability.FOLLOW_UPS, Capability.ACTIVITY}
    assert capabilities_of([ActionSpec(kind="reply", params={"text": "hi"}, index="0")]) == frozenset()


def test_every_capability_parameter_is_a_parameter_of_its_kind() -> None:
    for kind in ACTIONS.values():
        assert set(kind.capability_params) <= set(kind.params.model_fields), kind.name
