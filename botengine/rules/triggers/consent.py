"""Whether the sender still wants our messages: `subscribed` (they did not write STOP).

    - name: offer
      if: {equals: offers, subscribed: true}
      do: [{reply: "This week: 20% off everything."}]
    - name: stopped-but-asking
      if: {equals: offers, subscribed: false}
      do: [{webhook: "https://crm.example.com/asked-after-stop"}]

Read from the store's opt-outs (actions/consent.py, keywords.py) once per event; the template
variable `{{ subscribed }}` holds the same answer.
"""

from __future__ import annotations

from botengine.rules.triggers.base import Check, CompileContext, MatchContext, register


@register(
    "subscribed",
    bool,
    "true: the sender has not opted out (STOP); false: they have (a message to them would be skipped)",
    "subscribed: false",
    needs="sender",
)
def _subscribed(value: bool, ctx: CompileContext) -> Check:
    async def check(m: MatchContext) -> str | None:
        now = await m.subscribed()
        if now is None:
            return "the event names no sender"
        if now == value:
            return None
        return "the sender opted out (STOP)" if value else "the sender has not opted out"

    return Check("subscribed", run_async=check)
