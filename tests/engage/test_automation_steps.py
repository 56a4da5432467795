"""The steps decision, split, update attribute, webhook, redirect and checkpoint, run end to end against the
real server, database, SparkPost emulator and a customer's webhook receiver."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

from herald.v1 import automations_pb2 as pb
from herald.v1 import (
    common_pb2,
    profiles_pb2,
    segments_pb2,
    webhooks_pb2,
)
from tests.delivery.support import person, until
from tests.engage.automation_support import (
    active,
    automation,
    end,
    more_than,
    saved_template,
    send,
    subjects_to,
    track,
)
from tests.engage.step_support import (
    checkpoint,
    decision,
    exits,
    has,
    increment,
    passed,
    redirect,
    set_attribute,
    split,
    unset_attribute,
    webhook,
)
from tests.outhook_receiver import Receiver
from tests.test_outgoing_webhooks import readme_verify, subscribe


async def attributes_of(profiles, project, custom_id: str) -> dict[str, common_pb2.AttributeValue]:  # type: ignore[no-untyped-def]
    view = await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id=custom_id)),
        metadata=project.auth,
    )
    return dict(view.attributes)


async def sent(sparkpost, address: str, count: int) -> None:  # type: ignore[no-untyped-def]
    async def arrived() -> bool:
        return len(subjects_to(sparkpost, address)) >= count

    await until(arrived, f"{count} emails reached {address}")


async def test_decisions_on_segments_and_attributes_after_updates_and_a_checkpoint(
    automations, templates, profiles, segments, configured, sparkpost, db
) -> None:
    bonjour = await saved_template(templates, configured, "Bonjour")
    hello = await saved_template(templates, configured, "Hello")
    again = await saved_template(templates, configured, "Welcome back")
    french = await segments.CreateSegment(
        segments_pb2.CreateSegmentRequest(
            segment=segments_pb2.Segment(name="French", condition=has("country", "FR"))
        ),
        metadata=configured.auth,
    )
    in_france = segments_pb2.Condition(segment=segments_pb2.SegmentReference(segment_id=french.segment_id))
    made = await active(
        automations,
        configured,
        automation(
            [
                increment("count", "carts", 1, "tag"),
                set_attribute("tag", "stage", common_pb2.AttributeValue(string_value="cart"), "drop"),
                unset_attribute("drop", "coupon", "seen"),
                checkpoint("seen", "counted", "where"),
                decision("where", "fr", "loyal", condition=in_france),
                send("fr", bonjour, "end"),
                decision(
                    "loyal",
                    "again",
                    "hello",
                    condition=segments_pb2.Condition(attribute=more_than("carts", 1)),
                ),
                send("again", again, "end"),
                send("hello", hello, "end"),
                end(),
            ],
            reentry=pb.REENTRY_POLICY_ALWAYS,
        ),
    )
    await person(
        profiles, configured, "ann", email="ann@example.com", first_name="Ann", country="FR", coupon="X1"
    )
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob", country="DE")
    await track(profiles, configured, "ann", "cart_abandoned", item="hat")
    await sent(sparkpost, "ann@example.com", 1)
    await track(profiles, configured, "bob", "cart_abandoned", item="scarf")
    await sent(sparkpost, "bob@example.com", 1)
    await track(profiles, configured, "bob", "cart_abandoned", item="gloves")
    await sent(sparkpost, "bob@example.com", 2)

    assert subjects_to(sparkpost, "ann@example.com") == ["Bonjour Ann hat"]
    # Bob's first passage counted one cart; his second, two.
    assert subjects_to(sparkpost, "bob@example.com") == ["Hello Bob scarf", "Welcome back Bob gloves"]
    ann = await attributes_of(profiles, configured, "ann")
    assert ann["carts"].number_value == 1 and ann["stage"].string_value == "cart" and "coupon" not in ann
    assert (await attributes_of(profiles, configured, "bob"))["carts"].number_value == 2
    assert await passed(db, configured, made.automation_id, "checkpoint") == {
        "ann": ["seen"],
        "bob": ["seen", "seen"],
    }
    assert await exits(db, configured, made.automation_id) == {"ann": ["completed"], "bob": ["completed"] * 2}


async def test_a_split_draws_each_entry_once_from_its_id(automations, profiles, configured, db) -> None:
    made = await active(
        automations,
        configured,
        automation(
            [
                split("ab", (30, "a"), (70, "b")),
                checkpoint("a", "variant A", "end"),
                checkpoint("b", "variant B", "end"),
                end(),
            ]
        ),
    )
    people = [f"p{index}" for index in range(40)]
    for custom_id in people:
        await person(profiles, configured, custom_id)
        await track(profiles, configured, custom_id, "cart_abandoned")

    async def all_done() -> bool:
        return sum(map(len, (await exits(db, configured, made.automation_id)).values())) == len(people)

    await until(all_done, "every profile went through the split")
    taken = await passed(db, configured, made.automation_id, "checkpoint")
    assert sorted(taken) == sorted(people) and all(len(steps) == 1 for steps in taken.values())
    assert {steps[0] for steps in taken.values()} == {"a", "b"}
    # The documented draw: the entry id and the step id, hashed; the first 30 of 100 take the first branch.
    rows = await db.fetch(
        """SELECT f.entry_id, f.step_id FROM automation_step_facts f
           WHERE f.project_id = $1 AND f.automation_id = $2""",
        configured.project_id,
        uuid.UUID(made.automation_id),
    )
    for row in rows:
        draw = int.from_bytes(hashlib.sha256(f"{row['entry_id']}/ab".encode()).digest()[:8], "big") % 100
        assert row["step_id"] == ("a" if draw < 30 else "b")


async def test_a_webhook_step_posts_signed_and_retried_without_holding_the_profile(
    automations, templates, profiles, hooks, configured, sparkpost, receiver: Receiver, db
) -> None:
    # The endpoint follows no automation events: the step addresses it all the same.
    endpoint = await subscribe(
        hooks, configured, receiver.url, [webhooks_pb2.WEBHOOK_EVENT_TYPE_PROFILE_ERASED]
    )
    thanks = await saved_template(templates, configured, "Thanks")
    made = await active(
        automations,
        configured,
        automation(
            [
                webhook("crm", endpoint.endpoint_id, "mail", ("tier", "missing")),
                send("mail", thanks, "end"),
                end(),
            ]
        ),
    )
    receiver.hold = asyncio.Event()
    receiver.answers = [503]
    ann_id = await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann", tier="gold")
    await track(profiles, configured, "ann", "cart_abandoned", item="hat", total=80)
    # The endpoint hangs, then fails: the profile went on at once.
    await sent(sparkpost, "ann@example.com", 1)
    assert await exits(db, configured, made.automation_id) == {"ann": ["completed"]}
    receiver.hold.set()
    await receiver.until(lambda: len(receiver.delivered()) == 1)
    assert [call.status for call in receiver.calls] == [503, 200]
    [event] = receiver.delivered()
    entry_id = await db.fetchval(
        "SELECT entry_id FROM automation_entries WHERE project_id = $1 AND automation_id = $2",
        configured.project_id,
        uuid.UUID(made.automation_id),
    )
    assert event["type"] == "automation.webhook"
    assert event["data"] == {
        "automation_id": made.automation_id,
        "version": 1,
        "entry_id": str(entry_id),
        "step_id": "crm",
        "profile_id": ann_id,
        "custom_id": "ann",
        "event": {"item": "hat", "total": 80},
        "attributes": {"tier": "gold"},
    }
    verify = readme_verify()
    assert all(
        verify(call.body, call.headers["Herald-Signature"], endpoint.secret) for call in receiver.calls
    )


async def test_a_redirect_moves_the_profile_into_another_automation_under_its_rules(
    automations, templates, profiles, configured, sparkpost, db
) -> None:
    first = await saved_template(templates, configured, "First")
    second = await saved_template(templates, configured, "Second")
    welcome = pb.AutomationTrigger(event=pb.EventTrigger(name="signed_up"))
    target = await active(
        automations,
        configured,
        automation(
            [send("b", second, "end"), end()], name="B", trigger=welcome, reentry=pb.REENTRY_POLICY_ONCE
        ),
    )
    made = await active(
        automations,
        configured,
        automation(
            [send("a", first, "r"), redirect("r", target.automation_id)], reentry=pb.REENTRY_POLICY_ALWAYS
        ),
    )
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob")
    await track(profiles, configured, "ann", "cart_abandoned", item="hat")
    await sent(sparkpost, "ann@example.com", 2)
    # Again: A takes her in (ALWAYS), B turns her away (ONCE); she leaves A all the same.
    await track(profiles, configured, "ann", "cart_abandoned", item="cap")
    await sent(sparkpost, "ann@example.com", 3)
    # B paused: the redirect enters nothing.
    await automations.PauseAutomation(
        pb.PauseAutomationRequest(automation_id=target.automation_id), metadata=configured.auth
    )
    await track(profiles, configured, "bob", "cart_abandoned", item="scarf")
    await sent(sparkpost, "bob@example.com", 1)

    async def bob_out() -> bool:
        return (await exits(db, configured, made.automation_id)).get("bob") == ["redirected"]

    await until(bob_out, "bob was redirected")
    assert subjects_to(sparkpost, "ann@example.com") == ["First Ann hat", "Second Ann hat", "First Ann cap"]
    assert subjects_to(sparkpost, "bob@example.com") == ["First Bob scarf"]
    assert await exits(db, configured, made.automation_id) == {
        "ann": ["redirected", "redirected"],
        "bob": ["redirected"],
    }
    assert await exits(db, configured, target.automation_id) == {"ann": ["completed"]}


async def test_redirects_never_loop_within_a_walk(
    automations, templates, profiles, configured, sparkpost, db
) -> None:
    first = await saved_template(templates, configured, "First")
    second = await saved_template(templates, configured, "Second")
    other = await active(
        automations,
        configured,
        automation(
            [send("b", second, "end"), end()],
            name="B",
            trigger=pb.AutomationTrigger(event=pb.EventTrigger(name="signed_up")),
        ),
    )
    made = await active(
        automations,
        configured,
        automation(
            [send("a", first, "r"), redirect("r", other.automation_id)], reentry=pb.REENTRY_POLICY_ALWAYS
        ),
    )
    # B now sends the profile back to A, whose policy would let it in again at once: the walk refuses.
    await automations.UpdateAutomation(
        pb.UpdateAutomationRequest(
            automation=pb.Automation(
                automation_id=other.automation_id,
                steps=[send("b", second, "r"), redirect("r", made.automation_id)],
            ),
            update_mask={"paths": ["steps"]},
        ),
        metadata=configured.auth,
    )
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await track(profiles, configured, "ann", "cart_abandoned", item="hat")
    await sent(sparkpost, "ann@example.com", 2)

    async def both_left() -> bool:
        return bool((await exits(db, configured, other.automation_id)).get("ann") == ["redirected"])

    await until(both_left, "ann left B")
    assert subjects_to(sparkpost, "ann@example.com") == ["First Ann hat", "Second Ann hat"]
    assert await exits(db, configured, made.automation_id) == {"ann": ["redirected"]}
