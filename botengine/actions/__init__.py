"""Every action kind a rule can use. A new kind: one module, one line below."""

from __future__ import annotations

from botengine.actions.ask import ASK
from botengine.actions.base import (
    ACTIONS,
    ActionContext,
    ActionKind,
    ActionSpec,
    Capability,
    RuleRun,
    Services,
    SkipRule,
    capabilities_of,
    register,
)
from botengine.actions.branches import CHOOSE, IF
from botengine.actions.broadcast import BROADCAST
from botengine.actions.consent import OPT_IN, OPT_OUT
from botengine.actions.conversation import CLEAR, COUNT, LOG, SET
from botengine.actions.discount import DISCOUNT
from botengine.actions.group import REMOVE
from botengine.actions.handover import HANDOVER, RESUME
from botengine.actions.later import LATER
from botengine.actions.lists import ADD_TO, REMOVE_FROM
from botengine.actions.media import FILE, IMAGE, VIDEO, VOICE
from botengine.actions.messaging import REACT, REPLY, SEND
from botengine.actions.presence import MARK_READ, TYPING
from botengine.actions.rich import CONTACT, LINK_PREVIEW, LOCATION, POLL
from botengine.actions.webhook import WEBHOOK

for _kind in (
    *(REPLY, SEND, REACT, IMAGE, FILE, VOICE, VIDEO, LOCATION, CONTACT, LINK_PREVIEW, POLL),
    *(MARK_READ, TYPING, BROADCAST, OPT_OUT, OPT_IN),
    *(REMOVE, WEBHOOK, DISCOUNT, SET, CLEAR, COUNT, LATER, LOG),
    *(ADD_TO, REMOVE_FROM),
    *(HANDOVER, RESUME),
    *(CHOOSE, IF, ASK),
):
    register(_kind)

__all__ = [
    "ACTIONS",
    "ActionContext",
    "ActionKind",
    "ActionSpec",
    "Capability",
    "RuleRun",
    "Services",
    "SkipRule",
    "capabilities_of",
    "register",
]
