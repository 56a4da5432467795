"""Channel priority (CreateSendRequest.channel_priority): each profile gets the send on the first of the
send's channels on which it is reachable, and only there; a slice read again after its lease was lost
chooses the same channels. End to end: SparkPost, APNs and the example SMS gateway emulated, sender
workers of the test's own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from herald.v1 import common_pb2, messages_pb2, profiles_pb2, profiles_pb2_grpc
from kernel.delivery.send_spec import definition_of
from kernel.delivery.suppressions import suppress_address
from kernel.server import RunningServer
from tests.conftest import ProjectKey
from tests.delivery.conftest import EMAIL, SMS, configure, pointed_emulator, sender_worker
from tests.delivery.support import EMAIL_TEMPLATE, SMS_TEMPLATE, adds_up, completed, send_request, until

APNS = "push.apns"
PRIORITY = {
    "channels": [EMAIL, APNS, SMS],
    "templates": {
        EMAIL: EMAIL_TEMPLATE,
        APNS: messages_pb2.MessageTemplate(title="Sale", body="Hi {{ custom_id }}"),
        SMS: SMS_TEMPLATE,
    },
    "channel_priority": True,
}
OPTED_OUT = common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT


@dataclass(frozen=True)
class Person:
    name: str
    email: str = ""
    device: bool = False
    phone: str = ""
    push_opted_out: bool = False

    @property
    def token(self) -> str:
        return self.name.encode().hex().ljust(64, "0")


#: The audience, in no particular profile id order; each one's channel is in :func:`expected`.
PEOPLE = [
    Person("all", "all@example.com", True, "+33600000001"),
    Person("bounced", "bounced@example.com", True, "+33600000002"),
    Person("no-push", "", True, "+33600000003", push_opted_out=True),
    Person("phone-only", phone="+33600000004"),
    Person("device-only", device=True),
    Person("sharer-1", "shared@example.com", True),
    Person("sharer-2", "shared@example.com", True),
    Person("unreachable", device=True, push_opted_out=True),
]


@pytest.fixture
async def apns(server: RunningServer) -> AsyncIterator[Any]:
    """The APNs emulator, in this process; the kernel's senders point at it."""
    async with pointed_emulator(server, APNS) as emulator:
        yield emulator


@dataclass(frozen=True)
class Audience:
    project: ProjectKey
    #: The channel each person must get (None: none).
    expected: dict[str, str | None]


@pytest.fixture
async def audience(
    channel: grpc.aio.Channel,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    configured: ProjectKey,
    apns: Any,
    db: Any,
) -> Audience:
    """The project with email, iOS push and SMS configured for their emulators, and PEOPLE in it, the
    bounced one's email suppressed."""
    await configure(channel, configured, APNS, apns.credentials)
    ids = {person.name: await upsert(profiles, configured, person) for person in PEOPLE}
    async with db.acquire() as conn:
        await suppress_address(conn, configured.project_id, "email", "bounced@example.com", "bounced", EMAIL)
    # The lower profile id receives the shared address; the other falls to its next channel.
    lower, higher = sorted(["sharer-1", "sharer-2"], key=ids.__getitem__)
    expected = {
        "all": EMAIL,
        "bounced": APNS,
        "no-push": SMS,
        "phone-only": SMS,
        "device-only": APNS,
        lower: EMAIL,
        higher: APNS,
        "unreachable": None,
    }
    return Audience(configured, expected)


async def upsert(profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey, person: Person) -> str:
    addresses = []
    if person.email:
        addresses.append(common_pb2.Address(kind="email", value=person.email))
    if person.device:
        addresses.append(common_pb2.Address(kind="apns_token", value=person.token))
    if person.phone:
        addresses.append(common_pb2.Address(kind="phone", value=person.phone))
    consent = [
        common_pb2.Subscription(channel="push", purpose=common_pb2.PURPOSE_MARKETING, status=OPTED_OUT)
        for _ in range(person.push_opted_out)
    ]
    reply = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id=person.name),
            add_addresses=addresses,
            subscriptions=consent,
        ),
        metadata=project.auth,
    )
    return reply.profile_id


async def logged_for(db: Any, project: ProjectKey, send_id: str) -> dict[str, str]:
    """Whom each logged message of the send was for (custom id), by message id."""
    rows = await db.fetch(
        """SELECT g.message_id::text, p.custom_id FROM message_log g
           JOIN profiles p ON p.project_id = g.project_id AND p.profile_id = g.profile_id
           WHERE g.project_id = $1 AND g.send_id = $2::uuid""",
        project.project_id,
        send_id,
    )
    return {row[0]: row[1] for row in rows}


def received(sparkpost: Any, apns: Any, gateway: Any, logged: dict[str, str]) -> dict[str, set[str]]:
    """The channels on which each person's messages reached the emulators; an email by the profile its
    message was for (the shared address has two holders)."""
    by_address = {}
    for person in PEOPLE:
        by_address.update({person.token: person.name, person.phone: person.name})
    got: dict[str, set[str]] = defaultdict(set)
    for record in sparkpost.accepted:
        got[logged[record["herald_message_id"]]].add(EMAIL)
    for push in apns.accepted:
        got[by_address[push["token"]]].add(APNS)
    for sms in gateway.accepted:
        got[by_address[sms["to"]]].add(SMS)
    return dict(got)


def one_channel_each(audience: Audience) -> dict[str, set[str]]:
    return {name: {channel} for name, channel in audience.expected.items() if channel is not None}


async def test_each_profile_gets_the_first_channel_it_is_reachable_on(
    server, messages, audience, sparkpost, apns, gateway, db
) -> None:
    project = audience.project
    async with sender_worker(server):
        send = await messages.CreateSend(send_request(**PRIORITY), metadata=project.auth)
        done = await completed(messages, project, send.send_id)
    logged = await logged_for(db, project, send.send_id)
    assert received(sparkpost, apns, gateway, logged) == one_channel_each(audience)
    assert len(logged) == 7
    # Before the chosen channel: a suppressed email, a duplicate, two profiles without push consent;
    # after it, nothing counted.
    assert (done.planned, done.sent, done.suppressed, done.duplicates, done.not_consented) == (8, 7, 1, 1, 2)
    assert adds_up(done)
    assert done.channel_priority


async def test_a_slice_read_again_after_a_lost_lease_chooses_the_same_channels(
    server, messages, profiles, audience, sparkpost, apns, gateway, db
) -> None:
    """The first worker dies with the emails in flight (its push and SMS answered and logged); the slice is
    read again by a second one once the lease lapsed. In between, a profile already sent a push gained an
    email: it still gets nothing more than its push."""
    project = audience.project
    sparkpost.set_latency(10.0)
    async with sender_worker(server, shutdown_grace_seconds=0.0):
        send = await messages.CreateSend(send_request(**PRIORITY), metadata=project.auth)

        async def pushes_and_texts_logged() -> bool:
            return len(await logged_for(db, project, send.send_id)) == 5

        await until(pushes_and_texts_logged, "the pushes and texts are logged")
    assert len(await logged_for(db, project, send.send_id)) == 5, "the emails were answered before the kill"
    await upsert(profiles, project, Person("device-only", email="device-only@example.com"))
    sparkpost.set_latency(0.0)
    async with sender_worker(server):
        done = await completed(messages, project, send.send_id)
    logged = await logged_for(db, project, send.send_id)
    assert received(sparkpost, apns, gateway, logged) == one_channel_each(audience)
    assert (len(apns.accepted), len(gateway.accepted), len(logged)) == (3, 2, 7)
    assert (done.planned, done.sent, done.suppressed, done.duplicates, done.not_consented) == (8, 7, 1, 1, 2)
    assert adds_up(done)


async def test_without_priority_every_reachable_channel_gets_it(
    server, messages, audience, sparkpost, apns, gateway, db
) -> None:
    project = audience.project
    async with sender_worker(server):
        send = await messages.CreateSend(
            send_request(**{**PRIORITY, "channel_priority": False}), metadata=project.auth
        )
        done = await completed(messages, project, send.send_id)
    logged = await logged_for(db, project, send.send_id)
    got = received(sparkpost, apns, gateway, logged)
    assert got["all"] == {EMAIL, APNS, SMS}
    assert got["bounced"] == {APNS, SMS}
    assert not done.channel_priority
    assert adds_up(done)


async def test_a_send_stored_without_the_option_reads_as_every_channel(
    messages, audience, db, server
) -> None:
    """Specs written before channel priority existed have no such key: off, as those sends were."""
    project = audience.project
    send = await messages.CreateSend(send_request(**PRIORITY, start_paused=True), metadata=project.auth)
    await db.execute(
        "UPDATE sends SET spec = spec - 'channel_priority' WHERE send_id = $1::uuid", send.send_id
    )
    spec = await db.fetchval("SELECT spec FROM sends WHERE send_id = $1::uuid", send.send_id)
    assert not definition_of(spec, server.kernel.channels).channel_priority
    read = await messages.GetSend(messages_pb2.GetSendRequest(send_id=send.send_id), metadata=project.auth)
    assert not read.channel_priority


async def test_an_address_its_first_holder_does_not_use_goes_to_the_next(
    server, messages, profiles, channel, configured, apns, sparkpost, gateway
) -> None:
    """Two profiles share a phone; the lower profile id is reached by email first, so the phone is the
    other's: it is not given to a profile that does not use it."""
    await configure(channel, configured, APNS, apns.credentials)
    ids = {
        name: await upsert(profiles, configured, Person(name, phone="+33611111111")) for name in ("h1", "h2")
    }
    lower = min(ids, key=ids.__getitem__)
    await upsert(profiles, configured, Person(lower, email="lower@example.com"))
    async with sender_worker(server):
        send = await messages.CreateSend(send_request(**PRIORITY), metadata=configured.auth)
        done = await completed(messages, configured, send.send_id)
    assert [record["email"] for record in sparkpost.accepted] == ["lower@example.com"]
    assert [sms["to"] for sms in gateway.accepted] == ["+33611111111"]
    assert (done.planned, done.sent, done.duplicates) == (2, 2, 0)
