"""The scheduler on its own: due jobs run once, crashes become dead letters, stops leave work stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from botengine.jobs import JobLetter, decode_letter
from botengine.scheduler import Scheduler
from botengine.storage import Job, Storage


async def eventually(condition: Callable[[], Awaitable[object]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


async def test_a_due_job_runs_once_and_is_forgotten(storage: Storage) -> None:
    ran: list[str] = []

    async def run(job: Job) -> None:
        ran.append(job.id)

    await storage.schedule(Job("now", time.time() - 1, {"n": 1}))
    await storage.schedule(Job("later", time.time() + 3600, {"n": 2}))
    scheduler = Scheduler(storage, run, poll=0.01)
    scheduler.start()
    try:
        await eventually(lambda: _ids(storage, {"later"}), "the due job to finish")
        await asyncio.sleep(0.1)  # a few more polls: it must not run again
    finally:
        await scheduler.stop(1.0)
    assert ran == ["now"]


async def test_wake_runs_a_new_job_without_waiting_for_the_poll(storage: Storage) -> None:
    ran = asyncio.Event()

    async def run(job: Job) -> None:
        ran.set()

    scheduler = Scheduler(storage, run, poll=3600)  # only wake() can make it look again in time
    scheduler.start()
    try:
        await asyncio.sleep(0.05)  # it looked once, found nothing, and sleeps
        await storage.schedule(Job("replay", time.time(), {}))
        scheduler.wake()
        async with asyncio.timeout(10):
            await ran.wait()
    finally:
        await scheduler.stop(1.0)


async def test_a_crashing_job_becomes_a_dead_letter_with_its_error(storage: Storage) -> None:
    async def run(job: Job) -> None:
        raise KeyError("plan")

    await storage.schedule(Job("bad", time.time(), {"type": "run"}))
    scheduler = Scheduler(storage, run, poll=0.01)
    scheduler.start()
    try:
        await eventually(storage.dlq_list, "the dead letter")
        await eventually(lambda: _ids(storage, set()), "the job to be forgotten")
    finally:
        await scheduler.stop(1.0)
    [(_, entry)] = await storage.dlq_list()
    letter = decode_letter(entry)
    assert isinstance(letter, JobLetter)
    assert (letter.job_id, letter.data) == ("bad", {"type": "run"})
    assert letter.last_error == "KeyError: 'plan'"
    assert "raise KeyError" in letter.traceback


async def test_a_slow_job_holds_back_no_other(storage: Storage) -> None:
    release = asyncio.Event()
    ran: list[str] = []

    async def run(job: Job) -> None:
        if job.id == "slow":
            await release.wait()
        ran.append(job.id)

    await storage.schedule(Job("slow", time.time() - 2, {}))
    for n in range(5):
        await storage.schedule(Job(f"quick{n}", time.time() - 1, {}))
    scheduler = Scheduler(storage, run, poll=0.01, concurrency=4)
    scheduler.start()
    try:
        await eventually(lambda: _ids(storage, {"slow"}), "the quick jobs to finish")
        assert "slow" not in ran
        release.set()
        await eventually(lambda: _ids(storage, set()), "the slow job to finish")
    finally:
        await scheduler.stop(1.0)
    assert sorted(ran) == sorted(["slow", *(f"quick{n}" for n in range(5))])


async def test_a_job_still_running_at_stop_stays_stored_for_the_next_start(storage: Storage) -> None:
    started = asyncio.Event()

    async def stuck(job: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    await storage.schedule(Job("stuck", time.time(), {"n": 1}))
    scheduler = Scheduler(storage, stuck, poll=0.01)
    scheduler.start()
    async with asyncio.timeout(10):
        await started.wait()
    await scheduler.stop(0.05)
    assert [job.id for job in await storage.jobs()] == ["stuck"]
    assert await storage.dlq_list() == []


async def _ids(storage: Storage, expected: set[str]) -> bool:
    return {job.id for job in await storage.jobs()} == expected
