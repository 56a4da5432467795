"""Tracked events, and ends of waits, of distinct profiles claimed together run as one batch (one
transaction): each has the effects it has alone, and one whose handler fails leaves the others committed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from herald.v1 import automations_pb2 as pb
from kernel.delivery.payloads import outbound
from kernel.engage.automations import BATCH
from kernel.engage.automations.event_batches import GROUP_EVENTS, _groups
from kernel.scheduler import Job
from plugins.sparkpost.emulator import render
from tests.delivery.support import person
from tests.engage.automation_support import (
    active,
    automation,
    end,
    saved_template,
    send,
    sent_once_by_two_kernels,
    subjects_to,
    track,
    wait,
)
from tests.engage.support import fast_forward
from tests.engage.test_automations import entries

PROJECT = uuid.uuid4()
NOW = datetime.now(UTC)


async def entry_states(db, project, automation_id: str) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    """Each profile's state and exit reason in the automation."""
    return {
        custom_id: (state, reason)
        for custom_id, state, reason, _ in await entries(db, project, automation_id)
    }


async def test_a_batch_enters_refuses_and_exits_in_one_transaction_and_a_failing_event_stays_pending(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    scheduler = server.kernel.scheduler
    welcome = await saved_template(templates, configured, "Welcome")
    later = await saved_template(templates, configured, "Later")
    at_once = await active(
        automations,
        configured,
        automation([send("mail", welcome, "end"), end()], reentry=pb.REENTRY_POLICY_ONCE),
    )
    after_an_hour = await active(
        automations,
        configured,
        automation(
            [wait("hour", 3600, "mail"), send("mail", later, "end"), end()],
            name="later",
            exit_events=["order_completed"],
        ),
    )
    for name in ("ann", "bob", "carl", "dan", "erin"):
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
    # Before the batch: bob entered both (once is his lot), carl waits his hour.
    await track(profiles, configured, "bob", "cart_abandoned", item="hat")
    await track(profiles, configured, "carl", "cart_abandoned", item="hat")
    assert await scheduler.run_due() == 2
    await track(profiles, configured, "ann", "cart_abandoned", item="scarf")
    await track(profiles, configured, "bob", "cart_abandoned", item="scarf")
    await track(profiles, configured, "carl", "order_completed")

    assert await scheduler.run_due() == 3

    assert await entry_states(db, configured, at_once.automation_id) == {
        "ann": ("left", "completed"),
        "bob": ("left", "completed"),
        "carl": ("left", "completed"),
    }, "bob was refused (re-entry once)"
    assert await entry_states(db, configured, after_an_hour.automation_id) == {
        "ann": ("inside", None),
        "bob": ("inside", None),
        "carl": ("left", "exit_event"),
    }
    assert subjects_to(sparkpost, "ann@example.com") == ["Welcome Ann scarf"]
    assert subjects_to(sparkpost, "bob@example.com") == ["Welcome Bob hat"]
    assert len({row["writer"] for row in (await event_jobs(db, configured))[2:]}) == 1, (
        "the three events committed in one transaction"
    )

    # dan's event was stored with properties that are not JSON: taking it fails wherever it runs.
    await db.execute(
        """INSERT INTO scheduled_jobs (project_id, job_id, kind, key, due_at, payload)
           SELECT $1, gen_random_uuid(), 'automation.event', gen_random_uuid()::text, now(),
                  jsonb_build_object('profile_id', profile_id, 'name', 'cart_abandoned', 'attributes', '{')
           FROM profiles WHERE project_id = $1 AND custom_id = 'dan'""",
        configured.project_id,
    )
    await track(profiles, configured, "erin", "cart_abandoned", item="gloves")

    assert await scheduler.run_due() == 1, "erin's event ran, dan's failed"

    assert subjects_to(sparkpost, "erin@example.com") == ["Welcome Erin gloves"]
    assert subjects_to(sparkpost, "dan@example.com") == []
    assert [
        (row["custom_id"], row["state"], row["attempts"]) for row in await event_jobs(db, configured)
    ] == [
        ("bob", "done", 1),
        ("carl", "done", 1),
        ("ann", "done", 1),
        ("bob", "done", 1),
        ("carl", "done", 1),
        ("dan", "pending", 1),
        ("erin", "done", 1),
    ], "dan's event waits for its lease to run out, to be tried again"
    assert "dan" not in await entry_states(db, configured, at_once.automation_id)

    # The ends of the hour's waits (ann, bob, erin) walk on together too.
    await fast_forward(db, configured.project_id, 3600)
    assert await scheduler.run_due() == 3
    assert subjects_to(sparkpost, "ann@example.com") == ["Welcome Ann scarf", "Later Ann scarf"]
    assert subjects_to(sparkpost, "carl@example.com") == ["Welcome Carl hat"], "carl left before his hour"
    waits = await db.fetch(
        """SELECT xmin::text AS writer FROM scheduled_jobs
           WHERE project_id = $1 AND kind = 'automation.wait' AND state = 'done'""",
        configured.project_id,
    )
    assert len(waits) == 3 and len({row["writer"] for row in waits}) == 1
    assert set((await entry_states(db, configured, after_an_hour.automation_id)).values()) == {
        ("left", "completed"),
        ("left", "exit_event"),
    }


async def event_jobs(db, project) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The project's tracked events in their jobs (a batch's, or their own), in due order: whose, the
    job's state, claims, and the transaction that last wrote it."""
    return await db.fetch(
        """SELECT p.custom_id, j.state, j.attempts, j.xmin::text AS writer FROM scheduled_jobs j
           CROSS JOIN LATERAL (
               SELECT j.payload ->> 'profile_id' AS profile_id, 1::bigint AS n
               WHERE j.kind = 'automation.event'
               UNION ALL
               SELECT named.profile_id, named.n
               FROM jsonb_array_elements_text(j.payload -> 'profile_ids')
                   WITH ORDINALITY AS named(profile_id, n)
               WHERE j.kind = 'automation.events') AS e
           JOIN profiles p ON p.project_id = j.project_id AND p.profile_id = e.profile_id::uuid
           WHERE j.project_id = $1 ORDER BY j.due_at, e.n""",
        project.project_id,
    )


async def test_a_batch_sends_one_template_in_one_transmission_and_a_retry_keeps_each_recipients_values(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    """The batch's messages of one template share their content, each with its own substitution data
    (SparkPost prints it); a message kept for a retry keeps its values with the content."""
    scheduler = server.kernel.scheduler
    welcome = await saved_template(templates, configured, "Welcome")
    await active(automations, configured, automation([send("mail", welcome, "end"), end()]))
    for name, item in (("ann", "hat"), ("bob", "scarf"), ("carl", "gloves")):
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
        await track(profiles, configured, name, "cart_abandoned", item=item)
    assert await scheduler.run_due() == 3
    assert sorted(record["subject"] for record in sparkpost.accepted) == [
        "Welcome Ann hat",
        "Welcome Bob scarf",
        "Welcome Carl gloves",
    ]
    assert len({record["transmission_id"] for record in sparkpost.accepted}) == 1

    sparkpost.fail_next(1, 429, retry_after=600)
    await person(profiles, configured, "dan", email="dan@example.com", first_name="Dan")
    await track(profiles, configured, "dan", "cart_abandoned", item="boots")
    assert await scheduler.run_due() == 1
    row = await db.fetchrow(
        "SELECT message_id, address, status, payload FROM messages WHERE project_id = $1 AND address = $2",
        configured.project_id,
        "dan@example.com",
    )
    assert row["status"] == "retry"
    again = outbound(row["message_id"], row["address"], row["payload"])
    assert again.substitution_data is not None and "Dan" not in again.content.subject
    assert render(again.content.subject, again.substitution_data, escape=False) == "Welcome Dan boots"


async def test_a_failing_batch_of_events_is_split_and_only_its_failing_event_stays_pending(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    welcome = await saved_template(templates, configured, "Welcome")
    at_once = await active(automations, configured, automation([send("mail", welcome, "end"), end()]))
    for name in ("ann", "bob", "carl"):
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
    # One ingestion's batch, bob's event stored with properties that are not JSON.
    await db.execute(
        """INSERT INTO scheduled_jobs (project_id, job_id, kind, key, due_at, payload)
           SELECT $1, g.id, 'automation.events', g.id::text, now(), jsonb_build_object(
                      'profile_ids', jsonb_agg(p.profile_id ORDER BY p.custom_id),
                      'names', jsonb_agg('cart_abandoned'::text),
                      'attributes', jsonb_agg(CASE p.custom_id WHEN 'bob' THEN '{' ELSE '{}' END::text
                                              ORDER BY p.custom_id))
           FROM (SELECT gen_random_uuid() AS id) AS g
           JOIN profiles p ON p.project_id = $1 AND p.custom_id IN ('ann', 'bob', 'carl')
           GROUP BY g.id""",
        configured.project_id,
    )

    assert await server.kernel.scheduler.run_due() == 1, "the batch, split"
    assert await server.kernel.scheduler.run_due() == 2, "ann's and carl's events"

    assert await entry_states(db, configured, at_once.automation_id) == {
        "ann": ("left", "completed"),
        "carl": ("left", "completed"),
    }
    assert [(row["custom_id"], row["state"]) for row in await event_jobs(db, configured)] == [
        ("ann", "done"),
        ("bob", "done"),
        ("carl", "done"),
        ("ann", "done"),
        ("bob", "pending"),
        ("carl", "done"),
    ], "the batch is done, its events each a job of their own: bob's waits to be tried again"


async def test_a_batch_its_kernel_died_with_is_taken_once_by_the_others(
    automations, templates, profiles, configured, sparkpost, settings, quiet_session_scheduler, db
) -> None:
    welcome = await saved_template(templates, configured, "Welcome")
    at_once = await active(automations, configured, automation([send("mail", welcome, "end"), end()]))
    people = [f"p{index}" for index in range(6)]
    for name in people:
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name)
        await track(profiles, configured, name, "cart_abandoned", item="hat")
    # A kernel claimed the batches and died: their leases ran out.
    claimed = await db.fetchval(
        """WITH dead AS (UPDATE scheduled_jobs SET lease_owner = 'dead', lease_until = now(), attempts = 1
                         WHERE project_id = $1 AND kind = 'automation.events' AND state = 'pending'
                         RETURNING 1)
           SELECT count(*) FROM dead""",
        configured.project_id,
    )
    assert claimed == len(people)
    await sent_once_by_two_kernels(
        settings, sparkpost, [f"{name}@example.com" for name in people], "every batch was taken"
    )
    assert await entry_states(db, configured, at_once.automation_id) == {
        name: ("left", "completed") for name in people
    }
    assert {row["state"] for row in await event_jobs(db, configured)} == {"done"}


def test_batches_claimed_together_are_taken_a_few_hundred_events_per_transaction_in_claim_order() -> None:
    def batch(events: int) -> Job:
        return Job(PROJECT, uuid.uuid4(), BATCH, "k", NOW, {"profile_ids": ["p"] * events}, 1, "me")

    jobs = [batch(events) for events in (200, 200, 200, 50, GROUP_EVENTS, 10)]

    assert _groups(jobs) == [jobs[:3], jobs[3:5], jobs[5:]]
    assert _groups(jobs[:1]) == [jobs[:1]]
