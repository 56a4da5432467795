"""CreateSend end to end: the outbox, the workers, the channel plugins and their emulators, the counts."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from herald.v1 import common_pb2, messages_pb2, profiles_pb2
from kernel.delivery.suppressions import suppress_address
from tests.delivery.conftest import EMAIL, SMS, sender_worker
from tests.delivery.support import (
    EMAIL_TEMPLATE,
    SMS_TEMPLATE,
    adds_up,
    completed,
    marketing_email,
    person,
    rows,
    send_request,
    wait_for,
)


async def test_every_reachable_profile_gets_its_personalised_messages(
    messages, profiles, configured, sparkpost, gateway, worker, db
) -> None:
    await person(
        profiles, configured, "ann", email="ann@example.com", phone="+33612345678", first_name="Ann", vip=True
    )
    await person(profiles, configured, "bob", email="bob@example.org", first_name="Bob")
    await person(profiles, configured, "cyd", phone="+33698765432")
    send = await messages.CreateSend(
        send_request(channels=[EMAIL, SMS], templates={EMAIL: EMAIL_TEMPLATE, SMS: SMS_TEMPLATE}),
        metadata=configured.auth,
    )
    assert send.state == messages_pb2.SEND_STATE_RUNNING
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.pending, done.failed) == (4, 4, 0, 0)
    assert done.outbox_complete and adds_up(done) and done.HasField("finished_at")

    emails = {record["email"]: record for record in sparkpost.accepted}
    assert emails["ann@example.com"]["html"] == "<p>Hi Ann, our VIP!</p>"
    assert emails["ann@example.com"]["subject"] == "Hello Ann"
    assert emails["bob@example.org"]["html"] == "<p>Hi Bob!</p>"
    texts = {record["to"]: record["text"] for record in gateway.accepted}
    assert texts == {"+33612345678": "Hi Ann, ann", "+33698765432": "Hi there, cyd"}

    outbox = await rows(db, configured, send.send_id)
    assert {row["status"] for row in outbox} == {"sent"}
    # Ids start with the send's: feedback finds the send from a message id alone.
    assert {row["message_id"].bytes[:8] for row in outbox} == {uuid.UUID(send.send_id).bytes[:8]}
    provider_ids = {record["herald_message_id"] for record in sparkpost.accepted}
    provider_ids |= {record["message_id"] for record in gateway.accepted}
    assert provider_ids == {str(row["message_id"]) for row in outbox}


@pytest.mark.parametrize("size", [100, 1], ids=["one-slice", "a-slice-per-profile"])
async def test_an_address_reached_through_several_profiles_is_sent_once(
    messages, profiles, configured, sparkpost, server, db, size
) -> None:
    """Within a slice and across slices (one profile each) the holder with the lowest profile id keeps
    the address: the probe of the folded-address index finds the other holders wherever they are."""
    emails = ["Shared@example.com", "other@example.com", "SHARED@example.com", "shared@example.com"]
    for number, email in enumerate(emails):
        await person(profiles, configured, f"a{number}", email=email, first_name="A")
    async with sender_worker(server, worker_batch_size=size):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.duplicates) == (2, 2, 2)
    assert Counter(r["email"].lower() for r in sparkpost.accepted) == {
        "shared@example.com": 1,
        "other@example.com": 1,
    }
    holders = await db.fetch(
        """SELECT profile_id FROM profile_addresses
           WHERE project_id = $1 AND lower(value) = 'shared@example.com' ORDER BY profile_id""",
        configured.project_id,
    )
    outbox = await rows(db, configured, send.send_id)
    shared = [r for r in outbox if r["address"].lower() == "shared@example.com"]
    assert [r["profile_id"] for r in shared] == [holders[0]["profile_id"]]


async def test_a_profile_is_sent_to_its_newest_email(
    messages, profiles, configured, sparkpost, worker
) -> None:
    """The newest address of a kind that reaches one (email) is the one sent to, after additions and a
    removal of the newest alike; and an address shared with the other profile's superseded one is not a
    duplicate for it."""
    await person(profiles, configured, "ann", email="old@example.com")
    await person(profiles, configured, "ann", email="new@example.com")
    await person(profiles, configured, "bob", email="new@example.com")
    await person(profiles, configured, "bob", email="bob@example.com")
    await person(profiles, configured, "cy", email="cy-old@example.com")
    await person(profiles, configured, "cy", email="cy-new@example.com")
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="cy"),
            remove_addresses=[common_pb2.Address(kind="email", value="cy-new@example.com")],
        ),
        metadata=configured.auth,
    )
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.duplicates) == (3, 3, 0)
    assert sorted(r["email"] for r in sparkpost.accepted) == [
        "bob@example.com",
        "cy-old@example.com",
        "new@example.com",
    ]


async def test_consent_and_suppressions_are_respected(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    await person(profiles, configured, "in", email="in@example.com", subscriptions=[marketing_email(1)])
    await person(profiles, configured, "out", email="out@example.com", subscriptions=[marketing_email(2)])
    await person(profiles, configured, "silent", email="silent@example.com")
    await person(profiles, configured, "bounced", email="bounced@example.com")
    async with db.acquire() as conn:
        await suppress_address(conn, configured.project_id, "email", "bounced@example.com", "bounced", EMAIL)
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.suppressed, done.not_consented) == (3, 2, 1, 1)
    assert {r["email"] for r in sparkpost.accepted} == {"in@example.com", "silent@example.com"}

    opt_in = await messages.CreateSend(send_request(require_opt_in=True), metadata=configured.auth)
    done = await completed(messages, configured, opt_in.send_id)
    assert (done.planned, done.sent, done.suppressed, done.not_consented) == (1, 1, 0, 3)

    service = await messages.CreateSend(
        send_request(purpose=common_pb2.PURPOSE_TRANSACTIONAL), metadata=configured.auth
    )
    done = await completed(messages, configured, service.send_id)
    assert (done.planned, done.sent, done.suppressed, done.not_consented) == (4, 3, 1, 0)
    assert Counter(r["email"] for r in sparkpost.accepted)["out@example.com"] == 1


async def test_suppressions_hold_for_every_spelling_of_an_address(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    await person(profiles, configured, "bounced", email="Bounced@example.com")
    await person(profiles, configured, "gone", email="Gone@example.com")
    # The same mailbox as the erased person's, in a profile of its own created before the erasure.
    await person(profiles, configured, "twin", email="gone@example.com")
    await person(profiles, configured, "kept", email="kept@example.com")
    async with db.acquire() as conn:
        await suppress_address(conn, configured.project_id, "email", "BOUNCED@example.com", "bounced", EMAIL)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="gone"), suppress=True),
        metadata=configured.auth,
    )
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.suppressed) == (3, 1, 2)
    assert [r["email"] for r in sparkpost.accepted] == ["kept@example.com"]
    outbox = await rows(db, configured, send.send_id)
    assert {r["address"]: r["status"] for r in outbox} == {"kept@example.com": "sent"}


async def test_a_suppressed_address_shared_by_two_profiles_is_not_sent(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    """The profile that receives a shared address is judged against the suppression list as any other."""
    await person(profiles, configured, "one", email="twice@example.com")
    await person(profiles, configured, "two", email="Twice@example.com")
    await person(profiles, configured, "kept", email="kept@example.com")
    async with db.acquire() as conn:
        await suppress_address(conn, configured.project_id, "email", "twice@example.com", "bounced", EMAIL)
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert [r["email"] for r in sparkpost.accepted] == ["kept@example.com"]
    assert (done.planned, done.sent, done.suppressed, done.duplicates) == (2, 1, 1, 1)


async def test_a_listed_audience_by_profile_and_custom_ids(
    messages, profiles, configured, sparkpost, worker
) -> None:
    ann = await person(profiles, configured, "ann", email="ann@example.com")
    await person(profiles, configured, "bob", email="bob@example.com")
    await person(profiles, configured, "cyd", email="cyd@example.com")
    audience = messages_pb2.ProfileList(
        profiles=[
            common_pb2.ProfileRef(profile_id=ann),
            common_pb2.ProfileRef(custom_id="ann"),
            common_pb2.ProfileRef(custom_id="bob"),
            common_pb2.ProfileRef(custom_id="nobody"),
        ]
    )
    send = await messages.CreateSend(send_request(profiles=audience), metadata=configured.auth)
    assert send.unknown_profiles == 1
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent) == (2, 2)
    assert {r["email"] for r in sparkpost.accepted} == {"ann@example.com", "bob@example.com"}


async def test_domain_targeting(messages, profiles, configured, sparkpost, worker) -> None:
    await person(profiles, configured, "g", email="g@gmail.com")
    await person(profiles, configured, "y", email="y@yahoo.com")
    await person(profiles, configured, "o", email="o@Example.COM")
    only = await messages.CreateSend(
        send_request(domains=messages_pb2.DomainFilter(include=["Gmail.com", "example.com"])),
        metadata=configured.auth,
    )
    await completed(messages, configured, only.send_id)
    assert sorted(r["email"] for r in sparkpost.accepted) == ["g@gmail.com", "o@example.com"]
    sparkpost.accepted.clear()
    others = await messages.CreateSend(
        send_request(domains=messages_pb2.DomainFilter(exclude=["gmail.com"])), metadata=configured.auth
    )
    done = await completed(messages, configured, others.send_id)
    assert done.planned == 2
    assert sorted(r["email"] for r in sparkpost.accepted) == ["o@example.com", "y@yahoo.com"]


async def test_the_kernels_own_workers_deliver(
    messages, profiles, configured, sparkpost, kernel_workers
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert done.sent == 1
    assert sparkpost.accepted[-1]["subject"] == "Hello Ann"


async def test_a_person_erased_mid_send_leaves_it_and_it_completes(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    for name in ("ann", "bob", "cyd"):
        await person(profiles, configured, name, email=f"{name}@example.com")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="bob")),
        metadata=configured.auth,
    )
    await messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.pending) == (2, 2, 0)
    assert sorted(r["email"] for r in sparkpost.accepted) == ["ann@example.com", "cyd@example.com"]


async def test_a_person_erased_while_a_message_waits_for_a_retry_is_counted_cancelled(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    sparkpost.fail_next(1, 429, retry_after=3600)
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    waiting = await wait_for(messages, configured, send.send_id, lambda s: s.retries == 1)
    assert (waiting.planned, waiting.pending) == (1, 1)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.cancelled, done.pending) == (1, 0, 1, 0)
    assert adds_up(done)
    assert await rows(db, configured, send.send_id) == []
