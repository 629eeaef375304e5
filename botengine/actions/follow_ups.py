"""Follow-ups: the actions of a `later`, stored as a job that the scheduler runs when it falls due.

The job carries the rest of the rule's plan (its variables and the results so far) and the
`unless:` conditions with the time to compare them with: the scheduler cancels it if the chat's
activity since then says so (processing.py, activity.py). Its id is fixed by the event, rule and
action, so a redelivered or replayed event schedules it once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from botengine.actions.base import ActionContext, ActionSpec
from botengine.actions.consent import CONFIRMS
from botengine.actions.plan import RunPlan
from botengine.jobs import RunJob, encode, job_id
from botengine.storage import Job, JobStore
from botengine.types import JSONDict


class FollowUps:
    """Schedules follow-ups in the store (`Services.follow_up` is its `schedule`)."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs

    async def schedule(
        self, ctx: ActionContext, actions: tuple[ActionSpec, ...], after: float, unless: tuple[str, ...]
    ) -> JSONDict:
        """Schedule `actions` of the running rule to run in `after` seconds (the `later` action)."""
        plan = ctx.plan
        assert isinstance(plan, RunPlan)
        follow = plan.model_copy(
            update={
                "actions": list(actions),
                # not the opt-out's confirmation, whatever it sends (actions/consent.py)
                "results": {k: v for k, v in plan.results.items() if k != CONFIRMS},
                "attempts": {},
                "errors": {},
                "unless": list(unless),
                "since": ctx.event.timestamp_ms / 1000,
            }
        )
        due = time.time() + after
        job = Job(job_id("later", plan, ctx.index), due, encode(RunJob(plan=follow)))
        await self.jobs.schedule(job)  # the same id on a redelivery: scheduled once
        return {"due": datetime.fromtimestamp(due, UTC).isoformat(), "unless": list(unless)}
