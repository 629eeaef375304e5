"""Every action kind a rule can use. A new kind: one module, one line below."""

from __future__ import annotations

from botengine.actions.base import ACTIONS, ActionContext, ActionKind, ActionSpec, RuleRun, register
from botengine.actions.messaging import REACT, REPLY, SEND

for _kind in (REPLY, SEND, REACT):
    register(_kind)

__all__ = ["ACTIONS", "ActionContext", "ActionKind", "ActionSpec", "RuleRun", "register"]
