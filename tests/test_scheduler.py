"""The durable scheduler against the real database: timers run once each, late if they came due while no
scheduler ran, and never twice when several schedulers poll at once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from kernel.scheduler import Job, Scheduler, drop_pending, pending, schedule
from kernel.scheduler.jobs import DROP_PENDING

KIND = "test.tick"


class Recorder:
    """A handler that notes which scheduler ran which timer, taking its time so that runs overlap."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, str]] = []

    def handler(self, owner: str):  # type: ignore[no-untyped-def]
        async def run(job: Job) -> None:
            await asyncio.sleep(0.01)
            self.runs.append((job.key, owner))

        return run


def scheduler(db, recorder: Recorder) -> Scheduler:  # type: ignore[no-untyped-def]
    made = Scheduler(db, poll_seconds=0.05)
    made.register(KIND, recorder.handler(made.owner))
    return made


async def test_two_schedulers_polling_at_once_run_each_due_timer_exactly_once(db, project) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    for index in range(60):
        await schedule(db, project.project_id, KIND, f"{project.project_id}/{index}", past)
    recorder = Recorder()
    first, second = scheduler(db, recorder), scheduler(db, recorder)
    ran = await asyncio.gather(first.run_due(), second.run_due(), first.run_due())
    assert sum(ran) == 60
    assert Counter(key for key, _ in recorder.runs) == {f"{project.project_id}/{i}": 1 for i in range(60)}
    assert len({owner for _, owner in recorder.runs}) == 2, "both schedulers took a share"
    # Done: nothing runs again.
    assert await first.run_due() == 0 and await second.run_due() == 0


async def test_a_timer_that_came_due_while_no_scheduler_ran_runs_late_once_and_says_so(
    db, project, caplog: pytest.LogCaptureFixture
) -> None:
    key = f"{project.project_id}/missed"
    await schedule(db, project.project_id, KIND, key, datetime.now(UTC) - timedelta(hours=3))
    recorder = Recorder()
    with caplog.at_level(logging.WARNING, logger="kernel.scheduler.loop"):
        assert await scheduler(db, recorder).run_due() == 1
    assert [run for run, _ in recorder.runs] == [key]
    (warning,) = [record.getMessage() for record in caplog.records if key in record.getMessage()]
    assert "came due while no scheduler ran it" in warning
    assert int(warning.split(" runs ")[1].split()[0]) >= 3 * 3600
    assert await scheduler(db, recorder).run_due() == 0


async def test_a_timer_is_scheduled_once_by_its_key_and_waits_until_due(db, project) -> None:
    key = f"{project.project_id}/later"
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await schedule(db, project.project_id, KIND, key, later, {"n": 1})
    assert not await schedule(db, project.project_id, KIND, key, later, {"n": 2})
    recorder = Recorder()
    assert await scheduler(db, recorder).run_due() == 0
    (listed,) = (await pending(db, project.project_id, KIND, [f"{project.project_id}/"]))[
        f"{project.project_id}/"
    ]
    assert (listed.key, listed.due_at, listed.payload) == (key, later, {"n": 1})
    assert await drop_pending(db, project.project_id, KIND, f"{project.project_id}/") == 1


async def test_a_failing_handler_leaves_its_timer_pending_for_a_later_run(db, project) -> None:
    key = f"{project.project_id}/fails"
    await schedule(db, project.project_id, KIND, key, datetime.now(UTC))
    failing = Scheduler(db, poll_seconds=0.05)

    async def fail(job: Job) -> None:
        raise RuntimeError("provider down")

    failing.register(KIND, fail)
    assert await failing.run_due() == 0
    left = await pending(db, project.project_id, KIND, [key])
    assert [job.key for job in left[key]] == [key]
    await drop_pending(db, project.project_id, KIND, key)


async def test_a_timer_failing_on_each_of_its_runs_is_given_up_with_its_error(
    db, project, caplog: pytest.LogCaptureFixture
) -> None:
    key = f"{project.project_id}/broken"
    await schedule(db, project.project_id, KIND, key, datetime.now(UTC))
    runs = 0

    async def fail(job: Job) -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("template 7 is gone")

    made = Scheduler(db, poll_seconds=0.05, max_attempts=2)
    made.register(KIND, fail)

    async def state() -> tuple[str, int, str | None]:
        row = await db.fetchrow(
            "SELECT state, attempts, last_error FROM scheduled_jobs WHERE project_id = $1 AND key = $2",
            project.project_id,
            key,
        )
        return row["state"], row["attempts"], row["last_error"]

    async def lease_runs_out() -> None:
        await db.execute(
            "UPDATE scheduled_jobs SET lease_until = now() - interval '1 second' WHERE project_id = $1",
            project.project_id,
        )

    assert await made.run_due() == 0
    assert await state() == ("pending", 1, None)
    await lease_runs_out()
    with caplog.at_level(logging.ERROR, logger="kernel.scheduler.loop"):
        assert await made.run_due() == 0
    assert await state() == ("failed", 2, "RuntimeError('template 7 is gone')")
    assert any(f"{key} failed on each of its 2 runs: given up" in r.getMessage() for r in caplog.records)
    # Given up, it is claimed no more, whatever its lease says.
    await lease_runs_out()
    assert await made.run_due() == 0
    assert runs == 2
    assert (await pending(db, project.project_id, KIND, [key]))[key] == []


async def test_the_scheduler_loop_runs_a_timer_stored_while_it_sleeps_when_woken(db, project) -> None:
    recorder = Recorder()
    running = Scheduler(db, poll_seconds=3600)
    running.register(KIND, recorder.handler(running.owner))
    running.start()
    try:
        await asyncio.sleep(0.1)
        key = f"{project.project_id}/woken"
        await schedule(db, project.project_id, KIND, key, datetime.now(UTC))
        running.wake()
        for _ in range(400):
            if recorder.runs:
                break
            await asyncio.sleep(0.05)
        assert [run for run, _ in recorder.runs] == [key]
    finally:
        await running.stop()


class ProfileOrder:
    """Timers of five profiles, eight each, due in order; a handler that notes each profile's runs and
    whether two of one profile overlapped, and takes uneven times (so that a later timer of a profile
    would overtake an earlier one if nothing kept them in order)."""

    def __init__(self) -> None:
        self.profiles = [str(uuid.uuid4()) for _ in range(5)]
        self.runs: dict[str, list[int]] = {profile: [] for profile in self.profiles}
        self.running: set[str] = set()
        self.overlapped: list[int] = []
        self.clashes = 0

    async def schedule(self, db, project) -> None:  # type: ignore[no-untyped-def]
        start = datetime.now(UTC) - timedelta(minutes=1)
        for index in range(8):
            for rank, profile in enumerate(self.profiles):
                due = start + timedelta(milliseconds=10 * index + rank)
                payload = {"profile_id": profile}
                await schedule(db, project.project_id, KIND, f"{profile}/{index}", due, payload)

    async def run(self, job: Job) -> None:
        profile, index = job.key.split("/")
        self.clashes += profile in self.running
        self.running.add(profile)
        self.overlapped.append(len(self.running))
        await asyncio.sleep(0.002 * ((5 * int(index) + self.profiles.index(profile)) % 7))
        self.runs[profile].append(int(index))
        self.running.discard(profile)

    def in_due_order(self) -> bool:
        """Each profile's timers ran once each, in due order, one at a time."""
        return self.runs == {profile: list(range(8)) for profile in self.profiles} and not self.clashes


def wide_scheduler(db, order: ProfileOrder) -> Scheduler:  # type: ignore[no-untyped-def]
    made = Scheduler(db, poll_seconds=0.05, width=8)
    made.register(KIND, order.run)
    return made


async def test_timers_run_side_by_side_and_each_profiles_in_due_order(db, project) -> None:
    order = ProfileOrder()
    await order.schedule(db, project)
    assert await wide_scheduler(db, order).run_due() == 40
    assert order.in_due_order()
    assert max(order.overlapped) > 1, "profiles ran side by side"


async def test_two_schedulers_keep_each_profiles_timers_in_due_order(db, project) -> None:
    """A claim leaves a profile's timer while an earlier one of that profile is another scheduler's or
    not claimed yet: two kernels never run one profile's timers at once, nor out of order."""
    order = ProfileOrder()
    await order.schedule(db, project)
    first, second = wide_scheduler(db, order), wide_scheduler(db, order)
    ran = 0
    for _ in range(40):  # a poll leaves a profile's later timers to the next
        ran += sum(await asyncio.gather(first.run_due(), second.run_due()))
    assert ran == 40
    assert order.in_due_order()


async def test_a_batch_takes_distinct_profiles_at_once_and_leaves_the_rest_in_due_order(db, project) -> None:
    """A kind with a batch handler gets the claim's first timer of each profile together; what it leaves
    runs alone, and every profile's timers still run in due order."""
    order = ProfileOrder()
    await order.schedule(db, project)
    batches: list[list[str]] = []

    async def together(jobs: list[Job]) -> list[Job]:
        batches.append([job.key.split("/")[0] for job in jobs])
        for job in jobs[1:]:
            await order.run(job)
        return jobs[:1]

    made = Scheduler(db, poll_seconds=0.05, width=8)
    made.register(KIND, order.run, together)
    assert await made.run_due() == 40
    assert order.in_due_order()
    assert batches, "the claims' first timers of the profiles ran as batches"
    assert all(len(set(profiles)) == len(profiles) > 1 for profiles in batches)


async def test_dropping_timers_by_key_prefix_reads_only_the_pending_ones_with_that_prefix(
    db, project
) -> None:
    """An exit drops its entry's wait by key prefix: the statement reads that timer, not every timer of the
    kind the project ever ran (done ones are kept), nor every pending one."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    for index in range(200):
        await schedule(db, project.project_id, KIND, f"run/{index}", past)
    await db.execute(
        "UPDATE scheduled_jobs SET state = 'done' WHERE project_id = $1 AND kind = $2",
        project.project_id,
        KIND,
    )
    for index in range(200):
        await schedule(db, project.project_id, KIND, f"waits/{index}", past)
    await schedule(db, project.project_id, KIND, "entry/1/2", past)
    await db.execute("ANALYZE scheduled_jobs")  # as autovacuum does
    (plan,) = await db.fetchval(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {DROP_PENDING}", project.project_id, KIND, "entry/1/"
    )
    nodes = [plan["Plan"]]
    for node in nodes:
        nodes += node.get("Plans", [])
    assert nodes[0]["Plans"][0]["Actual Rows"] == 1, "it found the timer"
    assert sum(node.get("Rows Removed by Filter", 0) for node in nodes) == 0, (
        "only the prefix's keys were read"
    )
    await drop_pending(db, project.project_id, KIND, "")


async def test_a_batch_of_late_timers_says_so_once_naming_the_most_overdue(
    db, project, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a backlog every timer of a batch is late: one warning tells how many, and which waited
    longest, rather than a line per timer."""
    now = datetime.now(UTC)
    for hours in range(1, 6):
        key = f"{project.project_id}/late/{hours}"
        await schedule(
            db, project.project_id, KIND, key, now - timedelta(hours=hours), {"profile_id": str(uuid.uuid4())}
        )
    batches: list[int] = []

    async def together(jobs: list[Job]) -> list[Job]:
        batches.append(len(jobs))
        return []

    made = Scheduler(db, poll_seconds=0.05)
    made.register(KIND, Recorder().handler(made.owner), together)
    with caplog.at_level(logging.WARNING, logger="kernel.scheduler.loop"):
        assert await made.run_due() == 5
    assert batches == [5]
    (warning,) = [record.getMessage() for record in caplog.records if record.name == "kernel.scheduler.loop"]
    assert warning.startswith(f"5 timers {KIND} run up to ")
    assert int(warning.split(" up to ")[1].split()[0]) >= 5 * 3600
    assert f"{project.project_id}/late/5, attempt 1, the most overdue" in warning


async def test_two_schedulers_claiming_at_once_keep_a_projects_batches_in_due_order(db, project) -> None:
    """Timers naming several profiles (batches of tracked events) of one project run in due order even when
    two kernels claim at the same instant: neither takes a later batch while the other is claiming an
    earlier one."""
    profile = str(uuid.uuid4())
    start = datetime.now(UTC) - timedelta(minutes=1)
    for index in range(12):
        due = start + timedelta(milliseconds=10 * index)
        payload = {"profile_ids": [profile, str(uuid.uuid4())]}
        await schedule(db, project.project_id, KIND, f"batch/{index}", due, payload)
    runs: list[int] = []
    running: set[int] = set()
    overlaps = 0

    async def run(job: Job) -> None:
        nonlocal overlaps
        index = int(job.key.split("/")[1])
        overlaps += bool(running)
        running.add(index)
        await asyncio.sleep(0.002 * (index % 3))
        runs.append(index)
        running.discard(index)

    schedulers = [Scheduler(db, poll_seconds=0.05, width=8, claim_size=1) for _ in range(2)]
    for made in schedulers:
        made.register(KIND, run)
    ran = 0
    for _ in range(40):
        ran += sum(await asyncio.gather(*(made.run_due() for made in schedulers)))
    assert ran == 12
    assert runs == list(range(12)), "a later batch ran before an earlier one"
    assert not overlaps, "two batches naming one profile ran at once"
