"""A profile merged into another while inside automations: its journeys go on as the survivor's, where
both are inside one automation only the survivor's goes on, and the attributes the merge gives the
survivor are changes that attribute triggers follow; against the real server, database and SparkPost
emulator, the session kernel's scheduler run by hand."""

from __future__ import annotations

import uuid

from herald.v1 import automations_pb2 as pb
from herald.v1 import common_pb2, profiles_pb2
from tests.delivery.support import person
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


async def journeys(db, project, automation_id: str) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    """(custom id, state, exit reason) of each entry, by custom id then state."""
    rows = await db.fetch(
        """SELECT p.custom_id, e.state, e.exit_reason FROM automation_entries e
           JOIN profiles p USING (project_id, profile_id)
           WHERE e.project_id = $1 AND e.automation_id = $2 ORDER BY 1, 2""",
        project.project_id,
        uuid.UUID(automation_id),
    )
    return [tuple(row) for row in rows]


async def merge(profiles, project, source: str, target: str) -> None:  # type: ignore[no-untyped-def]
    await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(
            source=common_pb2.ProfileRef(custom_id=source), target=common_pb2.ProfileRef(custom_id=target)
        ),
        metadata=project.auth,
    )


async def test_a_merged_profiles_journeys_go_on_as_the_survivors(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    # The visitors have no address: only as the customers they become can they be reminded.
    await person(profiles, configured, "ann-visit", plan="gold")
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob-visit")
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob")
    reminder = await saved_template(templates, configured, "Your cart")
    cart = await active(
        automations,
        configured,
        automation([wait("hour", 3600, "remind"), send("remind", reminder, "end"), end()]),
    )
    welcome = await saved_template(templates, configured, "Welcome to gold")
    gold = pb.AutomationTrigger(
        attribute_changed=pb.AttributeChangeTrigger(
            key="plan", to_value=common_pb2.AttributeValue(string_value="gold")
        )
    )
    upgrade = await active(
        automations,
        configured,
        automation([send("mail", welcome, "end"), end()], trigger=gold, name="gold"),
    )
    for custom_id in ("ann-visit", "bob-visit", "bob"):
        await track(profiles, configured, custom_id, "cart_abandoned", item="hat")
    await server.kernel.scheduler.run_due()

    await merge(profiles, configured, "ann-visit", "ann")
    await merge(profiles, configured, "bob-visit", "bob")
    await server.kernel.scheduler.run_due()

    # Ann takes over her visit's journey; Bob was inside already: his visit's journey ends.
    assert await journeys(db, configured, cart.automation_id) == [
        ("ann", "inside", None),
        ("bob", "inside", None),
        ("bob", "left", "merged"),
    ]
    # Ann's plan became gold by the merge: a change the attribute trigger follows.
    assert await journeys(db, configured, upgrade.automation_id) == [("ann", "left", "completed")]
    assert subjects_to(sparkpost, "ann@example.com") == ["Welcome to gold Ann "]
    await fast_forward(db, configured.project_id, 3600)
    await server.kernel.scheduler.run_due()
    assert subjects_to(sparkpost, "ann@example.com") == ["Welcome to gold Ann ", "Your cart Ann hat"]
    assert subjects_to(sparkpost, "bob@example.com") == ["Your cart Bob hat"]
