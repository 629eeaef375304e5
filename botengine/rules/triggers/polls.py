"""Votes on polls the bot sent: `poll`.

    - name: branch-chosen
      on: poll.vote
      if: {poll: {question: "Which branch?", option: North}}
      do: [{reply: "North it is: 12 High Street, open 9 to 6."}]

A vote names its poll by message id and the options chosen; WhatsApp does not repeat the
question. The `poll` action records every poll it sends (botengine/polls.py), and this trigger
reads the question from there (or from the event, when an engine includes it). Questions and
options are compared ignoring case and the spaces around them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from botengine import polls
from botengine.rules.triggers.base import Check, CompileContext, MatchContext, TriggerError, as_list, register


class PollMatch(BaseModel):
    """`{question: "Which branch?", option: North}`: either may be left out."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str | None = Field(None, description="the poll's question, as the poll action asked it")
    option: str | list[str] | None = Field(None, description="the option (or any of these) chosen")


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


@register(
    "poll",
    str | PollMatch,
    "a vote on a poll the bot sent: its question, and the option chosen",
    'poll: {question: "Which branch?", option: North}',
    needs="poll",
)
def _poll(value: str | PollMatch, ctx: CompileContext) -> Check:
    wanted = PollMatch(question=value) if isinstance(value, str) else value
    if wanted.question is not None and not wanted.question.strip():
        raise TriggerError("an empty question", 'write the question as the poll asked it: "Which branch?"')
    options = {_fold(o) for o in as_list(wanted.option)} if wanted.option is not None else None
    if options is not None and not all(options):
        raise TriggerError("an empty option", "write an option as the poll offered it")
    question = _fold(wanted.question) if wanted.question is not None else None
    option_label = " or ".join(repr(o) for o in as_list(wanted.option))

    async def check(m: MatchContext) -> str | None:
        vote = m.view.poll
        if vote is None:
            return "the event is not a poll vote"
        chosen = {_fold(c) for c in vote.chosen}
        if options is not None and not chosen & options:
            return (
                f"chosen {', '.join(vote.chosen) or 'nothing (vote taken back)'}, rule wants {option_label}"
            )
        if question is None:
            return None
        asked = vote.question
        if asked is None and vote.id and m.storage is not None:
            sent = await polls.recall(m.storage, m.view.session, vote.id)
            asked = sent.question if sent else None
        if asked is None:
            return "the poll's question is unknown (a poll this bot did not send, or older than 90 days)"
        return None if _fold(asked) == question else f"poll asks {asked!r}, rule wants {wanted.question!r}"

    return Check("poll", run_async=check)
