"""Batches of tracked events and ends of waits walked set-based: a batch costs the same statements
whatever its number of jobs, and where the batch path meets an edge (a profile's two events, a profile
entering two automations, a refused re-entry beside accepted ones, a failing walk among others) each job
has exactly the effects it has alone."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from google.protobuf.duration_pb2 import Duration

from herald.v1 import automations_pb2 as pb
from herald.v1 import pressure_pb2_grpc
from kernel.engage.automations import BATCH, EVENT, WAIT, Graphs, running
from kernel.engage.automations.assembly import Running
from kernel.engage.segments import Vocabulary
from kernel.scheduler import Timer, drop_pending_together, schedule_now, schedule_together
from kernel.scheduler.jobs import claim
from kernel.scheduler.loop import LEASE_SECONDS
from kernel.server import RunningServer
from kernel.storage.database import create_pool
from tests.delivery.support import person
from tests.delivery.test_pressure import set_rules
from tests.engage.automation_support import (
    active,
    automation,
    end,
    saved_template,
    send,
    subjects_to,
    track,
    wait,
)
from tests.engage.support import fast_forward
from tests.engage.test_automation_batch import entry_states, event_jobs
from tests.engage.test_automation_pressure import step_facts
from tests.test_profile_write_plans import _TRANSACTION_CONTROL, _import_people, _plans, _rows_read, explained

ALWAYS = pb.REENTRY_POLICY_ALWAYS


class Counted:
    """The kernel's automation handlers on a pool of their own (a connection for the walks, one for the
    templates they read once) whose statements are counted."""

    def __init__(self, pool: asyncpg.Pool, walks: Running) -> None:
        self.pool = pool
        self.walks = walks
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def run(self, kind: str) -> int:
        """The due jobs of ``kind``, claimed and run as one batch; the statements it took (the claim's
        apart)."""
        jobs = await claim(self.pool, "test-walks", LEASE_SECONDS, 100, [kind])
        await asyncio.sleep(0)
        self.statements.clear()
        handler = self.walks.events if kind == BATCH else self.walks.batch
        assert await handler(jobs) == [], "every job ran in the batch"
        await asyncio.sleep(0)  # loggers are called soon after each statement, not during it
        return len(self.statements)

    async def plans(self, conn: asyncpg.Connection) -> list[dict[str, Any]]:
        """EXPLAIN ANALYZE of each statement the last batch ran but transaction control and inserts (of
        rows stored already)."""
        skipped = (*_TRANSACTION_CONTROL, "INSERT", "SELECT PG_ADVISORY_UNLOCK_ALL")
        return await explained(
            conn,
            [
                (query, args)
                for query, args in self.statements
                if not query.lstrip().upper().startswith(skipped)
            ],
        )


@pytest.fixture
async def counted(server: RunningServer, quiet_session_scheduler: None) -> AsyncIterator[Counted]:
    kernel = server.kernel
    pool = await create_pool(kernel.db.dsn, min_size=2, max_size=2)
    try:
        graphs = Graphs(Vocabulary.of(kernel.channels), kernel.limits)
        walks = running(
            pool,
            kernel.settings,
            kernel.channels,
            kernel.transactional,
            kernel.projects,
            kernel.limits,
            graphs,
        )
        found = Counted(pool, walks)
        async with pool.acquire() as walks_conn, pool.acquire() as templates_conn:
            for conn in (walks_conn, templates_conn):
                conn.add_query_logger(lambda record: found.statements.append((record.query, record.args)))
        yield found
    finally:
        await pool.close()


async def test_a_batch_of_12_events_or_waits_costs_the_statements_of_a_batch_of_3(
    automations, templates, profiles, configured, sparkpost, counted, db
) -> None:
    welcome = await saved_template(templates, configured, "Welcome")
    later = await saved_template(templates, configured, "Later")
    await active(automations, configured, automation([send("mail", welcome, "end"), end()]))
    signed_up = pb.AutomationTrigger(event=pb.EventTrigger(name="signed_up"))
    await active(
        automations,
        configured,
        automation(
            [wait("minute", 60, "mail"), send("mail", later, "end"), end()], name="later", trigger=signed_up
        ),
    )
    names = [f"p{index:02}" for index in range(16)]
    for name in names:
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name)
    # The first batch of each kind readies the pool's connection (types, templates): not counted.
    costs: dict[str, list[int]] = {"cart_abandoned": [], "signed_up": [], WAIT: []}
    for group in (names[:1], names[1:4], names[4:]):
        for event in ("cart_abandoned", "signed_up"):
            for name in group:
                await track(profiles, configured, name, event, item=event[:4])
            costs[event].append(await counted.run(BATCH))
        await fast_forward(db, configured.project_id, 60)
        costs[WAIT].append(await counted.run(WAIT))

    for kind, (_, three, twelve) in costs.items():
        assert three == twelve, f"{kind}: {three} statements for 3 jobs, {twelve} for 12"
    for name in names:
        assert subjects_to(sparkpost, f"{name}@example.com") == [f"Welcome {name} cart", f"Later {name} sign"]


async def test_an_entry_is_written_once_where_its_first_walk_stops(
    automations, templates, profiles, configured, sparkpost, counted, db
) -> None:
    """Let in, walked through a send step (its message's fact written on the way) to an end or a wait: one
    insert of the entry as it stops, no move of a row inserted at the first step; a later walk (the wait's
    end) moves the stored row."""
    welcome = await saved_template(templates, configured, "Welcome")
    later = await saved_template(templates, configured, "Later")
    at_once = await active(automations, configured, automation([send("mail", welcome, "end"), end()]))
    signed_up = pb.AutomationTrigger(event=pb.EventTrigger(name="signed_up"))
    waiting = await active(
        automations,
        configured,
        automation(
            [send("mail", welcome, "pause"), wait("pause", 60, "later"), send("later", later, "end"), end()],
            name="waiting",
            trigger=signed_up,
        ),
    )
    names = ("ann", "bob", "carl")
    for name in names:
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
    for event, item in (("cart_abandoned", "hat"), ("signed_up", "news")):
        for name in names:
            await track(profiles, configured, name, event, item=item)
        await counted.run(BATCH)
        assert _entry_writes(counted.statements) == ["INSERT"], event

    assert await _entry_rows(db, configured, at_once) == {
        name: ("end", 1, "left", "completed", False, True) for name in names
    }
    assert await _entry_rows(db, configured, waiting) == {
        name: ("pause", 1, "inside", None, True, False) for name in names
    }
    assert [fact for _, fact in await step_facts(db, configured, waiting.automation_id)] == ["message"] * 3
    await fast_forward(db, configured.project_id, 60)
    await counted.run(WAIT)
    assert _entry_writes(counted.statements) == ["UPDATE"]
    assert await _entry_rows(db, configured, waiting) == {
        name: ("end", 2, "left", "completed", False, False) for name in names
    }
    for name in names:
        assert sorted(subjects_to(sparkpost, f"{name}@example.com")) == [
            f"Later {name.title()} news",
            f"Welcome {name.title()} hat",
            f"Welcome {name.title()} news",
        ]


def _entry_writes(statements: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    """The writes of ``automation_entries`` among ``statements``, by their first word."""
    written = (
        re.match(r"\s*(INSERT INTO|UPDATE|DELETE FROM)\s+automation_entries\b", q) for q, _ in statements
    )
    return [found.group(1).split()[0] for found in written if found]


async def _entry_rows(db, project, made: pb.Automation) -> dict[str, tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """Per profile: its entry's step, step count, state, exit reason, whether it has a wait's end and
    whether it left when it entered (one transaction)."""
    rows = await db.fetch(
        """SELECT p.custom_id, e.step_id, e.step_count, e.state, e.exit_reason, e.wait_until IS NOT NULL,
                  e.left_at IS NOT DISTINCT FROM e.entered_at
           FROM automation_entries e JOIN profiles p USING (project_id, profile_id)
           WHERE e.project_id = $1 AND e.automation_id = $2""",
        project.project_id,
        uuid.UUID(made.automation_id),
    )
    return {row[0]: tuple(row)[1:] for row in rows}


async def test_two_events_of_one_profile_claimed_together_take_effect_in_their_order(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    welcome = await saved_template(templates, configured, "Welcome")
    at_once = await active(
        automations, configured, automation([send("mail", welcome, "end"), end()], reentry=ALWAYS)
    )
    for name in ("ann", "bob", "carl"):
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
    await track(profiles, configured, "ann", "cart_abandoned", item="first")
    await track(profiles, configured, "bob", "cart_abandoned", item="hat")
    await track(profiles, configured, "ann", "cart_abandoned", item="second")
    await track(profiles, configured, "carl", "cart_abandoned", item="scarf")

    assert await server.kernel.scheduler.run_due() == 4

    assert subjects_to(sparkpost, "ann@example.com") == ["Welcome Ann first", "Welcome Ann second"]
    assert subjects_to(sparkpost, "bob@example.com") == ["Welcome Bob hat"]
    assert subjects_to(sparkpost, "carl@example.com") == ["Welcome Carl scarf"]
    ann, bob, ann_again, carl = [row["writer"] for row in await event_jobs(db, configured)]
    assert ann == bob == carl == ann_again, (
        "the four events' batches were taken in one transaction, ann's second event after her first"
    )
    assert [state for name, *state in await entries_of(db, configured, at_once) if name == "ann"] == [
        ["left", "completed"],
        ["left", "completed"],
    ]


async def test_a_profile_entering_two_automations_in_a_batch_walks_them_in_turn_under_the_grace_period(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db, channel
) -> None:
    """Walked one automation after the other, as alone: the first's message counts for the second's
    grace period, for every profile of the batch, while a refused re-entry sits beside them."""
    pressure = pressure_pb2_grpc.PressureServiceStub(channel)
    await set_rules(pressure, configured, grace_period=Duration(seconds=3600))
    one = await saved_template(templates, configured, "One")
    two = await saved_template(templates, configured, "Two")
    first, second = sorted(
        [
            await active(
                automations,
                configured,
                automation([send("mail", one, "end"), end()], name="one", reentry=pb.REENTRY_POLICY_ONCE),
            ),
            await active(automations, configured, automation([send("mail", two, "end"), end()], name="two")),
        ],
        key=lambda made: uuid.UUID(made.automation_id),
    )
    for name in ("ann", "bob", "carl", "dan"):
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
    await track(profiles, configured, "bob", "cart_abandoned", item="hat")
    assert await server.kernel.scheduler.run_due() == 1
    await db.execute(
        "UPDATE marketing_touches SET touched_at = touched_at - interval '2 hours' WHERE project_id = $1",
        configured.project_id,
    )
    for name in ("ann", "bob", "carl", "dan"):
        await track(profiles, configured, name, "cart_abandoned", item="scarf")

    assert await server.kernel.scheduler.run_due() == 4

    first_subject = "One" if first.name == "one" else "Two"
    for name in ("ann", "carl", "dan"):
        assert subjects_to(sparkpost, f"{name}@example.com") == [f"{first_subject} {name.title()} scarf"], (
            "the second automation's message came within the grace period of the first's"
        )
    assert await entry_states(db, configured, first.automation_id) == {
        name: ("left", "completed") for name in ("ann", "bob", "carl", "dan")
    }
    held = [fact for _, fact in await step_facts(db, configured, second.automation_id)]
    assert held.count("grace_period") == 4, "bob's first time, and ann's, carl's and dan's now"
    once = first if first.name == "one" else second
    assert [name for name, *_ in await entries_of(db, configured, once)].count("bob") == 1, (
        "bob was refused (re-entry once) beside the others' entries"
    )


async def test_a_failing_walk_among_others_leaves_them_committed_once(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    welcome = await saved_template(templates, configured, "Welcome")
    await active(automations, configured, automation([send("mail", welcome, "end"), end()]))
    for name in ("ann", "bob", "carl", "dan"):
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
    await track(profiles, configured, "ann", "cart_abandoned", item="hat")
    # bob's event was stored with properties that are not JSON: its entry cannot be inserted.
    await db.execute(
        """INSERT INTO scheduled_jobs (project_id, job_id, kind, key, due_at, payload)
           SELECT $1, gen_random_uuid(), 'automation.event', gen_random_uuid()::text, now(),
                  jsonb_build_object('profile_id', profile_id, 'name', 'cart_abandoned', 'attributes', '{')
           FROM profiles WHERE project_id = $1 AND custom_id = 'bob'""",
        configured.project_id,
    )
    await track(profiles, configured, "carl", "cart_abandoned", item="scarf")
    await track(profiles, configured, "dan", "cart_abandoned", item="gloves")

    assert await server.kernel.scheduler.run_due() == 3

    assert [(row["custom_id"], row["state"]) for row in await event_jobs(db, configured)] == [
        ("ann", "done"),
        ("bob", "pending"),
        ("carl", "done"),
        ("dan", "done"),
    ]
    for name, item in (("ann", "hat"), ("carl", "scarf"), ("dan", "gloves")):
        assert subjects_to(sparkpost, f"{name}@example.com") == [f"Welcome {name.title()} {item}"]
    assert subjects_to(sparkpost, "bob@example.com") == []


async def entries_of(db, project, made: pb.Automation) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    """(custom id, state, exit reason) of the automation's entries, oldest first."""
    rows = await db.fetch(
        """SELECT p.custom_id, e.state, e.exit_reason FROM automation_entries e
           JOIN profiles p USING (project_id, profile_id)
           WHERE e.project_id = $1 AND e.automation_id = $2 ORDER BY e.entered_at, e.entry_id""",
        project.project_id,
        uuid.UUID(made.automation_id),
    )
    return [tuple(row) for row in rows]


async def test_dropping_a_batch_of_entries_timers_reads_theirs_only_whatever_the_backlog(
    configured, server: RunningServer
) -> None:
    """The exits of a batch of walks drop their entries' pending timers in one statement: it reads the
    timers of those entries, not the queue of pending events and waits behind them."""
    pool = server.kernel.db.pool
    async with pool.acquire() as conn:
        await schedule_now(conn, configured.project_id, EVENT, [{"profile_id": str(uuid.uuid4())}] * 3000)
        await schedule_together(
            conn,
            WAIT,
            [
                Timer(configured.project_id, f"{uuid.uuid4()}/{uuid.uuid4()}/1", datetime.now(UTC), {})
                for _ in range(3000)
            ],
        )
        await conn.execute("ANALYZE scheduled_jobs")
        prefixes = [(configured.project_id, f"{uuid.uuid4()}/{uuid.uuid4()}/") for _ in range(50)]
        plans = await _plans(conn, lambda c: drop_pending_together(c, WAIT, prefixes))
        await conn.execute("DELETE FROM scheduled_jobs WHERE project_id = $1", configured.project_id)

    assert _rows_read(plans, "scheduled_jobs") == 0


async def test_a_batch_reads_the_rows_of_its_own_profiles_whatever_the_project_holds(
    automations, templates, profiles, configured, counted, db
) -> None:
    """3,000 profiles that entered the automations before (left, or waiting with a timer): a batch of 12
    events reads their entries and timers no more than a batch's own."""
    welcome = await saved_template(templates, configured, "Welcome")
    at_once = await active(
        automations, configured, automation([send("mail", welcome, "end"), end()], reentry=ALWAYS)
    )
    await _import_people(profiles, configured)
    await db.execute(
        """INSERT INTO automation_entries (project_id, automation_id, entry_id, profile_id, version, step_id,
                                           state, event_attributes)
           SELECT $1, $2, gen_random_uuid(), profile_id, 1, 'end', 'left', '{}' FROM profiles
           WHERE project_id = $1""",
        configured.project_id,
        uuid.UUID(at_once.automation_id),
    )
    await db.execute(
        """INSERT INTO scheduled_jobs (project_id, job_id, kind, key, due_at, payload)
           SELECT $1, gen_random_uuid(), $2, $3 || '/' || gen_random_uuid() || '/1', now() + interval '1 day',
                  jsonb_build_object('profile_id', profile_id)
           FROM profiles WHERE project_id = $1""",
        configured.project_id,
        WAIT,
        at_once.automation_id,
    )
    await db.execute("ANALYZE automation_entries; ANALYZE scheduled_jobs; ANALYZE profiles")
    names = [f"b{index:02}" for index in range(12)]
    for name in names:
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name)
        await track(profiles, configured, name, "cart_abandoned", item="hat")

    await counted.run(BATCH)

    async with db.acquire() as conn:
        plans = await counted.plans(conn)
    read = {table: _rows_read(plans, table) for table in ("automation_entries", "scheduled_jobs", "profiles")}
    # Per event, a few rows: its profile (locked, its variables read) and its entry (moved to the end, left).
    assert read["profiles"] <= 2 * len(names), read
    assert read["automation_entries"] <= 3 * len(names), read
    assert read["scheduled_jobs"] <= len(names), read
