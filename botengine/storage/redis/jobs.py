"""Scheduled jobs on Redis, leased to the scheduler that runs them.

    <ns>:jobs         a hash: id → JSON data
    <ns>:jobs:due     their due times (a sorted set, the caller's clock)
    <ns>:jobs:leased  jobs being run (a sorted set: id → lease expiry, Redis' clock)

A job taken is leased; the store's keeper renews the leases of the jobs this process holds, so a
job whose taker died is due again once its lease expired.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from botengine.storage.base import Job
from botengine.storage.codec import decode, encode
from botengine.storage.redis.connection import chunks, ms, text
from botengine.storage.redis.keys import RedisKeys


class RedisJobs:
    """The JobStore role of the Redis backend, with the leases of the jobs it took."""

    def __init__(
        self, client: aioredis.Redis, keys: RedisKeys, scripts: dict[str, AsyncScript], lease: float
    ) -> None:
        self._client = client
        self._keys = keys
        self._schedule = scripts["schedule"]
        self._take_due = scripts["take_due"]
        self._renew_or_release = scripts["renew_or_release_jobs"]
        self._lease = lease
        self._held: dict[str, str] = {}  # job id → its lease expiry as leased by us

    @property
    def holding(self) -> bool:
        """Whether this process runs jobs whose leases need renewing."""
        return bool(self._held)

    async def schedule(self, job: Job) -> bool:
        stored = await self._schedule(
            keys=[self._keys.jobs, self._keys.jobs_due], args=[job.id, repr(job.due), encode(job.data)]
        )
        return bool(stored == 1)

    async def take_due(self, now: float, limit: int) -> list[Job]:
        reply = await self._take_due(
            keys=[self._keys.jobs_due, self._keys.jobs_leased, self._keys.jobs],
            args=[repr(now), limit, ms(self._lease)],
        )
        jobs = []
        for i in range(0, len(reply), 4):
            job_id = text(reply[i])
            jobs.append(Job(job_id, float(reply[i + 1]), decode(reply[i + 2])))
            self._held[job_id] = text(reply[i + 3])
        return jobs

    async def renew(self) -> None:
        held = list(self._held.items())
        reply = await self._renew_or_release(
            keys=[self._keys.jobs_leased], args=[ms(self._lease), *(x for pair in held for x in pair)]
        )
        renewed = {text(reply[i]): text(reply[i + 1]) for i in range(0, len(reply), 2)}
        for job_id, _ in held:
            if job_id in self._held:  # not finished while this ran
                if job_id in renewed:
                    self._held[job_id] = renewed[job_id]
                else:
                    del self._held[job_id]  # its lease expired: another scheduler may run it

    async def release(self) -> None:
        """Let go of every job this process holds: another scheduler may take them at once."""
        if self._held:
            pairs = [x for pair in self._held.items() for x in pair]
            await self._renew_or_release(keys=[self._keys.jobs_leased], args=["", *pairs])

    def forget(self) -> None:
        self._held.clear()

    async def finish(self, job_id: str) -> None:
        self._held.pop(job_id, None)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys.jobs, job_id)
            pipe.zrem(self._keys.jobs_due, job_id)
            pipe.zrem(self._keys.jobs_leased, job_id)
            await pipe.execute()

    async def jobs(self) -> list[Job]:
        due: list[tuple[bytes, float]] = await self._client.zrange(  # type: ignore[assignment]
            self._keys.jobs_due, 0, -1, withscores=True
        )
        found: list[Job] = []
        for chunk in chunks(due):
            datas = await self._client.hmget(self._keys.jobs, [job_id for job_id, _ in chunk])
            for (job_id, score), raw in zip(chunk, datas, strict=True):
                if raw is not None:
                    found.append(Job(text(job_id), float(score), decode(raw)))
        return found
