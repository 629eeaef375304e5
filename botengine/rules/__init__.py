"""The rules language: YAML files → compiled rules → which rules an event fires, and why not.

loader.py          files → CompiledRule, or every problem with file:line:col
action_checks.py   a rule's do: list checked as written (where.py: where in which file)
triggers/          the trigger registry (`if:` keys), one module per group of triggers
engine.py          RuleSet.evaluate: index by event type, RE2 Set prefilter, cooldown, stop
live.py            hot reload: watch the directory, swap valid sets in atomically
"""

from __future__ import annotations

from botengine.rules.engine import Evaluation, RuleSet, TraceEntry
from botengine.rules.problems import Problem
from botengine.rules.variables import VARIABLES, variables_of

__all__ = ["VARIABLES", "Evaluation", "Problem", "RuleSet", "TraceEntry", "variables_of"]
