"""The rules language: YAML files → compiled rules → which rules an event fires, and why not.

loader.py     files → CompiledRule, or every problem with file:line:col
triggers.py   the trigger registry (`if:` keys)
engine.py     RuleSet.evaluate: index by event type, RE2 Set prefilter, cooldown, stop
live.py       hot reload: watch the directory, swap valid sets in atomically
commands.py   botengine check | schema | dry-run | test
"""

from __future__ import annotations

from botengine.rules.engine import Evaluation, RuleSet, TraceEntry
from botengine.rules.problems import Problem
from botengine.rules.variables import VARIABLES, variables_of

__all__ = ["VARIABLES", "Evaluation", "Problem", "RuleSet", "TraceEntry", "variables_of"]
